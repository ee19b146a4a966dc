"""The one source of truth for layer types: their arguments and their shape rules.

Each layer type declares the Keras constructor arguments a spec may use (with a JSON Schema
fragment and Keras's default), how many inputs it takes, and, in pure Python, its output shape
and parameter counts. The JSON Schema (``schema.py``), the validator and summary (``graph.py``)
and the builder (``builder.py``) all follow from this table; ``tests/test_layers_drift.py``
checks it against ``inspect.signature`` of the Keras classes and against built Keras models.

Shapes here never include the batch axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
Params = tuple[int, int]  # (trainable, non-trainable)

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

REQUIRED: Any = object()  # marker: the argument has no default


class ShapeError(Exception):
    """An impossible shape; ``arg`` names the argument at fault, if one is."""

    def __init__(self, message: str, expected: str, received: str, arg: str | None = None) -> None:
        super().__init__(message)
        self.message, self.expected, self.received, self.arg = message, expected, received, arg


@dataclass(frozen=True)
class Arg:
    name: str
    schema: Mapping[str, Any]
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class LayerType:
    name: str  # as in the spec and in keras.layers (Input is keras.Input, class InputLayer)
    doc: str
    args: tuple[Arg, ...]
    output_shape: Callable[[Sequence[Shape], Mapping[str, Any]], Shape]
    params: Callable[[Sequence[Shape], Mapping[str, Any]], Params] = lambda _s, _a: (0, 0)
    min_inputs: int = 1
    max_inputs: int | None = 1
    # multiply-adds per sample, given (input shapes, args, output shape): what decides whether
    # reduced precision pays (precision.py). Only the matrix work counts.
    macs: Callable[[Sequence[Shape], Mapping[str, Any], Shape], int] = lambda _s, _a, _o: 0

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

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


# --- shape helpers ---------------------------------------------------------------------------


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def _shape_str(shape: Shape) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")" if shape else "(None,)"


def _need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        hint = (
            " (add a Reshape to [28, 28, 1] or use Input shape [28, 28, 1])"
            if rank == 3
            else " (add a Flatten first)"
        )
        raise ShapeError(
            f"{what} needs an input of rank {rank + 1} (batch included){hint}",
            expected=f"an input shaped (None, {', '.join(['…'] * rank)})",
            received=_shape_str(shape),
        )


def _window(size: int, window: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    span = (window - 1) * dilation + 1
    return (size - span) // stride + 1


def _spatial(
    shape: Shape,
    window: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    arg: str,
    what: str,
) -> tuple[int, int]:
    _need_rank(shape, 3, what)
    out = []
    for axis in range(2):
        span = (window[axis] - 1) * dilation[axis] + 1
        if padding == "valid" and span > shape[axis]:
            raise ShapeError(
                f"{arg} is larger than the input",
                expected=f"a {arg} of at most {shape[0]}x{shape[1]} with padding 'valid'",
                received=f"{window[0]}x{window[1]} on input {_shape_str(shape)}",
                arg=arg,
            )
        out.append(_window(shape[axis], window[axis], strides[axis], dilation[axis], padding))
    return out[0], out[1]


# --- layer rules -----------------------------------------------------------------------------


def _input_shape(_shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    return tuple(int(d) for d in args["shape"])


def _dense_shape(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    (shape,) = shapes
    if not shape:
        raise ShapeError("Dense needs an input with a feature axis", "rank >= 2", "(None,)")
    return (*shape[:-1], int(args["units"]))


def _dense_params(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Params:
    units = int(args["units"])
    n = shapes[0][-1] * units + (units if args["use_bias"] else 0)
    return _freeze(n, 0, args)


def _dense_macs(shapes: Sequence[Shape], args: Mapping[str, Any], out: Shape) -> int:
    return math.prod(out[:-1]) * shapes[0][-1] * int(args["units"])


def _freeze(trainable: int, fixed: int, args: Mapping[str, Any]) -> Params:
    return (trainable, fixed) if args.get("trainable", True) else (0, trainable + fixed)


def _conv_shape(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    (shape,) = shapes
    _need_rank(shape, 3, "Conv2D")
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
    h, w = _spatial(
        shape,
        pair(args["kernel_size"]),
        strides,
        dilation,
        args["padding"],
        "kernel_size",
        "Conv2D",
    )
    return (h, w, int(args["filters"]))


def _conv_params(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Params:
    kh, kw = pair(args["kernel_size"])
    filters = int(args["filters"])
    n = kh * kw * (shapes[0][2] // int(args["groups"])) * filters
    return _freeze(n + (filters if args["use_bias"] else 0), 0, args)


def _conv_macs(shapes: Sequence[Shape], args: Mapping[str, Any], out: Shape) -> int:
    kh, kw = pair(args["kernel_size"])
    return out[0] * out[1] * out[2] * kh * kw * (shapes[0][2] // int(args["groups"]))


def _pool_shape(what: str) -> Callable[[Sequence[Shape], Mapping[str, Any]], Shape]:
    def rule(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
        (shape,) = shapes
        pool = pair(args["pool_size"])
        strides = pair(args["strides"]) if args["strides"] is not None else pool
        h, w = _spatial(shape, pool, strides, (1, 1), args["padding"], "pool_size", what)
        return (h, w, shape[2])

    return rule


def _global_pool_shape(what: str) -> Callable[[Sequence[Shape], Mapping[str, Any]], Shape]:
    def rule(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
        (shape,) = shapes
        _need_rank(shape, 3, what)
        return (1, 1, shape[2]) if args["keepdims"] else (shape[2],)

    return rule


def _same_shape(shapes: Sequence[Shape], _args: Mapping[str, Any]) -> Shape:
    return shapes[0]


def _flatten_shape(shapes: Sequence[Shape], _args: Mapping[str, Any]) -> Shape:
    return (math.prod(shapes[0]),)


def _axis(shape: Shape, axis: int, what: str) -> int:
    if not -len(shape) <= axis <= len(shape) or axis == 0:  # axis 0 / -rank: the batch
        raise ShapeError(
            f"{what} axis out of range for this input",
            expected=f"an axis between 1 and {len(shape)} or between {-len(shape)} and -1",
            received=f"axis={axis} on input {_shape_str(shape)}",
            arg="axis",
        )
    return axis - 1 if axis > 0 else len(shape) + axis


def _batchnorm_params(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Params:
    channels = shapes[0][_axis(shapes[0], int(args["axis"]), "BatchNormalization")]
    trainable = channels * (int(bool(args["center"])) + int(bool(args["scale"])))
    return _freeze(trainable, 2 * channels, args)


def _batchnorm_shape(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    _axis(shapes[0], int(args["axis"]), "BatchNormalization")
    return shapes[0]


def _reshape_shape(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    target = [int(d) for d in args["target_shape"]]
    size = math.prod(shapes[0])
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1:
        raise ShapeError(
            "at most one -1 in target_shape",
            "one -1",
            str(target),
            arg="target_shape",
        )
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if size % known:
            raise ShapeError(
                "Reshape cannot change the number of values",
                expected=f"a target_shape whose size divides {size}",
                received=f"{target} on input {_shape_str(shapes[0])}",
                arg="target_shape",
            )
        target[unknown[0]] = size // known
    elif known != size:
        raise ShapeError(
            "Reshape cannot change the number of values",
            expected=f"a target_shape of {size} values, e.g. {list(shapes[0])}",
            received=f"{target} ({known} values) on input {_shape_str(shapes[0])}",
            arg="target_shape",
        )
    return tuple(target)


def _add_shape(shapes: Sequence[Shape], _args: Mapping[str, Any]) -> Shape:
    first = shapes[0]
    for other in shapes[1:]:
        if other != first:
            raise ShapeError(
                "Add needs inputs of the same shape",
                expected="equal shapes",
                received=", ".join(_shape_str(s) for s in shapes),
                arg="inputs",
            )
    return first


def _concat_shape(shapes: Sequence[Shape], args: Mapping[str, Any]) -> Shape:
    first = shapes[0]
    if any(len(s) != len(first) for s in shapes):
        raise ShapeError(
            "Concatenate needs inputs of the same rank",
            expected="inputs of equal rank",
            received=", ".join(_shape_str(s) for s in shapes),
            arg="inputs",
        )
    axis = _axis(first, int(args["axis"]), "Concatenate")
    for other in shapes[1:]:
        if any(a != b for i, (a, b) in enumerate(zip(first, other, strict=True)) if i != axis):
            raise ShapeError(
                "Concatenate needs inputs that match on every axis but the concatenation axis",
                expected=f"shapes equal except on axis {args['axis']}",
                received=", ".join(_shape_str(s) for s in shapes),
                arg="inputs",
            )
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


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
            _input_shape,
            min_inputs=0,
            max_inputs=0,
        ),
        LayerType(
            "Dense",
            "Fully connected layer: output = activation(input @ kernel + bias).",
            (Arg("units", _int(1, 65536, "number of output units")), *_COMMON_WEIGHTS, _TRAINABLE),
            _dense_shape,
            _dense_params,
            macs=_dense_macs,
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
            _conv_shape,
            _conv_params,
            macs=_conv_macs,
        ),
        LayerType(
            "MaxPooling2D", "Max over each pooling window.", _POOL_ARGS, _pool_shape("MaxPooling2D")
        ),
        LayerType(
            "AveragePooling2D",
            "Average over each pooling window.",
            (Arg("pool_size", _POOL_SIZE), *_POOL_ARGS[1:]),  # Keras: no default here
            _pool_shape("AveragePooling2D"),
        ),
        LayerType(
            "GlobalAveragePooling2D",
            "Average over all rows and columns: one value per channel.",
            (Arg("keepdims", _BOOL, False), _TRAINABLE),
            _global_pool_shape("GlobalAveragePooling2D"),
        ),
        LayerType(
            "GlobalMaxPooling2D",
            "Max over all rows and columns: one value per channel.",
            (Arg("keepdims", _BOOL, False), _TRAINABLE),
            _global_pool_shape("GlobalMaxPooling2D"),
        ),
        LayerType("Flatten", "Flattens each sample to a vector.", (_TRAINABLE,), _flatten_shape),
        LayerType(
            "Activation",
            "Applies an activation function.",
            (
                Arg("activation", {**_ACTIVATION, "type": "string", "enum": list(ACTIVATIONS)}),
                _TRAINABLE,
            ),
            _same_shape,
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
            _same_shape,
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
            _batchnorm_shape,
            _batchnorm_params,
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
            _reshape_shape,
        ),
        LayerType(
            "Add",
            "Adds its inputs element-wise (a skip connection).",
            (_TRAINABLE,),
            _add_shape,
            min_inputs=2,
            max_inputs=None,
        ),
        LayerType(
            "Concatenate",
            "Joins its inputs along one axis.",
            (Arg("axis", _int(-4, 4, "axis to join on (-1: last)"), -1), _TRAINABLE),
            _concat_shape,
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
