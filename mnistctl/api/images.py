"""Images given to ``Run.predict``: files, or 28x28 arrays already like MNIST's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    pass

from mnistctl.api.common import (
    IMAGE_SIDE,
    ImageInput,
)

# --- images given to predict -------------------------------------------------------------------


def _image_items(images: ImageInput) -> list[Path | npt.NDArray[np.float32]]:
    """Each image as a file path or a prepared (28, 28) float32 digit in [0, 1]."""
    if isinstance(images, str | os.PathLike):
        return [Path(images)]
    items: list[Path | npt.NDArray[np.float32]] = []
    if isinstance(images, np.ndarray):
        items.extend(_digits_of(images, "images"))
        return items
    for index, item in enumerate(images):
        if isinstance(item, str | os.PathLike):
            items.append(Path(item))
        elif isinstance(item, np.ndarray):
            items.extend(_digits_of(item, f"images[{index}]", one=True))
        else:
            raise UserError(
                "not an image",
                Location(f"images[{index}]"),
                expected="an image file path or a 28x28 array",
                received=type(item).__name__,
            )
    if not items:
        raise UserError(
            "no images given",
            Location("images"),
            expected="at least one image file or 28x28 array",
            received="none",
        )
    return items


def _digits_of(
    array: npt.NDArray[Any], where: str, *, one: bool = False
) -> list[npt.NDArray[np.float32]]:
    """A (28, 28) array (or (28, 28, 1)), or unless ``one`` a stack of them, as digits."""
    side = (IMAGE_SIDE, IMAGE_SIDE)
    shape = tuple(array.shape)
    if shape[-1:] == (1,) and len(shape) in (3, 4):
        array, shape = array[..., 0], shape[:-1]
    if shape == side:
        stack = array[np.newaxis]
    elif len(shape) == 3 and shape[1:] == side and not one and shape[0] > 0:
        stack = array
    else:
        raise UserError(
            "not a 28x28 image array",
            Location(where),
            expected="a 28x28 array" if one else "a 28x28 array or a stack of them (N x 28 x 28)",
            received=f"an array shaped {shape}",
        )
    return list(_scaled(stack, where))


def _scaled(stack: npt.NDArray[Any], where: str) -> npt.NDArray[np.float32]:
    """Pixels in [0, 1] as float32, as training scales MNIST (uint8 / 255); floats must
    already be in [0, 1]."""
    kind = stack.dtype.kind
    if kind in "iu":
        low, high = int(stack.min()), int(stack.max())
        if low < 0 or high > 255:
            raise UserError(
                "pixel values out of range",
                Location(where),
                expected="integers 0-255 (or floats 0-1)",
                received=f"values from {low} to {high}",
            )
        return stack.astype(np.float32) * np.float32(1.0 / 255.0)
    if kind == "f":
        if not np.isfinite(stack).all():
            raise UserError(
                "pixel values are not all finite numbers",
                Location(where),
                expected="floats 0-1",
                received="NaN or infinity",
            )
        low_f, high_f = float(stack.min()), float(stack.max())
        if low_f < 0.0 or high_f > 1.0:
            raise UserError(
                "pixel values out of range",
                Location(where),
                expected="floats 0-1 (or integers 0-255)",
                received=f"values from {low_f:g} to {high_f:g}",
                hint="divide 0-255 pixel values by 255" if high_f <= 255.0 else None,
            )
        return stack.astype(np.float32)
    raise UserError(
        "not an image array",
        Location(where),
        expected="integers 0-255 or floats 0-1",
        received=f"an array of {stack.dtype}",
    )
