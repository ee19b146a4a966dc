"""The misclassified digits grid: each image titled with its true and predicted class, drawn
as MNIST stores it and the served page shows it (``style.py``: white ink on black)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from mnistctl.plots.common import (
    DEFAULT_LABELS,
    TEXT,
    ellipsize,
    label,
    message_figure,
    new_figure,
    save_figure,
    text_width_in,
)
from mnistctl.plots.style import PICTURE_CMAP

MAX_LABEL = 14  # characters of a class name in a caption
ONE_LINE = 24  # characters of a caption on one line (more: two lines)
HEADING_SIZE = 12.0
# fixed layout in inches (much faster than constrained layout for dozens of axes)
CELL_W, IMG, CAPTION_H, PAD, TOP = 1.75, 1.42, 0.3, 0.12, 0.5


def as_digit_images(images: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``images`` as float (N, H, W) grey or (N, H, W, 3) RGB; also accepted: (N, H, W, 1)
    and flat square grey pictures (N, side * side), such as MNIST's (N, 784)."""
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2 and arr.shape[1] and math.isqrt(arr.shape[1]) ** 2 == arr.shape[1]:
        side = math.isqrt(arr.shape[1])
        arr = arr.reshape(-1, side, side)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 28, 28)
    if arr.ndim != 3 and not (arr.ndim == 4 and arr.shape[-1] == 3):
        raise ValueError(f"expected images of shape (N, H, W) or (N, H, W, 3), got {arr.shape}")
    return arr.astype(np.float64)


def class_indices(values: Sequence[int], what: str) -> list[int]:
    """``values`` as class indices; ``ValueError`` for anything that is not a whole number."""
    arr = np.asarray(values)
    if arr.size and (arr.dtype.kind not in "biuf" or not np.all(np.isfinite(arr))):
        raise ValueError(f"{what} labels must be class indices")
    if arr.size and arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{what} labels must be class indices")
    return [int(v) for v in arr.reshape(-1)]


def caption(true: int, pred: int, confidence: float | None, names: Sequence[str]) -> str:
    """``true 3 → pred 5 (87%)``; no percentage when the confidence is missing or not finite."""
    text = (
        f"true {ellipsize(label(true, names), MAX_LABEL)}"
        f" → pred {ellipsize(label(pred, names), MAX_LABEL)}"
    )
    if confidence is not None and math.isfinite(confidence):
        text += f" ({confidence:.0%})"
    if len(text) > ONE_LINE:  # longer class names: two lines, so captions never overlap
        text = text.replace(" → pred ", "\n→ pred ", 1)
    return text


@dataclass
class _Grid:
    """Where the images go, in inches: ``ncols`` per row, the grid centred in ``width``."""

    n: int
    ncols: int
    width: float
    height: float
    caption_h: float = CAPTION_H

    @classmethod
    def of(cls, n: int, heading: str, lines: int = 1) -> _Grid:
        ncols = min(n, 6)
        nrows = math.ceil(n / ncols)
        heading_w = text_width_in(heading, FontProperties(size=HEADING_SIZE))
        width = max(ncols * CELL_W, heading_w) + 2 * PAD
        caption_h = CAPTION_H * (1 + 0.6 * (lines - 1))
        return cls(n, ncols, width, nrows * (IMG + caption_h + PAD) + TOP, caption_h)

    def rect(self, k: int) -> tuple[float, float, float, float]:
        """Image ``k``'s axes as (left, bottom, width, height) in figure fractions."""
        row, col = divmod(k, self.ncols)
        left = (self.width - self.ncols * CELL_W) / 2 + col * CELL_W + (CELL_W - IMG) / 2
        bottom = self.height - TOP - row * (IMG + self.caption_h + PAD) - self.caption_h - IMG
        return left / self.width, bottom / self.height, IMG / self.width, IMG / self.height


def build_misclassified_figure(
    images: npt.NDArray[Any],
    true: Sequence[int],
    pred: Sequence[int],
    confidence: Sequence[float] | None,
    max_images: int = 36,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """The figure of :func:`plot_misclassified`, not saved."""
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images}")
    imgs = as_digit_images(images)
    n_total = imgs.shape[0]
    if len(true) != n_total or len(pred) != n_total:
        raise ValueError(
            f"got {n_total} images but {len(true)} true and {len(pred)} predicted labels"
        )
    if confidence is not None and len(confidence) != n_total:
        raise ValueError(f"got {n_total} images but {len(confidence)} confidences")
    true_idx, pred_idx = class_indices(true, "true"), class_indices(pred, "predicted")
    names = list(labels) if labels is not None else list(DEFAULT_LABELS)
    heading = title or "Misclassified test images"
    if n_total == 0:
        return message_figure("no misclassified test images", heading)
    n = min(n_total, max_images)
    shown = f"{n_total:,}" if n == n_total else f"showing {n} of {n_total:,}"
    heading = f"{heading} ({shown})"
    conf = [None if confidence is None else float(confidence[k]) for k in range(n)]
    captions = [caption(true_idx[k], pred_idx[k], conf[k], names) for k in range(n)]
    return _draw_grid(imgs[:n], captions, heading)


def plot_misclassified(
    images: npt.NDArray[Any],
    true: Sequence[int],
    pred: Sequence[int],
    confidence: Sequence[float] | None,
    out: Path,
    max_images: int = 36,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Grid of misclassified digits, each titled ``true 3 → pred 5 (87%)``.

    ``images`` has shape (N, 28, 28) (also accepted: (N, 28, 28, 1) or (N, 784)), uint8 in
    0..255 or float in 0..1 (or 0..255); non-finite pixels are drawn blank. At most
    ``max_images`` are drawn, in the order given (sort them first, e.g. most confident
    mistakes first). ``confidence`` is the model's probability for the predicted class (left
    out of a caption where it is not finite). With no images the figure says so.
    """
    fig = build_misclassified_figure(images, true, pred, confidence, max_images, labels, title)
    return save_figure(fig, out)


def _draw_grid(imgs: npt.NDArray[np.float64], captions: Sequence[str], heading: str) -> Figure:
    imgs = np.where(np.isfinite(imgs), imgs, 0.0)
    vmax = 1.0 if float(imgs.max()) <= 1.0 else 255.0  # 0..1 floats or 0..255 values
    grid = _Grid.of(len(captions), heading, max((c.count("\n") + 1 for c in captions), default=1))
    fig = new_figure(grid.width, grid.height, constrained=False)
    for k, text in enumerate(captions):
        ax = fig.add_axes(grid.rect(k))
        if imgs.ndim == 4:  # RGB: as it is
            ax.imshow(np.clip(imgs[k] / vmax, 0.0, 1.0), interpolation="nearest")
        else:
            ax.imshow(imgs[k], cmap=PICTURE_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(text, fontsize=9, color=TEXT, pad=4)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#bbbbbb")
    fig.text(0.5, 1 - 0.28 / grid.height, heading, ha="center", va="center",
             fontsize=HEADING_SIZE)  # fmt: skip
    return fig
