"""``mnistctl.procs``: the one way work runs in other processes, with real worker processes.

The batch pool (``Pool``): answers come back as futures, a task's ``UserError`` whole, any
other exception as ``TaskFailed``; a worker that dies fails only its own tasks, the others go
on; with no worker left every waiting task fails with ``NoWorker``; closing ends every worker.
A worker is a fresh interpreter: a caller's script without a ``__main__`` guard runs once.
The event-loop pool with its time limit is tested through serve's use of it
(``test_serve_workers.py``). Every wait is bounded.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import procs_tasks
import pytest

from mnistctl.errors import Location, UserError
from mnistctl.procs import usable_cpus
from mnistctl.procs.pool import NoWorker, Pool, WorkerLost
from mnistctl.procs.worker import TaskFailed, setup_name

TESTS = Path(__file__).resolve().parent
WAIT_S = 60.0


@pytest.fixture
def tasks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers find ``procs_tasks`` (this folder on their path)."""
    monkeypatch.setenv("PYTHONPATH", str(TESTS))


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def pool(tasks_importable: None) -> Iterator[Pool]:
    with Pool(procs_tasks.echo, ("p",), workers=2, in_flight=2) as two:
        yield two


def test_usable_cpus_is_this_process_share() -> None:
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert usable_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.slow
def test_answers_and_errors_cross_back(pool: Pool) -> None:
    futures = [pool.submit(i) for i in range(20)]
    refused, bug = pool.submit("refuse"), pool.submit("bug")
    answers = [f.result(WAIT_S) for f in futures]
    assert [a[:2] for a in answers] == [("p", i) for i in range(20)]
    assert {a[2] for a in answers} <= set(pool.pids) and len(pool.pids) == 2
    with pytest.raises(UserError) as err:
        refused.result(WAIT_S)
    assert err.value == UserError("refused", location=Location(file="task"), hint="a hint")
    with pytest.raises(TaskFailed, match="ValueError: a bug"):
        bug.result(WAIT_S)


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_task_alone(pool: Pool) -> None:
    lost = pool.submit(("exit", 5))
    with pytest.raises(WorkerLost) as err:
        lost.result(WAIT_S)
    assert err.value.exitcode == 5
    after = [pool.submit(i) for i in range(6)]  # the other worker takes them
    assert [f.result(WAIT_S)[1] for f in after] == list(range(6))


@pytest.mark.slow
def test_with_no_worker_left_waiting_tasks_fail(tasks_importable: None) -> None:
    with Pool(procs_tasks.exits, workers=1) as dying:
        futures = [dying.submit(i) for i in range(3)]
        done, _ = concurrent.futures.wait(futures, WAIT_S)
        assert len(done) == 3
        assert isinstance(futures[0].exception(), WorkerLost)
        assert all(isinstance(f.exception(), NoWorker) for f in futures[1:])
        with pytest.raises(NoWorker):  # submitted when none is left
            dying.submit(9).result(WAIT_S)
    with Pool(procs_tasks.cannot_start, workers=2) as never:
        future = never.submit(1)
        assert isinstance(future.exception(WAIT_S), WorkerLost | NoWorker)


@pytest.mark.slow
def test_close_kills_the_workers_and_cancels_the_rest(tasks_importable: None) -> None:
    one = Pool(procs_tasks.echo, workers=1)
    busy = one.submit(("sleep", 60))
    queued = [one.submit(i) for i in range(3)]
    end = time.monotonic() + WAIT_S
    while not busy.running():  # sent to the worker
        assert time.monotonic() < end
        time.sleep(0.01)
    [pid] = one.pids
    one.close()
    assert not running(pid)
    assert isinstance(busy.exception(WAIT_S), WorkerLost)
    assert all(f.done() for f in queued)
    with pytest.raises(RuntimeError, match="closed"):
        one.submit(1)


@pytest.mark.slow
def test_workers_ignore_ctrl_c(pool: Pool) -> None:
    end = time.monotonic() + WAIT_S
    while pool.ready < 2:  # both have answered (a worker still starting is not yet immune)
        assert time.monotonic() < end, f"{pool.ready} of 2 workers ready"
        concurrent.futures.wait([pool.submit(i) for i in range(8)], WAIT_S)
    for pid in pool.pids:
        os.kill(pid, signal.SIGINT)
    assert [pool.submit(i).result(WAIT_S)[1] for i in range(4)] == list(range(4))
    assert all(running(pid) for pid in pool.pids)


def test_a_setup_is_a_function_a_worker_can_import() -> None:
    assert setup_name(procs_tasks.echo) == "procs_tasks:echo"

    def local() -> None: ...

    for bad in (local, lambda: None):
        with pytest.raises(ValueError, match="top of an importable module"):
            setup_name(bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    """Workers are fresh interpreters: nothing of the caller's main script runs in them (with
    ``concurrent.futures.ProcessPoolExecutor`` it would, and its pool would break)."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {str(TESTS)!r})
            import procs_tasks
            from mnistctl.procs.pool import Pool
            print("the script's body", flush=True)
            with Pool(procs_tasks.echo, workers=2) as pool:
                print(sorted(pool.submit(i).result()[1] for i in range(4)), flush=True)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["the script's body", "[0, 1, 2, 3]"], done.stdout
