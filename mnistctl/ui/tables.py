"""Rich tables: the model summary, metrics, per-class results, the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mnistctl.formatting import format_shape
from mnistctl.spec.model import ModelInfo
from mnistctl.spec.plan import TrainingPlan
from mnistctl.ui.console import plain


def summary_table(name: str, info: ModelInfo) -> Table:
    table = Table(title=plain(f'Model: "{name}"'), title_justify="left", show_lines=False)
    table.add_column("Layer (type)", no_wrap=True)
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Param #", justify="right")
    connected = info.branches
    if connected:
        table.add_column("Connected to")
    for layer in info.layers:
        row: list[str | Text] = [
            plain(f"{layer.name} ({layer.type})"),
            format_shape(layer.output_shape, batch=True),
            f"{layer.params:,}",
        ]
        if connected:
            row.append(plain(", ".join(layer.inputs) or "-"))
        table.add_row(*row)
    return table


def render_summary(
    name: str, info: ModelInfo, console: Console, plan: TrainingPlan | None = None
) -> None:
    console.print(summary_table(name, info))
    console.print(f" Total params: {info.total:,} ({_size(info.total)})")
    console.print(f" Trainable params: {info.trainable:,} ({_size(info.trainable)})")
    console.print(f" Non-trainable params: {info.non_trainable:,} ({_size(info.non_trainable)})")
    if plan is not None:
        for line in plan.lines():  # long lines: the terminal wraps them, not rich
            console.print(f" Training: {plain(line)}", soft_wrap=True)
        for warning in plan.warnings:
            console.print(f" [yellow]warning:[/yellow] {plain(warning)}", soft_wrap=True)


def _size(params: int) -> str:
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return ""


# --- metrics ---------------------------------------------------------------------------------


def metrics_table(title: str, metrics: Mapping[str, float]) -> Table:
    table = Table(title=plain(title), title_justify="left", min_width=len(title) + 2)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


def per_class_table(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Table:
    table = Table(title="Per class", title_justify="left")
    for col in ("label", "precision", "recall", "f1", "support"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for row in rows:
        label = int(row["label"])
        shown = names[label] if names[label] != str(label) else str(label)
        table.add_row(
            Text(shown if shown == str(label) else f"{label} {shown}"),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    return table


def most_confused_table(
    matrix: Sequence[Sequence[int]], names: Sequence[str], top: int = 15
) -> Table:
    """For many classes (a full matrix would not fit a terminal): the largest errors, as
    true -> predicted pairs with their counts (``--json`` and ``plot`` have the whole matrix)."""
    pairs = sorted(
        ((count, i, j) for i, row in enumerate(matrix) for j, count in enumerate(row)
         if i != j and count),
        key=lambda p: (-p[0], p[1], p[2]),
    )[:top]  # fmt: skip
    table = Table(title="Most confused (true -> predicted)", title_justify="left")
    for col in ("true", "predicted", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for count, i, j in pairs:
        table.add_row(Text(f"{i} {names[i]}"), Text(f"{j} {names[j]}"), f"{count:,}")
    if not pairs:
        table.add_row("none", "", "")
    return table


def confusion_table(matrix: Sequence[Sequence[int]], names: Sequence[str]) -> Table:
    """Rows: true label; columns: predicted. Errors shaded by how many, so they stand out."""
    table = Table(title="Confusion matrix (rows: true, columns: predicted)", title_justify="left")
    table.add_column("true", justify="right")
    for j in range(len(matrix)):
        table.add_column(str(j), justify="right")
    worst = max(
        (matrix[i][j] for i in range(len(matrix)) for j in range(len(matrix)) if i != j),
        default=0,
    )
    for i, row in enumerate(matrix):
        cells = []
        for j, count in enumerate(row):
            if i == j:
                cells.append(Text(str(count), style="bold green"))
            elif count == 0:
                cells.append(Text("·", style="dim"))
            else:
                level = count / worst if worst else 0
                style = (
                    "bold white on red" if level > 0.5 else ("red" if level > 0.15 else "yellow")
                )
                cells.append(Text(str(count), style=style))
        label = names[i] if names[i] == str(i) else f"{i} {names[i]}"
        table.add_row(label, *cells)
    return table
