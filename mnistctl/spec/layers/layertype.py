"""What the layer table's families are written in: ``LayerType``, the names Keras accepts for
activations, initializers and paddings, and the JSON Schema fragments and argument groups that
layer types of several families share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnistctl.spec import objects
from mnistctl.spec.args import Arg
from mnistctl.spec.layers.shapes import MacsRule, ParamsRule, ShapeRule

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
    # Keras arguments a spec may not set, with the reason (the drift test reads these)
    excluded: Mapping[str, str] = field(default_factory=dict)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def arg_schemas(self) -> dict[str, Mapping[str, Any]]:
        """Each argument's JSON Schema fragment, by name (what ``keras_kwargs`` reads)."""
        return {a.name: a.schema for a in self.args}

    @property
    def regularizer_args(self) -> tuple[str, ...]:
        """The arguments that take a ``{type: L1|L2|L1L2, ...}`` regularizer object."""
        return tuple(a.name for a in self.args if a.schema.get("$ref") == REGULARIZER_REF)

    def with_defaults(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out = {a.name: a.default for a in self.args if not a.required}
        out.update(given)
        return out


# --- JSON Schema fragments -------------------------------------------------------------------


def int_(lo: int, hi: int, doc: str = "") -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi, "description": doc}


def int_or_pair(lo: int, hi: int, doc: str) -> dict[str, Any]:
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


ACTIVATION = {
    "type": ["string", "null"],
    "enum": [*ACTIVATIONS, None],
    "description": "activation function applied to the output (null: none)",
}
BOOL = {"type": "boolean"}
INIT = {"type": "string", "enum": list(INITIALIZERS)}
PADDING = {"type": "string", "enum": list(PADDINGS)}
SEED = int_(0, 2**31 - 1, "seed of the random numbers (omitted: a fresh one)")
REGULARIZER_REF = objects.ref("regularizer")["$ref"]


def regularizer(name: str, what: str) -> Arg:
    """A ``*_regularizer`` argument: ``{type: L1|L2|L1L2, ...}``, or none."""
    return Arg(name, objects.ref("regularizer", f"a penalty on {what} added to the loss"), None)


TRAINABLE = Arg("trainable", {**BOOL, "description": "false freezes the layer's weights"}, True)
USE_BIAS = Arg("use_bias", {**BOOL, "description": "add a bias vector"}, True)
BIAS_REGULARIZER = regularizer("bias_regularizer", "the bias")
ACTIVITY_REGULARIZER = regularizer("activity_regularizer", "the layer's output")

# Reasons for leaving Keras arguments out, shared by many types.
CHANNELS_LAST = "images are channels-last, (rows, cols, channels), as the data and Input are"
NO_CONSTRAINTS = "weight constraints are not offered"
PRECISION = "train.precision sets every layer's numerics"
IMAGE_LEFT_OUT = {"data_format": CHANNELS_LAST}  # the Keras arguments no image layer takes

# The arguments of a layer with a kernel and a bias (Dense, Conv2D), and those it leaves out.
WEIGHTS = (
    Arg("activation", ACTIVATION, None),
    USE_BIAS,
    Arg("kernel_initializer", INIT, "glorot_uniform"),
    Arg("bias_initializer", INIT, "zeros"),
    regularizer("kernel_regularizer", "the kernel"),
    BIAS_REGULARIZER,
    ACTIVITY_REGULARIZER,
)
WEIGHTS_LEFT_OUT = {"kernel_constraint": NO_CONSTRAINTS, "bias_constraint": NO_CONSTRAINTS}
