"""The one source of truth for layer types: their arguments, inputs and shape rules.

Each layer type declares the Keras constructor arguments a spec may use (with a JSON Schema
fragment and Keras's default), the ones it leaves out (with the reason), how many inputs it
takes, and which pure-Python rules (``shapes.py``, ``shapes_more.py``) give its output shape,
parameter counts and multiply-adds. This module holds the seed's and the basic types and
assembles ``LAYER_TYPES``; ``layers_more.py`` holds the training recipes' types (augmentation,
separable and depthwise convolutions, ...); ``layertype.py`` what both are written in. The JSON
Schema (``schema.py``), the validator and summary (``graph.py``) and the builder
(``ml/builder.py``) all follow from this table; ``tests/test_layers_drift.py`` checks it against
``inspect.signature`` of the Keras classes, ``tests/test_specs.py`` and
``tests/test_layers_new*.py`` against built Keras models.
"""

from __future__ import annotations

import re

from mnistctl.spec import shapes
from mnistctl.spec.args import Arg
from mnistctl.spec.layers_more import MORE_TYPES
from mnistctl.spec.layertype import (
    ACTIVATION,
    ACTIVATIONS,
    ACTIVITY_REGULARIZER,
    BIAS_REGULARIZER,
    BOOL,
    CHANNELS_LAST,
    DILATION,
    INIT,
    INITIALIZERS,
    KERNEL_SIZE,
    NO_CONSTRAINTS,
    PADDING,
    PADDINGS,
    PRECISION,
    SEED,
    STRIDES,
    TRAINABLE,
    USE_BIAS,
    LayerType,
    int_,
    int_or_pair,
    regularizer,
)
from mnistctl.spec.shapes import ShapeError

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYER_TYPES",
    "PADDINGS",
    "STRUCTURAL_KEYS",
    "Arg",
    "LayerType",
    "ShapeError",
    "auto_name_stem",
    "snake_case",
]

_WEIGHTS = (
    Arg("activation", ACTIVATION, None),
    USE_BIAS,
    Arg("kernel_initializer", INIT, "glorot_uniform"),
    Arg("bias_initializer", INIT, "zeros"),
    regularizer("kernel_regularizer", "the kernel"),
    BIAS_REGULARIZER,
    ACTIVITY_REGULARIZER,
)
_WEIGHTS_LEFT_OUT = {"kernel_constraint": NO_CONSTRAINTS, "bias_constraint": NO_CONSTRAINTS}
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
_IMAGE = {"data_format": CHANNELS_LAST}

