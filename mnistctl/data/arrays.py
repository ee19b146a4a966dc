"""Checking and normalising image and label arrays, into aligned buffers TensorFlow uses in place.

Whatever file they came from, images become C-contiguous ``uint8`` ``(N, H, W)`` (grey) or
``(N, H, W, 3)`` (RGB), H and W 4..1024; labels ``(N,)`` class numbers ``0..K-1``, 2 <= K <=
1000 (``uint8``, ``uint16`` past 256 classes). Anything else is a UserError naming the array.
``fit_arrays`` makes grey pictures RGB or RGB grey for an Input of the other kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mnistctl.data.mnist import numbered_classes
from mnistctl.errors import Location, UserError
from mnistctl.formatting import format_shape

__all__ = [
    "ALIGNMENT",
    "MAX_CLASSES",
    "MAX_SIDE",
    "MIN_CLASSES",
    "MIN_SIDE",
    "Labels",
    "aligned",
    "aligned_empty",
    "check_class_names",
    "check_images",
    "check_labels",
    "fit_arrays",
    "image_shape",
    "label_classes",
    "narrow_labels",
]

ALIGNMENT = 64  # what TensorFlow needs to use a numpy buffer in place (Eigen's widest vectors)

MIN_SIDE, MAX_SIDE = 4, 1024  # a picture's height and width
MIN_CLASSES, MAX_CLASSES = 2, 1000

_IMAGE_SHAPES_TEXT = (
    f"(N, H, W), (N, H, W, 1), (N, H, W, 3) or (N, 784), H and W {MIN_SIDE}..{MAX_SIDE}"
)
_CLASSES_TEXT = f"class numbers 0..K-1 (at most {MAX_CLASSES} classes)"

# Pixels converted per step when normalising float images or converting channels.
_CHUNK_PIXELS = 1 << 18


class PictureShapeLike(Protocol):
    """What ``fit_arrays`` needs of the Input's shape (``pictures.prepare.PictureShape``)."""

    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def channels(self) -> int: ...


def aligned_empty(nbytes: int) -> npt.NDArray[np.uint8]:
    """An uninitialised uint8 buffer whose start is ALIGNMENT-aligned."""
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    offset = (-raw.ctypes.data) % ALIGNMENT
    return raw[offset : offset + nbytes]


