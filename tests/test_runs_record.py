"""The run record: one object owns metrics.json and state.json, its status machine, owners
recognised by pid + host + start time, checksums of the files a run wrote."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mnistctl.errors import UserError
from mnistctl.runs import layout, liveness
from mnistctl.runs.record import METRICS, STATE, RunRecord, Status


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "tiny" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text("name: tiny\n")
    return run


def _metrics(run: Path) -> dict[str, object]:
    value = json.loads((run / METRICS).read_text())
    assert isinstance(value, dict)
    return value


def test_a_run_goes_created_training_completed(tmp_path: Path) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=2, files=["spec.yaml"])
    assert _metrics(run)["status"] == "created"
    record.start_training(0)
    on_disk = _metrics(run)
    assert on_disk["status"] == "training"
    assert on_disk["owner"] == liveness.current().to_json()
    for epoch in (1, 2):
        (run / f"checkpoint-{epoch}.keras").write_bytes(b"model %d" % epoch)
        history = [{"epoch": e, "loss": 1.0 / e} for e in range(1, epoch + 1)]
        record.epoch_finished(history, f"checkpoint-{epoch}.keras")
        state = json.loads((run / STATE).read_text())
        assert state == {
            "epochs_completed": epoch,
            "checkpoint": f"checkpoint-{epoch}.keras",
            "history": history,
        }
        files = _metrics(run)["files"]
        assert isinstance(files, dict)
        assert sorted(files) == [f"checkpoint-{epoch}.keras", "spec.yaml"]
    record.completed(history, test={"loss": 0.5, "accuracy": 0.9})
    done = _metrics(run)
    assert done["status"] == "completed" and done["epochs_completed"] == 2
    assert "owner" not in done and done["test"] == {"loss": 0.5, "accuracy": 0.9}
    # a finished run never moves again
    with pytest.raises(UserError, match="a completed run cannot become training"):
        RunRecord.load(run).start_training(2)


@pytest.mark.parametrize("end", ["interrupted", "failed"])
def test_interrupted_and_failed_runs_can_resume(tmp_path: Path, end: str) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=3, files=[])
    record.start_training(0)
    if end == "interrupted":
        record.interrupted([])
    else:
        record.failed("ValueError: boom", [])
        assert _metrics(run)["error"] == "ValueError: boom"
    again = RunRecord.load(run)
    assert again.status == Status(end)
    again.start_training(0)
    assert _metrics(run)["status"] == "training" and "error" not in _metrics(run)


def test_a_diverged_run_says_where_and_cannot_resume(tmp_path: Path) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=3, files=[])
    record.start_training(0)
    record.diverged(2, "loss", [{"epoch": 1, "loss": 2.0}])
    data = _metrics(run)
    assert data["status"] == "diverged" and data["diverged_epoch"] == 2
    assert data["error"] == "loss was not a finite number in epoch 2"
    assert data["epochs_completed"] == 1
    with pytest.raises(UserError, match="a diverged run cannot become training"):
        RunRecord.load(run).start_training(1)


def test_the_record_is_strict_json(tmp_path: Path) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=1, files=[])
    record.start_training(0)
    record.completed([], test={"loss": float("nan"), "accuracy": float("inf")})
    text = (run / METRICS).read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))


def test_legacy_running_status_reads_as_training(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / METRICS).write_text(json.dumps({"status": "running", "pid": 1, "epochs": 2}))
    record = RunRecord.load(run)
    assert record.status is Status.TRAINING
    owner = record.owner
    assert owner is not None and owner.pid == 1 and owner.host == socket.gethostname()


@pytest.mark.parametrize("content", ['{"status": "sleeping"}', '{"status": 3}', "[]", "{not json"])
def test_a_damaged_record_is_one_located_error(tmp_path: Path, content: str) -> None:
    run = _run(tmp_path)
    (run / METRICS).write_text(content)
    with pytest.raises(UserError) as info:
        RunRecord.load(run)
    assert info.value.location.file == str(run / METRICS)


def test_no_record_reads_as_interrupted_with_nothing_done(tmp_path: Path) -> None:
    record = RunRecord.load(_run(tmp_path))
    assert record.status is Status.INTERRUPTED and record.epochs_completed == 0


def test_checksums_refuse_a_replaced_file(tmp_path: Path) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=1, files=["spec.yaml"])
    record.verify("spec.yaml")  # unchanged: fine
    (run / "spec.yaml").write_text("name: other\n")
    with pytest.raises(UserError) as info:
        RunRecord.load(run).verify("spec.yaml")
    assert info.value.location.file == str(run / "spec.yaml")
    assert "has changed since the run wrote it" in info.value.one_line()
    RunRecord.load(run).verify("model.keras")  # never recorded: nothing to compare


# --- owners ----------------------------------------------------------------------------------


def test_this_process_is_not_a_live_other_owner() -> None:
    assert liveness.is_alive(liveness.current()) is False


def test_a_live_process_is_alive_and_a_reused_pid_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        me = liveness.current()
        start = liveness._start_ticks(child.pid)
        owner = liveness.Owner(child.pid, me.host, me.boot, start)
        assert liveness.is_alive(owner) is True
        # the same pid with another start time: the process that wrote the record is gone,
        # its number now belongs to someone else
        reused = liveness.Owner(child.pid, me.host, me.boot, (start or 0) + 12345)
        assert liveness.is_alive(reused) is False
        rebooted = liveness.Owner(child.pid, me.host, "another-boot", start)
        assert liveness.is_alive(rebooted) is False
    finally:
        child.kill()
        child.wait()
    assert liveness.is_alive(owner) is False  # gone


def test_another_host_cannot_be_told() -> None:
    owner = liveness.Owner(os.getpid(), "elsewhere.invalid", None, None)
    assert liveness.is_alive(owner) is None


def test_start_ticks_survive_spaces_and_parentheses_in_the_command_name(tmp_path: Path) -> None:
    script = tmp_path / "a (b) c.py"
    script.write_text("import time\ntime.sleep(30)\n")
    exe = tmp_path / "py (x) y"
    exe.symlink_to(sys.executable)
    child = subprocess.Popen([str(exe), str(script)])
    try:
        assert isinstance(liveness._start_ticks(child.pid), int)
    finally:
        child.kill()
        child.wait()


# --- finding runs ----------------------------------------------------------------------------


def test_latest_run_is_by_creation_not_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "tiny"
    for name in ("20260101T000000Z", "20260101T000001Z", "20260101T000001Z-9",
                 "20260101T000001Z-11", "20260101T000001Z-10"):  # fmt: skip
        (folder / name).mkdir(parents=True)
        (folder / name / "spec.yaml").write_text("name: tiny\n")
    names = [p.name for p in layout.runs_under(folder)]
    assert names == [
        "20260101T000000Z",
        "20260101T000001Z",
        "20260101T000001Z-9",
        "20260101T000001Z-10",
        "20260101T000001Z-11",
    ]
    assert layout.find_run(folder).name == "20260101T000001Z-11"


def test_a_file_inside_a_run_means_that_run(tmp_path: Path) -> None:
    older = _run(tmp_path)
    RunRecord.create(older, epochs=1, files=["spec.yaml"])
    newer = older.parent / "20270101T000000Z"
    newer.mkdir()
    (newer / "spec.yaml").write_text("name: tiny\n")
    assert layout.find_run(older / "spec.yaml") == older
    assert layout.find_run(older / METRICS) == older


def test_a_symlinked_spec_folder_is_a_valid_place_for_runs(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    (runs_dir / "tiny").symlink_to(real, target_is_directory=True)
    run = layout.new_run_dir(runs_dir, "tiny")
    assert run.parent == runs_dir.resolve() / "tiny" and run.is_dir()
    assert list(real.iterdir()) == [run.resolve()]


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x"])
def test_run_names_stay_inside_the_runs_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match="invalid run name"):
        layout.new_run_dir(tmp_path, name)
