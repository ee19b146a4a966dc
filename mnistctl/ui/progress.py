"""Showing training progress: live rich bars in a terminal, plain lines elsewhere.

Training reports through the ``Reporter`` protocol of ``ml/training.py`` (called by its Keras
callback); nothing here knows about Keras. Everything goes to stderr, so ``--json`` keeps
stdout clean.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def format_logs(logs: Mapping[str, float], keys: tuple[str, ...] = SHOWN) -> str:
    parts = []
    for key in (*keys, *(k for k in logs if k not in keys)):
        if key in logs and key not in ("learning_rate", "epoch"):
            parts.append(f"{key} {logs[key]:.4f}")
    return "  ".join(parts)


class PlainReporter:
    """One line per epoch: for logs, pipes and ``--json``."""

    live = False  # no per-batch updates

    def __init__(self, console: Console) -> None:
        self.console = console
        self.epochs = 0

    def start(self, first_epoch: int, epochs: int, steps: int) -> None:
        self.epochs = epochs
        if first_epoch >= epochs:
            self.console.print(f"all {epochs} epochs done; finishing the run", markup=False)
            return
        what = "resuming at" if first_epoch else "training"
        self.console.print(
            f"{what} epoch {first_epoch + 1}/{epochs}, {steps} batches per epoch", markup=False
        )

    def epoch_start(self, epoch: int) -> None:
        pass

    def batch(self, step: int, logs: Mapping[str, float]) -> None:
        pass

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        self.console.print(
            f"epoch {epoch + 1}/{self.epochs}: {format_logs(logs)} ({seconds:.1f} s)",
            markup=False,
        )

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def stop(self) -> None:
        pass


class RichReporter:
    """An epoch bar and a batch bar with loss, accuracy and ETA; redrawn at most 10 times a
    second so the display costs nothing next to training."""

    live = True  # wants per-batch updates

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}", justify="right"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=10,
        )
        self.epoch_task: TaskID | None = None
        self.batch_task: TaskID | None = None
        self.epochs = 0
        self._last = 0.0

    def start(self, first_epoch: int, epochs: int, steps: int) -> None:
        self.epochs = epochs
        self.progress.start()
        self.epoch_task = self.progress.add_task(
            "epochs", total=epochs, completed=first_epoch, metrics=""
        )
        self.batch_task = self.progress.add_task("batches", total=steps, metrics="")

    def epoch_start(self, epoch: int) -> None:
        assert self.batch_task is not None
        self.progress.reset(self.batch_task, description=f"epoch {epoch + 1}", metrics="")

    def batch(self, step: int, logs: Mapping[str, float]) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        assert self.batch_task is not None
        self.progress.update(
            self.batch_task, completed=step + 1, metrics=format_logs(logs, ("loss", "accuracy"))
        )

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        assert self.epoch_task is not None and self.batch_task is not None
        task = self.progress.tasks[self.batch_task]
        self.progress.update(self.batch_task, completed=task.total)
        self.progress.update(self.epoch_task, completed=epoch + 1, metrics=format_logs(logs))
        self.progress.console.print(
            f"epoch {epoch + 1}/{self.epochs}: {format_logs(logs)} ({seconds:.1f} s)",
            markup=False,
            highlight=False,
        )

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, style="yellow")

    def stop(self) -> None:
        self.progress.stop()


def make_reporter(console: Console, *, plain: bool) -> PlainReporter | RichReporter:
    if plain or not console.is_terminal:
        return PlainReporter(console)
    return RichReporter(console)
