"""Steps 1 and 2 of preparing a digit (see ``digitprep.py``): the picture turned upright (EXIF
orientation), reduced to at most WORK_SIZE on its longer side, as one grey channel in [0, 1].

ITU-R 601 luma for colour; 16-bit, 32-bit and floating point greyscale stretched from their own
range; transparent pixels composited over white paper, or over black when most of the picture
is transparent and what is drawn on it is light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mnistctl.data.imageerrors import no_digit
from mnistctl.data.rowstats import FloatArray
from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ORIENTATION", "WORK_SIZE", "to_gray", "upright_gray"]

WORK_SIZE = 1024  # pictures are reduced so that their longer side is at most this, first
ORIENTATION = 0x0112  # the EXIF tag


def upright_gray(img: Image.Image) -> FloatArray:
    """Steps 1 and 2 for one picture: upright, one grey channel (blank or not: the later steps
    tell)."""
    from PIL import ImageOps

    if img.getexif().get(ORIENTATION, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.width == 0 or img.height == 0:
        raise no_digit(f"an image of {img.width} x {img.height} pixels")
    return to_gray(img)


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
