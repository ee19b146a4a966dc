"""A pool for batches of tasks: ``submit(task)`` returns a ``concurrent.futures.Future``.

Each worker (``worker.py``) is fed by a thread of this process that keeps ``in_flight`` tasks
sent to it ahead of its answers, so that the next one is waiting in its pipe when it finishes
one, even while this process is slow to run the thread (``import tensorflow`` holds the
interpreter for long stretches); with more than one in flight the worker writes its
answers from a thread of its own. Tasks go to whichever worker asks next, in the order they
were submitted. A worker that dies fails its tasks in flight with ``WorkerLost``; the others
go on with the rest. When no worker is left (none could start, or all ended) every task still
waiting fails with ``NoWorker``: the caller can do them itself.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from mnistctl.procs.worker import NoWorker, Setup, Worker, WorkerLost, outcome

__all__ = ["NoWorker", "Pool", "WorkerLost"]

_Item = tuple[Any, "Future[Any]"]
_STOP = None  # what close() puts in the queue for each feeding thread


class Pool:
    """``workers`` worker processes running ``setup(*args)``'s function on each task.

    Use it in a ``with`` block, or ``close()`` it: the workers are killed (their tasks in
    flight fail with ``WorkerLost``) and the tasks none has taken are cancelled.
    """

    def __init__(
        self,
        setup: Setup,
        args: tuple[Any, ...] = (),
        *,
        workers: int,
        in_flight: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1; received {in_flight}")
        self._setup, self._args, self._env = setup, args, env
        self._in_flight = in_flight
        self._todo: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: list[tuple[Worker, threading.Thread]] = []
        self._alive = 0  # feeding threads still running
        self._closed = False
        self.add_workers(workers)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers started so far."""
        return [worker.pid for worker, _ in self._workers]

    @property
    def ready(self) -> int:
        """How many workers have started and warmed up (they say so with their first answer)."""
        return sum(worker.ready for worker, _ in self._workers)

    @property
    def waiting(self) -> int:
        """About how many submitted tasks no worker has taken yet."""
        return self._todo.qsize()

    def submit(self, task: Any) -> Future[Any]:
        """Run ``task`` in a worker: its result, or the exception it stands for (the task's
        ``UserError``, ``TaskFailed``, ``WorkerLost``, ``NoWorker``)."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            self._todo.put((task, future))
            if not self._alive:
                self._fail_waiting()
        return future

    def add_workers(self, count: int) -> int:
        """Start ``count`` more workers; how many started (OSError stops the starting)."""
        started = 0
        for _ in range(0 if self._closed else count):
            try:
                worker = Worker.start(
                    self._setup, self._args, pipelined=self._in_flight > 1, env=self._env
                )
            except OSError:  # no processes here
                break
            thread = threading.Thread(target=self._feed, args=(worker,), daemon=True)
            with self._lock:
                self._workers.append((worker, thread))
                self._alive += 1
            thread.start()
            started += 1
        with self._lock:
            if not self._alive:
                self._fail_waiting()
        return started

    def close(self) -> None:
        """Kill the workers; cancel the tasks none has taken."""
        with self._lock:
            self._closed = True
            for _ in self._workers:
                self._todo.put(_STOP)
        for worker, _ in self._workers:
            worker.kill()  # its thread, reading its answers, closes its pipes
        for worker, thread in self._workers:
            thread.join()
            worker.process.wait()
        with self._lock:
            self._fail_waiting(cancel=True)

    def _feed(self, worker: Worker) -> None:
        """One worker's life here: tasks sent, answers read, until the pool closes or the
        worker ends."""
        sent: deque[Future[Any]] = deque()
        try:
            while self._fill(worker, sent):
                message = worker.receive()
                if not worker.ready:
                    worker.started(message)
                    continue
                future = sent.popleft()
                try:
                    future.set_result(outcome(message, worker))
                except WorkerLost as lost:
                    future.set_exception(lost)
                    raise
                except Exception as exc:
                    future.set_exception(exc)
        except Exception as exc:  # it could not start, died, or sent what cannot be read
            code = exc.exitcode if isinstance(exc, WorkerLost) else worker.exitcode()
            for future in sent:
                future.set_exception(WorkerLost(code))
        finally:
            worker.stop()
            with self._lock:
                self._alive -= 1
                if not self._alive:
                    self._fail_waiting()

    def _fill(self, worker: Worker, sent: deque[Future[Any]]) -> bool:
        """Send tasks until ``in_flight`` are out (waiting for one when none is); whether any
        is out (False: the pool is closing)."""
        while len(sent) < self._in_flight:
            try:
                item = self._todo.get(block=not sent)
            except queue.Empty:
                break
            if item is _STOP:
                self._todo.put(_STOP)  # for the others, and for this thread's next call
                break
            task, future = item
            if future.set_running_or_notify_cancel():
                sent.append(future)
                worker.send(task)
        return bool(sent)

    def _fail_waiting(self, *, cancel: bool = False) -> None:
        """With no worker left: every task waiting fails with NoWorker, or with ``cancel`` is
        cancelled (the lock held)."""
        stopping = False
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._todo.get_nowait()
                if item is _STOP:
                    stopping = True
                elif cancel:
                    item[1].cancel()
                elif item[1].set_running_or_notify_cancel():
                    item[1].set_exception(NoWorker("no worker process is left to run it"))
        if stopping and not cancel:
            self._todo.put(_STOP)
