"""The shape arithmetic the layer types' rules share, in pure Python: what a rule is, the error
it raises, windows, ranks, axes, frozen parameters.

Each family module writes its types' rules (output shape, parameter counts, multiply-adds)
beside their table rows, one small rule per concept, on plain tuples, like Keras's
``compute_output_shape``. Shapes here never include the batch axis. An impossible shape raises
``ShapeError``, saying what was expected and what was received.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mnistctl.formatting import format_shape
from mnistctl.spec.model import Shape

Params = tuple[int, int]  # (trainable, non-trainable)
Args = Mapping[str, Any]
ShapeRule = Callable[[Sequence[Shape], Args], Shape]  # (input shapes, arguments) -> output
ParamsRule = Callable[[Sequence[Shape], Args], Params]
MacsRule = Callable[[Sequence[Shape], Args, Shape], int]  # (..., output shape) -> multiply-adds


class ShapeError(Exception):
    """An impossible shape; ``arg`` names the argument at fault, if one is."""

    def __init__(self, message: str, expected: str, received: str, arg: str | None = None) -> None:
        super().__init__(message)
        self.message, self.expected, self.received, self.arg = message, expected, received, arg


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def shown(shape: Shape) -> str:
    return format_shape(shape, batch=True)


def need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        hint = (
            " (add a Reshape to [28, 28, 1] or use Input shape [28, 28, 1])"
            if rank == 3
            else " (add a Flatten first)"
        )
        raise ShapeError(
            f"{what} needs an input of rank {rank + 1} (batch included){hint}",
            expected=f"an input shaped (None, {', '.join(['…'] * rank)})",
            received=shown(shape),
        )


def _window(size: int, window: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    span = (window - 1) * dilation + 1
    return (size - span) // stride + 1


def spatial(
    shape: Shape,
    window: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    arg: str,
    what: str,
) -> tuple[int, int]:
    need_rank(shape, 3, what)
    out = []
    for axis in range(2):
        span = (window[axis] - 1) * dilation[axis] + 1
        if padding == "valid" and span > shape[axis]:
            raise ShapeError(
                f"{arg} is larger than the input",
                expected=f"a {arg} of at most {shape[0]}x{shape[1]} with padding 'valid'",
                received=f"{window[0]}x{window[1]} on input {shown(shape)}",
                arg=arg,
            )
        out.append(_window(shape[axis], window[axis], strides[axis], dilation[axis], padding))
    return out[0], out[1]


def freeze(trainable: int, fixed: int, args: Args) -> Params:
    return (trainable, fixed) if args.get("trainable", True) else (0, trainable + fixed)


def axis_index(shape: Shape, axis: int, what: str) -> int:
    if not -len(shape) <= axis <= len(shape) or axis == 0:  # axis 0 / -rank: the batch
        raise ShapeError(
            f"{what} axis out of range for this input",
            expected=f"an axis between 1 and {len(shape)} or between {-len(shape)} and -1",
            received=f"axis={axis} on input {shown(shape)}",
            arg="axis",
        )
    return axis - 1 if axis > 0 else len(shape) + axis


def same_shape(shapes: Sequence[Shape], _args: Args) -> Shape:
    """The rule of a layer that keeps its input's shape, whatever it is."""
    return shapes[0]


def image_shape(what: str) -> ShapeRule:
    """A layer that keeps an image's shape (rows, cols, channels) and takes nothing else
    (SpatialDropout2D; the augmentation layers, once their factors are checked)."""

    def rule(shapes: Sequence[Shape], _args: Args) -> Shape:
        (shape,) = shapes
        need_rank(shape, 3, what)
        return shape

    return rule
