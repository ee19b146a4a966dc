"""Faults during training: Ctrl-C, a second Ctrl-C, SIGKILL, SIGTERM; then ``train --resume``.

Training runs in a real process (``python -m mnistctl train``) so that real signals reach it;
stderr is a pipe, so progress comes as plain ``epoch N/M: ...`` lines, which tell the test when
an epoch has been finished (the line is printed after the epoch's checkpoint, history.csv and
metrics.json are in place). Resuming runs in-process, which is faster and exercises the same code.

Model: the seed's CNN (specs/cnn.yaml; specs/cnn_dropout.yaml where resuming must retrace an
uninterrupted run) on 2,000 real training digits (about half a second an epoch after the first),
4 epochs; 300 test digits.
"""

from __future__ import annotations

import hashlib
import json
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    MNISTCTL,
    ROOT,
    cli,
    make_npz,
    no_tmp_files,
    read_json,
    run_dirs,
    subprocess_env,
)

from mnistctl.runs import history, record

pytestmark = pytest.mark.slow

EPOCHS = 4
CNN_ARGS = (
    "--set",
    f"train.epochs={EPOCHS}",
    "--set",
    "data.train_samples=2000",
)


class Training:
    """``mnistctl train ...`` in a child process; stderr lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [*MNISTCTL, *args],
            cwd=cwd,
            env=subprocess_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, timeout: float = 120) -> str:
        """Block until a stderr line starting with ``prefix`` arrives; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                pytest.fail(f"no {prefix!r} line within {timeout} s:\n" + "\n".join(self.lines))
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait()
                pytest.fail(
                    f"training ended (exit {self.proc.returncode}) before a {prefix!r} line:\n"
                    + "\n".join(self.lines)
                )
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def signal(self, signum: int) -> float:
        self.proc.send_signal(signum)
        return time.monotonic()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the exit; return the exit code and all of stderr."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {timeout} s later:\n" + "\n".join(self.lines))
        self._reader.join(timeout=10)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return self.proc.returncode, "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def training() -> Iterator[list[Training]]:
    started: list[Training] = []
    yield started
    for t in started:  # never leave a training process behind
        t.kill()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_npz(tmp_path_factory.mktemp("data") / "cnn.npz", 2000, 300)


def start(training: list[Training], tmp_path: Path, data: Path, spec: str = "cnn.yaml") -> Training:
    args = [
        "train", str(ROOT / "specs" / spec), *CNN_ARGS,
        "--data", str(data), "--runs-dir", str(tmp_path / "runs"),
    ]  # fmt: skip
    t = Training(args, tmp_path)
    training.append(t)
    return t


def only_run(tmp_path: Path) -> Path:
    (run,) = run_dirs(tmp_path / "runs")
    return run


def assert_files_whole(run: Path) -> list[str]:
    """Every file in the run parses (JSON, CSV, YAML, .keras); returns leftover temp files."""
    import yaml

    from mnistctl.ml.modelfile import load_model

    for path in run.rglob("*"):
        if not path.is_file() or ".tmp" in path.name:
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            history.read_history(path)
        elif path.suffix == ".yaml":
            yaml.safe_load(path.read_text())
        elif path.suffix == ".keras":
            load_model(path, compile=False)
        elif path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    return sorted(p.name for p in no_tmp_files(run))


def epochs_in(run: Path) -> list[int]:
    return [int(r["epoch"]) for r in history.read_history(run / "history.csv")]


