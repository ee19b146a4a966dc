"""The reshaping layer types: Flatten, Reshape and ZeroPadding2D, with their shape rules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import IMAGE_LEFT_OUT, TRAINABLE, LayerType
from mnistctl.spec.layers.shapes import Args, ShapeError, need_rank, pair, shown
from mnistctl.spec.model import Shape

_PAD = {"type": "integer", "minimum": 0, "maximum": 1024}
_ZERO_PADDING = {
    **_PAD,
    "type": ["integer", "array"],
    "items": {**_PAD, "type": ["integer", "array"], "items": _PAD, "minItems": 2, "maxItems": 2},
    "minItems": 2,
    "maxItems": 2,
    "description": "zeros added: n, [rows, cols] or [[top, bottom], [left, right]]",
}


def flatten_shape(shapes: Sequence[Shape], _args: Args) -> Shape:
    return (math.prod(shapes[0]),)


def reshape_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    target = [int(d) for d in args["target_shape"]]
    size = math.prod(shapes[0])
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1:
        raise ShapeError("at most one -1 in target_shape", "one -1", str(target), "target_shape")
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if size % known:
            raise ShapeError(
                "Reshape cannot change the number of values",
                expected=f"a target_shape whose size divides {size}",
                received=f"{target} on input {shown(shapes[0])}",
                arg="target_shape",
            )
        target[unknown[0]] = size // known
    elif known != size:
        raise ShapeError(
            "Reshape cannot change the number of values",
            expected=f"a target_shape of {size} values, e.g. {list(shapes[0])}",
            received=f"{target} ({known} values) on input {shown(shapes[0])}",
            arg="target_shape",
        )
    return tuple(target)


def _padding(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's three forms: n, [rows, cols], [[top, bottom], [left, right]] (mixed too)."""
    if isinstance(value, int):
        return (value, value), (value, value)
    rows, cols = value
    return pair(rows), pair(cols)


def zero_padding_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    (shape,) = shapes
    need_rank(shape, 3, "ZeroPadding2D")
    (top, bottom), (left, right) = _padding(args["padding"])
    return (shape[0] + top + bottom, shape[1] + left + right, shape[2])


TYPES = (
    LayerType(
        "Flatten",
        "Flattens each sample to a vector.",
        (TRAINABLE,),
        flatten_shape,
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "Reshape",
        "Reshapes each sample; one dimension may be -1.",
        (
            Arg(
                "target_shape",
                {
                    "type": "array",
                    "items": {
                        "type": "integer",
                        "minimum": -1,
                        "maximum": 10_000_000,
                        "not": {"const": 0},
                    },
                    "minItems": 1,
                    "maxItems": 4,
                    "description": "new shape of one sample, e.g. [28, 28, 1]",
                },
            ),
            TRAINABLE,
        ),
        reshape_shape,
    ),
    LayerType(
        "ZeroPadding2D",
        "Adds rows and columns of zeros around each image.",
        (Arg("padding", _ZERO_PADDING, (1, 1)), TRAINABLE),
        zero_padding_shape,
        excluded=IMAGE_LEFT_OUT,
    ),
)
