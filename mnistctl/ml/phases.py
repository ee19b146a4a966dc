"""The first training step's start-up marks (``mnistctl/phases.py``), as a Keras callback."""

from __future__ import annotations

from typing import Any

import keras

from mnistctl.phases import enabled, mark


class _FirstStep(keras.callbacks.Callback):  # type: ignore[misc]
    """Marks ``fit_setup`` when the first batch starts (fit has made its iterator and
    function) and ``first_step`` when it ends (traced and run)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen = False

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._seen:
            mark("fit_setup")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._seen:
            self._seen = True
            mark("first_step")


def first_step_marks() -> list[keras.callbacks.Callback]:
    """The callback when start-up marks are being taken, else nothing (so that training pays
    no per-batch call for them)."""
    return [_FirstStep()] if enabled() else []
