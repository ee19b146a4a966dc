"""Turn a user's own picture of a handwritten digit into an MNIST-style 28x28 input.

``load_digit`` opens any image Pillow reads (PNG, JPEG phone photos, scans, BMP, GIF, TIFF, ...)
safely and ``prepare_digit`` applies the pure transform, the way MNIST itself was made:

1. EXIF orientation is applied (phone photos are often stored sideways). Only the first frame of
   an animation is used. Pictures are reduced to at most WORK_SIZE px on the longer side.
2. The picture becomes one grey channel in [0, 1] (ITU-R 601 luma for colour; 16-bit, 32-bit
   and floating point greyscale are stretched from their own range). Transparent pixels are
   paper: composited over white, except when most of the image is transparent and what is drawn
   on it is light (a white digit exported from a drawing app): then over black.
3. Polarity: every pixel is compared with the local background (the median of blocks of 1/8 of
   the picture and their neighbours, so uneven lighting is followed; for pictures under 64 px,
   the median of the border). The side with more strong deviation is the ink: dark ink on light
   paper is inverted so that ink is bright on black, like MNIST.
4. Background and contrast: dark ink is measured as its share of the local paper brightness
   (so shading and vignetting cancel out); light ink as its excess over a local low envelope.
   Everything up to 4 noise deviations (a robust estimate) above the background becomes 0, so
   paper grey is black, and the typical ink level (90th percentile of the ink) becomes 1. When
   the picture will be reduced 2x or more, the faintest 15% (JPEG ringing, blur) is dropped too.
5. Specks: connected pieces of ink with at least 10% of the biggest piece's ink are the digit;
   smaller pieces are kept only when near it (within 40% of its size) and not tiny (their ink
   would fill at least 5% of a final pixel). The picture is cropped to the digit's bounding box.
6. The crop is scaled to fit 20x20 keeping its aspect ratio (Lanczos, antialiased; the strongest
   ink is put back at 1). When a big picture of a thin pen stroke would shrink to hair lines
   (thinner than 95% of MNIST digits), the strokes are thickened to MNIST's median width.
7. It is pasted into 28x28 so that its centre of mass is at (14, 14) (row, column; a whole-pixel
   shift, as LeCun did: MNIST's own centres of mass lie within half a pixel of it).

A picture that is already an MNIST digit (28x28, white on black, or its black-on-white inverse)
comes out unchanged, up to rounding. Known limits: a sharp shadow edge across the paper, or a
desk around the paper, can be taken for ink (crop the picture to the paper and the digit).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MAX_PIXELS", "load_digit", "prepare_digit"]

FloatArray = npt.NDArray[np.float64]

MAX_PIXELS: int = 40_000_000
"""Largest picture (width x height) accepted; larger ones are refused before decoding."""

WORK_SIZE = 1024  # pictures are reduced so that their longer side is at most this, first
BOX = 20  # the digit is scaled to fit BOX x BOX ...
SIZE = 28  # ... and centred in SIZE x SIZE
CENTRE = 14.0  # target centre of mass (row and column, pixel index coordinates)
MIN_CONTRAST = 0.08  # ink must differ from the background by this much (full scale = 1)
NOISE_SIGMAS = 4.0  # background up to this many noise deviations is set to 0
MAIN_PART = 0.1  # pieces with this share of the biggest piece's ink are part of the digit
SPECK_MASS = 0.05  # smaller pieces are specks if their ink would fill less of a final pixel
NEAR = 0.4  # pieces that are not specks are kept within this fraction of the digit's size
FAINT = 0.15  # when a picture is reduced 2x or more, ink below this share is background
BLOCKS = 8  # the background surface is estimated in blocks of 1/BLOCKS of the longer side
SMALL = 64  # pictures with a shorter side below this use one background level, not a surface
# Stroke width (2 x area / perimeter of the pixels above 0.5, in final pixels) below which the
# strokes of a picture reduced 2x or more are thickened (5% of MNIST digits are thinner) ...
THIN = 1.3
TARGET_WIDTH = 1.9  # ... to this (the median of MNIST digits)

_ORIENTATION = 0x0112  # the EXIF tag
_EXPECTED_IMAGE = "an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)"
_NO_DIGIT_HINT = (
    "use a picture of one digit: dark writing on light paper or light writing on a dark "
    "background, filling a good part of the picture"
)


def _no_digit(received: str) -> UserError:
    return UserError(
        "no digit found in the image",
        expected="one handwritten digit that stands out from the background",
        received=received,
        hint=_NO_DIGIT_HINT,
    )


# ---------------------------------------------------------------------------------------------
# Loading


def load_digit(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read the picture at ``path`` and return it as an MNIST-style digit.

    Returns a (28, 28) float32 array in [0, 1], ink bright on black. Raises ``UserError`` (with
    the file as location) for a missing, empty, unreadable, damaged, too large or blank image.
    """
    from PIL import Image, ImageFile, ImageOps

    p = Path(path)
    where = Location(file=str(path))

    def fail(message: str, **kw: str | None) -> UserError:
        return UserError(message, location=where, **kw)

    if not p.exists():
        raise fail(
            "image file not found",
            expected=_EXPECTED_IMAGE,
            received="no such file",
            hint="check the path",
        )
    if p.is_dir():
        raise fail(
            "is a directory, not an image file",
            expected=_EXPECTED_IMAGE,
            received="a directory",
            hint="give the path of one image file; several can be listed",
        )
    saved_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never half a digit
    try:
        try:
            fp = p.open("rb")
        except OSError as exc:
            raise fail(
                "cannot read image file",
                expected="a readable file",
                received=exc.strerror or type(exc).__name__,
                hint="check the file's permissions",
            ) from exc
        with fp:
            fp.seek(0, os.SEEK_END)
            if fp.tell() == 0:
                raise fail(
                    "image file is empty",
                    expected=_EXPECTED_IMAGE,
                    received="0 bytes",
                    hint="the file may not have been saved or copied completely",
                )
            fp.seek(0)
            img = _decode(fp, fail)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                try:
                    # EXIF data is part of the (untrusted) file: a broken tag is a damaged file.
                    img = ImageOps.exif_transpose(img)
                except Exception as exc:
                    raise fail(
                        "image file has damaged EXIF data",
                        expected=_EXPECTED_IMAGE,
                        received=f"{type(exc).__name__}: {exc}",
                        hint="re-save the picture with an image editor",
                    ) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved_truncated
    try:
        return prepare_digit(img)
    except UserError as exc:
        raise dataclasses.replace(exc, location=where) from exc.__cause__


