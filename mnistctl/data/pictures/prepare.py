"""How a picture becomes a model's input: ``prepare_picture``, the one transform that training
data (folders, CSV), ``predict``, ``serve`` and the export checks all use.

Two modes (``PREPARE_MODES``):

- ``resize``: the picture as it is, made grey (``L``, ITU-R 601 luma) or ``RGB``, fitted inside
  height x width with its aspect kept and centred; the margin is filled with the picture's own
  border colour (the median of its outermost ring of pixels, per channel), so that a letterbox
  adds no black frame to a white-background photo. Transparent pixels are composited over
  white. 16-bit greyscale is scaled from 0..65535 (/257); 32-bit integer pictures from 0..255
  or 0..65535, floating point ones from 0..1 or 0..255, whichever their values fit, else
  stretched from their own range. Shrinking is Lanczos (after a box reduction for large
  factors), enlarging bilinear. A picture already height x width in the target mode is
  returned as it is.
- ``mnist_style``: what ``predict`` does for digits (``digitprep.prepare_digit``: ink found,
  cropped, centred by mass, white on black, 28x28), as uint8 (0..255), then fitted to
  height x width as above when that is not 28x28, and repeated into 3 channels for RGB.

The result is uint8: (height, width) for 1 channel, (height, width, 3) for 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitprep import prepare_digit
from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "GREY_MODES",
    "PREPARE_MODES",
    "PictureShape",
    "finish_digit",
    "fit_picture",
    "is_grey",
    "prepare_picture",
]

PREPARE_MODES = ("resize", "mnist_style")

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
"""Pillow modes of greyscale pictures (a palette picture is grey when its palette is)."""

_REDUCING_GAP = 3.0  # Pillow: box-reduce first when shrinking more than this, then Lanczos
_WHITE = 255
_U16 = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_UNPREMULTIPLIED = {"La": "LA", "RGBa": "RGBA"}


@dataclass(frozen=True)
class PictureShape:
    """What pictures are made to: height and width in pixels, channels 1 (grey) or 3 (RGB)."""

    height: int
    width: int
    channels: int

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3; received {self.channels}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"height and width must be positive; received {self.dims}")

    @property
    def dims(self) -> tuple[int, ...]:
        """The shape of one prepared picture's array: (H, W) or (H, W, 3)."""
        if self.channels == 1:
            return (self.height, self.width)
        return (self.height, self.width, 3)

    @property
    def text(self) -> str:
        """``28x28x1``: height x width x channels."""
        return f"{self.height}x{self.width}x{self.channels}"


def prepare_picture(img: Image.Image, shape: PictureShape, mode: str) -> npt.NDArray[np.uint8]:
    """``img`` (decoded, upright) as the model's input: uint8 ``shape.dims``.

    Raises ``UserError`` (without location) when it cannot be: no digit found in
    ``mnist_style``, a mode Pillow cannot convert, an empty picture.
    """
    if mode == "resize":
        return fit_picture(img, shape)
    if mode == "mnist_style":
        return finish_digit(prepare_digit(img), shape)
    raise ValueError(f"mode must be one of {', '.join(PREPARE_MODES)}; received {mode!r}")


def fit_picture(img: Image.Image, shape: PictureShape) -> npt.NDArray[np.uint8]:
    """The ``resize`` preparation (see the module's docstring)."""
    if img.width == 0 or img.height == 0:
        raise UserError(
            "the picture has no pixels",
            expected="a picture at least 1 x 1 pixels",
            received=f"{img.width} x {img.height} pixels",
        )
    img = _in_mode(img, "L" if shape.channels == 1 else "RGB")
    size = (shape.width, shape.height)
    if img.size == size:
        return np.asarray(img)
    return _fitted(img, size)


