"""The merging layer types, of two inputs or more: Add and Concatenate, with their shape
rules."""

from __future__ import annotations

from collections.abc import Sequence

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import TRAINABLE, LayerType, int_
from mnistctl.spec.layers.shapes import Args, ShapeError, axis_index, shown
from mnistctl.spec.model import Shape


def add_shape(shapes: Sequence[Shape], _args: Args) -> Shape:
    first = shapes[0]
    if any(other != first for other in shapes[1:]):
        raise ShapeError(
            "Add needs inputs of the same shape",
            expected="equal shapes",
            received=", ".join(shown(s) for s in shapes),
            arg="inputs",
        )
    return first


def concat_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    first = shapes[0]
    received = ", ".join(shown(s) for s in shapes)
    if any(len(s) != len(first) for s in shapes):
        raise ShapeError(
            "Concatenate needs inputs of the same rank",
            expected="inputs of equal rank",
            received=received,
            arg="inputs",
        )
    axis = axis_index(first, int(args["axis"]), "Concatenate")
    for other in shapes[1:]:
        if any(a != b for i, (a, b) in enumerate(zip(first, other, strict=True)) if i != axis):
            raise ShapeError(
                "Concatenate needs inputs that match on every axis but the concatenation axis",
                expected=f"shapes equal except on axis {args['axis']}",
                received=received,
                arg="inputs",
            )
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


TYPES = (
    LayerType(
        "Add",
        "Adds its inputs element-wise (a skip connection).",
        (TRAINABLE,),
        add_shape,
        min_inputs=2,
        max_inputs=None,
    ),
    LayerType(
        "Concatenate",
        "Joins its inputs along one axis.",
        (Arg("axis", int_(-4, 4, "axis to join on (-1: last)"), -1), TRAINABLE),
        concat_shape,
        min_inputs=2,
        max_inputs=None,
    ),
)
