"""End to end: train -> run directory -> evaluate, plot, predict, summary, on real digits.

One training (module fixture, in-process) serves most tests; a few more small trainings check
reproducibility and the data options. Data: the first 1,000 real training digits and 200 test
digits, cut into tmp_path. Nothing downloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import (
    assert_user_error,
    cli,
    digit_png,
    make_npz,
    no_tmp_files,
    read_json,
    real_arrays,
    run_dirs,
    write_spec,
)

from mnistctl.runs import history, layout, record

N_TRAIN, N_TEST = 1000, 200
OVERRIDES = ("--set", "train.epochs=3", "--set", "model.layers.1.units=48")
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Trained:
    work: Path  # the working directory the run was trained from
    data: Path
    spec: Path
    run: Path
    out: dict[str, Any]  # train --json
    stderr: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """``mnistctl train tiny.yaml --set ... --data small.npz --json`` from its own folder, with
    the default runs directory (runs/) and a relative data path."""
    work = tmp_path_factory.mktemp("workflow")
    data = make_npz(work / "small.npz", N_TRAIN, N_TEST)
    spec = write_spec(work)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        result = cli("train", "tiny.yaml", *OVERRIDES, "--data", "small.npz", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)  # the whole of stdout is one JSON document
    run = (work / out["run_dir"]).resolve()
    yield Trained(work, data, spec, run, out, result.stderr)


def history_rows(run: Path) -> list[dict[str, float]]:
    return history.read_history(run / "history.csv")


# --- train ----------------------------------------------------------------------------------


def test_run_directory_is_complete(trained: Trained) -> None:
    run = trained.run
    assert run.parent == (trained.work / "runs" / "tiny").resolve()
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", run.name)
    for name in layout.RUN_FILES:
        assert (run / name).is_file(), name
    # spec.yaml: the resolved spec, overrides applied, the data path made absolute
    text = (run / "spec.yaml").read_text()
    assert "--set train.epochs=3" in text and "--set model.layers.1.units=48" in text
    resolved = yaml.safe_load(text)
    assert resolved["model"]["layers"][1]["units"] == 48
    assert resolved["train"]["epochs"] == 3
    assert resolved["data"]["path"] == str(trained.data.resolve())
    assert Path(resolved["data"]["path"]).is_absolute()
    # history.csv: one row per epoch
    rows = history_rows(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    # metrics.json
    metrics = read_json(run / "metrics.json")
    assert metrics["status"] == "completed"
    assert metrics["epochs"] == metrics["epochs_completed"] == 3
    assert "pid" not in metrics
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert metrics["test"]["loss"] > 0
    assert metrics["final"]["loss"] == pytest.approx(rows[-1]["loss"])
    # env.json
    env = read_json(run / "env.json")
    import platform

    import keras
    import tensorflow as tf

    assert env["python"] == platform.python_version()
    assert env["tensorflow"] == tf.__version__
    assert env["keras"] == keras.__version__
    assert env["seed"] == 0
    assert re.fullmatch(r"[0-9a-f]{64}", env["data"]["sha256"])
    assert env["data"]["train_images"] == N_TRAIN and env["data"]["test_images"] == N_TEST
    # plots, and nothing left over from training
    assert (run / "plots" / "learning_curves.png").read_bytes()[:8] == PNG
    assert not list(run.glob("checkpoint-*.keras"))
    assert not (run / record.STATE).exists()
    assert no_tmp_files(run) == []


def test_summary_json_matches_summary_command(trained: Trained) -> None:
    saved = read_json(trained.run / "summary.json")
    result = cli("summary", trained.spec, *OVERRIDES, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    # the model is the same; the steps differ: the spec's own data (mnist, 60,000 images)
    # against the run's (--data)
    assert {**saved, "training": None} == {**summary, "training": None}
    assert summary["training"]["images_per_epoch"] == 54_000
    assert saved["training"]["images_per_epoch"] == N_TRAIN - round(N_TRAIN * 0.1)
    assert saved["total_params"] == 784 * 48 + 48 + 48 * 10 + 10
    # the run's own resolved spec describes the same model
    again = cli("summary", trained.run / "spec.yaml", "--json")
    assert json.loads(again.stdout) == saved


def test_train_json_output(trained: Trained) -> None:
    out = trained.out
    assert out["epochs_run"] == 3
    history = out["history"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert all(len(v) == 3 for v in history.values())
    csv_rows = history_rows(trained.run)
    assert history["loss"] == [r["loss"] for r in csv_rows]
    assert history["val_accuracy"] == [r["val_accuracy"] for r in csv_rows]
    # progress went to stderr
    assert "epoch 1/3" in trained.stderr and "epoch 3/3" in trained.stderr


def test_model_file_loads_and_predicts(trained: Trained) -> None:
    from mnistctl.ml.modelfile import load_model

    model = load_model(trained.run / "model.keras", compile=False)
    probs = np.asarray(model.predict(np.zeros((2, 784), np.float32), verbose=0), np.float64)
    assert probs.shape == (2, 10)
    assert probs.sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-2)


def test_train_table_output_and_float32_reproducible(tmp_path: Path, trained: Trained) -> None:
    """Same spec and seed, float32: identical numbers, twice. Without validation_split there is
    no val_loss. The first run prints the table, the second JSON."""
    args = (
        "train",
        trained.spec,
        "--data",
        trained.data,
        "--runs-dir",
        tmp_path / "runs",
        "--set",
        "train.precision=float32",
        "--set",
        "data.validation_split=0",
        "--set",
        "train.epochs=2",
    )
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    assert "run directory:" in first.stdout and "test_accuracy" in first.stdout
    assert "epoch 2/2" in first.stderr
    second = cli(*args, "--json")
    assert second.exit_code == 0, second.stderr
    out = json.loads(second.stdout)
    assert set(out["history"]) == {"loss", "accuracy"}
    one, two = run_dirs(tmp_path / "runs")
    assert Path(out["run_dir"]) == two
    assert history_rows(one) == history_rows(two)
    m1, m2 = read_json(one / "metrics.json"), read_json(two / "metrics.json")
    assert m1["test"] == m2["test"]
    assert read_json(one / "env.json")["precision"]["policy"] == "float32"


def test_auto_precision_reproducible(tmp_path: Path, trained: Trained) -> None:
    """The fixture's training again (default precision "auto"): the same numbers."""
    result = cli(
        "train", trained.spec, *OVERRIDES, "--data", trained.data, "--runs-dir", tmp_path, "--json"
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["history"] == trained.out["history"]
    assert out["test"] == trained.out["test"]


# --- evaluate -------------------------------------------------------------------------------


def test_evaluate_json(trained: Trained) -> None:
    (trained.run / "evaluation.json").unlink(missing_ok=True)
    result = cli("evaluate", trained.run, "--json")  # no --data: the run remembers it
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10)
    assert matrix.sum() == N_TEST
    truth = real_arrays()["y_test"][:N_TEST]
    assert matrix.sum(axis=1).tolist() == np.bincount(truth, minlength=10).tolist()
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / N_TEST)
    assert report["accuracy"] > 0.6, "the model learned nothing: data or labels mis-wired?"
    test = read_json(trained.run / "metrics.json")["test"]
    assert report["accuracy"] == pytest.approx(test["accuracy"], abs=0.011)
    assert report["loss"] == pytest.approx(test["loss"], rel=0.05)
    rows = report["per_class"]
    assert [r["label"] for r in rows] == list(range(10))
    for r in rows:
        assert set(r) >= {"label", "precision", "recall", "f1", "support"}
        assert r["support"] == int(matrix[r["label"]].sum())
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["f1"] <= 1
    assert read_json(trained.run / "evaluation.json") == report