def _decode(fp: BinaryIO, fail: Callable[..., UserError]) -> Image.Image:
    """Open and fully decode the first frame, refusing decompression bombs before decoding."""
    from PIL import Image, UnidentifiedImageError

    def damaged(exc: Exception) -> UserError:
        return fail(
            "image file is damaged or truncated",
            expected=_EXPECTED_IMAGE,
            received=f"{type(exc).__name__}: {exc}",
            hint="re-save or re-export the picture",
        )

    def too_large(received: str) -> UserError:
        return fail(
            "image is too large",
            expected=f"at most {MAX_PIXELS:,} pixels",
            received=received,
            hint=f"crop or shrink the picture to at most {MAX_PIXELS:,} pixels; 28x28 are used",
        )

    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error too. Its
        # other warnings (minor damage it recovers from, e.g. a bad TIFF tag) are not shown.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(fp)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_large(str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise fail(
                "not an image file Pillow can read",
                expected=_EXPECTED_IMAGE,
                received=_describe_start(fp),
                hint="convert the picture to PNG or JPEG",
            ) from exc
        except Exception as exc:  # any other failure reading a header: a damaged file
            raise damaged(exc) from exc
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise too_large(f"{width} x {height} = {width * height:,} pixels")
        try:
            if img.format == "JPEG":
                img.draft(None, (WORK_SIZE, WORK_SIZE))  # decode phone photos at reduced scale
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_large(str(exc)) from exc
        except Exception as exc:  # Pillow's decoders raise many types on bad data
            raise damaged(exc) from exc
    return img


