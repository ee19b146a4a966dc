"""The spec's callbacks (EarlyStopping, ReduceLROnPlateau), the run's best epoch, and the state
both carry from one epoch to the next, so that a resumed run goes on exactly where it stopped;
and the first training step's start-up marks (``mnistctl/phases.py``) as a callback.

Keras resets a callback's counters in ``on_train_begin``; a resumed run puts back the state
saved after its last finished epoch (``state.json``), including EarlyStopping's best weights,
which are the best epoch's checkpoint. The learning rate that ReduceLROnPlateau lowered, and a
schedule's position, live in the optimizer, which the checkpoint holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import keras

from mnistctl.ml import objects
from mnistctl.phases import enabled, mark
from mnistctl.spec import Spec
from mnistctl.spec.options import lower_is_better

# what each callback type carries over an interruption
_STATE: dict[str, tuple[str, ...]] = {
    "EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}


def make_callbacks(spec: Spec) -> list[keras.callbacks.Callback]:
    return [objects.make("callback", c) for c in spec.train.callbacks]


def early_stopping(callbacks: list[keras.callbacks.Callback]) -> Any:
    return next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)


def state_of(callbacks: list[keras.callbacks.Callback]) -> dict[str, Any]:
    """The callbacks' counters as JSON data, by class name (one of each, the spec ensures)."""
    out: dict[str, Any] = {}
    for cb in callbacks:
        names = _STATE.get(type(cb).__name__, ())
        out[type(cb).__name__] = {n: _plain(getattr(cb, n, None)) for n in names}
    return out


def restore(
    callbacks: list[keras.callbacks.Callback],
    state: Mapping[str, Any],
    best_weights: Callable[[], list[Any]] | None,
) -> None:
    """Put back ``state_of``'s counters (after the callbacks' own on_train_begin), and
    EarlyStopping's best weights from ``best_weights`` when it restores them."""
    for cb in callbacks:
        saved = state.get(type(cb).__name__)
        if not isinstance(saved, Mapping):
            continue
        for name in _STATE.get(type(cb).__name__, ()):
            value = saved.get(name)
            if name == "best" or (isinstance(value, int | float) and not isinstance(value, bool)):
                setattr(cb, name, value)
        if isinstance(cb, keras.callbacks.EarlyStopping) and cb.restore_best_weights:
            cb.best_weights = best_weights() if best_weights and cb.best is not None else None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    number = float(value)  # numpy and tensor scalars too
    if isinstance(value, int):
        return int(value)
    return number if math.isfinite(number) else None


@dataclass
class BestEpoch:
    """Which epoch is best so far, by the monitored metric: EarlyStopping's own choice when the
    spec has one (so that best.keras holds the weights it restores), else the lowest
    validation loss. None of it when the run has neither."""

    monitor: str
    best: dict[str, Any] | None = None  # {"checkpoint", "epoch", "monitor", "value"}

    @classmethod
    def for_spec(cls, spec: Spec, resumed: dict[str, Any] | None) -> BestEpoch | None:
        stop = spec.train.early_stopping
        if stop is not None:
            monitor = str(stop["monitor"])
        elif spec.data.validation_split > 0:
            monitor = "val_loss"
        else:
            return None
        return cls(monitor, resumed)

    def update(self, epoch: int, logs: Mapping[str, float], stopper: Any) -> bool:
        """After ``epoch`` (0-based) ended and the callbacks saw it: is it the new best?"""
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return False
        if stopper is not None:
            improved = stopper.best_epoch == epoch and stopper.best is not None
            improved = improved and epoch >= stopper.start_from_epoch
        elif self.best is None:
            improved = True
        else:
            last = self.best["value"]
            improved = value < last if lower_is_better(self.monitor) else value > last
        if improved:
            self.best = {
                "checkpoint": f"checkpoint-{epoch + 1}.keras",
                "epoch": epoch + 1,
                "monitor": self.monitor,
                "value": float(value),
            }
        return improved


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
