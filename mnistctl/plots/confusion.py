"""Confusion matrix heat map: true class by row, predicted class by column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib import colormaps
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from mnistctl.plots.common import (
    ellipsize,
    labels_for,
    message_figure,
    new_figure,
    save_figure,
    text_colour_on,
)

MAX_LABEL = 24  # characters of a class name on the axes
MAX_ANNOTATED = 30  # classes; beyond this the cells are too small for their counts
MAX_TICKS = 60  # class names along each axis, at most
ZERO_COLOUR = "#c8c8c8"


@dataclass
class _Colouring:
    """What each cell shows: ``values`` (shares or counts) on two colour scales, blue for the
    diagonal (correct), red for the rest (errors)."""

    counts: npt.NDArray[np.int64]
    rates: npt.NDArray[np.float64]  # share of the true class (row-normalised)
    values: npt.NDArray[np.float64]  # what the colours show: rates or counts
    normalize: bool
    diag_cmap: Colormap
    err_cmap: Colormap
    diag_norm: Normalize
    err_norm: Normalize

    @classmethod
    def of(cls, m: npt.NDArray[np.int64], normalize: bool) -> _Colouring:
        row_sums = m.sum(axis=1, keepdims=True)
        rates = np.divide(m, row_sums, out=np.zeros(m.shape), where=row_sums > 0)
        values = rates if normalize else m.astype(np.float64)
        off_max = float(np.where(np.eye(m.shape[0], dtype=bool), 0.0, values).max())
        diag_top = 1.0 if normalize else max(float(np.diag(values).max()), 1.0)
        return cls(
            m, rates, values, normalize, colormaps["Blues"], colormaps["Reds"],
            Normalize(0.0, diag_top), Normalize(0.0, off_max if off_max > 0 else 1.0),
        )  # fmt: skip

    def cell_colour(self, i: int, j: int) -> Any:
        """The RGBA background of cell (i, j)."""
        if i == j:
            return self.diag_cmap(self.diag_norm(self.values[i, j]))
        return self.err_cmap(self.err_norm(self.values[i, j]))


def validated_matrix(matrix: Sequence[Sequence[int]] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """``matrix`` as a square array of counts; ``ValueError`` if it is not one."""
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {m.shape}")
    if m.size and (m.dtype.kind not in "biuf" or not np.all(np.isfinite(m)) or np.any(m < 0)):
        raise ValueError("confusion matrix must hold non-negative counts")
    return m.astype(np.int64)


def accuracy_heading(m: npt.NDArray[np.int64], title: str) -> str:
    total = int(m.sum())
    correct = int(np.trace(m))
    accuracy = (
        f"accuracy {correct / total:.2%} ({correct:,}/{total:,})" if total else "accuracy n/a"
    )
    return f"{title} — {accuracy}" if title else f"Confusion matrix — {accuracy}"


def build_confusion_matrix_figure(
    matrix: Sequence[Sequence[int]] | npt.NDArray[Any],
    labels: Sequence[str] | None = None,
    title: str = "",
    *,
    normalize: bool = True,
) -> Figure:
    """The figure of :func:`plot_confusion_matrix`, not saved."""
    m = validated_matrix(matrix)
    n = m.shape[0]
    names = labels_for(n, labels)
    heading = accuracy_heading(m, title)
    if n == 0:
        return message_figure("empty confusion matrix", heading)
    colouring = _Colouring.of(m, normalize)
    side = min(max(4.0, 0.62 * n + 2.0), 24.0)
    fig = new_figure(side + 1.7, side + 0.3)
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    diag_img, err_img = _draw_cells(ax, colouring)
    if n <= MAX_ANNOTATED:
        _annotate_cells(ax, colouring)
    _style_axes(ax, names)
    _add_colour_bars(fig, ax, diag_img, err_img, normalize)
    ax.set_title(heading, fontsize=12)
    return fig


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]] | npt.NDArray[Any],
    out: Path,
    labels: Sequence[str] | None = None,
    title: str = "",
    *,
    normalize: bool = True,
) -> Path:
    """Heat map of a confusion matrix: rows are the true class, columns the predicted class.

    Every cell shows its count (text colour chosen for contrast). The diagonal (correct) and
    the off-diagonal (errors) cells are coloured on separate scales (blue and red) so errors
    stay visible next to a dominating diagonal. With ``normalize`` (the default) colours are
    the share of the true class (row-normalised; diagonal cells then also show the recall),
    otherwise raw counts. The overall accuracy is in the title.
    """
    fig = build_confusion_matrix_figure(matrix, labels, title, normalize=normalize)
    return save_figure(fig, out)


def _draw_cells(ax: Any, c: _Colouring) -> tuple[Any, Any]:
    """Two images over each other: the diagonal, and the non-zero errors (zero errors stay
    white)."""
    diag_mask = np.eye(c.counts.shape[0], dtype=bool)
    diag_img = ax.imshow(
        np.ma.masked_where(~diag_mask, c.values), cmap=c.diag_cmap, norm=c.diag_norm,
        interpolation="nearest",
    )  # fmt: skip
    err_img = ax.imshow(
        np.ma.masked_where(diag_mask | (c.counts == 0), c.values), cmap=c.err_cmap,
        norm=c.err_norm, interpolation="nearest",
    )  # fmt: skip
    return diag_img, err_img


def _annotate_cells(ax: Any, c: _Colouring) -> None:
    """Each cell's count (and on the diagonal, for up to 15 classes, the recall)."""
    n = c.counts.shape[0]
    size = max(5.0, min(10.0, 95.0 / n))
    for i in range(n):
        for j in range(n):
            count = int(c.counts[i, j])
            if i != j and not count:
                ax.text(j, i, "0", ha="center", va="center", fontsize=size * 0.85,
                        color=ZERO_COLOUR)  # fmt: skip
                continue
            text = f"{count:,}"
            if i == j and c.normalize and n <= 15 and c.counts[i].sum():
                text += f"\n{c.rates[i, j]:.1%}"
            ax.text(
                j, i, text, ha="center", va="center", color=text_colour_on(c.cell_colour(i, j)),
                linespacing=1.1, fontsize=size * (0.85 if "\n" in text else 1.0),
                fontweight="bold" if i == j else "normal",
            )  # fmt: skip


def _style_axes(ax: Any, names: Sequence[str]) -> None:
    n = len(names)
    step = -(-n // MAX_TICKS)  # many classes: every step-th named
    at = list(range(0, n, step))
    shown = [ellipsize(names[i], MAX_LABEL) for i in at]
    ax.set_xticks(at, shown, fontsize=10)
    if max(len(name) for name in shown) > 12:  # long names would run into each other
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set(ha="right", rotation_mode="anchor")
    ax.set_yticks(at, shown, fontsize=10)
    ax.set_xlabel("predicted class", fontsize=11)
    ax.set_ylabel("true class", fontsize=11)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.0 if n <= MAX_TICKS else 0.0)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _add_colour_bars(fig: Figure, ax: Any, diag_img: Any, err_img: Any, normalize: bool) -> None:
    what = "% of true class" if normalize else "count"
    err_bar = fig.colorbar(err_img, ax=ax, shrink=0.75, pad=0.02, aspect=30)
    err_bar.set_label(f"errors ({what})", fontsize=9)
    diag_bar = fig.colorbar(diag_img, ax=ax, shrink=0.75, pad=0.01, aspect=30)
    diag_bar.set_label(f"correct ({what})", fontsize=9)
    for bar in (err_bar, diag_bar):
        bar.ax.tick_params(labelsize=8)
        bar.outline.set_visible(False)
        if normalize:
            bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
