"""The normalization layer types: BatchNormalization (batch statistics) and LayerNormalization
(each sample on its own), with their shape and parameter rules.

Besides shapes, the rules check what the JSON Schema cannot say: that the axis is one of the
input's, and that a LayerNormalization names each axis once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import (
    BOOL,
    INIT,
    NO_CONSTRAINTS,
    TRAINABLE,
    LayerType,
    int_,
    regularizer,
)
from mnistctl.spec.layers.shapes import Args, Params, ShapeError, axis_index, freeze, shown
from mnistctl.spec.model import Shape

_EPSILON = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_CENTER = {**BOOL, "description": "learn an offset beta"}
_SCALE = {**BOOL, "description": "learn a scale gamma"}
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


# --- BatchNormalization ----------------------------------------------------------------------


def batchnorm_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    axis_index(shapes[0], int(args["axis"]), "BatchNormalization")
    return shapes[0]


def batchnorm_params(shapes: Sequence[Shape], args: Args) -> Params:
    channels = shapes[0][axis_index(shapes[0], int(args["axis"]), "BatchNormalization")]
    trainable = channels * (int(bool(args["center"])) + int(bool(args["scale"])))
    return freeze(trainable, 2 * channels, args)


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


TYPES = (
    LayerType(
        "BatchNormalization",
        "Normalizes activations with batch statistics (moving averages at inference).",
        (
            Arg("axis", int_(-4, 3, "the features axis (-1: channels last)"), -1),
            Arg("momentum", {"type": "number", "minimum": 0, "maximum": 1}, 0.99),
            Arg("epsilon", _EPSILON, 0.001),
            Arg("center", _CENTER, True),
            Arg("scale", _SCALE, True),
            TRAINABLE,
        ),
        batchnorm_shape,
        batchnorm_params,
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
        "LayerNormalization",
        "Normalizes each sample over its axis (or axes): no batch statistics.",
        (
            Arg("axis", _LN_AXIS, -1),
            Arg("epsilon", _EPSILON, 0.001),
            Arg("center", _CENTER, True),
            Arg("scale", _SCALE, True),
            Arg("beta_initializer", INIT, "zeros"),
            Arg("gamma_initializer", INIT, "ones"),
            regularizer("beta_regularizer", "the offset beta"),
            regularizer("gamma_regularizer", "the scale gamma"),
            TRAINABLE,
        ),
        layernorm_shape,
        layernorm_params,
        excluded={"beta_constraint": NO_CONSTRAINTS, "gamma_constraint": NO_CONSTRAINTS},
    ),
)
