"""Output shapes, parameter counts and multiply-adds of the training recipes' layer types
(``layers_more.py``), in pure Python, on the helpers of ``shapes.py``.

Besides shapes, these rules check what the JSON Schema cannot say: that an augmentation
factor's ``[lower, upper]`` pair is in order, and that a LayerNormalization names each axis once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mnistctl.spec.model import Shape
from mnistctl.spec.shapes import (
    Args,
    Params,
    ShapeError,
    ShapeRule,
    axis_index,
    freeze,
    need_rank,
    pair,
    shown,
    spatial,
)

# --- image augmentation: identity at inference, the input's shape always ---------------------


def _factor_in_order(args: Args, name: str) -> None:
    value = args.get(name)
    if isinstance(value, list | tuple) and value[0] > value[1]:
        lower, upper = value
        raise ShapeError(
            f"{name} is a [lower, upper] pair: lower must not exceed upper",
            expected=f"lower <= upper, e.g. [{upper}, {lower}]",
            received=f"{name}={list(value)}",
            arg=name,
        )


def augmentation_shape(what: str, *factors: str) -> ShapeRule:
    """An image augmentation layer: its factors in order, an image input (rows, cols,
    channels), the same shape out."""

    def rule(shapes: Sequence[Shape], args: Args) -> Shape:
        for name in factors:
            _factor_in_order(args, name)
        (shape,) = shapes
        need_rank(shape, 3, what)
        return shape

    return rule


def image_shape(what: str) -> ShapeRule:
    """A layer that keeps an image's shape and takes nothing else (SpatialDropout2D)."""

    def rule(shapes: Sequence[Shape], _args: Args) -> Shape:
        (shape,) = shapes
        need_rank(shape, 3, what)
        return shape

    return rule


# --- depthwise and separable convolution -----------------------------------------------------


def _depthwise_spatial(shape: Shape, args: Args, what: str) -> tuple[int, int]:
    need_rank(shape, 3, what)
    window, strides = pair(args["kernel_size"]), pair(args["strides"])
    dilation = pair(args["dilation_rate"])
    return spatial(shape, window, strides, dilation, args["padding"], "kernel_size", what)


def depthwise_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    (shape,) = shapes
    h, w = _depthwise_spatial(shape, args, "DepthwiseConv2D")
    return (h, w, shape[2] * int(args["depth_multiplier"]))


def depthwise_params(shapes: Sequence[Shape], args: Args) -> Params:
    kh, kw = pair(args["kernel_size"])
    channels = shapes[0][2] * int(args["depth_multiplier"])
    return freeze(kh * kw * channels + (channels if args["use_bias"] else 0), 0, args)


def depthwise_macs(shapes: Sequence[Shape], args: Args, out: Shape) -> int:
    kh, kw = pair(args["kernel_size"])
    return out[0] * out[1] * out[2] * kh * kw


def separable_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    h, w = _depthwise_spatial(shapes[0], args, "SeparableConv2D")
    return (h, w, int(args["filters"]))


def separable_params(shapes: Sequence[Shape], args: Args) -> Params:
    kh, kw = pair(args["kernel_size"])
    filters = int(args["filters"])
    middle = shapes[0][2] * int(args["depth_multiplier"])  # the depthwise step's channels
    n = kh * kw * middle + middle * filters + (filters if args["use_bias"] else 0)
    return freeze(n, 0, args)


def separable_macs(shapes: Sequence[Shape], args: Args, out: Shape) -> int:
    kh, kw = pair(args["kernel_size"])
    middle = shapes[0][2] * int(args["depth_multiplier"])
    return out[0] * out[1] * middle * (kh * kw + int(args["filters"]))


# --- LayerNormalization ----------------------------------------------------------------------


def _norm_axes(shape: Shape, args: Args) -> list[int]:
    """The normalized axes as indices into ``shape`` (no batch axis), each once."""
    given: Any = args["axis"]
    axes = [given] if isinstance(given, int) else list(given)
    out = [axis_index(shape, int(a), "LayerNormalization") for a in axes]
    if len(set(out)) != len(out):
        raise ShapeError(
            "LayerNormalization's axis names the same axis twice",
            expected=f"distinct axes of the input {shown(shape)}",
            received=f"axis={list(axes)}",
            arg="axis",
        )
    return sorted(out)


def layernorm_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    _norm_axes(shapes[0], args)
    return shapes[0]


def layernorm_params(shapes: Sequence[Shape], args: Args) -> Params:
    size = math.prod(shapes[0][i] for i in _norm_axes(shapes[0], args))
    return freeze(size * (int(bool(args["center"])) + int(bool(args["scale"]))), 0, args)


# --- ZeroPadding2D ---------------------------------------------------------------------------


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
