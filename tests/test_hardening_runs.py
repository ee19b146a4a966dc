"""Regression tests of the hardening issue (runs, results, output): each failed on the code
before the fix. Runs are made by the real training code and then damaged as a user or an
attacker would; processes are real where the behaviour is about processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    MNISTCTL,
    ROOT,
    TINY_SPEC,
    assert_user_error,
    cli,
    digit_png,
    make_npz,
    read_json,
    real_arrays,
    snapshot,
    subprocess_env,
    write_spec,
)

from mnistctl.runs import liveness
from mnistctl.runs.record import METRICS, STATE, RunRecord

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Kit:
    base: Path
    data: Path
    spec: Path
    done: Path  # a completed run (2 epochs)
    digit: Path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    base = tmp_path_factory.mktemp("hardening")
    data = make_npz(base / "small.npz", 300, 60)
    spec = write_spec(base, TINY_SPEC.replace("epochs: 3", "epochs: 2"))
    result = cli("train", spec, "--data", data, "--runs-dir", base / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    run_dir = json.loads(result.stdout)["run_dir"]
    assert Path(run_dir).is_absolute(), run_dir  # --json's run_dir is absolute
    digit = digit_png(base / "seven.png", real_arrays()["x_test"][0])
    return Kit(base, data, spec, Path(run_dir), digit)


def interrupted_copy(kit: Kit, folder: Path) -> Path:
    """A run interrupted after epoch 1 of 2, made through the run record as training makes
    one (checksums included), from the completed run's files."""
    run = folder / "runs" / "tiny" / "20260101T000000Z"
    (run / "plots").mkdir(parents=True)
    for name in ("spec.yaml", "env.json", "summary.json"):
        shutil.copyfile(kit.done / name, run / name)
    record = RunRecord.create(run, epochs=2, files=["spec.yaml"])
    record.start_training(0)
    shutil.copyfile(kit.done / "model.keras", run / "checkpoint-1.keras")
    row = read_json(kit.done / METRICS)["final"]
    record.epoch_finished([{**row, "epoch": 1}], "checkpoint-1.keras")
    shutil.copyfile(run / "checkpoint-1.keras", run / "model.keras")
    record.file_written("model.keras")
    record.interrupted([{**row, "epoch": 1}])
    return run


def expect_refused(folder: Path, *args: Any, fragments: tuple[str, ...]) -> str:
    before = snapshot(folder)
    line = assert_user_error(cli(*args), *fragments)
    assert snapshot(folder) == before, "something was written"
    return line


# --- 2, 4: a run refuses files it did not write ----------------------------------------------


def other_model(path: Path) -> Path:
    import keras

    inp = keras.Input((784,), name="input_tensor")
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inp)
    out = keras.layers.Dense(10, activation="softmax", name="output_tensor")(hidden)
    keras.Model(inp, out).save(path)
    return path


def test_resume_refuses_a_foreign_checkpoint(kit: Kit, tmp_path: Path) -> None:
    run = interrupted_copy(kit, tmp_path)
    other_model(tmp_path / "other.keras")
    shutil.copyfile(tmp_path / "other.keras", run / "checkpoint-1.keras")
    line = expect_refused(
        tmp_path, "train", "--resume", run, fragments=("checkpoint-1.keras", "has changed")
    )
    assert line.startswith(str(run / "checkpoint-1.keras"))


def test_resume_refuses_an_edited_spec(kit: Kit, tmp_path: Path) -> None:
    run = interrupted_copy(kit, tmp_path)
    text = (run / "spec.yaml").read_text()
    (run / "spec.yaml").write_text(text.replace("units: 64", "units: 32"))
    for args in (("train", "--resume", run), ("evaluate", run), ("predict", run, kit.digit)):
        expect_refused(tmp_path, *args, fragments=("spec.yaml", "has changed"))


