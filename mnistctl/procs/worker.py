"""One worker process seen from its parent: started, sent tasks, read, stopped.

Its own side is ``child.py``; the pools (``pool.py``, ``timed.py``) drive it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import site
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mnistctl.errors import UserError
from mnistctl.procs.child import DONE, FAILED, PICKLE, READY, REFUSED, Message, Start

Setup = Callable[..., Callable[[Any], Any]]
"""Called once in each worker with the pool's arguments; returns the function run on each task.
A module-level function of an importable module (it is named, not pickled, to the worker)."""

ROOT = Path(__file__).resolve().parents[2]  # the folder holding this mnistctl


class WorkerLost(Exception):
    """The worker running the task ended without answering (it crashed or was killed)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the worker process ended (exit code {exitcode})")
        self.exitcode = exitcode


class NoWorker(Exception):
    """No worker took the task: none could start, every one has ended, or none became free in
    the time the task may wait."""


class TaskFailed(Exception):
    """The task raised something other than a ``UserError``: a bug, not the task's input."""


@dataclass(eq=False)
class Worker:
    """A running worker: its process, the pipe its tasks go into and the one its answers come
    out of."""

    process: subprocess.Popen[bytes]
    tasks: Connection
    answers: Connection
    ready: bool = False  # it has answered READY

    @classmethod
    def start(
        cls,
        setup: Setup,
        args: tuple[Any, ...] = (),
        *,
        pipelined: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Worker:
        """Start a worker running ``setup(*args)`` (it answers READY once that returned).
        OSError if no process can be started here."""
        name = setup_name(setup)
        if not sys.executable:
            raise OSError("no Python executable to start")
        tasks_r, tasks_w = os.pipe()
        answers_r, answers_w = os.pipe()
        command = [
            *(sys.executable, "-P", "-m", "mnistctl.procs", name),
            *(str(tasks_r), str(answers_w)),
        ]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the worker's prints go to stderr
                pass_fds=(tasks_r, answers_w),
                env=worker_env(env),
                process_group=0,  # Ctrl-C in a terminal reaches the parent alone
            )
        except BaseException:
            for fd in (tasks_w, answers_r):
                os.close(fd)
            raise
        finally:
            for fd in (tasks_r, answers_w):
                os.close(fd)
        worker = cls(
            process, Connection(tasks_w, readable=False), Connection(answers_r, writable=False)
        )
        try:
            worker.tasks.send_bytes(pickle.dumps(Start(args, pipelined), PICKLE))
        except OSError:
            worker.stop()
            raise
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, task: object) -> None:
        """Give the worker ``task`` (OSError if it has gone)."""
        self.tasks.send_bytes(pickle.dumps(task, PICKLE))

    def receive(self) -> Message | None:
        """Its next message (waits for it); None when the worker has gone."""
        try:
            message: Message = pickle.loads(self.answers.recv_bytes())
        except (EOFError, OSError):
            return None
        return message

    def started(self, message: Message | None) -> bool:
        """Whether ``message``, the worker's first, says it is ready (then it is); RuntimeError
        saying why it could not start otherwise."""
        if message is not None and message[0] == READY:
            self.ready = True
            return True
        why = "it ended" if message is None else str(message[1])
        raise RuntimeError(f"a worker process could not start: {why}")

    def exitcode(self, wait_s: float = 0.2) -> int | None:
        """Its exit code, waiting up to ``wait_s`` for it to end; None while it runs."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(wait_s)
        return self.process.returncode

    def kill(self) -> None:
        """Kill it (its pipes stay open: another thread may be reading them)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()

    def stop(self, *, kill: bool = True) -> None:
        """Close its pipes (an idle worker then ends by itself) and, with ``kill``, kill it."""
        for conn in (self.tasks, self.answers):
            conn.close()
        if kill:
            self.kill()


def outcome(message: Message | None, worker: Worker) -> Any:
    """The result an answer holds, or the exception it stands for: the task's ``UserError``,
    ``TaskFailed`` (another exception), ``WorkerLost`` (no answer: the worker has gone)."""
    if message is None:
        raise WorkerLost(worker.exitcode())
    kind, value = message
    if kind == DONE:
        return value
    if kind == REFUSED and isinstance(value, UserError):
        raise value
    if kind == FAILED:
        raise TaskFailed(str(value))
    raise TaskFailed(f"an unexpected answer: {kind!r}")


def setup_name(setup: Setup) -> str:
    """``MODULE:QUALNAME`` of ``setup``, as the worker finds it."""
    module, qualname = setup.__module__, setup.__qualname__
    if module == "__main__" or "<" in qualname:
        raise ValueError(
            "a worker's setup must be a function defined at the top of an importable module; "
            f"received {module}.{qualname}"
        )
    return f"{module}:{qualname}"


def worker_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with ``extra``, and, when this ``mnistctl`` is not an
    installed package (a source checkout), its folder first on PYTHONPATH: workers run the same
    code as their parent. (``-P`` keeps the current folder off their path.)"""
    env = {**os.environ, **(extra or {})}
    installed = {
        str(Path(p).resolve()) for p in (*site.getsitepackages(), site.getusersitepackages())
    }
    if str(ROOT) not in installed:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env