def finish_digit(digit: npt.NDArray[np.float32], shape: PictureShape) -> npt.NDArray[np.uint8]:
    """An MNIST-style digit (28x28 float in [0, 1]) as ``shape``'s uint8 picture."""
    from PIL import Image

    grey: npt.NDArray[np.uint8] = np.rint(np.clip(digit, 0.0, 1.0) * 255.0).astype(np.uint8)
    if grey.shape != (shape.height, shape.width):
        grey = _fitted(Image.fromarray(grey, "L"), (shape.width, shape.height))
    if shape.channels == 3:
        return np.repeat(grey[:, :, None], 3, axis=2)
    return grey


def is_grey(img: Image.Image) -> bool:
    """Whether the picture is greyscale: a grey mode, or a palette of greys only."""
    if img.mode in GREY_MODES:
        return True
    if img.mode not in ("P", "PA"):
        return False
    palette = img.getpalette()  # [r, g, b, r, g, b, ...]
    if not palette:
        return False
    return bool(palette[0::3] == palette[1::3] == palette[2::3])


def _fitted(img: Image.Image, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """``img`` (L or RGB) fitted inside ``size`` (width, height), aspect kept, centred on its
    border colour."""
    from PIL import Image

    width, height = size
    scale = min(width / img.width, height / img.height)
    inner = (
        min(width, max(1, round(img.width * scale))),
        min(height, max(1, round(img.height * scale))),
    )
    if scale < 1:
        resized = img.resize(inner, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    else:
        resized = img.resize(inner, Image.Resampling.BILINEAR)
    if inner == size:
        return np.asarray(resized)
    canvas = Image.new(img.mode, size, _border_colour(np.asarray(img)))
    canvas.paste(resized, ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return np.asarray(canvas)


def _border_colour(arr: npt.NDArray[np.uint8]) -> int | tuple[int, ...]:
    """The median of the outermost ring of pixels (per channel)."""
    ring = np.concatenate([arr[0], arr[-1], arr[1:-1, 0], arr[1:-1, -1]])
    median = np.median(ring, axis=0)
    if arr.ndim == 2:
        return int(np.rint(median))
    return tuple(int(v) for v in np.rint(median))


def _in_mode(img: Image.Image, target: str) -> Image.Image:
    """``img`` in ``target`` (L or RGB): alpha composited over white, numbers scaled."""
    from PIL import Image

    mode = img.mode
    transparent = "transparency" in img.info
    if mode == target and not transparent:
        return img
    try:
        if mode in _U16 or mode in ("I", "F"):
            return _numeric(img).convert(target)
        if mode in ("L", "RGB", "P") and not transparent:
            return img.convert(target)
        if transparent or mode in ("LA", "La", "RGBA", "RGBa", "PA"):
            rgba = img.convert(_UNPREMULTIPLIED.get(mode, mode)).convert("RGBA")
            white = Image.new("RGBA", rgba.size, (_WHITE, _WHITE, _WHITE, 255))
            return Image.alpha_composite(white, rgba).convert(target)
        return img.convert("RGB").convert(target)  # 1, CMYK, YCbCr, LAB, HSV, ...
    except (ValueError, OSError) as exc:
        raise UserError(
            "unsupported image mode",
            expected="a greyscale, colour or palette picture",
            received=f"mode {mode!r}",
            hint="convert the picture to PNG or JPEG",
        ) from exc


def _numeric(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit or floating point greyscale as an 8-bit L picture."""
    from PIL import Image

    arr: npt.NDArray[Any] = np.asarray(img)
    if img.mode in _U16:
        scaled = (arr.astype(np.uint32) * 255 + 32767) // 65535
        return Image.fromarray(scaled.astype(np.uint8), "L")
    values = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0 and img.mode == "F":
        values = values * 255.0
    elif lo >= 0.0 and 255.0 < hi <= 65535.0 and img.mode == "I":
        values = values / 257.0
    elif not (lo >= 0.0 and hi <= 255.0):
        values = (values - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(values)
    return Image.fromarray(np.rint(values).astype(np.uint8), "L")
