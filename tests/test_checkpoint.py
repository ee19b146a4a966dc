"""``--checkpoint best|last`` on evaluate, plot and predict (and the Python API): which model
they load by default, that they say which, and how they refuse a best model that is not there.

One tiny run is trained without validation (so it keeps no best.keras of its own); each test
works on a copy of it. A copy "with a best model" gets a best.keras whose output layer is
zeroed (every probability 0.1, every prediction class 0), recorded as the record's
``best_saved`` records it, so that which model was used shows in the numbers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    assert_user_error,
    cli,
    digit_png,
    make_npz,
    read_json,
    real_arrays,
    run_dirs,
    write_spec,
)

import mnistctl
from mnistctl.runs import layout
from mnistctl.runs.record import RunRecord

N_TRAIN, N_TEST, EPOCHS = 300, 100, 2
BEST_LINE = "model: best.keras (epoch 1 of 2, best val_loss 0.5000)"
LAST_LINE = "model: model.keras (last epoch, 2)"


@dataclass(frozen=True)
class Base:
    run: Path
    data: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Base]:
    work = tmp_path_factory.mktemp("checkpoint")
    data = make_npz(work / "small.npz", N_TRAIN, N_TEST)
    spec = write_spec(work)
    runs = work / "runs"
    result = cli(
        "train",
        spec,
        "--set",
        f"train.epochs={EPOCHS}",
        "--set",
        "data.validation_split=0",
        "--data",
        data,
        "--runs-dir",
        runs,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    (run,) = run_dirs(runs)
    yield Base(run, data)


def _copy(base: Base, tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "tiny" / base.run.name
    shutil.copytree(base.run, run)
    return run


def _with_best(run: Path, *, final: str) -> Path:
    """best.keras: the run's model with its output layer zeroed; recorded as training records
    it; ``final``: the model the run ends with."""
    import keras

    model = keras.saving.load_model(run / layout.MODEL, compile=False)
    out = model.get_layer("output_tensor")
    out.set_weights([np.zeros_like(w) for w in out.get_weights()])
    (run / layout.BEST).unlink(missing_ok=True)
    model.save(run / layout.BEST)
    record = RunRecord.load(run)
    record.best_saved(layout.BEST, 1, "val_loss", 0.5)
    record.set_final_checkpoint(final)
    return run


@pytest.fixture
def plain_run(base: Base, tmp_path: Path) -> Path:
    """A run without a best model (no validation, no EarlyStopping)."""
    run = _copy(base, tmp_path)
    record = read_json(run / "metrics.json")
    assert "best_checkpoint" not in record, "a run without validation kept a best model"
    return run


@pytest.fixture
def ends_last(base: Base, tmp_path: Path) -> Path:
    return _with_best(_copy(base, tmp_path), final="last")


@pytest.fixture
def ends_best(base: Base, tmp_path: Path) -> Path:
    return _with_best(_copy(base, tmp_path), final="best")


def _share_of_zeros() -> float:
    return float((real_arrays()["y_test"][:N_TEST] == 0).mean())


def _evaluate(run: Path, *args: str) -> dict[str, Any]:
    result = cli("evaluate", run, "--json", *args)
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


CHECKPOINT_KEYS = {"name", "file", "epoch", "monitor", "value", "default"}


# --- evaluate: the default and the choice --------------------------------------------------


def test_default_is_last_when_the_run_ends_with_its_last_epoch(ends_last: Path) -> None:
    doc = _evaluate(ends_last)
    assert doc["checkpoint"] == {
        "name": "last",
        "file": "model.keras",
        "epoch": EPOCHS,
        "monitor": None,
        "value": None,
        "default": True,
    }
    assert doc["accuracy"] != pytest.approx(_share_of_zeros())  # the trained model
    assert read_json(ends_last / "evaluation.json") == doc
    assert not (ends_last / "evaluation-last.json").exists()


def test_default_is_best_when_the_run_ends_with_its_best_epoch(ends_best: Path) -> None:
    doc = _evaluate(ends_best)
    assert doc["checkpoint"] == {
        "name": "best",
        "file": "best.keras",
        "epoch": 1,
        "monitor": "val_loss",
        "value": 0.5,
        "default": True,
    }
    assert doc["accuracy"] == pytest.approx(_share_of_zeros())  # the zeroed best.keras
    assert read_json(ends_best / "evaluation.json") == doc
    last = _evaluate(ends_best, "--checkpoint", "last")
    assert last["checkpoint"]["name"] == "last" and last["checkpoint"]["default"] is False
    assert read_json(ends_best / "evaluation-last.json") == last
    assert read_json(ends_best / "evaluation.json") == doc  # not replaced


def test_best_and_last_evaluations_do_not_replace_each_other(ends_last: Path) -> None:
    last = _evaluate(ends_last, "--checkpoint", "last")
    best = _evaluate(ends_last, "--checkpoint", "best")
    assert best["checkpoint"]["name"] == "best" and best["checkpoint"]["default"] is False
    assert best["accuracy"] == pytest.approx(_share_of_zeros())
    assert best["accuracy"] != last["accuracy"]
    assert read_json(ends_last / "evaluation.json") == last
    assert read_json(ends_last / "evaluation-best.json") == best


def test_evaluate_says_which_model_in_the_terminal(ends_last: Path) -> None:
    result = cli("evaluate", ends_last, "--checkpoint", "best")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == BEST_LINE
    assert lines[-1] == f"saved: {ends_last.resolve() / 'evaluation-best.json'}"
    result = cli("evaluate", ends_last)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == LAST_LINE


# --- plot and predict --------------------------------------------------------------------------


def test_plot_of_each_model_keeps_its_own_pictures(ends_last: Path) -> None:
    plots = ends_last.resolve() / "plots"
    result = cli("plot", ends_last)
    assert result.exit_code == 0, result.stderr
    no_conv = "not drawn: filters, feature maps (the model has no convolution)"
    assert result.stderr.strip().splitlines() == [LAST_LINE, no_conv]
    names = ["learning_curves", "confusion_matrix", "misclassified", "model", "pca"]
    assert result.stdout.split() == [str(plots / f"{n}.png") for n in names]
    before = (plots / "confusion_matrix.png").read_bytes()
    result = cli("plot", ends_last, "--checkpoint", "best", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["checkpoint"]["name"] == "best" and set(doc["checkpoint"]) == CHECKPOINT_KEYS
    names = ["learning_curves", "confusion_matrix-best", "misclassified-best", "model", "pca-best"]
    assert doc["files"] == [str(plots / f"{n}.png") for n in names]
    assert doc["run_dir"] == str(ends_last.resolve())
    assert (plots / "confusion_matrix.png").read_bytes() == before  # not replaced
    assert all(Path(f).read_bytes().startswith(b"\x89PNG") for f in doc["files"])


@pytest.fixture
def digits(tmp_path: Path) -> list[Path]:
    x = real_arrays()["x_test"][:3]
    return [digit_png(tmp_path / f"d{i}.png", x[i]) for i in range(3)]


def test_predict_keeps_its_json_list_and_says_the_model_on_stderr(
    ends_best: Path, digits: list[Path]
) -> None:
    result = cli("predict", ends_best, *digits, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == BEST_LINE
    rows = json.loads(result.stdout)
    assert [set(row) for row in rows] == [{"file", "label", "class", "probabilities"}] * 3
    assert all(row["probabilities"] == pytest.approx([0.1] * 10) for row in rows)
    result = cli("predict", ends_best, *digits, "--checkpoint", "last", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == LAST_LINE
    assert all(max(row["probabilities"]) > 0.11 for row in json.loads(result.stdout))
    table = cli("predict", ends_best, *digits)
    assert table.exit_code == 0, table.stderr
    assert table.stderr.strip() == BEST_LINE and "model:" not in table.stdout


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["evaluate", "plot", "predict"])
def test_best_of_a_run_without_one(plain_run: Path, digits: list[Path], command: str) -> None:
    extra = [digits[0]] if command == "predict" else []
    line = assert_user_error(
        cli(command, plain_run, *extra, "--checkpoint", "best"),
        "this run keeps no best.keras: it had no validation data and no EarlyStopping",
        "(hint: use --checkpoint last, or train with data.validation_split > 0)",
    )
    assert line.startswith(f"{plain_run.resolve()}: ")
    assert not (plain_run / "evaluation-best.json").exists()
    assert cli(command, plain_run, *extra).exit_code == 0  # the default: model.keras


def test_best_error_as_json(plain_run: Path) -> None:
    result = cli("evaluate", plain_run, "--checkpoint", "best", "--json")
    assert_user_error(result, "keeps no best.keras")
    error = json.loads(result.stdout)["error"]
    assert error["file"] == str(plain_run.resolve())
    assert error["hint"] == "use --checkpoint last, or train with data.validation_split > 0"


@pytest.mark.parametrize("command", ["evaluate", "plot", "predict"])
def test_changed_best_keras_is_refused(ends_best: Path, digits: list[Path], command: str) -> None:
    extra = [digits[0]] if command == "predict" else []
    with open(ends_best / layout.BEST, "ab") as fh:
        fh.write(b"\0")
    best = ends_best.resolve() / layout.BEST
    line = assert_user_error(cli(command, ends_best, *extra), "has changed since the run wrote")
    assert line.startswith(f"{best}: ") and line.endswith(
        "(hint: restore it, or use --checkpoint last)"
    )
    line = assert_user_error(cli(command, ends_best, *extra, "--checkpoint", "best"), "changed")
    assert line.startswith(f"{best}: ")
    assert cli(command, ends_best, *extra, "--checkpoint", "last").exit_code == 0


def test_missing_best_keras_is_refused(ends_last: Path) -> None:
    (ends_last / layout.BEST).unlink()
    line = assert_user_error(
        cli("evaluate", ends_last, "--checkpoint", "best"),
        "the run has no best.keras",
        "hint: use --checkpoint last",
    )
    assert line.startswith(f"{ends_last.resolve()}: ")
    assert cli("evaluate", ends_last).exit_code == 0  # the default is model.keras here


@pytest.mark.parametrize("command", ["evaluate", "plot", "predict"])
def test_unknown_checkpoint_is_a_usage_error(ends_last: Path, command: str) -> None:
    extra = ["x.png"] if command == "predict" else []
    result = cli(command, ends_last, *extra, "--checkpoint", "middle")
    assert result.exit_code == 2
    assert "middle" in result.stderr and "Traceback" not in result.stderr


def test_a_run_that_validates_but_recorded_no_best(plain_run: Path, tmp_path: Path) -> None:
    """An older run (or one still training): the reason is not the missing validation."""
    from mnistctl.spec import load_spec

    validating = load_spec(write_spec(tmp_path / "spec"))
    assert validating.data.validation_split > 0
    with pytest.raises(mnistctl.UserError) as info:
        layout.checkpoint(plain_run, RunRecord.load(plain_run), "best", validating)
    assert info.value.message == "this run keeps no best.keras"
    assert info.value.received == "a run whose record names no best epoch"
    assert info.value.hint == "use --checkpoint last"


# --- the Python API ----------------------------------------------------------------------------


def test_api_evaluate_predict_plot_with_a_checkpoint(ends_last: Path, digits: list[Path]) -> None:
    run = mnistctl.open_run(ends_last)
    best = run.evaluate(checkpoint="best")
    assert best.checkpoint.name == "best" and best.checkpoint.epoch == 1
    assert best.accuracy == pytest.approx(_share_of_zeros())
    assert read_json(ends_last / "evaluation-best.json") == best.to_json()
    last = run.evaluate()
    assert last.checkpoint.name == "last" and last.to_json()["checkpoint"]["default"] is True
    assert read_json(ends_last / "evaluation.json") == last.to_json()
    assert run.predict(digits, checkpoint="best") == pytest.approx(np.full((3, 10), 0.1))
    pixels = real_arrays()["x_test"][:2]
    assert run.predict(pixels, checkpoint="best") == pytest.approx(np.full((2, 10), 0.1))
    files = run.plot(checkpoint="best")
    assert [f.name for f in files][1:3] == ["confusion_matrix-best.png", "misclassified-best.png"]


def test_api_refuses_what_the_cli_refuses(plain_run: Path) -> None:
    run = mnistctl.open_run(plain_run)
    with pytest.raises(mnistctl.Error) as info:
        run.evaluate(checkpoint="best")
    assert "keeps no best.keras" in str(info.value)
    with pytest.raises(mnistctl.Error) as info:
        run.evaluate(checkpoint="middle")  # type: ignore[arg-type]
    assert info.value.message == "unknown checkpoint"
    assert info.value.expected == "best (best.keras) or last (model.keras)"
