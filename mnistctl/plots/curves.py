"""Learning curves: one panel per metric, training and validation values per epoch, drawn as
``style.py`` says (validation solid, train dashed, a legend saying so, a title)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from mnistctl.plots.common import (
    MUTED,
    TRAIN,
    VAL,
    ellipsize,
    message_figure,
    new_figure,
    save_figure,
)
from mnistctl.plots.style import TRAIN_LABEL, TRAIN_LINE, VAL_LABEL, VAL_LINE
from mnistctl.spec.options import lower_is_better

Values = npt.NDArray[np.float64]

_ACRONYMS = {"mae", "mse", "rmse", "mape", "msle", "auc", "lr"}
# Larger magnitudes are treated as non-finite: an axis spanning them (plus margins) overflows
# float64 and Matplotlib's tick locators fail. A float32 metric never gets near this.
PLOT_LIMIT = 1e300
NO_FINITE_VALUES = "no finite values"
MAX_TITLE = 40  # characters of a metric name over its panel
HEADING = "Learning curves"


def pretty_metric(metric: str) -> str:
    if metric.lower() in _ACRONYMS:
        return metric.upper()
    text = metric.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else metric


def plottable(values: Sequence[float]) -> Values:
    """``values`` as a flat float array, NaN (a gap in the curve) where a value is not finite
    or too large to put on an axis."""
    arr = np.asarray(list(values), dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        arr[~(np.abs(arr) <= PLOT_LIMIT)] = np.nan
    return arr


def metric_bases(series: Mapping[str, Values]) -> list[str]:
    """The metrics to draw, one panel each: ``loss`` first, then the other losses, then the
    rest in the given order; ``val_x`` belongs to ``x``; metrics with no epoch are left out."""
    bases: list[str] = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base and base not in bases:
            bases.append(base)
    bases.sort(key=lambda b: (b != "loss", not b.endswith("loss")))  # stable: keeps the rest
    return [b for b in bases if len(series.get(b, ())) or len(series.get(f"val_{b}", ()))]


def build_learning_curves_figure(history: Mapping[str, Sequence[float]], title: str = "") -> Figure:
    """The figure of :func:`plot_learning_curves`, not saved."""
    series = {str(k): plottable(v) for k, v in history.items()}
    bases = metric_bases(series)
    heading = f"{HEADING} — {title}" if title else HEADING
    if not bases:
        return message_figure("no training history recorded", heading)
    n = len(bases)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = new_figure(4.6 * ncols + 0.4, 3.5 * nrows + 0.4)
    n_epochs = max(len(v) for v in series.values())
    empty = np.empty(0)
    for i, base in enumerate(bases):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        train, val = series.get(base, empty), series.get(f"val_{base}", empty)
        _draw_panel(ax, base, train, val, n_epochs)
    fig.suptitle(heading, fontsize=13)
    return fig


def plot_learning_curves(
    history: Mapping[str, Sequence[float]], out: Path, title: str = ""
) -> Path:
    """One panel per metric (loss first), training and validation curves per epoch.

    The figure's title is ``Learning curves — {title}`` (``Learning curves`` without one);
    validation is solid, train dashed, and the legend says so (``style.py``).
    ``history`` is Keras' ``History.history``: ``{"loss": [...], "val_loss": [...], ...}``;
    ``val_*`` keys are optional. The x axis is the epoch, starting at 1, with integer ticks;
    every point has a marker so a 1-epoch run is visible. On panels with validation data the
    best validation epoch (lowest for losses/errors, highest otherwise) is starred.
    Non-finite values (a diverged loss) are left as gaps, the axes fit the finite values, and
    the panel says how many values were not drawn.
    """
    return save_figure(build_learning_curves_figure(history, title), out)


def _draw_panel(ax: Any, base: str, train: Values, val: Values, n_epochs: int) -> None:
    finite = np.isfinite(np.concatenate([train, val]))
    as_percent = _is_percent(base, np.concatenate([train, val]))
    if train.size:
        _draw_series(ax, train, TRAIN_LABEL, marker="o", ls=TRAIN_LINE, color=TRAIN)
    if val.size:
        _draw_series(ax, val, VAL_LABEL, marker="s", ls=VAL_LINE, color=VAL)
        _mark_best(ax, base, val, as_percent)
    finish_epoch_axes(
        ax, base, n_epochs, int(finite.size - finite.sum()), bool(finite.any()), as_percent
    )
    ax.legend(fontsize=9, frameon=False, loc="best")


def finish_epoch_axes(
    ax: Any, base: str, n_epochs: int, skipped: int, any_finite: bool, as_percent: bool
) -> None:
    """What every per-epoch panel has (here and in the comparison figure): title, epoch axis
    with the count of values not drawn, limits, a note where nothing could be drawn, grid."""
    ax.set_title(ellipsize(pretty_metric(base), MAX_TITLE), fontsize=12)
    note = f" ({skipped} non-finite value{'s' if skipped != 1 else ''} not drawn)"
    ax.set_xlabel("epoch" + (note if skipped else ""), fontsize=10)
    ax.set_xlim(0.5, n_epochs + 0.5)
    if any_finite:
        ax.margins(y=0.12)
    else:
        ax.set_ylim(0.0, 1.0)
        ax.text(0.5, 0.5, NO_FINITE_VALUES, transform=ax.transAxes, ha="center",
                va="center", fontsize=11, color=MUTED)  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if as_percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def _is_percent(base: str, values: Values) -> bool:
    """An accuracy-like metric whose finite values all lie in [0, 1]: shown in percent."""
    finite = values[np.isfinite(values)]
    return (
        "acc" in base.lower()
        and finite.size > 0
        and float(finite.min()) >= 0.0
        and float(finite.max()) <= 1.0
    )


def _draw_series(ax: Any, values: Values, name: str, *, marker: str, ls: str, color: str) -> None:
    """One curve, epochs from 1; NaN values are gaps. A series with nothing finite still gets
    its legend entry, which says so."""
    label = name if np.isfinite(values).any() else f"{name} ({NO_FINITE_VALUES})"
    ax.plot(
        np.arange(1, values.size + 1), values, marker=marker, markersize=4, lw=1.8, ls=ls,
        color=color, label=label, zorder=3,
    )  # fmt: skip


def _mark_best(ax: Any, base: str, val: Values, as_percent: bool) -> None:
    """A star (and a dotted line) on the best finite validation value."""
    if not np.isfinite(val).any():
        return
    best = int(np.nanargmin(val) if lower_is_better(base) else np.nanargmax(val))
    best_value = float(val[best])
    shown = f"{best_value:.2%}" if as_percent else f"{best_value:.4g}"
    ax.axvline(best + 1, color=VAL, lw=0.8, ls=":", alpha=0.7, zorder=1)
    ax.plot(
        [best + 1], [best_value], marker="*", markersize=15, color="#ffbf00",
        markeredgecolor="#7a5a00", ls="none", zorder=2,
        label=f"best val: epoch {best + 1} ({shown})",
    )  # fmt: skip
