"""Steps 3 and 4 of preparing a digit (see ``digitprep.py``): the ink of grey pictures.

Each pixel is compared with the local background to find the ink's polarity (the side with more
strong deviation is the ink: dark ink on light paper is inverted, so that ink is bright, like
MNIST); then the background is set to 0 and the typical ink to 1.

``ink_signals`` does this for many pictures of one size at once, one picture per row of each
array: every step is the same floating-point operation on each picture as on it alone (so the
results are the same to the bit), and numpy's cost per call is paid once for all of them. One
picture is a batch of one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from mnistctl.data.rowstats import (
    BoolArray,
    FloatArray,
    median_rows,
    noise,
    otsu,
    percentile_rows,
    percentiles_where,
    sorted_percentiles,
    zero_median,
)

__all__ = ["SMALL", "ink_signals"]

MIN_CONTRAST = 0.08  # ink must differ from the background by this much (full scale = 1)
NOISE_SIGMAS = 4.0  # background up to this many noise deviations is set to 0
BLOCKS = 8  # the background surface is estimated in blocks of 1/BLOCKS of the longer side
SMALL = 64  # pictures with a shorter side below this use one background level, not a surface

_LOW_CONTRAST = "too little contrast between ink and background"


def ink_signals(grays: FloatArray) -> tuple[FloatArray, list[str | None]]:
    """The ink of each of ``grays`` (pictures of one size: (pictures, height, width)), all at
    once: ink bright, background exactly 0, typical ink about 1 (clipped to [0, 1]); zeros
    for a picture without a digit. And for each, why no digit was found (what ``no_digit``
    receives) or None."""
    count, h, w = grays.shape
    gray = grays.reshape(count, h * w)  # one picture per row
    background = _Background.of(grays)
    # Polarity: compare every pixel with the local background; the side with more strong
    # deviation is the ink.
    dev = gray - background.surface(50.0, "border")
    margin = np.maximum(3.0 * noise(dev), 0.5 / 255.0)[:, np.newaxis]
    light = np.maximum(dev - margin, 0.0).sum(axis=1)  # np.clip(x, 0.0, None), without its
    dark = np.maximum(-dev - margin, 0.0).sum(axis=1)  # overhead: the same ufunc
    on_paper = dark > light
    ink = np.empty_like(gray)
    for dark_ink, rows in _sides(on_paper):
        some = gray if rows is None else gray[rows]
        if dark_ink:
            # Ink on paper: light falls on both, so the ink's share of the paper's brightness
            # is what was written, however bright the paper is at that place.
            paper = background.surface(75.0, "max", rows)
            side = np.maximum(1.0 - some / np.maximum(paper, 1e-3), 0.0)
        else:
            side = np.maximum(some - background.surface(25.0, "min", rows), 0.0)
        if rows is None:
            ink = side
        else:
            ink[rows] = side
    # The noise floor (paper grey and noise become 0) and the ink level (becomes 1).
    level, sigma = np.zeros(count), np.zeros(count)
    busy = ~zero_median(ink, nonnegative=True)  # the others: median 0, deviations too
    if busy.any():
        level[busy] = median_rows(ink[busy])
        sigma[busy] = noise(ink[busy], level[busy])
    black = level + NOISE_SIGMAS * sigma
    above = ink > np.maximum(otsu(ink), black)[:, np.newaxis]
    white = percentiles_where(ink, above, 90.0)
    problems: list[str | None] = [
        _LOW_CONTRAST if not ok else None
        for ok in (above.any(axis=1) & (white - black >= MIN_CONTRAST)).tolist()
    ]
    failed = [p is not None for p in problems]
    span = np.where(failed, 1.0, white - black)[:, np.newaxis]
    result: FloatArray = np.clip((ink - black[:, np.newaxis]) / span, 0.0, 1.0)
    if any(failed):
        result[failed] = 0.0
    return result.reshape(count, h, w), problems


def _sides(on_paper: BoolArray) -> list[tuple[bool, BoolArray | None]]:
    """The pictures with dark ink on paper and those with light ink: (dark ink?, which rows,
    None for all of them), the sides that have any."""
    if on_paper.all():
        return [(True, None)]
    if not on_paper.any():
        return [(False, None)]
    return [(True, on_paper), (False, ~on_paper)]


@dataclasses.dataclass(frozen=True)
class _Background:
    """What the background estimates of pictures of one size are read from, sorted once for
    the two that ``ink_signals`` asks for: the border of each small picture, or its blocks.

    Small pictures (shorter side under SMALL) get one level each, which arithmetic spreads
    over the picture; others a smooth surface: the percentile of each block, with the median
    of its neighbours.
    """

    grays: FloatArray  # (pictures, height, width)
    border: FloatArray | None  # (pictures, border pixels), sorted: small pictures
    groups: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]]
    # blocks of one size: (their grid rows, their grid columns, their values, sorted along
    # the last axis: (pictures, blocks, pixels)); the grid is grid_shape
    grid_shape: tuple[int, int]

    @classmethod
    def of(cls, grays: FloatArray) -> _Background:
        _, h, w = grays.shape
        if min(h, w) < SMALL:
            frame = max(1, min(h, w) // 20)
            border = np.concatenate(
                [
                    grays[:, :frame].reshape(len(grays), -1),
                    grays[:, -frame:].reshape(len(grays), -1),
                    grays[:, :, :frame].reshape(len(grays), -1),
                    grays[:, :, -frame:].reshape(len(grays), -1),
                ],
                axis=1,
            )
            border.sort(axis=1)
            return cls(grays, border, [], (0, 0))
        block = max(8, round(max(h, w) / BLOCKS))
        ys = np.linspace(0, h, max(1, round(h / block)) + 1).round().astype(int)
        xs = np.linspace(0, w, max(1, round(w / block)) + 1).round().astype(int)
        return cls(grays, None, _sorted_blocks(grays, ys, xs), (len(ys) - 1, len(xs) - 1))

    def surface(
        self, q: float, small: Literal["border", "min", "max"], rows: BoolArray | None = None
    ) -> FloatArray:
        """The ``q`` percentile background of the pictures ``rows`` (default: all), one row
        each: for a small picture, a level (one column): that of the border, or the
        ``"min"``/``"max"`` of that and the whole picture's."""
        if self.border is not None:
            level = sorted_percentiles(self.border if rows is None else self.border[rows], q)
            if small != "border":
                grays = self.grays if rows is None else self.grays[rows]
                whole = percentile_rows(grays.reshape(len(grays), -1), q)
                level = np.minimum(level, whole) if small == "min" else np.maximum(level, whole)
            return level[:, np.newaxis]
        from PIL import Image

        picked: Sequence[int] = range(len(self.grays))
        if rows is not None and not rows.all():
            picked = np.flatnonzero(rows).tolist()
        grid = np.empty((len(picked), *self.grid_shape))
        for block_rows, block_cols, values in self.groups:
            chosen = values if len(picked) == len(values) else values[picked]
            got = sorted_percentiles(chosen, q)  # (pictures, blocks)
            grid[:, block_rows[:, None], block_cols] = got.reshape(len(picked), len(block_rows), -1)
        # The median of each block and its 8 neighbours: blocks inside thick strokes are
        # outliers.
        if min(self.grid_shape) > 1:
            padded = _pad_odd(grid)
        else:
            padded = np.pad(grid, ((0, 0), (1, 1), (1, 1)), mode="edge")
        gh, gw = self.grid_shape
        stack = np.stack(
            [padded[:, dy : dy + gh, dx : dx + gw] for dy in range(3) for dx in range(3)]
        )
        smooth = np.partition(stack, 4, axis=0)[4]  # the median of 9 (np.median's value)
        _, h, w = self.grays.shape
        out = np.empty((len(picked), h * w))
        for i, one in enumerate(smooth.astype(np.float32)):
            levels = Image.frombuffer("F", (gw, gh), one.tobytes(), "raw", "F", 0, 1)
            up = levels.resize((w, h), Image.Resampling.BILINEAR)
            out[i] = np.frombuffer(up.tobytes(), dtype=np.float32)
        return out


