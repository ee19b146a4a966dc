"""Steps 2 to 4 of preparing a digit (see ``images.py``): one grey channel, then ink.

The picture becomes one grey channel in [0, 1]; then each pixel is compared with the local
background to find the ink's polarity, the background is set to 0 and the typical ink to 1.

``ink_signals`` does this for many pictures of one size at once, one picture per row of each
array: every step is the same floating-point operation on each picture as on it alone (so the
results are the same to the bit), and numpy's cost per call, which is most of the work for a
small picture, is paid once for all of them. One picture is a batch of one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "SMALL",
    "WORK_SIZE",
    "FloatArray",
    "ink_signals",
    "median",
    "no_digit",
    "percentile",
    "to_gray",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

WORK_SIZE = 1024  # pictures are reduced so that their longer side is at most this, first
MIN_CONTRAST = 0.08  # ink must differ from the background by this much (full scale = 1)
NOISE_SIGMAS = 4.0  # background up to this many noise deviations is set to 0
BLOCKS = 8  # the background surface is estimated in blocks of 1/BLOCKS of the longer side
SMALL = 64  # pictures with a shorter side below this use one background level, not a surface
_BINS = 256  # of the histogram Otsu's threshold is found in
_SORT_ROWS_MAX = 4096  # pixels up to which a percentile of chosen pixels sorts whole rows
_FEW_ROWS = 4  # ... when there are more rows than this

_NO_DIGIT_HINT = (
    "use a picture of one digit: dark writing on light paper or light writing on a dark "
    "background, filling a good part of the picture"
)
_LOW_CONTRAST = "too little contrast between ink and background"


def no_digit(received: str) -> UserError:
    """The error for a picture in which no digit is found (without location)."""
    return UserError(
        "no digit found in the image",
        expected="one handwritten digit that stands out from the background",
        received=received,
        hint=_NO_DIGIT_HINT,
    )


def to_gray(img: Image.Image) -> FloatArray:
    """One grey channel in [0, 1] at most WORK_SIZE on the longer side, alpha composited."""
    from PIL import Image

    img = _normalise_mode(img)
    if max(img.size) > WORK_SIZE:
        scale = WORK_SIZE / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX)  # area average; premultiplies alpha
    mode = img.mode
    if mode == "F":
        return _scale_numeric(np.asarray(img, dtype=np.float64))
    # uint8 / 255.0 is float64 division of the exact values: one pass instead of two.
    arr: FloatArray = np.asarray(img) / 255.0
    if mode == "L":
        return arr
    if mode == "RGB":
        return _luma(arr)
    if mode == "LA":
        return _composite(arr[..., 0], arr[..., 1])
    return _composite(_luma(arr[..., :3]), arr[..., 3])  # RGBA


def _normalise_mode(img: Image.Image) -> Image.Image:
    """Convert to one of L, LA, RGB, RGBA, F."""
    mode = img.mode
    has_transparency = "transparency" in img.info
    if mode in ("L", "RGB") and has_transparency:
        return img.convert("LA" if mode == "L" else "RGBA")
    if mode in ("L", "LA", "RGB", "RGBA", "F"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if mode == "PA" or has_transparency else "RGB")
    if mode == "La":
        return img.convert("LA")
    if mode == "RGBa":
        return img.convert("RGBA")
    if mode.startswith("I"):
        return img.convert("F")  # 16- and 32-bit integer greyscale
    try:
        return img.convert("RGB")  # CMYK, YCbCr, HSV, RGBX, ...
    except (ValueError, OSError) as exc:
        raise UserError(
            "unsupported image mode",
            expected="a greyscale, colour or palette image",
            received=f"mode {mode!r}",
            hint="convert the picture to PNG or JPEG",
        ) from exc


def _scale_numeric(arr: FloatArray) -> FloatArray:
    """16-bit / 32-bit / float greyscale -> [0, 1], by its own range (it has no fixed one)."""
    arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def _luma(rgb: FloatArray) -> FloatArray:
    """ITU-R 601 luma, as Pillow's convert("L")."""
    result: FloatArray = rgb @ np.array([0.299, 0.587, 0.114])
    return result


