"""A pool for an event loop, with a time limit per task: ``await run(task, seconds)``.

Each worker (``worker.py``) runs one task at a time. The event loop writes a task into the
worker's pipe and is woken when its answers pipe becomes readable; no thread stands in between.
A worker still busy when its task's time is up is killed and replaced (``TaskTimeout``); one
that dies, busy (``WorkerLost``) or idle, is replaced; one that cannot start is tried again
after RESPAWN_DELAY_S. Workers start and warm up before the pool is returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections import deque
from collections.abc import Mapping
from multiprocessing.connection import wait
from typing import Any

from mnistctl.procs.child import Message
from mnistctl.procs.worker import NoWorker, Setup, TaskFailed, Worker, WorkerLost, outcome

__all__ = ["NoWorker", "TaskFailed", "TaskTimeout", "TimedPool", "WorkerLost"]

START_TIMEOUT_S = 120.0
"""Longest wait for the workers to start and warm up (busy cores, TensorFlow starting)."""

RESPAWN_DELAY_S = 1.0
"""Wait before trying again when a replacement worker could not start."""

STOP_TIMEOUT_S = 2.0
"""Longest wait for a worker to end once its tasks pipe is closed, before it is killed."""


class TaskTimeout(Exception):
    """The task did not end within its time; its worker was killed and replaced."""


class TimedPool:
    """``count`` workers running ``setup(*args)``'s function on each task (see the module).

    Created outside any event loop: the workers are started and warmed up (a RuntimeError if
    they cannot be). Then ``attach(loop)`` in the loop that uses it, ``await run(task,
    seconds)`` in it, and ``close()``.
    """

    def __init__(
        self,
        setup: Setup,
        args: tuple[Any, ...] = (),
        *,
        count: int,
        env: Mapping[str, str] | None = None,
        timeout: float = START_TIMEOUT_S,
    ) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1; received {count}")
        self._setup, self._args, self._env = setup, args, env
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: set[Worker] = set()
        self._jobs: dict[Worker, asyncio.Future[Message | None]] = {}
        self._idle: deque[Worker] = deque()
        self._waiting: deque[asyncio.Future[Worker]] = deque()
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
        return sorted(w.pid for w in self._workers.copy())

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``run`` calls made in ``loop`` (woken by the workers' answers pipes)."""
        if self._loop is not None:
            raise RuntimeError("the worker pool already serves an event loop")
        self._loop = loop
        for worker in self._workers:
            loop.add_reader(worker.answers.fileno(), self._readable, worker)
            self._idle.append(worker)

    async def run(self, task: Any, timeout: float) -> Any:
        """The result of ``task`` in a worker, or the exception it stands for: the task's
        ``UserError`` or ``TaskFailed``; ``TaskTimeout`` past ``timeout`` seconds of running
        (the worker is killed), ``NoWorker`` when none became free within ``timeout`` seconds,
        ``WorkerLost`` when the worker died."""
        if self._closed or self._loop is None:
            raise RuntimeError("the worker pool does not serve this event loop")
        job: asyncio.Future[Message | None] = self._loop.create_future()
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
                worker.send(task)
            except OSError:  # it died while idle: replaced, and the task goes to another
                self._replace(worker)
                continue
            self._jobs[worker] = job
            break
        try:
            async with asyncio.timeout(timeout):
                message = await job
        except TimeoutError:
            self._replace(worker)
            raise TaskTimeout from None
        return outcome(message, worker)

    def close(self) -> None:
        """Stop the workers: their tasks pipes closed; those still there after
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
                raise RuntimeError(f"the worker processes did not start within {timeout:g} s")
            for conn in ready:
                worker = starting.pop(conn)  # type: ignore[call-overload]
                worker.started(worker.receive())

    def _spawn(self) -> None:
        worker = Worker.start(self._setup, self._args, env=self._env)
        self._workers.add(worker)
        if self._loop is not None:
            self._loop.add_reader(worker.answers.fileno(), self._readable, worker)

    def _readable(self, worker: Worker) -> None:
        """The loop's callback when a worker's answers pipe has a message, or has closed."""
        message = worker.receive()
        if not worker.ready:  # a replacement: now ready, or it could not start
            try:
                worker.started(message)
            except RuntimeError:
                self._retire(worker)
                if self._loop is not None and not self._closed:
                    self._loop.call_later(RESPAWN_DELAY_S, self._respawn)
            else:
                self._release(worker)
            return
        job = self._jobs.pop(worker, None)
        if job is not None and not job.done():
            job.set_result(message)
        if message is None:  # the worker is gone
            self._replace(worker)
        else:
            self._release(worker)  # also when its task's caller went away: the answer came

    def _respawn(self) -> None:
        if not self._closed:
            with contextlib.suppress(OSError):  # tried again when the next one ends
                self._spawn()

    def _release(self, worker: Worker) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _free_worker(self, loop: asyncio.AbstractEventLoop) -> Worker:
        """The next worker to become free (in the order of asking)."""
        waiter: asyncio.Future[Worker] = loop.create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just as the caller gave up
            raise

    def _replace(self, worker: Worker) -> None:
        """Kill ``worker`` and start another in its place."""
        if worker not in self._workers:
            return
        self._retire(worker)
        if not self._closed:
            self.replaced += 1
            try:
                self._spawn()
            except OSError:
                if self._loop is not None:
                    self._loop.call_later(RESPAWN_DELAY_S, self._respawn)

    def _retire(self, worker: Worker, *, kill: bool = True) -> None:
        """Close ``worker``'s pipes (it ends by itself when idle) and, with ``kill``, kill it;
        collect the retired workers that have ended."""
        self._workers.discard(worker)
        self._jobs.pop(worker, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        if self._loop is not None and not worker.answers.closed:
            self._loop.remove_reader(worker.answers.fileno())
        worker.stop(kill=kill)
        self._retired = [p for p in [*self._retired, worker.process] if p.poll() is None]