@pytest.mark.parametrize("command", ["resume", "evaluate", "predict", "plot"])
@pytest.mark.parametrize("edit", ["units", "input-shape"])
def test_an_older_run_with_an_edited_spec_is_refused(
    kit: Kit, tmp_path: Path, command: str, edit: str
) -> None:
    """Runs written before checksums: the spec is checked, and the model against the spec."""
    import yaml

    run = interrupted_copy(kit, tmp_path)
    metrics = read_json(run / METRICS)
    del metrics["files"]
    (run / METRICS).write_text(json.dumps(metrics))
    spec = yaml.safe_load((run / "spec.yaml").read_text())
    if edit == "units":
        spec["model"]["layers"][1]["units"] = 32
    else:
        spec["model"]["layers"][0]["shape"] = [28, 28, 1]
    (run / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    args: tuple[Any, ...] = {
        "resume": ("train", "--resume", run),
        "evaluate": ("evaluate", run, "--data", kit.data),
        "predict": ("predict", run, kit.digit),
        "plot": ("plot", run, "--data", kit.data),
    }[command]
    before = snapshot(tmp_path)
    result = cli(*args)
    if edit == "units":
        assert_user_error(result, "not a model of this run's spec")
    else:  # the spec itself no longer fits the data: refused before any model loads
        assert_user_error(result, "spec.yaml", "does not fit 10 classes", lines=None)
    assert snapshot(tmp_path) == before


# --- 3: a run's own spec.yaml means that run --------------------------------------------------


def test_a_runs_own_spec_means_that_run(kit: Kit, tmp_path: Path) -> None:
    older = interrupted_copy(kit, tmp_path)
    newer = older.parent / "20270101T000000Z"
    shutil.copytree(kit.done, newer)
    result = cli("evaluate", older / "spec.yaml", "--json", "--data", kit.data)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run_dir"] == str(older)
    assert (older / "evaluation.json").is_file() and not (newer / "evaluation.json").exists()
    out = cli("train", "--resume", older / "spec.yaml", "--json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["run_dir"] == str(older)


# --- 6: unwritable outputs --------------------------------------------------------------------


def test_evaluate_prints_its_result_before_a_failed_save(kit: Kit, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(kit.done, run)
    (run / "evaluation.json").mkdir()  # cannot be replaced by a file
    result = cli("evaluate", run, "--json")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip()
    first = json.loads(lines[: lines.index("\n}\n") + 2])  # the result came first
    assert first["accuracy"] > 0.1 and len(first["confusion_matrix"]) == 10
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(str(run / "evaluation.json")) and "cannot write" in line


def test_plot_into_an_unwritable_place_is_one_line(kit: Kit, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(kit.done, run)
    shutil.rmtree(run / "plots")
    (run / "plots").write_text("not a folder")
    assert_user_error(cli("plot", run), "cannot write")


def test_a_failed_checkpoint_leaves_a_true_record(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk in the second epoch's checkpoint: the run is failed with one epoch, whose
    checkpoint is on disk; no claim of an epoch that is not."""
    import errno

    from mnistctl.ml import training

    real_save = training.save_model
    calls = {"n": 0}

    def full_disk(model: Any, target: Path, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            from mnistctl.runs.atomic import write_error

            raise write_error(target, OSError(errno.ENOSPC, "No space left on device"))
        real_save(model, target, **kw)

    monkeypatch.setattr(training, "save_model", full_disk)
    result = cli("train", kit.spec, "--data", kit.data, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "cannot write the file" in line and "No space left" in line
    assert line.startswith(str(tmp_path / "runs" / "tiny")) and "checkpoint-2.keras" in line
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    metrics = read_json(run / METRICS)
    assert metrics["status"] == "failed" and metrics["epochs_completed"] == 1
    state = read_json(run / STATE)
    assert state["epochs_completed"] == 1 and (run / state["checkpoint"]).is_file()
    assert not (run / "checkpoint-2.keras").exists()


WRITTEN_BY_TRAIN = [
    "spec.yaml", "summary.json", "metrics.json", "env.json", "checkpoint-1.keras",
    "state.json", "history.csv", "learning_curves.png",
]  # fmt: skip


@pytest.mark.parametrize("victim", WRITTEN_BY_TRAIN)
def test_every_file_train_writes_fails_cleanly(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, victim: str
) -> None:
    """Each file training writes, failing as on a full disk: one line naming it, exit 1, and
    a record that claims nothing the disk does not hold (the curves are optional: a warning)."""
    import errno

    from mnistctl.runs import atomic

    real = atomic.atomic_path

    def failing(target: Path, suffix: str = "") -> Any:
        if target.name == victim:
            raise atomic.write_error(target, OSError(errno.ENOSPC, "No space left on device"))
        return real(target, suffix)

    monkeypatch.setattr(atomic, "atomic_path", failing)
    result = cli(
        "train", kit.spec, "--data", kit.data, "--runs-dir", tmp_path / "runs",
        "--set", "train.epochs=1",
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert victim in last and "No space left on device" in last, result.stderr
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    if victim == "learning_curves.png":
        assert result.exit_code == 0 and last.startswith("warning: learning curves not written")
        assert read_json(run / METRICS)["status"] == "completed"
        return
    assert result.exit_code == 1 and "cannot write the file" in last
    record = RunRecord.load(run)
    if victim in ("spec.yaml", "summary.json", "metrics.json"):
        assert not (run / METRICS).exists()  # failed before the record: nothing claimed
        return
    assert record.status.value == "failed"
    claimed = record.epochs_completed
    if claimed:
        state = read_json(run / STATE)
        assert state["epochs_completed"] == claimed and (run / state["checkpoint"]).is_file()
    assert claimed == (1 if victim == "history.csv" else 0)


@pytest.mark.parametrize(
    "args",
    [["schema"], ["validate", "--json", "specs/cnn.yaml"], ["summary", "specs/cnn.yaml"]],
    ids=["schema", "validate-json", "summary"],
)
def test_a_full_stdout_is_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*MNISTCTL, *args], cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True,
            env=subprocess_env(), timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "cannot write to standard output" in line and "No space left" in line


# --- 10: divergence ---------------------------------------------------------------------------


def test_a_diverging_run_is_marked_diverged_and_says_so(kit: Kit, tmp_path: Path) -> None:
    result = cli(
        "train", kit.spec, "--data", kit.data, "--runs-dir", tmp_path / "runs", "--json",
        "--set", "model.layers.hidden.activation=exponential",
        "--set", "model.layers.hidden.kernel_initializer=ones",
    )  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the progress lines
    assert "training diverged: loss was not a finite number in epoch 1" in line
    assert "learning rate" in line
    assert json.loads(result.stdout)["error"]["one_line"] == line
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    text = (run / METRICS).read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    metrics = json.loads(text)
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 1
    again = cli("train", "--resume", run)
    assert_user_error(again, "diverged run cannot be resumed")


# --- 11: --json errors ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["summary", "train", "evaluate", "predict"])
def test_every_json_command_prints_a_json_error(kit: Kit, tmp_path: Path, command: str) -> None:
    bad = write_spec(tmp_path, TINY_SPEC.replace("units: 64", "units: 0"), "bad.yaml")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    args: tuple[Any, ...] = {
        "summary": ("summary", bad),
        "train": ("train", bad, "--data", kit.data),
        "evaluate": ("evaluate", tmp_path / "nothing-here"),
        "predict": ("predict", kit.done, broken),
    }[command]
    result = cli(*args, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert set(doc["error"]) >= {
        "message", "file", "line", "column", "path", "expected", "received", "hint",
    }  # fmt: skip
    if command in ("summary", "train"):
        assert doc["error"]["path"] == "model.layers[1].units"
        assert doc["error"]["line"] == 9 and doc["error"]["file"] == str(bad)


# --- 12: resume with moved data ---------------------------------------------------------------


def test_resume_accepts_moved_data_with_the_same_checksum(kit: Kit, tmp_path: Path) -> None:
    moved = tmp_path / "moved.npz"
    shutil.copyfile(kit.data, moved)
    run = interrupted_copy(kit, tmp_path)
    text = (run / "spec.yaml").read_text().replace(str(kit.data), str(tmp_path / "gone.npz"))
    (run / "spec.yaml").write_text(text)
    RunRecord.load(run).file_written("spec.yaml")  # as if trained from there
    other = make_npz(tmp_path / "other.npz", 250, 60)
    expect_refused(
        tmp_path, "train", "--resume", run, "--data", other,
        fragments=(str(other), "not the data this run was trained on"),
    )  # fmt: skip
    result = cli("train", "--resume", run, "--data", moved, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["epochs_run"] == 1
    assert read_json(run / METRICS)["status"] == "completed"


# --- smaller ones -----------------------------------------------------------------------------


def test_train_samples_beyond_the_data_is_a_warning(kit: Kit, tmp_path: Path) -> None:
    result = cli(
        "train", kit.spec, "--data", kit.data, "--runs-dir", tmp_path / "runs",
        "--set", "data.train_samples=100000", "--set", "train.epochs=1", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "warning: data.train_samples is 100,000 but the data has 300" in result.stderr
    metrics = read_json(Path(json.loads(result.stdout)["run_dir"]) / METRICS)
    assert metrics["warnings"][0] == (
        "data.train_samples is 100,000 but the data has 300: training on 300"
    )  # then any class without a test picture in this small slice, each said


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_evaluating_a_run_in_training_says_it_is_training(kit: Kit, tmp_path: Path) -> None:
    run = interrupted_copy(kit, tmp_path)
    (run / "model.keras").unlink()
    child = _sleeper()
    try:
        metrics = read_json(run / METRICS)
        owner = liveness.Owner(
            child.pid, socket.gethostname(), liveness._boot_id(), liveness._start_ticks(child.pid)
        )
        metrics.update(status="training", owner=owner.to_json())
        (run / METRICS).write_text(json.dumps(metrics))
        line = assert_user_error(cli("evaluate", run), "still training")
        assert "1 epoch(s) done so far" in line
        assert_user_error(cli("train", "--resume", run), "the run is still training")
        # the same pid, but not the process that wrote the record (a reused pid): resumable
        metrics["owner"]["start"] += 1
        (run / METRICS).write_text(json.dumps(metrics))
        result = cli("train", "--resume", run, "--json")
        assert result.exit_code == 0, result.stderr
    finally:
        child.kill()
        child.wait()


def test_paths_are_shown_as_they_are(kit: Kit, tmp_path: Path) -> None:
    names = ["seven[v2].png", "x[/bold].png", "[red]r[/red].png"]
    (tmp_path / "x[").mkdir()
    (tmp_path / "[red]r[").mkdir()
    images = [tmp_path / n for n in names]
    for image in images:
        shutil.copyfile(kit.digit, image)
    result = cli("predict", kit.done, *images)
    assert result.exit_code == 0, result.stderr
    flat = result.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    for name in names:
        assert name in flat, (name, result.stdout)
    spec = write_spec(tmp_path, TINY_SPEC, "tiny[v2].yaml")
    ok = cli("validate", spec)
    assert ok.exit_code == 0 and f"{spec}: ok" in ok.stderr, ok.stderr
    (tmp_path / "a[").mkdir()
    weird = write_spec(tmp_path, TINY_SPEC, "a[/x]\x1b[31mred.yaml")
    shown = cli("validate", weird)
    assert shown.exit_code == 0, shown.stderr
    assert "a[/x]\\x1b[31mred.yaml: ok" in shown.stderr and "\x1b" not in shown.stderr


def test_inf_in_history_plots(kit: Kit, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(kit.done, run)
    text = (run / "history.csv").read_text().splitlines()
    cells = text[1].split(",")
    cells[1] = "inf"
    (run / "history.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    result = cli("plot", run)
    assert result.exit_code == 0, result.stderr


# --- 13: the native log -----------------------------------------------------------------------


def test_native_log_never_follows_a_planted_link(kit: Kit, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / f"mnistctl-tf-{os.getuid()}.log").symlink_to(victim)  # the old, fixed name
    proc = subprocess.run(
        [*MNISTCTL, "predict", str(kit.done), str(kit.digit)],
        env=subprocess_env(TMPDIR=str(tmp)), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in tmp.iterdir()) == [f"mnistctl-tf-{os.getuid()}.log"]


def test_train_keeps_its_native_log_in_the_run(kit: Kit, tmp_path: Path) -> None:
    proc = subprocess.run(
        [*MNISTCTL, "train", str(kit.spec), "--data", str(kit.data), "--json",
         "--runs-dir", str(tmp_path / "runs"), "--set", "train.epochs=1"],
        env=subprocess_env(TMPDIR=str(tmp_path)), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = Path(json.loads(proc.stdout)["run_dir"])
    assert run.is_absolute()
    assert (run / "tensorflow.log").is_file()
    assert not list(tmp_path.glob("mnistctl-tf-*"))  # moved, not left behind


# --- Ctrl-C while starting --------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.1, 0.25, 0.5])
def test_ctrl_c_while_starting_is_quiet(kit: Kit, delay: float) -> None:
    """Ctrl-C while mnistctl imports (the CLI, then TensorFlow): no traceback, exit 130.
    Earlier than Python's own start-up (its runpy import, or runpy importing the package
    before ``python -m`` hands over to ``entry.py``) is Python's business: the sample is taken
    again, later (a busy machine starts Python slowly)."""
    for attempt in range(5):
        proc = subprocess.Popen(
            [*MNISTCTL, "evaluate", str(kit.done)],
            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(delay + 0.1 * attempt)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
        before_us = "Could not import runpy module" in err or (
            "_get_module_details" in err and "mnistctl/entry.py" not in err
        )
        if not before_us:
            break
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode in (130, 0), (proc.returncode, err)
