"""Micro-batching: requests that arrive together go through the model in one call.

Each request is prepared on its own (by a worker process, ``workers.py``), then queued; one
batcher thread takes what is queued, up to MAX_BATCH, and calls the model once for all of it,
so that under load the model's fixed cost per call is shared and throughput grows with
concurrency. Requests queue up by themselves while the model runs a batch. Beyond that, the
batcher waits (at most BATCH_WAIT_S) only while other requests are still being prepared: a
lone request is never kept waiting. The thread is woken only when a queued request can end
its wait, not once per request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_BATCH = 64
"""Most requests in one model call."""

BATCH_WAIT_S = 0.004
"""Longest wait for requests still being prepared before a batch goes to the model."""

Rows = npt.NDArray[np.float64]
Infer = Callable[[npt.NDArray[np.float32]], Rows]  # (n, 28, 28) -> (n, classes), one call


@dataclass
class _Job:
    x: npt.NDArray[np.float32]
    future: Future[Rows]


class Slot:
    """A request that will be submitted: counted as "being prepared" until it is."""

    def __init__(self, batcher: Batcher) -> None:
        self._batcher = batcher
        self.open = True

    def submit(self, x: npt.NDArray[np.float32]) -> Future[Rows]:
        """Queue ``x`` (one prepared input); the future holds its row of the model's output."""
        return self._batcher._submit(self, x)


class Batcher:
    """One thread calling ``infer`` on batches of the queued inputs; see the module docstring."""

    def __init__(
        self, infer: Infer, *, max_batch: int = MAX_BATCH, wait_s: float = BATCH_WAIT_S
    ) -> None:
        self._infer = infer
        self._max_batch = max_batch
        self._wait_s = wait_s
        self._cond = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._preparing = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mnistctl-batcher", daemon=True)
        self._thread.start()

    @contextmanager
    def expecting(self) -> Iterator[Slot]:
        """A slot for a request about to be prepared; while the request is prepared the
        batcher knows it is coming. Leaving without submitting (a bad picture) frees it."""
        slot = Slot(self)
        with self._cond:
            self._preparing += 1
        try:
            yield slot
        finally:
            with self._cond:
                if slot.open:
                    slot.open = False
                    self._preparing -= 1
                    if not self._preparing and self._queue:  # the batch waited for it
                        self._cond.notify()

    def _submit(self, slot: Slot, x: npt.NDArray[np.float32]) -> Future[Rows]:
        future: Future[Rows] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            if slot.open:  # queued and no longer being prepared, in one step
                slot.open = False
                self._preparing -= 1
            self._queue.append(_Job(x, future))
            # The batcher is woken only when this can end its wait: a first job, the last one
            # it waits for, or a full batch (a wake-up per request costs the server CPU).
            if len(self._queue) == 1 or not self._preparing or len(self._queue) >= self._max_batch:
                self._cond.notify()
        return future

    def close(self, timeout: float | None = 5.0) -> None:
        """Finish what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _take(self) -> list[_Job] | None:
        """The next batch (None once closed and empty): waits for a first job, then briefly
        for the requests still being prepared."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            deadline = time.monotonic() + self._wait_s
            while self._preparing and len(self._queue) < self._max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            count = min(len(self._queue), self._max_batch)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (jobs := self._take()) is not None:
            # a request whose client went away (its future cancelled) is skipped
            jobs = [job for job in jobs if job.future.set_running_or_notify_cancel()]
            if not jobs:
                continue
            try:
                rows = self._infer(np.stack([job.x for job in jobs]))
                if len(rows) != len(jobs):
                    raise ValueError(f"the model gave {len(rows)} rows for {len(jobs)} inputs")
            except Exception as exc:  # each request answers with it; the thread goes on
                for job in jobs:
                    job.future.set_exception(exc)
                continue
            for job, row in zip(jobs, rows, strict=True):
                job.future.set_result(row)