_BASIC_TYPES = (
    LayerType(
        "Input",
        "The model's input: one image or vector per sample.",
        (
            Arg(
                "shape",
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 4096},
                    "minItems": 1,
                    "maxItems": 3,
                    "description": "shape of one sample: [784], [28, 28] or [28, 28, 1]",
                },
            ),
        ),
        shapes.input_shape,
        min_inputs=0,
        max_inputs=0,
        excluded={
            "batch_size": "the batch size is train.batch_size",
            "batch_shape": "the batch size is train.batch_size; the sample's is shape",
            "dtype": PRECISION,
            "sparse": "images are dense",
            "ragged": "images are dense",
            "tensor": "a spec holds no tensors",
            "optional": "the model's one input is always given",
        },
    ),
    LayerType(
        "Dense",
        "Fully connected layer: output = activation(input @ kernel + bias).",
        (Arg("units", int_(1, 65536, "number of output units")), *_WEIGHTS, TRAINABLE),
        shapes.dense_shape,
        shapes.dense_params,
        macs=shapes.dense_macs,
        excluded={
            **_WEIGHTS_LEFT_OUT,
            "lora_rank": "LoRA adapts a trained model; the tool trains from scratch",
            "lora_alpha": "LoRA adapts a trained model; the tool trains from scratch",
            "quantization_config": "quantization is not a training setting here",
        },
    ),
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
            *_WEIGHTS,
            TRAINABLE,
        ),
        shapes.conv_shape,
        shapes.conv_params,
        macs=shapes.conv_macs,
        excluded={**_IMAGE, **_WEIGHTS_LEFT_OUT},
    ),
    LayerType(
        "MaxPooling2D",
        "Max over each pooling window.",
        _POOL_ARGS,
        shapes.pool_shape("MaxPooling2D"),
        excluded=_IMAGE,
    ),
    LayerType(
        "AveragePooling2D",
        "Average over each pooling window.",
        (Arg("pool_size", _POOL_SIZE), *_POOL_ARGS[1:]),  # Keras: no default here
        shapes.pool_shape("AveragePooling2D"),
        excluded=_IMAGE,
    ),
    LayerType(
        "GlobalAveragePooling2D",
        "Average over all rows and columns: one value per channel.",
        (Arg("keepdims", BOOL, False), TRAINABLE),
        shapes.global_pool_shape("GlobalAveragePooling2D"),
        excluded=_IMAGE,
    ),
    LayerType(
        "GlobalMaxPooling2D",
        "Max over all rows and columns: one value per channel.",
        (Arg("keepdims", BOOL, False), TRAINABLE),
        shapes.global_pool_shape("GlobalMaxPooling2D"),
        excluded=_IMAGE,
    ),
    LayerType(
        "Flatten",
        "Flattens each sample to a vector.",
        (TRAINABLE,),
        shapes.flatten_shape,
        excluded=_IMAGE,
    ),
    LayerType(
        "Activation",
        "Applies an activation function.",
        (
            Arg("activation", {**ACTIVATION, "type": "string", "enum": list(ACTIVATIONS)}),
            TRAINABLE,
        ),
        shapes.same_shape,
    ),
    LayerType(
        "Dropout",
        "Sets a fraction of inputs to 0 during training only.",
        (
            Arg(
                "rate",
                {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": 1,
                    "description": "fraction of inputs to drop, 0 <= rate < 1",
                },
            ),
            Arg("seed", {**SEED, "description": "seed of the dropout mask"}, None),
            TRAINABLE,
        ),
        shapes.same_shape,
        excluded={"noise_shape": "SpatialDropout2D drops whole channels, the usual shared mask"},
    ),
    LayerType(
        "BatchNormalization",
        "Normalizes activations with batch statistics (moving averages at inference).",
        (
            Arg("axis", int_(-4, 3, "the features axis (-1: channels last)"), -1),
            Arg("momentum", {"type": "number", "minimum": 0, "maximum": 1}, 0.99),
            Arg("epsilon", {"type": "number", "exclusiveMinimum": 0, "maximum": 1}, 0.001),
            Arg("center", {**BOOL, "description": "learn an offset beta"}, True),
            Arg("scale", {**BOOL, "description": "learn a scale gamma"}, True),
            TRAINABLE,
        ),
        shapes.batchnorm_shape,
        shapes.batchnorm_params,
        excluded={
            "beta_initializer": "left at Keras's zeros",
            "gamma_initializer": "left at Keras's ones",
            "moving_mean_initializer": "the statistics start at Keras's 0",
            "moving_variance_initializer": "the statistics start at Keras's 1",
            "beta_regularizer": "not offered: penalising the normalization's offset is rare",
            "gamma_regularizer": "not offered: penalising the normalization's scale is rare",
            "beta_constraint": NO_CONSTRAINTS,
            "gamma_constraint": NO_CONSTRAINTS,
            "renorm": "batch renormalization is not offered",
            "renorm_clipping": "batch renormalization is not offered",
            "renorm_momentum": "batch renormalization is not offered",
            "synchronized": "the tool trains on one device",
        },
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
        shapes.reshape_shape,
    ),
    LayerType(
        "Add",
        "Adds its inputs element-wise (a skip connection).",
        (TRAINABLE,),
        shapes.add_shape,
        min_inputs=2,
        max_inputs=None,
    ),
    LayerType(
        "Concatenate",
        "Joins its inputs along one axis.",
        (Arg("axis", int_(-4, 4, "axis to join on (-1: last)"), -1), TRAINABLE),
        shapes.concat_shape,
        min_inputs=2,
        max_inputs=None,
    ),
)

LAYER_TYPES: dict[str, LayerType] = {t.name: t for t in (*_BASIC_TYPES, *MORE_TYPES)}

# Keys every layer may have besides its Keras arguments.
STRUCTURAL_KEYS = ("type", "name", "inputs")


def snake_case(name: str) -> str:
    """Keras's automatic layer name stem (its ``to_snake_case``): ``MaxPooling2D`` ->
    ``max_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name_stem(type_name: str) -> str:
    return "input_layer" if type_name == "Input" else snake_case(type_name)
