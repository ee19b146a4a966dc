"""The one source of truth for layer types: their arguments, inputs and shape rules.

Each layer type declares the Keras constructor arguments a spec may use (with a JSON Schema
fragment and Keras's default), how many inputs it takes, and which pure-Python rules
(``shapes.py``) give its output shape, parameter counts and multiply-adds. The JSON Schema
(``schema.py``), the validator and summary (``graph.py``) and the builder (``ml/builder.py``)
all follow from this table; ``tests/test_layers_drift.py`` checks it against
``inspect.signature`` of the Keras classes and ``tests/test_specs.py`` against built Keras models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistctl.spec import shapes
from mnistctl.spec.args import Arg
from mnistctl.spec.shapes import MacsRule, ParamsRule, ShapeError, ShapeRule

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

ACTIVATIONS = (
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
)
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "zeros",
    "ones",
)
PADDINGS = ("valid", "same")


@dataclass(frozen=True)
class LayerType:
    name: str  # as in the spec and in keras.layers (Input is keras.Input, class InputLayer)
    doc: str
    args: tuple[Arg, ...]
    output_shape: ShapeRule
    params: ParamsRule = lambda _s, _a: (0, 0)
    min_inputs: int = 1
    max_inputs: int | None = 1
    # multiply-adds per sample, given (input shapes, args, output shape): what decides whether
    # reduced precision pays (precision.py). Only the matrix work counts.
    macs: MacsRule = lambda _s, _a, _o: 0

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def arg_schemas(self) -> dict[str, Mapping[str, Any]]:
        """Each argument's JSON Schema fragment, by name (what ``keras_kwargs`` reads)."""
        return {a.name: a.schema for a in self.args}

    def with_defaults(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out = {a.name: a.default for a in self.args if not a.required}
        out.update(given)
        return out


# --- JSON Schema fragments -------------------------------------------------------------------


def _int(lo: int, hi: int, doc: str = "") -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi, "description": doc}


def _int_or_pair(lo: int, hi: int, doc: str) -> dict[str, Any]:
    # one schema for both forms, no oneOf: numeric bounds apply to integers, items to arrays
    return {
        "type": ["integer", "array"],
        "minimum": lo,
        "maximum": hi,
        "items": {"type": "integer", "minimum": lo, "maximum": hi},
        "minItems": 2,
        "maxItems": 2,
        "description": doc,
    }


_ACTIVATION = {
    "type": ["string", "null"],
    "enum": [*ACTIVATIONS, None],
    "description": "activation function applied to the output (null: none)",
}
_BOOL = {"type": "boolean"}
_INIT = {"type": "string", "enum": list(INITIALIZERS)}
_PADDING = {"type": "string", "enum": list(PADDINGS)}

_COMMON_WEIGHTS = (
    Arg("activation", _ACTIVATION, None),
    Arg("use_bias", {**_BOOL, "description": "add a bias vector"}, True),
    Arg("kernel_initializer", _INIT, "glorot_uniform"),
    Arg("bias_initializer", _INIT, "zeros"),
)
_TRAINABLE = Arg("trainable", {**_BOOL, "description": "false freezes the layer's weights"}, True)


# --- the table -------------------------------------------------------------------------------

_POOL_SIZE = _int_or_pair(1, 64, "pooling window, n or [rows, cols]")
_POOL_ARGS = (
    Arg("pool_size", _POOL_SIZE, (2, 2)),
    Arg(
        "strides",
        {
            **_int_or_pair(1, 64, "step between windows (null: pool_size)"),
            "type": ["integer", "array", "null"],
        },
        None,
    ),
    Arg("padding", _PADDING, "valid"),
    _TRAINABLE,
)

