"""Learning curves of several runs overlaid: a loss and an accuracy panel, one colour per run,
training dashed and validation solid; one legend names the runs and the two line styles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mnistctl.plots.common import MUTED, ellipsize, message_figure, new_figure, save_figure
from mnistctl.plots.curves import Values, finish_epoch_axes, plottable

PANELS = ("loss", "accuracy")
MAX_LABEL = 48  # characters of a run's name in the legend
TRAIN_STYLE = "--"
VAL_STYLE = "-"

# Curves: one (legend label, Keras-style history {"loss": [...], "val_loss": [...], ...}) per run.
Curves = Sequence[tuple[str, Mapping[str, Sequence[float]]]]


def run_colours(n: int) -> list[str]:
    """``n`` distinct colours: matplotlib's tab10, then tab20 for more runs, then repeated."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if n <= 10 else "tab20"]
    size = int(palette.N)
    return [to_hex(palette(i % size)) for i in range(n)]


def build_compare_figure(curves: Curves, title: str = "") -> Figure:
    """The figure of :func:`plot_compare`, not saved."""
    series = [(label, {str(k): plottable(v) for k, v in h.items()}) for label, h in curves]
    panels = [p for p in PANELS if any(_has(s, p) for _, s in series)]
    if not panels:
        return message_figure("no training history recorded", title)
    colours = run_colours(len(series))
    fig = new_figure(5.2 * len(panels) + 0.4, 4.2 + 0.3 * ((len(series) + 3) // 4))
    n_epochs = max(len(v) for _, s in series for v in s.values())
    for i, base in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _draw_panel(ax, base, series, colours, n_epochs)
    handles = [
        Line2D([], [], color=colour, lw=2.2, label=ellipsize(label, MAX_LABEL))
        for (label, _), colour in zip(series, colours, strict=True)
    ]
    handles += [
        Line2D([], [], color=MUTED, lw=1.6, ls=TRAIN_STYLE, label="train"),
        Line2D([], [], color=MUTED, lw=1.6, ls=VAL_STYLE, label="validation"),
    ]
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False,
        fontsize=9,
    )  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def plot_compare(curves: Curves, out: Path, title: str = "") -> Path:
    """Write the overlaid learning curves of ``curves`` as a PNG at ``out``.

    Panels: loss and accuracy (those that any run recorded). Each run has one colour; its
    training curve is dashed, its validation curve solid; x is the epoch from 1. Values that
    are not finite (a diverged epoch) are gaps, and the panel's x label counts them."""
    return save_figure(build_compare_figure(curves, title), out)


def _has(series: Mapping[str, Values], base: str) -> bool:
    return bool(len(series.get(base, ())) or len(series.get(f"val_{base}", ())))


def _draw_panel(
    ax: Any,
    base: str,
    series: list[tuple[str, dict[str, Values]]],
    colours: list[str],
    n_epochs: int,
) -> None:
    skipped, finite_values = 0, []
    for (label, values), colour in zip(series, colours, strict=True):
        for key, style, part in ((base, TRAIN_STYLE, "train"), (f"val_{base}", VAL_STYLE, "val")):
            line = values.get(key)
            if line is None or not line.size:
                continue
            finite = np.isfinite(line)
            skipped += int(line.size - finite.sum())
            finite_values.append(line[finite])
            ax.plot(
                np.arange(1, line.size + 1), line, ls=style, color=colour, lw=1.8, marker="o",
                markersize=3, label=f"{label} ({part})", zorder=3,
            )  # fmt: skip
    drawn = np.concatenate(finite_values) if finite_values else np.empty(0)
    percent = base == "accuracy" and drawn.size > 0 and drawn.min() >= 0.0 and drawn.max() <= 1.0
    finish_epoch_axes(ax, base, n_epochs, skipped, drawn.size > 0, bool(percent))
