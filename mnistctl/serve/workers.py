"""Pictures are prepared in worker processes, beside the server's own.

The server's process has one interpreter lock for HTTP, the event loop and the model's calls;
decoding and preparing a picture (about a millisecond for a 28x28 PNG, all of it holding the
lock) in other processes leaves the lock to them and puts the other cores to work. It also
makes the decoding time limit real: a worker still busy when its picture's time is up is
killed and replaced, and the request is refused.

Each worker (``worker.py``) is a fresh ``python -P -m mnistctl.serve.worker``: not a copy of
this process with TensorFlow in it, and nothing of the caller's main module is run again. It
prepares one picture at a time. The event loop writes a body to the worker's jobs pipe and is
woken when its answers pipe becomes readable; no thread stands in between. Workers start and
warm up before the server answers; one that dies is replaced, one that cannot start is tried
again after RESPAWN_DELAY_S. A worker ends when its jobs pipe closes (the server stopped or
died), and ignores Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import site
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import numpy as np
import numpy.typing as npt

import mnistctl
from mnistctl.errors import UserError
from mnistctl.serve.worker import DIGIT, DIGIT_BYTES, DIGIT_SHAPE, FAILED, READY, REFUSED

START_TIMEOUT_S = 120.0
"""Longest wait for the workers to start and warm up (2 busy cores, TensorFlow starting)."""

RESPAWN_DELAY_S = 1.0
"""Wait before trying again when a replacement worker could not start."""

STOP_TIMEOUT_S = 2.0
"""Longest wait for a worker to end once its jobs pipe is closed, before it is killed."""


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class PrepareTimeout(Exception):
    """The picture was not prepared within its time; its worker was killed and replaced."""


class NoWorker(Exception):
    """No worker became free within the time a picture may take: the server is busy."""


class WorkerLost(Exception):
    """The worker preparing the picture ended without answering (it crashed or was killed)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the preparing process ended (exit code {exitcode})")
        self.exitcode = exitcode


class PrepareFailed(Exception):
    """The preparation raised something other than a ``UserError``: a bug, not the picture."""


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen[bytes]
    jobs: Connection
    answers: Connection
    ready: bool = False
    retired: bool = False
    job: asyncio.Future[bytes | None] | None = None