def _composite(gray: FloatArray, alpha: FloatArray) -> FloatArray:
    """Put transparent pixels on paper: white, or black for light ink on transparent."""
    if float(alpha.min()) >= 1.0:
        return gray
    mostly_transparent = float(np.mean(alpha < 0.5)) > 0.5
    weight = float(alpha.sum())
    drawn_is_light = weight > 0 and float((gray * alpha).sum()) / weight > 0.5
    paper = 0.0 if mostly_transparent and drawn_is_light else 1.0
    result: FloatArray = gray * alpha + paper * (1.0 - alpha)
    return result


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
    margin = np.maximum(3.0 * _noise(dev), 0.5 / 255.0)[:, np.newaxis]
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
    busy = ~_zero_median(ink, nonnegative=True)  # the others: median 0, deviations too
    if busy.any():
        level[busy] = median_rows(ink[busy])
        sigma[busy] = _noise(ink[busy], level[busy])
    black = level + NOISE_SIGMAS * sigma
    above = ink > np.maximum(_otsu(ink), black)[:, np.newaxis]
    white = _percentiles_where(ink, above, 90.0)
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
            level = _sorted_percentiles(self.border if rows is None else self.border[rows], q)
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
            got = _sorted_percentiles(chosen, q)  # (pictures, blocks)
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


def _noise(rows: FloatArray, med: FloatArray | None = None) -> FloatArray:
    """Robust standard deviation of each row's (mostly background) pixels (``med``: their
    medians, when already known)."""
    if med is None:
        sigma = np.zeros(len(rows))
        busy = ~_zero_median(rows)  # the others: median 0, and that of deviations from it
        if busy.any():
            sigma[busy] = _noise(rows[busy], median_rows(rows[busy]))
        return sigma
    deviations: FloatArray = 1.4826 * median_rows(np.abs(rows - med[:, np.newaxis]))
    return deviations


def _zero_median(rows: FloatArray, *, nonnegative: bool = False) -> BoolArray:
    """Which rows are more than half 0 and nowhere below (``nonnegative``: known): their
    median is 0.0 (as ``median_rows`` says), found by counting instead of sorting. Pictures
    of a digit on a clean background are mostly 0 once the background is taken away."""
    mostly: BoolArray = (rows == 0.0).sum(axis=1) > rows.shape[1] // 2
    if not nonnegative and mostly.any():
        mostly &= rows.min(axis=1) >= 0.0
    return mostly


# np.percentile and np.median cost tens of microseconds each in argument handling, more than
# the work on a small picture. These give exactly their results (the "linear" method, the
# same floating-point steps) on finite arrays, which is what the steps above pass.


def median(arr: FloatArray) -> float:
    """``float(np.median(arr))``, exactly (``arr`` finite)."""
    flat = arr.ravel()
    n = flat.size
    half = n // 2
    if n % 2:
        return float(np.partition(flat, half)[half])
    part = np.partition(flat, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2)


def median_rows(rows: FloatArray) -> FloatArray:
    """``np.median(rows, axis=1)``, exactly (``rows`` finite, 2-D, not empty)."""
    n = rows.shape[1]
    half = n // 2
    if n % 2:
        odd: FloatArray = np.partition(rows, half, axis=1)[:, half]
        return odd
    part = np.partition(rows, (half - 1, half), axis=1)
    even: FloatArray = (part[:, half - 1] + part[:, half]) / 2
    return even


def percentile(arr: FloatArray, q: float) -> float:
    """``float(np.percentile(arr, q))``, exactly (``arr`` finite)."""
    return float(percentile_rows(arr.reshape(1, -1), q)[0])


def percentile_rows(rows: FloatArray, q: float) -> FloatArray:
    """``np.percentile(rows, q, axis=1)``, exactly (``rows`` finite, 2-D, not empty)."""
    n = rows.shape[1]
    at = (n - 1) * (q / 100)
    if at >= n - 1:  # one value, or q = 100: rare, left to numpy
        last: FloatArray = np.percentile(rows, q, axis=1)
        return last
    lo = math.floor(at)
    return _sorted_percentiles(np.partition(rows, (lo, lo + 1), axis=1), q)


