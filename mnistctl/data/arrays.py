"""Checking and normalising image and label arrays, into aligned buffers TensorFlow uses in place.

Whatever file they came from, images become C-contiguous ``uint8`` ``(N, 28, 28)`` and labels
``uint8`` ``(N,)`` with class numbers ``0..NUM_CLASSES-1``; anything else is a UserError naming
the array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.mnist import NUM_CLASSES
from mnistctl.errors import Location, UserError
from mnistctl.formatting import format_shape

__all__ = [
    "ALIGNMENT",
    "aligned",
    "aligned_empty",
    "check_images",
    "check_labels",
]

ALIGNMENT = 64  # what TensorFlow needs to use a numpy buffer in place (Eigen's widest vectors)

_IMAGE_SHAPES_TEXT = "(N, 28, 28), (N, 784) or (N, 28, 28, 1)"
_CLASSES_TEXT = f"class numbers 0..{NUM_CLASSES - 1}"

# Pixels converted per step when normalising float images.
_CHUNK_PIXELS = 1 << 18


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


def check_images(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.uint8]:
    """Check images; return them as aligned C-contiguous uint8 ``(N, 28, 28)``, copying only if
    needed."""
    shape = arr.shape
    n = shape[0] if arr.ndim else 0
    if arr.ndim == 3 and shape[1:] == (28, 28):
        pass
    elif (arr.ndim == 2 and shape[1] == 784) or (arr.ndim == 4 and shape[1:] == (28, 28, 1)):
        arr = arr.reshape(n, 28, 28)
    else:
        raise UserError(
            f"images '{name}' have the wrong shape",
            location=loc,
            expected=_IMAGE_SHAPES_TEXT,
            received="shape " + format_shape(shape),
        )
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
    step = max(1, _CHUNK_PIXELS // (28 * 28))
    tmp = np.empty((min(step, arr.shape[0]), 28, 28), dtype=np.float32)
    for start in range(0, arr.shape[0], step):
        part = arr[start : start + step]
        t = tmp[: part.shape[0]]
        np.multiply(part, scale, out=t, casting="same_kind")
        np.rint(t, out=t)
        np.copyto(out[start : start + step], t, casting="unsafe")
    return out


def check_labels(
    arr: npt.NDArray[Any], name: str, loc: Location, n_images: int, images_name: str
) -> npt.NDArray[np.uint8]:
    """Check labels and return them as uint8 ``(N,)``, copying only if needed."""
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(arr.shape[0])
    if arr.ndim != 1:
        one_hot = arr.ndim == 2 and arr.shape[1] == NUM_CLASSES
        raise UserError(
            f"labels '{name}' have the wrong shape",
            location=loc,
            expected=f"a 1-D array (N,) of {_CLASSES_TEXT}",
            received="shape " + format_shape(arr.shape),
            hint="one-hot labels? store y.argmax(axis=1) instead" if one_hot else None,
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
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= NUM_CLASSES):
        i = int(np.flatnonzero((arr < 0) | (arr >= NUM_CLASSES))[0])
        raise UserError(
            f"label out of range in '{name}'",
            location=loc,
            expected=_CLASSES_TEXT,
            received=f"{int(arr[i])} at index {i}",
        )
    out: npt.NDArray[np.uint8] = np.ascontiguousarray(arr.astype(np.uint8, copy=False))
    return out
