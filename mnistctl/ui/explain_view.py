"""``mnistctl explain`` in the terminal: one row per picture (its file or test index, what
the model read, its top guesses, the PNG drawn), and which layer Grad-CAM looked at."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from mnistctl.ui.console import break_after, plain
from mnistctl.ui.runs_view import short_path

if TYPE_CHECKING:
    from mnistctl.commands.explain import Explained, ExplainResult


def _source(entry: Explained) -> str:
    if entry.file is None:
        return f"test {entry.test_index}"
    path = Path(entry.file)
    return short_path(path) if path.is_absolute() else entry.file


def _label(entry: Explained) -> str:
    k = entry.label
    name = entry.class_names[k]
    shown = str(k) if name == str(k) else f"{k} {name}"
    if entry.true_label is not None and entry.true_label != k:
        shown += f" (labelled {entry.class_names[entry.true_label]})"
    return shown


def _png(entry: Explained) -> str:
    return "-" if entry.png is None else short_path(entry.png)


def render_explain(result: ExplainResult, out: Console) -> None:
    """The table (or, where it would not fit, two lines a picture), then the layer line."""
    rows = [
        (_source(e), _label(e), "  ".join(f"{n}: {p:.1%}" for n, p in e.top(3)), _png(e))
        for e in result.entries
    ]
    title = plain(f"{result.name}: explained ({', '.join(result.methods)})")
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(4)]
    if sum(widths) + 13 > out.width:
        out.print(title)
        for source, label, top, png in rows:
            for piece in break_after(source, out.width):
                out.print(plain(piece), soft_wrap=True)
            out.print(Padding(plain(f"label {label}   top 3: {top}"), (0, 0, 0, 4)))
            out.print(Padding(plain(png), (0, 0, 0, 4)), soft_wrap=True)
    else:
        table = Table(title=title, title_justify="left")
        table.add_column("picture", no_wrap=True)
        table.add_column("label", justify="right", no_wrap=True)
        table.add_column("top 3 (probability)")
        table.add_column("PNG", no_wrap=True)
        for row in rows:
            table.add_row(*(plain(cell) for cell in row))
        out.print(table)
    out.print(plain(layer_line(result)), soft_wrap=True)


def layer_line(result: ExplainResult) -> str:
    if "gradcam" not in result.methods:
        return f"convolutional layers (--layer): {', '.join(result.conv_layers) or 'none'}"
    if result.layer is None:
        return "Grad-CAM: none (the model has no convolutional layer)"
    others = ", ".join(result.conv_layers)
    return f"Grad-CAM at layer {result.layer} (--layer may name: {others})"
