"""Ctrl-C and SIGTERM while a run trains: the first stops after the batch in flight, the second
exits at once (every file is renamed into place whole, so none is half-written)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130


@dataclass
class Stop:
    """Set by the signal handler; read by the training loop."""

    requested: bool = False
    signum: int = 0
    presses: int = 0
    model: Any = None  # the model in training, told to stop after the batch in flight

    @property
    def exit_code(self) -> int:
        """130 for Ctrl-C, 143 for SIGTERM (128 + the signal), as shells report them."""
        return 128 + signal.SIGTERM if self.signum == signal.SIGTERM else EXIT_INTERRUPTED


@contextlib.contextmanager
def interrupts(stop: Stop, note: Callable[[str], None]) -> Iterator[None]:
    """While the block runs, Ctrl-C and SIGTERM ask ``stop`` to stop; a second one exits."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.presses += 1
        if stop.presses > 1:
            os._exit(stop.exit_code)
        stop.requested, stop.signum = True, signum
        if stop.model is not None:  # Keras checks this after every batch
            stop.model.stop_training = True
        note("stopping after this batch, keeping finished epochs (Ctrl-C again to quit at once)")

    with stop_signals(handler):
        yield


@contextlib.contextmanager
def stop_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM go to ``handler`` while the block runs, the previous handlers
    back afterwards; only where Python can set them (the main thread, not Windows)."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
