"""The pooling layer types: MaxPooling2D and AveragePooling2D over windows, their global forms
over the whole image, with their shape rules."""

from __future__ import annotations

from collections.abc import Sequence

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import (
    BOOL,
    IMAGE_LEFT_OUT,
    PADDING,
    TRAINABLE,
    LayerType,
    int_or_pair,
)
from mnistctl.spec.layers.shapes import Args, ShapeRule, need_rank, pair, spatial
from mnistctl.spec.model import Shape

_POOL_SIZE = int_or_pair(1, 64, "pooling window, n or [rows, cols]")
_POOL_ARGS = (
    Arg("pool_size", _POOL_SIZE, (2, 2)),
    Arg(
        "strides",
        {
            **int_or_pair(1, 64, "step between windows (null: pool_size)"),
            "type": ["integer", "array", "null"],
        },
        None,
    ),
    Arg("padding", PADDING, "valid"),
    TRAINABLE,
)


def pool_shape(what: str) -> ShapeRule:
    def rule(shapes: Sequence[Shape], args: Args) -> Shape:
        (shape,) = shapes
        pool = pair(args["pool_size"])
        strides = pair(args["strides"]) if args["strides"] is not None else pool
        h, w = spatial(shape, pool, strides, (1, 1), args["padding"], "pool_size", what)
        return (h, w, shape[2])

    return rule


def global_pool_shape(what: str) -> ShapeRule:
    def rule(shapes: Sequence[Shape], args: Args) -> Shape:
        (shape,) = shapes
        need_rank(shape, 3, what)
        return (1, 1, shape[2]) if args["keepdims"] else (shape[2],)

    return rule


TYPES = (
    LayerType(
        "MaxPooling2D",
        "Max over each pooling window.",
        _POOL_ARGS,
        pool_shape("MaxPooling2D"),
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "AveragePooling2D",
        "Average over each pooling window.",
        (Arg("pool_size", _POOL_SIZE), *_POOL_ARGS[1:]),  # Keras: no default here
        pool_shape("AveragePooling2D"),
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "GlobalAveragePooling2D",
        "Average over all rows and columns: one value per channel.",
        (Arg("keepdims", BOOL, False), TRAINABLE),
        global_pool_shape("GlobalAveragePooling2D"),
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "GlobalMaxPooling2D",
        "Max over all rows and columns: one value per channel.",
        (Arg("keepdims", BOOL, False), TRAINABLE),
        global_pool_shape("GlobalMaxPooling2D"),
        excluded=IMAGE_LEFT_OUT,
    ),
)