def _describe_start(fp: BinaryIO) -> str:
    try:
        fp.seek(0)
        head = fp.read(16)
    except OSError:
        return "a file in an unknown format"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return f"a file in an unknown format (starting with {head[:8]!r})"


# ---------------------------------------------------------------------------------------------
# The transform


def prepare_digit(img: Image.Image) -> npt.NDArray[np.float32]:
    """The pure transform: a Pillow image of one digit -> (28, 28) float32 in [0, 1], like MNIST.

    Raises ``UserError`` (without location) when there is no digit to find.
    """
    from PIL import ImageOps

    if img.getexif().get(_ORIENTATION, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.width == 0 or img.height == 0:
        raise _no_digit(f"an image of {img.width} x {img.height} pixels")
    gray = _to_gray(img)
    if float(gray.max() - gray.min()) < 1e-6:
        raise _no_digit("a blank image (all one colour)")
    ink = _ink_signal(gray)
    strong = ink >= 0.5
    if strong.any() and BOX / _box_size(strong) <= 0.5:
        # A big picture is reduced a lot: faint fringes (JPEG ringing, blur) are not ink; the
        # reduction's antialiasing makes the grey edges again.
        ink = np.clip((ink - FAINT) / (1.0 - FAINT), 0.0, None)
    ink = _keep_digit(ink)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    patch = _fit_box(crop)
    return _centre(patch).astype(np.float32)


def _box_size(mask: npt.NDArray[np.bool_]) -> int:
    """The longer side of the bounding box of ``mask`` (which has a True pixel)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0])) + 1


def _to_gray(img: Image.Image) -> FloatArray:
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


def _ink_signal(gray: FloatArray) -> FloatArray:
    """Ink bright, background exactly 0, typical ink about 1 (clipped to [0, 1])."""
    # Polarity: compare every pixel with the local background; the side with more strong
    # deviation is the ink.
    dev = gray - _surface(gray, 50.0, "border")
    sigma = _noise(dev)
    margin = max(3.0 * sigma, 0.5 / 255.0)
    light = float(np.clip(dev - margin, 0.0, None).sum())
    dark = float(np.clip(-dev - margin, 0.0, None).sum())
    ink: FloatArray
    if dark > light:
        # Ink on paper: light falls on both, so the ink's share of the paper's brightness is
        # what was written, however bright the paper is at that place.
        paper = _surface(gray, 75.0, "max")
        ink = np.clip(1.0 - gray / np.maximum(paper, 1e-3), 0.0, None)
    else:
        ink = np.clip(gray - _surface(gray, 25.0, "min"), 0.0, None)
    # The noise floor (paper grey and noise become 0) and the ink level (becomes 1).
    sigma = _noise(ink)
    black = float(np.median(ink)) + NOISE_SIGMAS * sigma
    strong = ink[ink > max(_otsu(ink), black)]
    if strong.size == 0:
        raise _no_digit("too little contrast between ink and background")
    white = float(np.percentile(strong, 90.0))
    if white - black < MIN_CONTRAST:
        raise _no_digit("too little contrast between ink and background")
    result: FloatArray = np.clip((ink - black) / (white - black), 0.0, 1.0)
    return result


def _surface(
    arr: FloatArray, percentile: float, small: Literal["border", "min", "max"]
) -> FloatArray:
    """A smooth background estimate: ``percentile`` of blocks, with the median of neighbours.

    Small pictures get one level: the ``percentile`` of the border, or the ``"min"``/``"max"``
    of that and the whole picture's ``percentile``.
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
        level = float(np.percentile(border, percentile))
        if small == "min":
            level = min(level, float(np.percentile(arr, percentile)))
        elif small == "max":
            level = max(level, float(np.percentile(arr, percentile)))
        return np.full_like(arr, level)
    from PIL import Image

    block = max(8, round(max(h, w) / BLOCKS))
    ys = np.linspace(0, h, max(1, round(h / block)) + 1).round().astype(int)
    xs = np.linspace(0, w, max(1, round(w / block)) + 1).round().astype(int)
    grid = np.array(
        [
            [
                np.percentile(arr[y0:y1, x0:x1], percentile)
                for x0, x1 in itertools.pairwise(xs.tolist())
            ]
            for y0, y1 in itertools.pairwise(ys.tolist())
        ]
    )
    # The median of each block and its 8 neighbours: blocks inside thick strokes are outliers.
    padded = (
        np.pad(grid, 1, mode="reflect", reflect_type="odd")
        if min(grid.shape) > 1
        else np.pad(grid, 1, mode="edge")
    )
    gh, gw = grid.shape
    stack = np.stack([padded[dy : dy + gh, dx : dx + gw] for dy in range(3) for dx in range(3)])
    smooth = np.median(stack, axis=0)
    up = Image.fromarray(smooth.astype(np.float32), mode="F").resize(
        (w, h), Image.Resampling.BILINEAR
    )
    return np.asarray(up, dtype=np.float64)


def _noise(arr: FloatArray) -> float:
    """Robust standard deviation of the (mostly background) pixels."""
    med = float(np.median(arr))
    return 1.4826 * float(np.median(np.abs(arr - med)))


def _otsu(arr: FloatArray) -> float:
    """Otsu's threshold between background and ink."""
    hi = float(arr.max())
    if hi <= 0.0:
        return 0.0
    hist, edges = np.histogram(arr, bins=256, range=(0.0, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * centres)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(centres[int(np.argmax(between[:-1]))]) if len(between) > 1 else 0.0


# ---------------------------------------------------------------------------------------------
# Finding the digit


def _keep_digit(ink: FloatArray) -> FloatArray:
    """Zero specks away from the digit; keep the main strokes and pieces close to them.

    Pieces with at least MAIN_PART of the biggest piece's ink are part of the digit. Smaller
    ones are kept when they are near it (within NEAR of its size) and not specks (their ink,
    at the final scale, would fill at least SPECK_MASS of a pixel).
    """
    comps = _components(ink > 0.0, ink)
    if not comps:
        raise _no_digit("no ink left after removing the background")
    biggest = max(c.mass for c in comps)
    keep = [c for c in comps if c.mass >= MAIN_PART * biggest]
    top, left, bottom, right = _union_box(keep)
    size = 1 + max(bottom - top, right - left)
    min_mass = SPECK_MASS * (size / BOX) ** 2
    rest = [c for c in comps if min_mass <= c.mass < MAIN_PART * biggest]
    added = True
    while added and rest:
        added = False
        gap = NEAR * (1 + max(bottom - top, right - left))
        for c in list(rest):
            if (
                c.top <= bottom + gap
                and c.bottom >= top - gap
                and c.left <= right + gap
                and c.right >= left - gap
            ):
                keep.append(c)
                rest.remove(c)
                top, left, bottom, right = _union_box(keep)
                added = True
    mask = np.zeros(ink.shape, dtype=bool)
    for c in keep:
        for row, start, end in c.runs:
            mask[row, start:end] = True
    result: FloatArray = np.where(mask, ink, 0.0)
    return result


@dataclasses.dataclass
class _Component:
    runs: list[tuple[int, int, int]]  # (row, start, end exclusive)
    mass: float
    top: int
    left: int
    bottom: int
    right: int


def _union_box(comps: list[_Component]) -> tuple[int, int, int, int]:
    return (
        min(c.top for c in comps),
        min(c.left for c in comps),
        max(c.bottom for c in comps),
        max(c.right for c in comps),
    )


def _components(mask: npt.NDArray[np.bool_], weight: FloatArray) -> list[_Component]:
    """8-connected components of ``mask``, by runs per row and union-find."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    cums = np.concatenate([np.zeros((mask.shape[0], 1)), np.cumsum(weight, axis=1)], axis=1)
    runs: list[tuple[int, int, int]] = []
    row_runs: list[list[int]] = []
    for row in range(mask.shape[0]):
        starts = np.flatnonzero(edges[row] == 1)
        ends = np.flatnonzero(edges[row] == -1)
        ids = []
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            ids.append(len(runs))
            runs.append((row, s, e))
        row_runs.append(ids)
    parent = list(range(len(runs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in range(1, mask.shape[0]):
        above, below = row_runs[row - 1], row_runs[row]
        i = j = 0
        while i < len(above) and j < len(below):
            _, a0, a1 = runs[above[i]]
            _, b0, b1 = runs[below[j]]
            if a0 <= b1 and b0 <= a1:  # touching, diagonals included
                ra, rb = find(above[i]), find(below[j])
                if ra != rb:
                    parent[ra] = rb
            if a1 < b1:
                i += 1
            else:
                j += 1
    groups: dict[int, _Component] = {}
    for idx, (row, s, e) in enumerate(runs):
        root = find(idx)
        mass = float(cums[row, e] - cums[row, s])
        c = groups.get(root)
        if c is None:
            groups[root] = _Component([(row, s, e)], mass, row, s, row, e - 1)
        else:
            c.runs.append((row, s, e))
            c.mass += mass
            c.top, c.bottom = min(c.top, row), max(c.bottom, row)
            c.left, c.right = min(c.left, s), max(c.right, e - 1)
    return list(groups.values())


# ---------------------------------------------------------------------------------------------
# Scaling and centring


def _fit_box(crop: FloatArray) -> FloatArray:
    """Scale to fit BOX x BOX keeping the aspect ratio; thicken hair lines of big pictures."""
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # (width, height)
    if size == (w, h):
        return crop
    plain = _resize(crop, size)
    if scale > 0.5 or _stroke_width(plain) >= THIN:
        return plain
    # Thin strokes shrunk a lot: dilate at 4x the final size until they are MNIST-like.
    mid = _resize(crop, (size[0] * 4, size[1] * 4))
    out = plain
    for radius in range(1, 9):
        out = _resize(_dilate(mid, radius), size)
        if _stroke_width(out) >= TARGET_WIDTH:
            break
    return out


def _resize(arr: FloatArray, size: tuple[int, int]) -> FloatArray:
    """Lanczos resize of an ink image, clipped, with the strongest ink back at 1."""
    from PIL import Image

    img = Image.fromarray(arr.astype(np.float32), mode="F")
    out = np.clip(np.asarray(img.resize(size, Image.Resampling.LANCZOS), dtype=np.float64), 0, 1)
    peak = float(out.max())
    return out / peak if peak > 0 else out


def _stroke_width(crop: FloatArray) -> float:
    """Mean stroke width in pixels: 2 x area / perimeter of the ink (above half intensity)."""
    mask = np.pad(crop > 0.5, 1)
    area = int(mask.sum())
    perimeter = int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
    return 2.0 * area / perimeter if perimeter else 0.0


def _dilate(arr: FloatArray, radius: int) -> FloatArray:
    """Grey dilation with a disc."""
    if radius <= 0:
        return arr
    h, w = arr.shape
    padded = np.pad(arr, radius)
    out = arr.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius + radius:
                window = padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
                np.maximum(out, window, out=out)
    return out


def _centre(patch: FloatArray) -> FloatArray:
    """Paste into SIZE x SIZE with the centre of mass at (CENTRE, CENTRE), whole-pixel shift."""
    h, w = patch.shape
    total = float(patch.sum())
    if total <= 0.0:
        raise _no_digit("no ink left after scaling")
    cy = float((patch.sum(axis=1) * np.arange(h)).sum()) / total
    cx = float((patch.sum(axis=0) * np.arange(w)).sum()) / total
    top = min(max(math.floor(CENTRE - cy + 0.5), 0), SIZE - h)
    left = min(max(math.floor(CENTRE - cx + 0.5), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE))
    out[top : top + h, left : left + w] = patch
    return out