def test_evaluate_table(trained: Trained) -> None:
    result = cli("evaluate", trained.run)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "accuracy" in out and "precision" in out and "saved:" in out
    assert not out.lstrip().startswith("{")


def test_spec_path_means_latest_run(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> None:
    """RUN may be a spec file: its latest run under runs/ (relative to the working folder)."""
    monkeypatch.chdir(trained.work)
    result = cli("evaluate", "tiny.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    assert (trained.work / json.loads(result.stdout)["run_dir"]).resolve() == trained.run
    # from another folder there is no runs/tiny: a clean error
    monkeypatch.chdir(trained.work.parent)
    assert_user_error(cli("evaluate", trained.spec), "no runs of spec 'tiny'")


# --- plot -----------------------------------------------------------------------------------


def test_plot_writes_the_pictures(trained: Trained) -> None:
    plots = trained.run / "plots"
    names = ["learning_curves.png", "confusion_matrix.png", "misclassified.png", "model.png"]
    for name in names[1:]:
        (plots / name).unlink(missing_ok=True)
    result = cli("plot", trained.run)
    assert result.exit_code == 0, result.stderr
    for name in names:
        assert (plots / name).read_bytes()[:8] == PNG, name
        assert str(plots / name) in result.stdout
    assert no_tmp_files(plots) == []


# --- predict --------------------------------------------------------------------------------


def test_predict_real_digits(trained: Trained, tmp_path: Path) -> None:
    arrays = real_arrays()
    x, y = arrays["x_test"][:10], arrays["y_test"][:10]
    plain = [digit_png(tmp_path / f"d{i}.png", x[i]) for i in range(10)]
    inverted = [digit_png(tmp_path / f"inv{i}.png", x[i], invert=True) for i in range(10)]
    big = [digit_png(tmp_path / "big0.png", x[0], invert=True, scale=8)]
    result = cli("predict", trained.run, *plain, *inverted, *big, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [row["file"] for row in out] == [str(p) for p in (*plain, *inverted, *big)]
    for row in out:
        assert set(row) >= {"file", "label", "probabilities"}
        assert len(row["probabilities"]) == 10
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-2)
        assert row["label"] == int(np.argmax(row["probabilities"]))
    labels = [row["label"] for row in out]
    # dark-on-light is inverted to MNIST's white-on-black: the same answers
    assert labels[:10] == labels[10:20]
    # a model with ~85% test accuracy gets most of these right
    assert sum(int(a == b) for a, b in zip(labels[:10], y.tolist(), strict=True)) >= 6


def test_predict_table(trained: Trained, tmp_path: Path) -> None:
    image = digit_png(tmp_path / "seven.png", real_arrays()["x_test"][0])
    result = cli("predict", trained.run, image)
    assert result.exit_code == 0, result.stderr
    assert "seven.png" in result.stdout and "%" in result.stdout


# --- data options ---------------------------------------------------------------------------


def test_mnistctl_data_environment_variable(trained: Trained, tmp_path: Path) -> None:
    env = {"MNISTCTL_DATA": str(trained.data)}
    result = cli(
        "train",
        trained.spec,
        "--set",
        "train.epochs=1",
        "--runs-dir",
        tmp_path / "runs",
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    run = Path(json.loads(result.stdout)["run_dir"])
    resolved = yaml.safe_load((run / "spec.yaml").read_text())
    assert resolved["data"]["path"] == str(trained.data.resolve())
    assert read_json(run / "env.json")["data"]["train_images"] == N_TRAIN
    # evaluate reads it too (pointing at the same file: the same result as without)
    evaluated = cli("evaluate", run, "--json", env=env)
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["test_samples"] == N_TEST


@pytest.mark.parametrize("how", ["option", "environment"])
def test_missing_data_file_makes_no_run(trained: Trained, tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nowhere" / "mnist.npz"
    runs_dir = tmp_path / "runs"
    if how == "option":
        result = cli("train", trained.spec, "--data", missing, "--runs-dir", runs_dir)
    else:
        env = {"MNISTCTL_DATA": str(missing)}
        result = cli("train", trained.spec, "--runs-dir", runs_dir, env=env)
    assert_user_error(result, str(missing), "not found")
    assert not runs_dir.exists()


def test_invalid_spec_makes_no_run(trained: Trained, tmp_path: Path) -> None:
    bad = write_spec(tmp_path, trained.spec.read_text().replace("units: 64", "unitz: 64"))
    runs_dir = tmp_path / "runs"
    result = cli("train", bad, "--data", trained.data, "--runs-dir", runs_dir)
    first = assert_user_error(result, str(bad), lines=None)
    assert "units" in first
    assert not runs_dir.exists()
    bad_set = cli(
        "train", trained.spec, "--set", "train.epochs=zero", "--data", trained.data,
        "--runs-dir", runs_dir,
    )  # fmt: skip
    assert_user_error(bad_set, "epochs", lines=None)
    assert not runs_dir.exists()


def test_too_few_samples_makes_no_run(trained: Trained, tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    result = cli(
        "train", trained.spec, "--set", "data.train_samples=1", "--data", trained.data,
        "--runs-dir", runs_dir,
    )  # fmt: skip
    assert_user_error(result, "too few training samples", lines=None)
    assert not runs_dir.exists()