def _sorted_blocks(
    grays: FloatArray, ys: npt.NDArray[np.int_], xs: npt.NDArray[np.int_]
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]]:
    """The blocks between the row edges ``ys`` and the column edges ``xs`` of each picture,
    grouped by size: (their grid rows, their grid columns, their values sorted: (pictures,
    blocks, pixels)). Blocks of one size are rows of one array: sorting them all costs about
    as much as one."""
    count = len(grays)
    heights, widths = np.diff(ys), np.diff(xs)
    if len(set(heights.tolist())) == 1 and len(set(widths.tolist())) == 1:  # one size: a view
        gh, hh, gw, ww = len(heights), int(heights[0]), len(widths), int(widths[0])
        blocks = grays.reshape(count, gh, hh, gw, ww).transpose(0, 1, 3, 2, 4)
        values = blocks.reshape(count, gh * gw, hh * ww)  # (copied here)
        values.sort(axis=2)
        return [(np.arange(gh), np.arange(gw), values)]
    groups = []
    for hh in np.unique(heights).tolist():
        rows = np.flatnonzero(heights == hh)
        strips = np.stack([grays[:, y : y + hh] for y in ys[rows].tolist()], axis=1)
        for ww in np.unique(widths).tolist():
            cols = np.flatnonzero(widths == ww)
            take = xs[cols][:, None] + np.arange(ww)  # (cols, ww)
            blocks = strips[:, :, :, take]  # (pictures, rows, hh, cols, ww)
            values = blocks.transpose(0, 1, 3, 2, 4).reshape(count, len(rows) * len(cols), -1)
            values.sort(axis=2)
            groups.append((rows, cols, values))
    return groups


def _pad_odd(grid: FloatArray) -> FloatArray:
    """``np.pad(grid, 1, mode="reflect", reflect_type="odd")`` over the last two axes (each
    at least 2 long), exactly: rows first, then columns, each new value
    ``2 * edge - neighbour``."""
    rows = np.concatenate(
        [
            2 * grid[..., :1, :] - grid[..., 1:2, :],
            grid,
            2 * grid[..., -1:, :] - grid[..., -2:-1, :],
        ],
        axis=-2,
    )
    return np.concatenate(
        [2 * rows[..., :1] - rows[..., 1:2], rows, 2 * rows[..., -1:] - rows[..., -2:-1]],
        axis=-1,
    )