def aligned(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``arr`` itself if C-contiguous and aligned, else an aligned copy: training then hands the
    images to TensorFlow without another copy (pipeline.py)."""
    if arr.flags.c_contiguous and arr.ctypes.data % ALIGNMENT == 0:
        return arr
    out = aligned_empty(arr.nbytes).view(arr.dtype).reshape(arr.shape)
    out[...] = arr
    return out


def image_shape(shape: tuple[int, ...], name: str, loc: Location) -> tuple[int, int, int]:
    """The (height, width, channels) of the pictures of an images array of ``shape``; a
    UserError if the shape is not one of pictures."""
    hint = None
    if len(shape) == 3:
        h, w, c = shape[1], shape[2], 1
    elif len(shape) == 2 and shape[1] == 784:
        h, w, c = 28, 28, 1
    elif len(shape) == 4 and shape[3] in (1, 3):
        h, w, c = shape[1], shape[2], shape[3]
    else:
        h = w = c = 0
        if len(shape) == 4 and shape[1] in (1, 3):
            hint = "channels first? store x.transpose(0, 2, 3, 1)"
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise UserError(
            f"images '{name}' have the wrong shape",
            location=loc,
            expected=_IMAGE_SHAPES_TEXT,
            received="shape " + format_shape(shape),
            hint=hint,
        )
    return h, w, c


def check_images(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.uint8]:
    """Check images; return them as aligned C-contiguous uint8 ``(N, H, W)`` or ``(N, H, W,
    3)``, copying only if needed."""
    h, w, c = image_shape(arr.shape, name, loc)
    n = arr.shape[0]
    shape = (n, h, w) if c == 1 else (n, h, w, c)
    if arr.shape != shape:
        arr = arr.reshape(shape)
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        out = arr
    elif kind in "iu":
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi > 255:
                raise UserError(
                    f"pixel values of '{name}' are out of range",
                    location=loc,
                    expected="integers 0..255",
                    received=f"values {lo}..{hi}",
                )
        out = arr.astype(np.uint8)
    elif kind == "f":
        out = _float_images(arr, name, loc)
    else:
        raise UserError(
            f"images '{name}' have an unsupported data type",
            location=loc,
            expected="integer pixels 0..255 or float pixels in [0, 1] or [0, 255]",
            received=f"dtype {arr.dtype}",
        )
    return aligned(np.ascontiguousarray(out))


def _float_images(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.uint8]:
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.uint8)
    lo, hi = float(arr.min()), float(arr.max())  # NaN or inf anywhere shows up in min or max
    if not (np.isfinite(lo) and np.isfinite(hi)):
        finite = np.isfinite(arr)
        index = np.unravel_index(int(np.argmin(finite)), arr.shape)
        bad = float(arr[index])
        raise UserError(
            f"images '{name}' contain NaN or infinite values",
            location=loc,
            expected="finite pixel values",
            received=f"{'NaN' if np.isnan(bad) else bad} at index {tuple(int(i) for i in index)}",
        )
    if lo < 0 or hi > 255:
        raise UserError(
            f"pixel values of '{name}' are out of range",
            location=loc,
            expected="floats in [0, 1] or [0, 255]",
            received=f"values {lo:g}..{hi:g}",
            hint="store raw pixels (0..255) or pixels scaled to [0, 1], not standardised values",
        )
    scale = np.float32(255.0 if hi <= 1.0 else 1.0)
    out = aligned_empty(arr.size).reshape(arr.shape)
    # In cache-sized chunks: one float temporary of the whole set would cost more than the maths.
    step = max(1, _CHUNK_PIXELS // (arr.size // arr.shape[0]))
    tmp = np.empty((min(step, arr.shape[0]), *arr.shape[1:]), dtype=np.float32)
    for start in range(0, arr.shape[0], step):
        part = arr[start : start + step]
        t = tmp[: part.shape[0]]
        np.multiply(part, scale, out=t, casting="same_kind")
        np.rint(t, out=t)
        np.copyto(out[start : start + step], t, casting="unsafe")
    return out


def check_labels(
    arr: npt.NDArray[Any], name: str, loc: Location, n_images: int, images_name: str
) -> npt.NDArray[Any]:
    """Check labels: class numbers ``(N,)`` (or ``(N, 1)``), or one-hot rows ``(N, K)``;
    return them as a 1-D integer array, the array itself when it is one already."""
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(arr.shape[0])
    if arr.ndim == 2 and arr.shape[1] > 1:
        arr = _from_one_hot(arr, name, loc)
    if arr.ndim != 1:
        raise UserError(
            f"labels '{name}' have the wrong shape",
            location=loc,
            expected=f"a 1-D array (N,) of {_CLASSES_TEXT}, or one-hot rows (N, K)",
            received="shape " + format_shape(arr.shape),
        )
    if arr.dtype.kind not in "iu":
        raise UserError(
            f"labels '{name}' are not integers",
            location=loc,
            expected="integer " + _CLASSES_TEXT,
            received=f"dtype {arr.dtype}",
            hint="store y.astype('uint8')" if arr.dtype.kind == "f" else None,
        )
    if arr.shape[0] != n_images:
        raise UserError(
            f"'{name}' has {arr.shape[0]} labels but '{images_name}' has {n_images} images",
            location=loc,
            expected=f"{n_images} labels, one per image",
            received=f"{arr.shape[0]} labels",
        )
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= MAX_CLASSES):
        i = int(np.flatnonzero((arr < 0) | (arr >= MAX_CLASSES))[0])
        raise UserError(
            f"label out of range in '{name}'",
            location=loc,
            expected=_CLASSES_TEXT,
            received=f"{int(arr[i])} at index {i}",
        )
    return arr


def _from_one_hot(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.intp]:
    """The class numbers of one-hot rows (each row zeros and a single one)."""
    width = arr.shape[1]
    if arr.dtype.kind not in "biuf" or width > MAX_CLASSES:
        raise UserError(
            f"labels '{name}' have the wrong shape",
            location=loc,
            expected=f"a 1-D array (N,) of {_CLASSES_TEXT}, or one-hot rows (N, K)",
            received=f"shape {format_shape(arr.shape)} of dtype {arr.dtype}",
        )
    ones = arr == 1
    bad = ~(ones | (arr == 0)).all(axis=1) | (ones.sum(axis=1) != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"labels '{name}' are not one-hot",
            location=loc,
            expected=f"rows of {width} values, all 0 but a single 1 (or class numbers (N,))",
            received=f"row {i}: {_row_text(arr[i])}",
        )
    labels: npt.NDArray[np.intp] = np.argmax(ones, axis=1)
    return labels


def _row_text(row: npt.NDArray[Any]) -> str:
    values = [f"{v:g}" if isinstance(v, float) else str(v) for v in row[:12].tolist()]
    return "[" + ", ".join(values) + (", ...]" if len(row) > 12 else "]")


@dataclass(frozen=True)
class Labels:
    """One split's checked labels (``check_labels``), for ``label_classes``."""

    values: npt.NDArray[Any]  # 1-D class numbers
    name: str  # y_train, y_test
    loc: Location
    width: int = 0  # K of one-hot rows, 0 for class numbers


def label_classes(
    splits: Sequence[Labels], classes: Sequence[str] | None, classes_loc: Location
) -> tuple[str, ...]:
    """The names of the classes of labelled ``splits``: ``classes`` (checked: one per label
    the data has, at least) if given, else ``"0"``..``"K-1"``, K the highest label plus one
    (a one-hot width counts: its last classes may have no sample). A UserError if the data
    has a single class, or a label beyond ``classes`` (reported at ``classes_loc``)."""
    top, where, index = -1, splits[0], 0
    for split in splits:
        if split.values.size:
            i = int(np.argmax(split.values))
            if int(split.values[i]) > top:
                top, where, index = int(split.values[i]), split, i
    width = max(split.width for split in splits)
    if classes is not None:
        names = check_class_names(classes, classes_loc)
        if top >= len(names):
            in_file = f" of {where.loc.file}" if where.loc.file else ""
            raise UserError(
                f"label {top} in '{where.name}' has no class name",
                location=classes_loc,
                expected=f"labels 0..{len(names) - 1} ({len(names)} class names)",
                received=f"{top} at index {index}{in_file}",
            )
        if width > len(names):
            raise UserError(
                f"one-hot labels of {width} classes, but {len(names)} class names",
                location=classes_loc,
                expected=f"one name for each of the {width} classes",
                received=f"{len(names)} names",
            )
        return names
    k = max(top + 1, width)
    if k < MIN_CLASSES:
        raise UserError(
            "the data has one class only",
            location=splits[0].loc,
            expected=f"labels of at least {MIN_CLASSES} classes (0..K-1)",
            received="every label 0" if top == 0 else "no labels",
            hint="a classifier needs two classes or more",
        )
    return numbered_classes(k)


def check_class_names(classes: Sequence[str], loc: Location) -> tuple[str, ...]:
    """``classes`` as a tuple, if it names 2..1000 classes, each once and not blank."""
    names = tuple(classes)
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise UserError(
            f"{len(names)} class name{'s' if len(names) != 1 else ''}",
            location=loc,
            expected=f"{MIN_CLASSES}..{MAX_CLASSES} class names, in label order",
            received=", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else ""),
        )
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise UserError(
                "a blank class name", location=loc, expected="a name", received=repr(name)
            )
        if name in seen:
            raise UserError(
                f"class {name!r} is named twice",
                location=loc,
                expected="each class named once",
                received=f"{name!r} twice",
            )
        seen.add(name)
    return names


def narrow_labels(values: npt.NDArray[Any], k: int) -> npt.NDArray[Any]:
    """Checked class numbers as ``uint8`` (``uint16`` past 256 classes), C-contiguous; the
    array itself when it is that already."""
    dtype = np.uint8 if k <= 256 else np.uint16
    return np.ascontiguousarray(values.astype(dtype, copy=False))


def fit_arrays(
    x: npt.NDArray[np.uint8], shape: PictureShapeLike, loc: Location | None = None
) -> npt.NDArray[np.uint8]:
    """Pictures ``(N, H, W)`` or ``(N, H, W, 3)`` as the Input ``shape`` takes them: grey made
    RGB (the value repeated), RGB made grey (luminance, as Pillow's ``convert("L")``); ``x``
    itself when it fits. Height and width are never changed: a UserError if they differ
    (``loc``: where to report it, the data's path by default)."""
    h, w = int(x.shape[1]), int(x.shape[2])
    channels = 3 if x.ndim == 4 else 1
    if (h, w) != (shape.height, shape.width):
        raise UserError(
            "the Input does not fit the data's pictures",
            location=loc or Location(path=("data", "path")),
            expected=f"pictures of {shape.height}x{shape.width} (the Input's shape)",
            received=f"{h}x{w} pictures",
            hint=f"set the Input's shape to [{h}, {w}, {shape.channels}]",
        )
    if shape.channels == channels:
        return x
    n = x.shape[0]
    if shape.channels == 3:
        rgb = aligned_empty(x.size * 3).reshape(n, h, w, 3)
        rgb[...] = x[..., None]
        return rgb
    grey = aligned_empty(n * h * w).reshape(n, h, w)
    step = max(1, _CHUNK_PIXELS // (h * w))
    weights = np.array([19595, 38470, 7471], dtype=np.uint32)  # ITU-R 601-2, as Pillow's "L"
    for start in range(0, n, step):
        part = x[start : start + step].astype(np.uint32)
        lum = (part @ weights + 0x8000) >> 16
        grey[start : start + step] = lum.astype(np.uint8)
    return grey