def _sorted_percentiles(rows: FloatArray, q: float) -> FloatArray:
    """``np.percentile(rows, q, axis=-1)``, exactly, for ``rows`` sorted (or partitioned at
    the two values the percentile lies between) along the last axis: numpy's own
    interpolation."""
    n = rows.shape[-1]
    at = (n - 1) * (q / 100)
    if at >= n - 1:
        last: FloatArray = np.percentile(rows, q, axis=-1)
        return last
    lo = math.floor(at)
    gamma = at - lo
    a, b = rows[..., lo], rows[..., lo + 1]
    diff = b - a
    result: FloatArray = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return result


def _percentiles_where(rows: FloatArray, where: BoolArray, q: float) -> FloatArray:
    """``percentile(row[chosen], q)`` of each row and its chosen values (``where``), exactly
    (NaN for a row without any): the chosen values sorted to the end of each row, where each
    row's percentile is read at its own place, with numpy's interpolation."""
    n = rows.shape[1]
    chosen = where.sum(axis=1)
    result = np.full(len(rows), np.nan)
    many = chosen > 1
    if n > _SORT_ROWS_MAX or len(rows) <= _FEW_ROWS:
        # Sorting whole rows costs more than picking out each one's values (large pictures),
        # or than numpy's calls for each of a few rows.
        for i in np.flatnonzero(chosen).tolist():
            result[i] = percentile(rows[i][where[i]], q)
        return result
    if many.any():
        ordered = np.where(where[many], rows[many], -np.inf)
        ordered.sort(axis=1)
        at = (chosen[many] - 1) * (q / 100)
        lo = np.floor(at)
        gamma = at - lo
        first = n - chosen[many] + lo.astype(np.intp)  # where each row's chosen values start
        picked = np.arange(len(ordered))
        a, b = ordered[picked, first], ordered[picked, first + 1]
        diff = b - a
        result[many] = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    for i in np.flatnonzero(chosen == 1).tolist():  # one value: numpy's own answer
        result[i] = percentile(rows[i][where[i]], q)
    return result


def _otsu(rows: FloatArray) -> FloatArray:
    """Otsu's threshold between background and ink, of each row (rows of values >= 0; 0.0 for
    one without any above 0)."""
    hi = rows.max(axis=1)
    thresholds = np.zeros(len(rows))
    inked = hi > 0.0
    if not inked.all():
        if not inked.any():
            return thresholds
        rows, hi = rows[inked], hi[inked]
    hist, edges = _histograms(rows, _BINS, hi)
    centres = (edges[:, :-1] + edges[:, 1:]) / 2
    w0 = hist.cumsum(axis=1)
    w1 = w0[:, -1:] - w0
    s0 = (hist * centres).cumsum(axis=1)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[:, -1:] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    best = between[:, :-1].argmax(axis=1)
    thresholds[inked] = centres[np.arange(len(best)), best]
    return thresholds


def _histograms(
    rows: FloatArray, bins: int, hi: FloatArray
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """``np.histogram(row, bins, range=(0.0, top))`` of each row and its ``top`` in ``hi``
    (values in [0, top], top > 0), exactly: numpy's own steps for equal bins, without its
    argument handling. Zeros (most of an ink image) are counted into the first bin, where
    those steps put them, without the steps."""
    edges = np.arange(bins + 1, dtype=np.float64) * (hi / bins)[:, np.newaxis]
    edges[:, -1] = hi  # np.linspace's own steps
    flat = rows.ravel()
    at = (flat > 0.0).nonzero()[0]
    row = at // rows.shape[1]
    values = flat[at]
    # numpy's steps: the bin by arithmetic (the last one closed), then one down or up where
    # that is a rounding error off the edges (as masks added, not masked assignments)
    index = np.minimum((values / hi[row] * bins).astype(np.intp), bins - 1)
    first = row * (bins + 1)  # each value's row of edges
    edge = edges.ravel()
    index -= values < edge[first + index]
    index += (values >= edge[first + index + 1]) & (index != bins - 1)
    hist = np.bincount(row * bins + index, minlength=len(rows) * bins).reshape(len(rows), bins)
    hist[:, 0] += rows.shape[1] - np.bincount(row, minlength=len(rows))
    return hist, edges
