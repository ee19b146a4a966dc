"""The training recipes' layer types, in the layer table's form (``layers.py`` adds them to
``LAYER_TYPES``): image augmentation (active only while training), spatial dropout and
Gaussian noise, depthwise and separable convolutions, layer normalization, zero padding."""

from __future__ import annotations

from typing import Any

from mnistctl.spec import shapes, shapes_more
from mnistctl.spec.args import Arg
from mnistctl.spec.layertype import (
    ACTIVATION,
    ACTIVITY_REGULARIZER,
    BIAS_REGULARIZER,
    BOOL,
    CHANNELS_LAST,
    DILATION,
    FILL_MODES,
    INIT,
    INTERPOLATIONS,
    KERNEL_SIZE,
    NO_CONSTRAINTS,
    PADDING,
    PRECISION,
    SEED,
    STRIDES,
    TRAINABLE,
    USE_BIAS,
    LayerType,
    factor,
    int_,
    regularizer,
)

_AUGMENT_ARGS = (
    Arg(
        "fill_mode",
        {
            "type": "string",
            "enum": list(FILL_MODES),
            "description": "how pixels from outside the image are filled",
        },
        "reflect",
    ),
    Arg(
        "interpolation",
        {"type": "string", "enum": list(INTERPOLATIONS), "description": "how pixels are sampled"},
        "bilinear",
    ),
    Arg("seed", SEED, None),
    Arg(
        "fill_value",
        {"type": "number", "description": "the pixel value outside the image (fill_mode constant)"},
        0.0,
    ),
    TRAINABLE,
)
_AUGMENT_OUT = {"data_format": CHANNELS_LAST}
_ONLY_TRAINING = " Active only while training: the identity at inference."
_SHIFT = "fraction of the image {} to shift by, ±f or [lower, upper] in [-1, 1]"
_ZOOM = (
    "fraction of the image {} to zoom by (positive: out, negative: in), ±f or [lower, upper] "
    "in (-1, 1]"
)
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
    "data_format": CHANNELS_LAST,
    "depthwise_constraint": NO_CONSTRAINTS,
    "bias_constraint": NO_CONSTRAINTS,
}
_RATE: dict[str, Any] = {
    "type": "number",
    "minimum": 0,
    "exclusiveMaximum": 1,
    "description": "fraction of channels to drop, 0 <= rate < 1",
}
_LN_AXIS = {
    "type": ["integer", "array"],
    "minimum": -4,
    "maximum": 4,
    "items": {"type": "integer", "minimum": -4, "maximum": 4},
    "minItems": 1,
    "maxItems": 4,
    "uniqueItems": True,
    "description": "the axis or axes to normalize over (-1: channels)",
}
_PAD = {"type": "integer", "minimum": 0, "maximum": 1024}
_ZERO_PADDING = {
    **_PAD,
    "type": ["integer", "array"],
    "items": {**_PAD, "type": ["integer", "array"], "items": _PAD, "minItems": 2, "maxItems": 2},
    "minItems": 2,
    "maxItems": 2,
    "description": "zeros added: n, [rows, cols] or [[top, bottom], [left, right]]",
}

MORE_TYPES = (
    LayerType(
        "RandomRotation",
        "Rotates each image by a random angle." + _ONLY_TRAINING,
        (
            Arg("factor", factor("fraction of a full turn, ±f or [lower, upper] in [-1, 1]")),
            *_AUGMENT_ARGS,
        ),
        shapes_more.augmentation_shape("RandomRotation", "factor"),
        excluded=_AUGMENT_OUT,
    ),
    LayerType(
        "RandomTranslation",
        "Shifts each image by a random offset." + _ONLY_TRAINING,
        (
            Arg("height_factor", factor(_SHIFT.format("height"))),
            Arg("width_factor", factor(_SHIFT.format("width"))),
            *_AUGMENT_ARGS,
        ),
        shapes_more.augmentation_shape("RandomTranslation", "height_factor", "width_factor"),
        excluded=_AUGMENT_OUT,
    ),
    LayerType(
        "RandomZoom",
        "Zooms each image in or out by a random amount." + _ONLY_TRAINING,
        (
            Arg("height_factor", factor(_ZOOM.format("height"), open_lo=True)),
            Arg(
                "width_factor",
                {
                    **factor(_ZOOM.format("width") + " (null: as height)", open_lo=True),
                    "type": ["number", "array", "null"],
                },
                None,
            ),
            *_AUGMENT_ARGS,
        ),
        shapes_more.augmentation_shape("RandomZoom", "height_factor", "width_factor"),
        excluded=_AUGMENT_OUT,
    ),
    LayerType(
        "SpatialDropout2D",
        "Drops whole channels (feature maps) during training only.",
        (Arg("rate", _RATE), Arg("seed", SEED, None)),  # Keras takes no trainable here
        shapes_more.image_shape("SpatialDropout2D"),
        excluded={"data_format": CHANNELS_LAST, "dtype": PRECISION},
    ),
    LayerType(
        "GaussianNoise",
        "Adds zero-mean Gaussian noise during training only.",
        (
            Arg(
                "stddev",
                {"type": "number", "minimum": 0, "maximum": 1, "description": "standard deviation"},
            ),
            Arg("seed", SEED, None),
            TRAINABLE,
        ),
        shapes.same_shape,
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
        shapes_more.depthwise_shape,
        shapes_more.depthwise_params,
        macs=shapes_more.depthwise_macs,
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
        shapes_more.separable_shape,
        shapes_more.separable_params,
        macs=shapes_more.separable_macs,
        excluded={**_DEPTHWISE_LEFT_OUT, "pointwise_constraint": NO_CONSTRAINTS},
    ),
    LayerType(
        "LayerNormalization",
        "Normalizes each sample over its axis (or axes): no batch statistics.",
        (
            Arg("axis", _LN_AXIS, -1),
            Arg("epsilon", {"type": "number", "exclusiveMinimum": 0, "maximum": 1}, 0.001),
            Arg("center", {**BOOL, "description": "learn an offset beta"}, True),
            Arg("scale", {**BOOL, "description": "learn a scale gamma"}, True),
            Arg("beta_initializer", INIT, "zeros"),
            Arg("gamma_initializer", INIT, "ones"),
            regularizer("beta_regularizer", "the offset beta"),
            regularizer("gamma_regularizer", "the scale gamma"),
            TRAINABLE,
        ),
        shapes_more.layernorm_shape,
        shapes_more.layernorm_params,
        excluded={"beta_constraint": NO_CONSTRAINTS, "gamma_constraint": NO_CONSTRAINTS},
    ),
    LayerType(
        "ZeroPadding2D",
        "Adds rows and columns of zeros around each image.",
        (Arg("padding", _ZERO_PADDING, (1, 1)), TRAINABLE),
        shapes_more.zero_padding_shape,
        excluded={"data_format": CHANNELS_LAST},
    ),
)
