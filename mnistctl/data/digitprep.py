"""Steps 2 to 4 of preparing a digit (see ``images.py``): one grey channel, then ink.

The picture becomes one grey channel in [0, 1]; then each pixel is compared with the local
background to find the ink's polarity, the background is set to 0 and the typical ink to 1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["WORK_SIZE", "FloatArray", "ink_signal", "no_digit", "to_gray"]

FloatArray = npt.NDArray[np.float64]

WORK_SIZE = 1024  # pictures are reduced so that their longer side is at most this, first
MIN_CONTRAST = 0.08  # ink must differ from the background by this much (full scale = 1)
NOISE_SIGMAS = 4.0  # background up to this many noise deviations is set to 0
BLOCKS = 8  # the background surface is estimated in blocks of 1/BLOCKS of the longer side
SMALL = 64  # pictures with a shorter side below this use one background level, not a surface

_NO_DIGIT_HINT = (
    "use a picture of one digit: dark writing on light paper or light writing on a dark "
    "background, filling a good part of the picture"
)


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
    arr = np.asarray(img, dtype=np.float64)
    if mode == "F":
        return _scale_numeric(arr)
    arr = arr / 255.0
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


def ink_signal(gray: FloatArray) -> FloatArray:
    """Ink bright, background exactly 0, typical ink about 1 (clipped to [0, 1])."""
    # Polarity: compare every pixel with the local background; the side with more strong
    # deviation is the ink.
    dev = gray - _surface(gray, 50.0, "border")
    sigma = _noise(dev)
    margin = max(3.0 * sigma, 0.5 / 255.0)
    light = float(np.maximum(dev - margin, 0.0).sum())  # np.clip(x, 0.0, None), without
    dark = float(np.maximum(-dev - margin, 0.0).sum())  # its overhead: the same ufunc
    ink: FloatArray
    if dark > light:
        # Ink on paper: light falls on both, so the ink's share of the paper's brightness is
        # what was written, however bright the paper is at that place.
        paper = _surface(gray, 75.0, "max")
        ink = np.maximum(1.0 - gray / np.maximum(paper, 1e-3), 0.0)
    else:
        ink = np.maximum(gray - _surface(gray, 25.0, "min"), 0.0)
    # The noise floor (paper grey and noise become 0) and the ink level (becomes 1).
    level = median(ink)
    sigma = _noise(ink, level)
    black = level + NOISE_SIGMAS * sigma
    strong = ink[ink > max(_otsu(ink), black)]
    if strong.size == 0:
        raise no_digit("too little contrast between ink and background")
    white = percentile(strong, 90.0)
    if white - black < MIN_CONTRAST:
        raise no_digit("too little contrast between ink and background")
    result: FloatArray = np.clip((ink - black) / (white - black), 0.0, 1.0)
    return result


def _surface(
    arr: FloatArray, q: float, small: Literal["border", "min", "max"]
) -> FloatArray | float:
    """A smooth background estimate: the ``q`` percentile of blocks, with the median of
    neighbours.

    Small pictures get one level (a number, which arithmetic spreads over the picture): the
    ``q`` percentile of the border, or the ``"min"``/``"max"`` of that and the whole picture's.
    """
    h, w = arr.shape
    if min(h, w) < SMALL:
        frame = max(1, min(h, w) // 20)
        border = np.concatenate(
            [
                arr[:frame].ravel(),
                arr[-frame:].ravel(),
                arr[:, :frame].ravel(),
                arr[:, -frame:].ravel(),
            ]
        )
        level = percentile(border, q)
        if small == "min":
            level = min(level, percentile(arr, q))
        elif small == "max":
            level = max(level, percentile(arr, q))
        return level
    from PIL import Image

    block = max(8, round(max(h, w) / BLOCKS))
    ys = np.linspace(0, h, max(1, round(h / block)) + 1).round().astype(int)
    xs = np.linspace(0, w, max(1, round(w / block)) + 1).round().astype(int)
    grid = _block_percentiles(arr, ys, xs, q)
    # The median of each block and its 8 neighbours: blocks inside thick strokes are outliers.
    padded = _pad_odd(grid) if min(grid.shape) > 1 else np.pad(grid, 1, mode="edge")
    gh, gw = grid.shape
    stack = np.stack([padded[dy : dy + gh, dx : dx + gw] for dy in range(3) for dx in range(3)])
    smooth = np.partition(stack, 4, axis=0)[4]  # the median of 9 (np.median, without overhead)
    up = Image.fromarray(smooth.astype(np.float32), mode="F").resize(
        (w, h), Image.Resampling.BILINEAR
    )
    return np.asarray(up, dtype=np.float64)


def _block_percentiles(
    arr: FloatArray, ys: npt.NDArray[np.int_], xs: npt.NDArray[np.int_], q: float
) -> FloatArray:
    """The ``q`` percentile of each block between the row edges ``ys`` and the column edges
    ``xs``: blocks of one size at a time, as rows of one array (as fast as one block)."""
    grid = np.empty((len(ys) - 1, len(xs) - 1))
    heights, widths = np.diff(ys), np.diff(xs)
    for hh in np.unique(heights).tolist():
        rows = np.flatnonzero(heights == hh)
        strips = np.stack([arr[y : y + hh] for y in ys[rows].tolist()])  # (rows, hh, w)
        for ww in np.unique(widths).tolist():
            cols = np.flatnonzero(widths == ww)
            take = xs[cols][:, None] + np.arange(ww)  # (cols, ww)
            blocks = strips[:, :, take].transpose(0, 2, 1, 3)  # (rows, cols, hh, ww)
            values = percentile_rows(blocks.reshape(len(rows) * len(cols), hh * ww), q)
            grid[np.ix_(rows, cols)] = values.reshape(len(rows), len(cols))
    return grid


def _pad_odd(grid: FloatArray) -> FloatArray:
    """``np.pad(grid, 1, mode="reflect", reflect_type="odd")`` (grid at least 2 x 2), exactly:
    rows first, then columns, each new value ``2 * edge - neighbour``."""
    rows = np.concatenate([2 * grid[:1] - grid[1:2], grid, 2 * grid[-1:] - grid[-2:-1]])
    return np.concatenate(
        [2 * rows[:, :1] - rows[:, 1:2], rows, 2 * rows[:, -1:] - rows[:, -2:-1]], axis=1
    )


def _noise(arr: FloatArray, med: float | None = None) -> float:
    """Robust standard deviation of the (mostly background) pixels (``med``: their median,
    when already known)."""
    if med is None:
        med = median(arr)
    return 1.4826 * median(np.abs(arr - med))


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


def percentile(arr: FloatArray, q: float) -> float:
    """``float(np.percentile(arr, q))``, exactly (``arr`` finite)."""
    return float(percentile_rows(arr.reshape(1, -1), q)[0])


def percentile_rows(rows: FloatArray, q: float) -> FloatArray:
    """``np.percentile(rows, q, axis=1)``, exactly (``rows`` finite, 2-D, not empty)."""
    n = rows.shape[1]
    at = (n - 1) * (q / 100)
    lo = math.floor(at)
    if at >= n - 1:  # one value, or q = 100: rare, left to numpy
        last: FloatArray = np.percentile(rows, q, axis=1)
        return last
    gamma = at - lo
    part = np.partition(rows, (lo, lo + 1), axis=1)
    a, b = part[:, lo], part[:, lo + 1]
    diff = b - a
    result: FloatArray = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return result


def _otsu(arr: FloatArray) -> float:
    """Otsu's threshold between background and ink."""
    hi = float(arr.max())
    if hi <= 0.0:
        return 0.0
    hist, edges = _histogram(arr.ravel(), 256, hi)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * centres)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(centres[int(np.argmax(between[:-1]))]) if len(between) > 1 else 0.0


def _histogram(flat: FloatArray, bins: int, hi: float) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """``np.histogram(flat, bins, range=(0.0, hi))`` for values in [0, hi], hi > 0, exactly:
    numpy's own steps for equal bins, without its argument handling."""
    edges = np.arange(bins + 1, dtype=np.float64) * (hi / bins)  # np.linspace's own steps
    edges[-1] = hi
    index = (flat / hi * bins).astype(np.intp)
    index[index == bins] -= 1
    index[flat < edges[index]] -= 1  # within a rounding error of an edge
    index[(flat >= edges[index + 1]) & (index != bins - 1)] += 1
    return np.bincount(index, minlength=bins), edges
