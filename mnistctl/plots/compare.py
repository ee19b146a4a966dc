"""Learning curves of several runs, or groups of runs, overlaid: a loss and an accuracy panel,
one colour per run or group, drawn as ``plots/style.py`` says (validation solid, training
dashed, a legend saying so, a title). A group of several runs (``train --seeds``) is drawn as
its mean per epoch with a shaded band of mean ± sample sd (``runs/stats.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mnistctl.plots.common import MUTED, ellipsize, message_figure, new_figure, save_figure
from mnistctl.plots.curves import Values, finish_epoch_axes, plottable
from mnistctl.plots.style import TRAIN_LABEL, TRAIN_LINE, VAL_LABEL, VAL_LINE
from mnistctl.runs.stats import bands

PANELS = ("loss", "accuracy")
MAX_LABEL = 48  # characters of a run's name in the legend
TRAIN_STYLE = TRAIN_LINE
VAL_STYLE = VAL_LINE
BAND_ALPHA = 0.18
BAND_LABEL = "mean ± sd over seeds"

History = Mapping[str, Sequence[float]]
# Curves: one (legend label, its history) per run, or (label, [histories]) per group of runs:
# Keras-style histories {"loss": [...], "val_loss": [...], ...}.
Curves = Sequence[tuple[str, History | Sequence[History]]]


@dataclass(frozen=True)
class _Series:
    label: str
    lines: dict[str, Values]  # the mean where a group
    low: dict[str, Values]  # the band (groups of two or more runs); empty otherwise
    high: dict[str, Values]
    runs: int


def run_colours(n: int) -> list[str]:
    """``n`` distinct colours: matplotlib's tab10, then tab20 for more runs, then repeated."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if n <= 10 else "tab20"]
    size = int(palette.N)
    return [to_hex(palette(i % size)) for i in range(n)]


def _series(label: str, value: History | Sequence[History]) -> _Series:
    histories = [value] if isinstance(value, Mapping) else list(value)
    if len(histories) == 1:
        lines = {str(k): plottable(v) for k, v in histories[0].items()}
        return _Series(label, lines, {}, {}, 1)
    got = bands(histories)
    return _Series(
        label,
        {k: plottable(b.mean) for k, b in got.items()},
        {k: plottable(b.low) for k, b in got.items()},
        {k: plottable(b.high) for k, b in got.items()},
        len(histories),
    )


def build_compare_figure(curves: Curves, title: str = "") -> Figure:
    """The figure of :func:`plot_compare`, not saved."""
    series = [_series(label, value) for label, value in curves]
    title = title or "Learning curves: " + " vs ".join(s.label for s in series)
    panels = [p for p in PANELS if any(_has(s.lines, p) for s in series)]
    if not panels:
        return message_figure("no training history recorded", title)
    colours = run_colours(len(series))
    fig = new_figure(5.2 * len(panels) + 0.4, 4.2 + 0.3 * ((len(series) + 3) // 4))
    n_epochs = max(len(v) for s in series for v in s.lines.values())
    for i, base in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _draw_panel(ax, base, series, colours, n_epochs)
    handles: list[Any] = [
        Line2D([], [], color=colour, lw=2.2, label=_legend_label(s))
        for s, colour in zip(series, colours, strict=True)
    ]
    handles += [
        Line2D([], [], color=MUTED, lw=1.6, ls=TRAIN_STYLE, label=TRAIN_LABEL),
        Line2D([], [], color=MUTED, lw=1.6, ls=VAL_STYLE, label=VAL_LABEL),
    ]
    if any(s.low for s in series):
        handles.append(Patch(color=MUTED, alpha=BAND_ALPHA * 2, label=BAND_LABEL))
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False,
        fontsize=9,
    )  # fmt: skip
    fig.suptitle(ellipsize(title, 90), fontsize=13)
    return fig


def _legend_label(series: _Series) -> str:
    label = ellipsize(series.label, MAX_LABEL)
    return f"{label} (mean of {series.runs} runs)" if series.runs > 1 else label


def plot_compare(curves: Curves, out: Path, title: str = "") -> Path:
    """Write the overlaid learning curves of ``curves`` as a PNG at ``out``.

    Panels: loss and accuracy (those that any run recorded). Each run or group has one colour;
    its training curve is dashed, its validation curve solid; a group's curves are its mean
    with a band of ± sd; x is the epoch from 1. Values that are not finite (a diverged epoch)
    are gaps, and the panel's x label counts them. ``title``: the figure's (by default, the
    labels)."""
    return save_figure(build_compare_figure(curves, title), out)


def _has(series: Mapping[str, Values], base: str) -> bool:
    return bool(len(series.get(base, ())) or len(series.get(f"val_{base}", ())))


def _draw_panel(
    ax: Any, base: str, series: list[_Series], colours: list[str], n_epochs: int
) -> None:
    skipped, finite_values = 0, []
    for one, colour in zip(series, colours, strict=True):
        for key, style, part in ((base, TRAIN_STYLE, "train"), (f"val_{base}", VAL_STYLE, "val")):
            line = one.lines.get(key)
            if line is None or not line.size:
                continue
            finite = np.isfinite(line)
            skipped += int(line.size - finite.sum())
            finite_values.append(line[finite])
            x = np.arange(1, line.size + 1)
            ax.plot(
                x, line, ls=style, color=colour, lw=1.8, marker="o", markersize=3,
                label=f"{one.label} ({part})", zorder=3,
            )  # fmt: skip
            if key in one.low:
                ax.fill_between(x, one.low[key], one.high[key], color=colour, alpha=BAND_ALPHA,
                                lw=0, zorder=2)  # fmt: skip
    drawn = np.concatenate(finite_values) if finite_values else np.empty(0)
    percent = base == "accuracy" and drawn.size > 0 and drawn.min() >= 0.0 and drawn.max() <= 1.0
    finish_epoch_axes(ax, base, n_epochs, skipped, drawn.size > 0, bool(percent))
