"""A user's picture as a model's input: the one preparation ``predict``, ``serve``, the Python
API and the export check share with training on picture folders.

A run's ``Target`` is its Input's height, width and channels and its ``data.prepare``:
``mnist_style`` (ink found, cropped, centred by mass, white on black: ``digitprep.py``) or
``resize`` (the picture as it is, fitted with its aspect kept: ``pictures/prepare.py``). Every
picture becomes uint8 first, as training's pictures are stored, then 0..1 floats, so that a
picture reads the same whether it was trained on or predicted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitprep import prepare_digits
from mnistctl.data.imageread import image_at, image_from_bytes
from mnistctl.data.images import fail_at, located
from mnistctl.data.pictures.prepare import PictureShape, prepare_picture
from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["MNIST_TARGET", "Target", "input_from_bytes", "load_inputs"]

Prepared = npt.NDArray[np.float32] | UserError


@dataclass(frozen=True)
class Target:
    """What a picture is made into: the Input's picture shape and the preparation."""

    shape: PictureShape = field(default_factory=lambda: PictureShape(28, 28, 1))
    mode: str = "mnist_style"

    @property
    def dims(self) -> tuple[int, ...]:
        """One prepared picture's array shape: (H, W) grey, (H, W, 3) RGB."""
        h, w, c = self.shape.height, self.shape.width, self.shape.channels
        return (h, w) if c == 1 else (h, w, 3)

    @property
    def digit(self) -> bool:
        """MNIST's own: 28x28 grey, made as MNIST's digits were."""
        return self.dims == (28, 28) and self.mode == "mnist_style"


MNIST_TARGET = Target()


def prepare_inputs(pictures: Iterable[Image.Image | UserError], target: Target) -> list[Prepared]:
    """Each picture made to ``target`` (0..1 float32, ``target.dims``), or its ``UserError``
    (a picture that could not be read passes through in its place)."""
    if target.digit:  # MNIST's 28x28 digits, prepared in batches (digitprep.py): the same
        return [_quantized(d) if isinstance(d, np.ndarray) else d for d in prepare_digits(pictures)]
    out: list[Prepared] = []
    for picture in pictures:
        if isinstance(picture, UserError):
            out.append(picture)
            continue
        try:
            made = prepare_picture(picture, target.shape, target.mode)
        except UserError as err:
            out.append(err)
            continue
        out.append(made.astype(np.float32) * np.float32(1.0 / 255.0))
    return out


def _quantized(digit: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The digit as uint8 pixels would hold it (as training's pictures are stored)."""
    pixels = np.rint(digit * np.float32(255.0)).astype(np.float32)
    out: npt.NDArray[np.float32] = pixels * np.float32(1.0 / 255.0)
    return out


def load_inputs(paths: Iterable[str | os.PathLike[str]], target: Target) -> list[Prepared]:
    """The picture at each path made to ``target``, or the ``UserError`` it raises (located at
    the picture), in order."""
    where: list[Location] = []

    def pictures() -> Iterator[Image.Image | UserError]:
        for path in paths:
            where.append(Location(file=str(path)))
            try:
                yield image_at(path, fail_at(where[-1]))
            except UserError as err:
                yield err

    done = prepare_inputs(pictures(), target)
    return [r if isinstance(r, np.ndarray) else located(r, where[i]) for i, r in enumerate(done)]


def input_from_bytes(
    data: bytes, target: Target, *, source: str = "request", max_pixels: int | None = None
) -> npt.NDArray[np.float32]:
    """``load_inputs`` for a picture already in memory (an upload): the same decoding, checks
    and preparation. Raises the picture's ``UserError`` (located at ``source``)."""
    where = Location(file=source)
    result = prepare_inputs([image_from_bytes(data, fail_at(where), max_pixels)], target)[0]
    if isinstance(result, UserError):
        err = located(result, where)
        raise err from err.__cause__
    return result