def resume(run: Path, *extra: str) -> dict[str, Any]:
    result = cli("train", "--resume", run, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def assert_completed(run: Path) -> dict[str, Any]:
    metrics: dict[str, Any] = read_json(run / "metrics.json")
    assert metrics["status"] == "completed"
    assert metrics["epochs_completed"] == EPOCHS
    assert epochs_in(run) == list(range(1, EPOCHS + 1))  # no gap, no repeat
    assert (run / "model.keras").is_file()
    assert not list(run.glob("checkpoint-*.keras")) and not (run / record.STATE).exists()
    assert assert_files_whole(run) == []
    return metrics


# --------------------------------------------------------------------------------------------


def test_ctrl_c_keeps_finished_epochs_and_resume_completes(
    tmp_path: Path, data: Path, training: list[Training]
) -> None:
    t = start(training, tmp_path, data, "cnn_dropout.yaml")
    t.wait_for("epoch 1/")
    sent = t.signal(signal.SIGINT)
    code, stderr = t.finish()
    assert code == 130, stderr
    assert time.monotonic() - sent < 15
    assert "Traceback" not in stderr
    assert "stopping after this batch" in stderr and "train --resume" in stderr
    run = only_run(tmp_path)
    metrics = read_json(run / "metrics.json")
    assert metrics["status"] == "interrupted", metrics
    assert "pid" not in metrics and "owner" not in metrics
    done = metrics["epochs_completed"]
    assert 1 <= done < EPOCHS
    assert epochs_in(run) == list(range(1, done + 1))
    assert (run / "model.keras").is_file()  # the last finished epoch, usable at once
    assert assert_files_whole(run) == []  # includes loading model.keras (and the checkpoint)
    evaluated = cli("evaluate", run, "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    interrupted_history = history.read_history(run / "history.csv")
    _check_closing_a_finished_but_unclosed_run(run, done, t.proc.pid, tmp_path / "closing")

    out = resume(run)
    assert out["epochs_run"] == EPOCHS - done
    assert len(out["history"]["loss"]) == EPOCHS
    assert_completed(run)
    # the epochs from before the interruption are kept as they were
    assert history.read_history(run / "history.csv")[:done] == interrupted_history

    again = cli("train", "--resume", run)
    assert again.exit_code == 0, again.stderr
    assert "already finished" in again.stderr
    assert_completed(run)

    # Determinism: the same spec and seed without interruption. Each epoch's data order is a
    # stateless shuffle of (seed, epoch), the checkpoint holds the optimizer, and the dropout
    # layers' random state is set from (seed, epoch) at each epoch's start, so an interrupted
    # and resumed run retraces the same numbers.
    result = cli(
        "train", ROOT / "specs" / "cnn_dropout.yaml", *CNN_ARGS, "--data", data,
        "--runs-dir", tmp_path / "straight", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    straight = json.loads(result.stdout)["history"]
    resumed = history.history_columns(history.read_history(run / "history.csv"))
    assert set(straight) == set(resumed)
    assert straight == resumed


def _check_closing_a_finished_but_unclosed_run(
    run: Path, done: int, dead_pid: int, folder: Path
) -> None:
    """A run killed after its last epoch's checkpoint, before model.keras and the test result:
    resuming closes it (no epoch to train) instead of calling it finished. Made from a copy of
    the interrupted run whose spec asks for exactly the epochs it has."""
    closing = folder / run.name
    shutil.copytree(run, closing)
    text = (closing / "spec.yaml").read_text()
    assert f"  epochs: {EPOCHS}\n" in text
    (closing / "spec.yaml").write_text(text.replace(f"  epochs: {EPOCHS}\n", f"  epochs: {done}\n"))
    (closing / "model.keras").unlink()
    metrics = read_json(closing / "metrics.json")
    # as the run would have recorded it, had its spec asked for these epochs: a run refuses a
    # spec.yaml that is not the one it wrote (test_hostile checks that)
    metrics["files"]["spec.yaml"] = hashlib.sha256((closing / "spec.yaml").read_bytes()).hexdigest()
    metrics.update(status="training", owner={"pid": dead_pid, "host": socket.gethostname()})
    (closing / "metrics.json").write_text(json.dumps(metrics))
    out = resume(closing)
    assert out["epochs_run"] == 0 and out["status"] == "completed"
    metrics = read_json(closing / "metrics.json")
    assert metrics["status"] == "completed" and "test" in metrics
    assert (closing / "model.keras").is_file()
    assert epochs_in(closing) == list(range(1, done + 1))
    assert not (closing / record.STATE).exists()
    assert assert_files_whole(closing) == []


def test_sigkill_loses_at_most_the_epoch_in_flight(
    tmp_path: Path, data: Path, training: list[Training]
) -> None:
    t = start(training, tmp_path, data)
    t.wait_for("training epoch 1/")
    run = only_run(tmp_path)
    # while it trains, the run cannot be resumed (its process is alive)
    busy = cli("train", "--resume", run)
    assert busy.exit_code == 1 and "still training" in busy.stderr, busy.stderr
    t.wait_for("epoch 1/")
    time.sleep(0.1)  # into the next epoch
    t.signal(signal.SIGKILL)
    code, stderr = t.finish()
    assert code == -signal.SIGKILL
    reported = sum(1 for line in stderr.splitlines() if line.startswith("epoch "))
    metrics = read_json(run / "metrics.json")
    assert metrics["status"] == "training"  # nobody could mark it; resume sees the pid is gone
    state = read_json(run / record.STATE)
    kept = state["epochs_completed"]
    assert kept >= reported >= 1  # every epoch reported finished was kept
    assert epochs_in(run) == list(range(1, kept + 1))
    leftovers = assert_files_whole(run)
    # a kill between writing a temporary file and renaming it may leave one behind (harmless)
    assert all(name.startswith(".") for name in leftovers), leftovers
    if kept < EPOCHS:
        # no model.keras until the run ends: evaluate says so, in one line
        assert not (run / "model.keras").exists()
        missing = cli("evaluate", run)
        assert missing.exit_code == 1 and "no model.keras" in missing.stderr
        assert "'training'" in missing.stderr and "resume" in missing.stderr

    out = resume(run)
    assert out["epochs_run"] == EPOCHS - kept
    assert_completed(run)


def test_second_ctrl_c_exits_at_once(tmp_path: Path, data: Path, training: list[Training]) -> None:
    """The first Ctrl-C waits for the batch in flight; the first batch of a run (TensorFlow
    traces the model then, for about a second) is long enough to press Ctrl-C again."""
    t = start(training, tmp_path, data)
    t.wait_for("training epoch 1/")  # printed just before fit() starts
    time.sleep(0.05)
    t.signal(signal.SIGINT)
    t.wait_for("stopping after this batch")
    second = t.signal(signal.SIGINT)
    code, stderr = t.finish()
    quit_seconds = time.monotonic() - second
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted:" not in stderr, "the first Ctrl-C finished before the second came"
    assert quit_seconds < 5
    run = only_run(tmp_path)
    assert assert_files_whole(run) == []
    metrics = read_json(run / "metrics.json")
    # it exited without closing the run: still marked running (pid gone), no epoch finished
    assert metrics["status"] == "training" and metrics["epochs_completed"] == 0
    assert not (run / "model.keras").exists()

    out = resume(run)  # nothing was finished: resume trains from the start
    assert out["epochs_run"] == EPOCHS
    assert_completed(run)


def test_sigterm_stops_like_ctrl_c(tmp_path: Path, data: Path, training: list[Training]) -> None:
    t = start(training, tmp_path, data)
    t.wait_for("epoch 1/")
    t.signal(signal.SIGTERM)
    code, stderr = t.finish()
    assert code == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    run = only_run(tmp_path)
    metrics = read_json(run / "metrics.json")
    assert metrics["status"] == "interrupted"
    assert epochs_in(run) == list(range(1, metrics["epochs_completed"] + 1))
    assert assert_files_whole(run) == []
