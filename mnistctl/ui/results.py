"""How each command's result looks in the terminal (``--json`` prints ``result.to_json()``).

Results are data (``commands/``); this module only draws them. Nothing here imports
TensorFlow: the result types are imported for type checking only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from mnistctl.ui.console import break_after, plain
from mnistctl.ui.runs_view import short_path
from mnistctl.ui.tables import (
    confusion_table,
    metrics_table,
    most_confused_table,
    per_class_table,
)

MAX_MATRIX = 12  # classes in a confusion matrix that fits 80 columns

if TYPE_CHECKING:
    from mnistctl.commands.evaluate import EvaluateResult
    from mnistctl.commands.plot import PlotResult
    from mnistctl.commands.predict import PredictResult
    from mnistctl.commands.train import TrainResult
    from mnistctl.runs.layout import Checkpoint


def render_train_notes(result: TrainResult, err: Console) -> None:
    """What a person should know besides the result (on stderr, also with --json)."""
    if result.note:
        err.print(plain(f"{result.run_dir}: {result.note}"))
    if result.status == "interrupted":
        err.print(
            plain(
                f"interrupted: {result.epochs_completed} epoch(s) kept in {result.run_dir}; "
                f"continue with 'mnistctl train --resume {result.run_dir}'"
            )
        )


def render_train(result: TrainResult, out: Console) -> None:
    if result.status != "completed":
        return
    final = {k: v[-1] for k, v in result.history.items() if v}
    rows: dict[str, Any] = {**final, **{f"test_{k}": v for k, v in result.test.items()}}
    out.print(metrics_table(f"{result.name}: {result.epochs_completed} epochs", rows))
    out.print(plain(f"run directory: {result.run_dir}"), soft_wrap=True)
    best = result.best_checkpoint
    if best:
        ends = (
            "the run ends with it" if result.final_checkpoint == "best" else "use --checkpoint best"
        )
        out.print(
            plain(
                f"best epoch: {best['epoch']} ({best['monitor']} {best['value']:.4f}), "
                f"kept as {best['file']} ({ends})"
            ),
            soft_wrap=True,
        )
    if result.learning_curves:
        out.print(plain(f"learning curves: {result.learning_curves}"), soft_wrap=True)


def checkpoint_line(checkpoint: Checkpoint) -> str:
    """Which model a command used: ``model: best.keras (epoch 12 of 15, best val_loss
    0.0312)`` or ``model: model.keras (last epoch, 15)``."""
    if checkpoint.name == "last":
        done = f", {checkpoint.epochs}" if checkpoint.epochs else ""
        return f"model: {checkpoint.file} (last epoch{done})"
    of = f" of {checkpoint.epochs}" if checkpoint.epochs else ""
    about = [f"epoch {checkpoint.epoch}{of}" if checkpoint.epoch else "best epoch"]
    if checkpoint.monitor and checkpoint.value is not None:
        about.append(f"best {checkpoint.monitor} {checkpoint.value:.4f}")
    return f"model: {checkpoint.file} ({', '.join(about)})"


def render_checkpoint(checkpoint: Checkpoint, out: Console) -> None:
    out.print(plain(checkpoint_line(checkpoint)), soft_wrap=True)


def render_evaluate(result: EvaluateResult, out: Console) -> None:
    names = list(result.class_names)
    render_checkpoint(result.checkpoint, out)
    out.print(
        metrics_table(
            f"{result.name}: test set ({result.test_samples:,} images)",
            {"loss": result.loss, "accuracy": result.accuracy},
        )
    )
    out.print(per_class_table(result.per_class, names))
    if len(names) <= MAX_MATRIX:
        out.print(confusion_table(result.confusion_matrix, names))
    else:
        out.print(most_confused_table(result.confusion_matrix, names))


def render_predict(result: PredictResult, out: Console) -> None:
    """A row per picture in order; one that could not be predicted says why in its place.

    Files are shown relative to the current folder when they lie in it. A table whose file
    names do not fit the terminal beside the other columns would break them in the middle:
    then each picture is two lines instead, its file alone on the first."""
    from mnistctl.commands.predict import Failure  # loaded already: the command made result

    names = result.class_names
    rows: list[tuple[str, str, str]] = []
    for row in result.entries:
        file = short_path(Path(row.file)) if Path(row.file).is_absolute() else row.file
        if isinstance(row, Failure):
            rows.append((file, "-", f"not predicted: {row.error.message}"))
            continue
        probs = np.asarray(row.probabilities)
        best = np.argsort(-probs)[:3]
        k = row.label
        shown = str(k) if names[k] == str(k) else f"{k} {names[k]}"
        rows.append((file, shown, "  ".join(f"{names[i]}: {probs[i]:.1%}" for i in best)))
    title = plain(f"{result.name}: predictions")
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(2)]
    guesses = max((len(r[2]) for r in rows if not r[2].startswith("not predicted")), default=0)
    if sum(widths) + max(guesses, len("top 3 (probability)")) + 10 > out.width:
        out.print(title)
        for file, label, top in rows:
            for piece in break_after(file, out.width):
                out.print(plain(piece), soft_wrap=True)
            about = top if label == "-" else f"label {label}   top 3: {top}"
            out.print(Padding(plain(about), (0, 0, 0, 4)))
        return
    table = Table(title=title, title_justify="left")
    table.add_column("file", no_wrap=True)
    table.add_column("label", justify="right", no_wrap=True)
    table.add_column("top 3 (probability)")
    for file, label, top in rows:
        table.add_row(plain(file), plain(label), plain(top))
    out.print(table)


def render_predict_failures(result: PredictResult, err: Console) -> None:
    """Each picture that could not be predicted, one line each in order (on stderr, also with
    --json), and how many."""
    for failure in result.failures:
        line = plain(failure.error.one_line())
        err.print(Text("error: ", style="bold red") + line if err.is_terminal else line)
    err.print(
        plain(f"{len(result.failures)} of {len(result.entries)} not predicted", style="bold red")
    )


def render_plot(result: PlotResult, out: Console, err: Console) -> None:
    """The files on ``out``, one a line; which model drew them, and what was not drawn and
    why, on ``err``."""
    render_checkpoint(result.checkpoint, err)
    for path in result.files:
        out.print(plain(str(path)), soft_wrap=True)
    reasons: dict[str, list[str]] = {}
    for name, why in result.not_drawn.items():
        reasons.setdefault(why, []).append(name.replace("_", " "))
    for why, names in reasons.items():  # one line: "not drawn: filters, feature maps (...)"
        err.print(plain(f"not drawn: {', '.join(names)} ({why})"), soft_wrap=True)
