"""Pictures are prepared in worker processes, beside the server's own.

The server's process has one interpreter lock for HTTP, the event loop and the model's calls;
decoding and preparing a picture (all of it holding the lock) in other processes leaves the
lock to them and puts the other cores to work. It also makes the decoding time limit real: a
worker still busy when its picture's time is up is killed and replaced, and the request is
refused.

The workers are ``mnistctl.procs``'s, driven by the event loop (``procs/timed.py``): fresh
interpreters, started and warmed up before the server answers, one picture at a time each;
one that dies is replaced; they ignore Ctrl-C and end with the server. Each runs
``worker.py``'s ``preparation``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mnistctl.data.inputs import MNIST_TARGET, Target
from mnistctl.procs import usable_cpus
from mnistctl.procs.timed import (
    START_TIMEOUT_S,
    NoWorker,
    TaskFailed,
    TaskTimeout,
    TimedPool,
    WorkerLost,
)
from mnistctl.serve.worker import DIGIT_DTYPE, preparation

__all__ = [
    "NoWorker",
    "PrepareFailed",
    "PrepareTimeout",
    "Preparers",
    "WorkerLost",
    "default_workers",
]

# The pool's exceptions under the names the app catches.
PrepareTimeout = TaskTimeout  # the picture took too long: its worker was killed and replaced
PrepareFailed = TaskFailed  # the preparation raised something other than a UserError (a bug)


def default_workers() -> int:
    """One preparation worker per CPU this process may use."""
    return usable_cpus()


class Preparers(TimedPool):
    """``count`` preparation workers (see the module). Created outside any event loop (the
    workers start and warm up here; a RuntimeError if they cannot); then ``attach(loop)``,
    ``await prepare(body, seconds)`` in that loop, and ``close()``."""

    def __init__(
        self,
        count: int,
        *,
        max_pixels: int,
        source: str,
        timeout: float = START_TIMEOUT_S,
        target: Target = MNIST_TARGET,
    ) -> None:
        super().__init__(preparation, (max_pixels, source, target), count=count, timeout=timeout)
        self._dims = target.dims

    async def prepare(self, body: bytes, timeout: float) -> npt.NDArray[np.float32]:
        """The prepared input (the target's dims), or the ``UserError`` that refuses it.

        ``PrepareTimeout`` past ``timeout`` seconds of preparing (the worker is killed),
        ``NoWorker`` when none became free within ``timeout`` seconds, ``WorkerLost`` when
        the worker died, ``PrepareFailed`` for a bug in the preparation."""
        raw: bytes = await self.run(body, timeout)
        return np.frombuffer(raw, DIGIT_DTYPE).reshape(self._dims)