LAYER_TYPES: dict[str, LayerType] = {
    t.name: t
    for t in (
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
        ),
        LayerType(
            "Dense",
            "Fully connected layer: output = activation(input @ kernel + bias).",
            (Arg("units", _int(1, 65536, "number of output units")), *_COMMON_WEIGHTS, _TRAINABLE),
            shapes.dense_shape,
            shapes.dense_params,
            macs=shapes.dense_macs,
        ),
        LayerType(
            "Conv2D",
            "2D convolution over an image (rows, cols, channels).",
            (
                Arg("filters", _int(1, 4096, "number of output channels")),
                Arg("kernel_size", _int_or_pair(1, 64, "window size, n or [rows, cols]")),
                Arg("strides", _int_or_pair(1, 64, "step of the window"), (1, 1)),
                Arg("padding", _PADDING, "valid"),
                Arg("dilation_rate", _int_or_pair(1, 32, "spacing of the window's taps"), (1, 1)),
                Arg("groups", _int(1, 4096, "channel groups convolved separately"), 1),
                *_COMMON_WEIGHTS,
                _TRAINABLE,
            ),
            shapes.conv_shape,
            shapes.conv_params,
            macs=shapes.conv_macs,
        ),
        LayerType(
            "MaxPooling2D",
            "Max over each pooling window.",
            _POOL_ARGS,
            shapes.pool_shape("MaxPooling2D"),
        ),
        LayerType(
            "AveragePooling2D",
            "Average over each pooling window.",
            (Arg("pool_size", _POOL_SIZE), *_POOL_ARGS[1:]),  # Keras: no default here
            shapes.pool_shape("AveragePooling2D"),
        ),
        LayerType(
            "GlobalAveragePooling2D",
            "Average over all rows and columns: one value per channel.",
            (Arg("keepdims", _BOOL, False), _TRAINABLE),
            shapes.global_pool_shape("GlobalAveragePooling2D"),
        ),
        LayerType(
            "GlobalMaxPooling2D",
            "Max over all rows and columns: one value per channel.",
            (Arg("keepdims", _BOOL, False), _TRAINABLE),
            shapes.global_pool_shape("GlobalMaxPooling2D"),
        ),
        LayerType(
            "Flatten", "Flattens each sample to a vector.", (_TRAINABLE,), shapes.flatten_shape
        ),
        LayerType(
            "Activation",
            "Applies an activation function.",
            (
                Arg("activation", {**_ACTIVATION, "type": "string", "enum": list(ACTIVATIONS)}),
                _TRAINABLE,
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
                Arg("seed", _int(0, 2**31 - 1, "seed of the dropout mask"), None),
                _TRAINABLE,
            ),
            shapes.same_shape,
        ),
        LayerType(
            "BatchNormalization",
            "Normalizes activations with batch statistics (moving averages at inference).",
            (
                Arg("axis", _int(-4, 3, "the features axis (-1: channels last)"), -1),
                Arg("momentum", {"type": "number", "minimum": 0, "maximum": 1}, 0.99),
                Arg("epsilon", {"type": "number", "exclusiveMinimum": 0, "maximum": 1}, 0.001),
                Arg("center", {**_BOOL, "description": "learn an offset beta"}, True),
                Arg("scale", {**_BOOL, "description": "learn a scale gamma"}, True),
                _TRAINABLE,
            ),
            shapes.batchnorm_shape,
            shapes.batchnorm_params,
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
                _TRAINABLE,
            ),
            shapes.reshape_shape,
        ),
        LayerType(
            "Add",
            "Adds its inputs element-wise (a skip connection).",
            (_TRAINABLE,),
            shapes.add_shape,
            min_inputs=2,
            max_inputs=None,
        ),
        LayerType(
            "Concatenate",
            "Joins its inputs along one axis.",
            (Arg("axis", _int(-4, 4, "axis to join on (-1: last)"), -1), _TRAINABLE),
            shapes.concat_shape,
            min_inputs=2,
            max_inputs=None,
        ),
    )
}

# Keys every layer may have besides its Keras arguments.
STRUCTURAL_KEYS = ("type", "name", "inputs")


def snake_case(name: str) -> str:
    """Keras's automatic layer name stem (its ``to_snake_case``): ``MaxPooling2D`` ->
    ``max_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name_stem(type_name: str) -> str:
    return "input_layer" if type_name == "Input" else snake_case(type_name)
