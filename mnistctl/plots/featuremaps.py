"""One picture's feature maps through every convolution: a row per convolution, named by the
spec's layer name, its channels as tiles (those the caller chose, at most ``MAX_MAPS``; each
tile numbered by its channel), above them the picture itself.

Drawn as pictures are (``style.py``): bright is strong, on black, on one scale per row with
its colour bar, so the channels of a layer compare at a glance. Tiles are at least
``MIN_TILE_PX`` pixels across, however small the maps are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from mnistctl.plots.common import (
    DPI,
    MUTED,
    TEXT,
    ellipsize,
    message_figure,
    new_figure,
    save_figure,
)
from mnistctl.plots.style import PICTURE_CMAP

MAX_MAPS = 16  # channels shown per convolution
MIN_TILE_PX = 56
TILE = 0.62  # inches: 74 px at 120 dpi
GAP, LEFT, TOP, BAR = 0.1, 1.5, 0.4, 0.55

# (row label, maps (height, width, channels), the channels to show: None for the first MAX_MAPS)
Maps = Sequence[tuple[str, npt.NDArray[Any], Sequence[int] | None]]


def _finite(arr: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    out = np.asarray(arr, dtype=np.float64)
    return np.where(np.isfinite(out), out, 0.0)


def build_feature_maps_figure(
    picture: npt.NDArray[Any], maps: Maps, caption: str, title: str = ""
) -> Figure:
    """The figure of :func:`plot_feature_maps`, not saved."""
    heading = f"{title} — " if title else ""
    heading += "feature maps of each convolution"
    if not maps:
        return message_figure("the model has no convolution", heading)
    rows = [(name, _finite(m), _channels(m, chosen)) for name, m, chosen in maps]
    cols = max(len(channels) for _, _, channels in rows)
    tile = max(TILE, MIN_TILE_PX / DPI)
    width = max(LEFT + cols * (tile + GAP) + BAR + 0.3, 6.0)
    height = TOP + (len(rows) + 1) * (tile + GAP + 0.18) + 0.15
    fig = new_figure(width, height, constrained=False)

    def axes(row: int, col: int) -> Any:
        top = TOP + row * (tile + GAP + 0.18) + 0.18
        ax = fig.add_axes(((LEFT + col * (tile + GAP)) / width, 1 - (top + tile) / height,
                           tile / width, tile / height))  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return ax

    _draw_picture(axes(0, 0), picture, caption)
    for r, (name, m, channels) in enumerate(rows, start=1):
        lo, hi = float(m.min()), float(m.max())
        norm = Normalize(min(lo, 0.0), hi if hi > min(lo, 0.0) else min(lo, 0.0) + 1.0)
        image: Any = None
        for col, c in enumerate(channels):
            ax = axes(r, col)
            image = ax.imshow(m[:, :, c], cmap=PICTURE_CMAP, norm=norm, interpolation="nearest")
            ax.set_title(f"#{c}", fontsize=7, color=MUTED, pad=1.5)
            if col == 0:
                shown = (
                    f"{m.shape[2]} maps"
                    if len(channels) == m.shape[2]
                    else (f"{len(channels)} most active\nof {m.shape[2]} maps")
                )
                ax.set_ylabel(f"{ellipsize(name, 18)}\n{m.shape[0]}×{m.shape[1]}, {shown}",
                              fontsize=8, color=TEXT, rotation=0, ha="right", va="center",
                              labelpad=8)  # fmt: skip
        bar = axes(r, len(channels))
        bar.set_position((bar.get_position().x0, bar.get_position().y0,
                          0.12 / width, tile / height))  # fmt: skip
        fig.colorbar(image, cax=bar).ax.tick_params(labelsize=7)
        bar.set_label("colour bar")
    fig.suptitle(heading, fontsize=12, y=1 - 0.1 / height, va="top")
    return fig


def _channels(maps: npt.NDArray[np.float64], chosen: Sequence[int] | None) -> list[int]:
    """The channels of ``maps`` a row shows: ``chosen`` (checked), or the first ones."""
    if maps.ndim != 3:
        raise ValueError(f"expected maps as (height, width, channels), got {maps.shape}")
    picked = list(range(maps.shape[2])) if chosen is None else [int(c) for c in chosen]
    if any(not 0 <= c < maps.shape[2] for c in picked):
        raise ValueError(f"channels {picked} not all among the {maps.shape[2]} maps")
    return picked[:MAX_MAPS]


def _draw_picture(ax: Any, picture: npt.NDArray[Any], caption: str) -> None:
    """The picture the maps are of, as pictures are drawn everywhere (white ink on black)."""
    pic = _finite(picture)
    if pic.ndim == 3 and pic.shape[2] == 1:
        pic = pic[:, :, 0]
    vmax = 1.0 if float(pic.max(initial=0.0)) <= 1.0 else 255.0
    if pic.ndim == 3:  # RGB: as it is
        ax.imshow(np.clip(pic / vmax, 0.0, 1.0), interpolation="nearest")
    else:
        ax.imshow(pic, cmap=PICTURE_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_ylabel(
        "picture", fontsize=8, color=TEXT, rotation=0, ha="right", va="center", labelpad=8
    )
    ax.text(1.15, 0.5, caption, transform=ax.transAxes, fontsize=9, color=TEXT, va="center")


def plot_feature_maps(
    picture: npt.NDArray[Any], maps: Maps, out: Path, caption: str, title: str = ""
) -> Path:
    """Draw ``picture`` (``(height, width)``, ``(height, width, 1)`` or RGB ``(height, width,
    3)``; 0..255 or 0..1) and, one row each, the ``maps`` of each convolution (``(label,
    (height, width, channels), channels to show)``, in the model's order: a row not showing
    every channel says "N most active of M"); ``caption`` says which picture it is (``test
    picture 0, a 7``)."""
    return save_figure(build_feature_maps_figure(picture, maps, caption, title), out)