class Preparers:
    """``count`` worker processes preparing pictures (see the module).

    Created outside any event loop: the workers are started and warmed up (a RuntimeError if
    they cannot be). Then ``attach(loop)`` in the loop that serves, ``await prepare(body,
    seconds)`` in it, and ``close()``.
    """

    def __init__(
        self, count: int, *, max_pixels: int, source: str, timeout: float = START_TIMEOUT_S
    ) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1; received {count}")
        self._settings = [str(max_pixels), source]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: set[_Worker] = set()
        self._idle: deque[_Worker] = deque()
        self._waiting: deque[asyncio.Future[_Worker]] = deque()
        self._retired: list[subprocess.Popen[bytes]] = []
        self._closed = False
        self.replaced = 0
        """Workers killed (time limit) or lost (crashed) and replaced so far."""
        try:
            self._start(count, timeout)
        except BaseException:
            self.close()
            raise

    @property
    def ready(self) -> int:
        """How many workers are ready (replacements that are still starting are not)."""
        return sum(w.ready for w in self._workers.copy())  # also read from other threads

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers now running (replacements still starting included)."""
        return sorted(w.process.pid for w in self._workers.copy())

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``prepare`` calls made in ``loop`` (woken by the workers' answers pipes)."""
        if self._loop is not None:
            raise RuntimeError("the preparation workers already serve an event loop")
        self._loop = loop
        for worker in self._workers:
            loop.add_reader(worker.answers.fileno(), self._readable, worker)
            self._idle.append(worker)

    async def prepare(self, body: bytes, timeout: float) -> npt.NDArray[np.float32]:
        """The prepared (28, 28) input, or the ``UserError`` that refuses the picture.

        ``PrepareTimeout`` past ``timeout`` seconds of preparing (the worker is killed),
        ``NoWorker`` when none became free within ``timeout`` seconds, ``WorkerLost`` when
        the worker died, ``PrepareFailed`` for a bug in the preparation."""
        if self._closed or self._loop is None:
            raise RuntimeError("the preparation workers are not serving this event loop")
        job: asyncio.Future[bytes | None] = self._loop.create_future()
        while True:
            if self._idle:
                worker = self._idle.popleft()
            else:
                try:
                    async with asyncio.timeout(timeout):
                        worker = await self._free_worker(self._loop)
                except TimeoutError:
                    raise NoWorker from None
            try:
                worker.jobs.send_bytes(body)
            except OSError:  # it died while idle: replaced, and the picture goes to another
                self._replace(worker)
                continue
            worker.job = job
            break
        try:
            async with asyncio.timeout(timeout):
                message = await job
        except TimeoutError:
            self._replace(worker)
            raise PrepareTimeout from None
        return _answer(message, worker)

    def close(self) -> None:
        """Stop the workers: their jobs pipes closed; those still there after
        STOP_TIMEOUT_S are killed."""
        self._closed = True
        for worker in list(self._workers):
            self._retire(worker, kill=False)
        for waiter in self._waiting:
            waiter.cancel()
        self._waiting.clear()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self._retired:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._retired.clear()

    # --- the workers' lives ----------------------------------------------------------------------

    def _start(self, count: int, timeout: float) -> None:
        for _ in range(count):
            self._spawn()
        deadline = time.monotonic() + timeout
        starting = {w.answers: w for w in self._workers}
        while starting:
            ready = wait(list(starting), max(0.0, deadline - time.monotonic()))
            if not ready:
                raise RuntimeError(f"the preparation workers did not start within {timeout:g} s")
            for conn in ready:
                worker = starting.pop(conn)  # type: ignore[call-overload]
                message = _receive(worker)
                if message != READY:
                    raise RuntimeError(f"a preparation worker could not start: {_why(message)}")
                worker.ready = True

    def _spawn(self) -> None:
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        command = [
            *(sys.executable, "-P", "-m", "mnistctl.serve.worker"),
            *(str(jobs_r), str(answers_w), *self._settings),
        ]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else None,
                pass_fds=(jobs_r, answers_w),
                env=_worker_env(),
                process_group=0,  # Ctrl-C in a terminal reaches the server alone
            )
        except BaseException:
            for fd in (jobs_w, answers_r):
                os.close(fd)
            raise
        finally:
            for fd in (jobs_r, answers_w):
                os.close(fd)
        worker = _Worker(
            process, Connection(jobs_w, readable=False), Connection(answers_r, writable=False)
        )
        self._workers.add(worker)
        if self._loop is not None:
            self._loop.add_reader(answers_r, self._readable, worker)

    def _readable(self, worker: _Worker) -> None:
        """The loop's callback when a worker's answers pipe has a message, or has closed."""
        message = _receive(worker)
        if not worker.ready:  # a replacement: now ready, or it could not start
            if message == READY:
                worker.ready = True
                self._release(worker)
            else:
                self._retire(worker)
                if self._loop is not None and not self._closed:
                    self._loop.call_later(RESPAWN_DELAY_S, self._respawn)
            return
        job, worker.job = worker.job, None
        if job is not None and not job.done():
            job.set_result(message)
        if message is None:  # the worker is gone
            self._replace(worker)
        else:
            self._release(worker)  # also when its request went away: the answer came

    def _respawn(self) -> None:
        if not self._closed:
            self._spawn()

    def _release(self, worker: _Worker) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _free_worker(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        """The next worker to become free (in the order of asking)."""
        waiter: asyncio.Future[_Worker] = loop.create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just as the request gave up
            raise

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start another in its place."""
        if worker.retired:
            return
        self._retire(worker)
        if not self._closed:
            self.replaced += 1
            self._spawn()

    def _retire(self, worker: _Worker, *, kill: bool = True) -> None:
        """Close ``worker``'s pipes (it ends by itself when idle) and, with ``kill``, kill it;
        collect the retired workers that have ended."""
        worker.retired = True
        self._workers.discard(worker)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        if self._loop is not None and not worker.answers.closed:
            self._loop.remove_reader(worker.answers.fileno())
        worker.jobs.close()
        worker.answers.close()
        if kill and worker.process.poll() is None:
            worker.process.kill()
        self._retired = [p for p in [*self._retired, worker.process] if p.poll() is None]


def _worker_env() -> dict[str, str]:
    """The server's environment, and, when this ``mnistctl`` is not an installed package (a
    source checkout run with ``python -m``), its folder first on PYTHONPATH: workers run the
    same code as the server. (``-P`` keeps the current folder off their path.)"""
    env = dict(os.environ)
    root = str(Path(mnistctl.__file__).resolve().parent.parent)
    installed = {
        str(Path(p).resolve()) for p in (*site.getsitepackages(), site.getusersitepackages())
    }
    if root not in installed:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _has_fileno(stream: object) -> bool:
    try:
        return isinstance(stream.fileno(), int)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _receive(worker: _Worker) -> bytes | None:
    """The next message from ``worker``; None if it has gone."""
    try:
        return worker.answers.recv_bytes()
    except (EOFError, OSError):
        return None


def _why(message: bytes | None) -> str:
    if message is None:
        return "it ended"
    if message[:1] == FAILED:
        return str(pickle.loads(message[1:]))
    return repr(message[:80])


def _answer(message: bytes | None, worker: _Worker) -> npt.NDArray[np.float32]:
    """The prepared input a worker's message holds, or the exception it stands for."""
    if message is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(0.2)  # its exit code, for the error
        raise WorkerLost(worker.process.returncode)
    kind, payload = message[:1], message[1:]
    if kind == DIGIT and len(payload) == DIGIT_BYTES:
        return np.frombuffer(payload, np.float32).reshape(DIGIT_SHAPE)
    if kind == REFUSED:
        error = pickle.loads(payload)
        if isinstance(error, UserError):
            raise error
    raise PrepareFailed(_why(message))
