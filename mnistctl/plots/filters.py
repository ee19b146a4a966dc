"""The first convolution's filters: one tile per filter, on one diverging colour scale centred
at 0 (blue negative, red positive) with a colour bar, so that what a filter looks for (a bright
stroke, an edge, a colour against another) reads at a glance.

A filter over several input channels (an RGB picture) is drawn as one row of tiles per channel
(up to ``MAX_CHANNELS``; the channel's name at the row's start), so a colour filter is not
averaged away; beyond that, averaged over the channels, and the title says so. At most
``MAX_FILTERS`` filters are drawn; the title says how many there are.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from mnistctl.plots.common import MUTED, TEXT, ellipsize, message_figure, new_figure, save_figure

CMAP = "RdBu_r"  # diverging: 0 white, negative blue, positive red
MAX_FILTERS = 64
MAX_CHANNELS = 4  # per-channel rows up to this many input channels; averaged beyond
COLUMNS = 8  # filters per band of rows
TILE = 0.62  # inches (74 px at 120 dpi)
GAP, LEFT, TOP, BAR_W = 0.12, 0.75, 0.75, 0.5
RGB = ("R", "G", "B")


def _check(kernels: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    arr = np.asarray(kernels, dtype=np.float64)
    if arr.ndim != 4:
        raise ValueError(
            f"expected kernels of shape (height, width, channels, filters), got {arr.shape}"
        )
    return np.where(np.isfinite(arr), arr, 0.0)


def build_filters_figure(kernels: npt.NDArray[Any], layer: str, title: str = "") -> Figure:
    """The figure of :func:`plot_filters`, not saved."""
    arr = _check(kernels)
    heading = f"{title} — " if title else ""
    heading += f"filters of the first convolution, {ellipsize(layer, 40)}"
    total, channels = arr.shape[3], arr.shape[2]
    if total == 0 or arr.shape[0] == 0 or arr.shape[1] == 0:
        return message_figure("the convolution has no filters", heading)
    averaged = channels > MAX_CHANNELS
    if averaged:
        arr = arr.mean(axis=2, keepdims=True)
    shown = min(total, MAX_FILTERS)
    arr = arr[..., :shown]
    notes = [f"{total} filters" if shown == total else f"the first {shown} of {total} filters"]
    notes.append(f"{arr.shape[0]}×{arr.shape[1]}")
    if averaged:
        notes.append(f"averaged over {channels} input channels")
    return _draw(arr, f"{heading}\n{', '.join(notes)}; 0 is white")


def plot_filters(kernels: npt.NDArray[Any], out: Path, layer: str, title: str = "") -> Path:
    """Draw ``kernels`` (``(height, width, input channels, filters)``, as Keras stores a
    Conv2D's kernel) as tiles: one per filter and input channel (see the module)."""
    return save_figure(build_filters_figure(kernels, layer, title), out)


def _draw(arr: npt.NDArray[np.float64], heading: str) -> Figure:
    _, _, channels, shown = arr.shape
    cols = min(shown, COLUMNS if channels == 1 else 2 * COLUMNS)
    bands = math.ceil(shown / cols)
    rows = bands * channels
    content = (LEFT if channels > 1 else 0.0) + cols * (TILE + GAP) + 0.2 + BAR_W
    width = max(content + 0.6, 6.2)
    label_w = (width - content) / 2 + (LEFT if channels > 1 else 0.0)
    band_gap = 0.25 if channels > 1 else 0.0
    height = TOP + rows * (TILE + GAP) + bands * band_gap + 0.2
    fig = new_figure(width, height, constrained=False)
    limit = float(np.abs(arr).max()) or 1.0
    norm = Normalize(-limit, limit)
    image: Any = None
    for f in range(shown):
        band, col = divmod(f, cols)
        for c in range(channels):
            row_top = TOP + band * (channels * (TILE + GAP) + band_gap) + c * (TILE + GAP)
            rect = (
                (label_w + col * (TILE + GAP)) / width,
                1 - (row_top + TILE) / height,
                TILE / width,
                TILE / height,
            )
            ax = fig.add_axes(rect)
            image = ax.imshow(arr[:, :, c, f], cmap=colormaps[CMAP], norm=norm,
                              interpolation="nearest")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(str(f), fontsize=8, color=MUTED, pad=2)
            if col == 0 and channels > 1:
                name = RGB[c] if channels == 3 else f"ch {c}"
                ax.set_ylabel(name, fontsize=9, color=TEXT, rotation=0, ha="right", va="center")
    bar_ax = fig.add_axes(
        (
            (label_w + cols * (TILE + GAP) + 0.2) / width,
            0.25 / height,
            0.15 / width,
            (height - TOP - 0.3) / height,
        )
    )
    fig.colorbar(image, cax=bar_ax).ax.tick_params(labelsize=8)
    bar_ax.set_title("weight", fontsize=8, color=MUTED)
    bar_ax.set_label("colour bar")
    fig.suptitle(heading, fontsize=11, y=1 - 0.08 / height, va="top")
    return fig
