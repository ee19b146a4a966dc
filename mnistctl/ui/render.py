"""Terminal rendering: errors with excerpts, the summary table, metric tables.

Everything shown to a person goes through here; computation never prints.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mnistctl.errors import UserError, UserErrors
from mnistctl.spec.model import ModelInfo

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return Console(highlight=False)


def print_json(value: Any) -> None:
    """One JSON document on stdout, nothing else there."""
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
    sys.stdout.flush()


# --- errors ----------------------------------------------------------------------------------


def excerpt(source: str, line: int, col: int | None, context: int = 2) -> list[str]:
    """Lines around ``line`` (1-based) with a gutter, the line marked and a caret at ``col``."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return []
    width = len(str(min(len(lines), line + context)))
    out = []
    for n in range(max(1, line - context), min(len(lines), line + context) + 1):
        mark = ">" if n == line else " "
        out.append(f" {mark} {n:>{width}} | {lines[n - 1]}")
        if n == line and col:
            out.append(f"   {' ' * width} | {' ' * (col - 1)}^")
    return out


def render_errors(errors: UserErrors | UserError, console: Console) -> None:
    """One line per problem (``PATH:LINE:COL: ...``), each followed by an excerpt if known."""
    if isinstance(errors, UserError):
        errors = UserErrors([errors])
    for err in errors.errors:
        console.print(
            Text("error: ", style="bold red") + Text(err.one_line())
            if console.is_terminal
            else Text(err.one_line())
        )
        loc = err.location
        if (
            errors.source is not None
            and loc.line is not None
            and loc.file
            and not loc.file.startswith("--set")
        ):
            for row in excerpt(errors.source, loc.line, loc.col):
                console.print(Text(row, style="bold" if row.startswith(" >") else "dim"))
    if len(errors.errors) > 1:
        console.print(f"{len(errors.errors)} problems found", style="bold red")


# --- summary ---------------------------------------------------------------------------------


def shape_text(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def summary_table(name: str, info: ModelInfo) -> Table:
    table = Table(title=f'Model: "{name}"', title_justify="left", show_lines=False)
    table.add_column("Layer (type)", no_wrap=True)
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Param #", justify="right")
    connected = info.branches
    if connected:
        table.add_column("Connected to")
    for layer in info.layers:
        row = [
            f"{layer.name} ({layer.type})",
            shape_text(layer.keras_shape()),
            f"{layer.params:,}",
        ]
        if connected:
            row.append(", ".join(layer.inputs) or "-")
        table.add_row(*row)
    return table


def render_summary(name: str, info: ModelInfo, console: Console) -> None:
    console.print(summary_table(name, info))
    console.print(f" Total params: {info.total:,} ({_size(info.total)})")
    console.print(f" Trainable params: {info.trainable:,} ({_size(info.trainable)})")
    console.print(f" Non-trainable params: {info.non_trainable:,} ({_size(info.non_trainable)})")


def _size(params: int) -> str:
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return ""


# --- metrics ---------------------------------------------------------------------------------


def metrics_table(title: str, metrics: Mapping[str, float]) -> Table:
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
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
            shown if shown == str(label) else f"{label} {shown}",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
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
