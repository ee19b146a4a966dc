"""The convolution layer types: Conv2D, DepthwiseConv2D (each channel on its own) and
SeparableConv2D (depthwise, then 1x1), with their shape, parameter and multiply-add rules."""

from __future__ import annotations

from collections.abc import Sequence

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import (
    ACTIVATION,
    ACTIVITY_REGULARIZER,
    BIAS_REGULARIZER,
    IMAGE_LEFT_OUT,
    INIT,
    NO_CONSTRAINTS,
    PADDING,
    TRAINABLE,
    USE_BIAS,
    WEIGHTS,
    WEIGHTS_LEFT_OUT,
    LayerType,
    int_,
    int_or_pair,
    regularizer,
)
from mnistctl.spec.layers.shapes import (
    Args,
    Params,
    ShapeError,
    freeze,
    need_rank,
    pair,
    spatial,
)
from mnistctl.spec.model import Shape

KERNEL_SIZE = int_or_pair(1, 64, "window size, n or [rows, cols]")
STRIDES = int_or_pair(1, 64, "step of the window")
DILATION = int_or_pair(1, 32, "spacing of the window's taps")
_DEPTH_MULTIPLIER = Arg(
    "depth_multiplier", int_(1, 256, "output channels per input channel, depthwise"), 1
)
_DEPTHWISE_INIT = Arg("depthwise_initializer", INIT, "glorot_uniform")
_DEPTHWISE_REG = regularizer("depthwise_regularizer", "the depthwise kernel")
_WINDOW_ARGS = (
    Arg("kernel_size", KERNEL_SIZE),
    Arg("strides", STRIDES, (1, 1)),
    Arg("padding", PADDING, "valid"),
)
_DEPTHWISE_LEFT_OUT = {
    **IMAGE_LEFT_OUT,
    "depthwise_constraint": NO_CONSTRAINTS,
    "bias_constraint": NO_CONSTRAINTS,
}


# --- Conv2D ----------------------------------------------------------------------------------


def conv_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    (shape,) = shapes
    need_rank(shape, 3, "Conv2D")
    strides, dilation = pair(args["strides"]), pair(args["dilation_rate"])
    if max(strides) > 1 and max(dilation) > 1:
        raise ShapeError(
            "strides > 1 cannot be combined with dilation_rate > 1",
            expected="strides 1 or dilation_rate 1",
            received=f"strides={list(strides)}, dilation_rate={list(dilation)}",
            arg="strides",
        )
    groups = int(args["groups"])
    if shape[2] % groups or int(args["filters"]) % groups:
        raise ShapeError(
            "groups must divide both the input channels and filters",
            expected=f"a divisor of {shape[2]} and {args['filters']}",
            received=f"groups={groups}",
            arg="groups",
        )
    window = pair(args["kernel_size"])
    h, w = spatial(shape, window, strides, dilation, args["padding"], "kernel_size", "Conv2D")
    return (h, w, int(args["filters"]))


def conv_params(shapes: Sequence[Shape], args: Args) -> Params:
    kh, kw = pair(args["kernel_size"])
    filters = int(args["filters"])
    n = kh * kw * (shapes[0][2] // int(args["groups"])) * filters
    return freeze(n + (filters if args["use_bias"] else 0), 0, args)


def conv_macs(shapes: Sequence[Shape], args: Args, out: Shape) -> int:
    kh, kw = pair(args["kernel_size"])
    return out[0] * out[1] * out[2] * kh * kw * (shapes[0][2] // int(args["groups"]))


# --- DepthwiseConv2D and SeparableConv2D -----------------------------------------------------


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


TYPES = (
    LayerType(
        "Conv2D",
        "2D convolution over an image (rows, cols, channels).",
        (
            Arg("filters", int_(1, 4096, "number of output channels")),
            Arg("kernel_size", KERNEL_SIZE),
            Arg("strides", STRIDES, (1, 1)),
            Arg("padding", PADDING, "valid"),
            Arg("dilation_rate", DILATION, (1, 1)),
            Arg("groups", int_(1, 4096, "channel groups convolved separately"), 1),
            *WEIGHTS,
            TRAINABLE,
        ),
        conv_shape,
        conv_params,
        macs=conv_macs,
        excluded={**IMAGE_LEFT_OUT, **WEIGHTS_LEFT_OUT},
    ),
    LayerType(
        "DepthwiseConv2D",
        "Convolves each channel on its own (depth_multiplier outputs per channel).",
        (
            *_WINDOW_ARGS,
            _DEPTH_MULTIPLIER,
            Arg("dilation_rate", DILATION, (1, 1)),
            Arg("activation", ACTIVATION, None),
            USE_BIAS,
            _DEPTHWISE_INIT,
            Arg("bias_initializer", INIT, "zeros"),
            _DEPTHWISE_REG,
            BIAS_REGULARIZER,
            ACTIVITY_REGULARIZER,
            TRAINABLE,
        ),
        depthwise_shape,
        depthwise_params,
        macs=depthwise_macs,
        excluded=_DEPTHWISE_LEFT_OUT,
    ),
    LayerType(
        "SeparableConv2D",
        "A depthwise convolution, then a 1x1 convolution mixing the channels into filters.",
        (
            Arg("filters", int_(1, 4096, "number of output channels")),
            *_WINDOW_ARGS,
            Arg("dilation_rate", DILATION, (1, 1)),
            _DEPTH_MULTIPLIER,
            Arg("activation", ACTIVATION, None),
            USE_BIAS,
            _DEPTHWISE_INIT,
            Arg("pointwise_initializer", INIT, "glorot_uniform"),
            Arg("bias_initializer", INIT, "zeros"),
            _DEPTHWISE_REG,
            regularizer("pointwise_regularizer", "the pointwise (1x1) kernel"),
            BIAS_REGULARIZER,
            ACTIVITY_REGULARIZER,
            TRAINABLE,
        ),
        separable_shape,
        separable_params,
        macs=separable_macs,
        excluded={**_DEPTHWISE_LEFT_OUT, "pointwise_constraint": NO_CONSTRAINTS},
    ),
)
