"""A user's own picture of a handwritten digit, as an MNIST-style 28x28 input: the ways in.

``load_digit`` reads a picture from a path (a pipe, FIFO or character device such as
``/dev/stdin`` too), ``load_digits`` many of them, ``digit_from_bytes`` one already in memory
(an upload to ``mnistctl serve``): each the same decoding and checks (``imageread.py``) and the
same preparation (``digitprep.py``), so that every way in reads a picture the same way. Each
refusal is a ``UserError`` located at the picture.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitprep import prepare_digits
from mnistctl.data.imageread import Fail, image_at, image_from_bytes
from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["digit_from_bytes", "load_digit", "load_digits"]


def load_digit(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read the picture at ``path`` and return it as an MNIST-style digit.

    Returns a (28, 28) float32 array in [0, 1], ink bright on black. Raises ``UserError`` (with
    the file as location) for a missing, empty, unreadable, damaged, too large or blank image.
    ``path`` may be a pipe, FIFO or character device such as ``/dev/stdin``.
    """
    where = Location(file=str(path))
    return _raised(prepare_digits([_load_image(path, where)])[0], where)


def load_digits(
    paths: Iterable[str | os.PathLike[str]],
) -> list[npt.NDArray[np.float32] | UserError]:
    """``load_digit`` of each of ``paths``: its digit, or the ``UserError`` it raises (with
    its location), in order. The same results, prepared in batches (``prepare_digits``)."""
    where: list[Location] = []

    def pictures() -> Iterator[Image.Image | UserError]:
        for path in paths:
            where.append(Location(file=str(path)))
            try:
                yield _load_image(path, where[-1])
            except UserError as err:
                yield err

    return [
        result if isinstance(result, np.ndarray) else located(result, where[i])
        for i, result in enumerate(prepare_digits(pictures()))
    ]


def digit_from_bytes(
    data: bytes, *, source: str = "request", max_pixels: int | None = None
) -> npt.NDArray[np.float32]:
    """``load_digit`` for a picture already in memory (an upload): the same decoding, checks and
    preparation, so that every way in reads a picture the same way.

    ``source`` names it in errors (their location); ``max_pixels`` (default
    ``imageread.MAX_PIXELS``) is checked on the header's dimensions, before anything is
    decoded. Refusals for size have the message ``imageerrors.TOO_LARGE``; a picture without a
    digit, the message of ``imageerrors.no_digit``.
    """
    where = Location(file=source)
    return _raised(prepare_digits([image_from_bytes(data, fail_at(where), max_pixels)])[0], where)


def _load_image(path: str | os.PathLike[str], where: Location) -> Image.Image:
    """The picture at ``path``, decoded and upright (``UserError`` at ``where`` if not)."""
    return image_at(path, fail_at(where))


def fail_at(where: Location) -> Fail:
    """The refusals of the picture at ``where``."""

    def fail(message: str, **kw: str | None) -> UserError:
        return UserError(message, location=where, **kw)

    return fail


def located(err: UserError, where: Location) -> UserError:
    """``err`` about the picture at ``where`` (the transform's errors have no location), with
    its cause."""
    if err.location == where:
        return err
    moved = dataclasses.replace(err, location=where)
    moved.__cause__ = err.__cause__
    return moved


def _raised(
    result: npt.NDArray[np.float32] | UserError, where: Location
) -> npt.NDArray[np.float32]:
    """The digit, or its error raised (located at ``where``) with its cause."""
    if isinstance(result, UserError):
        err = located(result, where)
        raise err from err.__cause__
    return result
