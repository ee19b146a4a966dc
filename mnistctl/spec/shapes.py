"""Output shapes, parameter counts and multiply-adds of the layer types, in pure Python.

One small rule per concept, on plain tuples, like Keras's ``compute_output_shape``; the layer
table (``layers.py``) names which rules each type uses. Shapes here never include the batch
axis. An impossible shape raises ``ShapeError``, saying what was expected and what was received.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mnistctl.spec.model import Shape, format_shape

Params = tuple[int, int]  # (trainable, non-trainable)
Args = Mapping[str, Any]
ShapeRule = Callable[[Sequence[Shape], Args], Shape]  # (input shapes, arguments) -> output
ParamsRule = Callable[[Sequence[Shape], Args], Params]
MacsRule = Callable[[Sequence[Shape], Args, Shape], int]  # (..., output shape) -> multiply-adds


class ShapeError(Exception):
    """An impossible shape; ``arg`` names the argument at fault, if one is."""

    def __init__(self, message: str, expected: str, received: str, arg: str | None = None) -> None:
        super().__init__(message)
        self.message, self.expected, self.received, self.arg = message, expected, received, arg


# --- helpers ---------------------------------------------------------------------------------


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def shown(shape: Shape) -> str:
    return format_shape(shape, batch=True)


def need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        hint = (
            " (add a Reshape to [28, 28, 1] or use Input shape [28, 28, 1])"
            if rank == 3
            else " (add a Flatten first)"
        )
        raise ShapeError(
            f"{what} needs an input of rank {rank + 1} (batch included){hint}",
            expected=f"an input shaped (None, {', '.join(['…'] * rank)})",
            received=shown(shape),
        )


def _window(size: int, window: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    span = (window - 1) * dilation + 1
    return (size - span) // stride + 1


def spatial(
    shape: Shape,
    window: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    arg: str,
    what: str,
) -> tuple[int, int]:
    need_rank(shape, 3, what)
    out = []
    for axis in range(2):
        span = (window[axis] - 1) * dilation[axis] + 1
        if padding == "valid" and span > shape[axis]:
            raise ShapeError(
                f"{arg} is larger than the input",
                expected=f"a {arg} of at most {shape[0]}x{shape[1]} with padding 'valid'",
                received=f"{window[0]}x{window[1]} on input {shown(shape)}",
                arg=arg,
            )
        out.append(_window(shape[axis], window[axis], strides[axis], dilation[axis], padding))
    return out[0], out[1]


def freeze(trainable: int, fixed: int, args: Args) -> Params:
    return (trainable, fixed) if args.get("trainable", True) else (0, trainable + fixed)


def axis_index(shape: Shape, axis: int, what: str) -> int:
    if not -len(shape) <= axis <= len(shape) or axis == 0:  # axis 0 / -rank: the batch
        raise ShapeError(
            f"{what} axis out of range for this input",
            expected=f"an axis between 1 and {len(shape)} or between {-len(shape)} and -1",
            received=f"axis={axis} on input {shown(shape)}",
            arg="axis",
        )
    return axis - 1 if axis > 0 else len(shape) + axis


# --- Input, Dense ----------------------------------------------------------------------------


def input_shape(_shapes: Sequence[Shape], args: Args) -> Shape:
    return tuple(int(d) for d in args["shape"])


def dense_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    (shape,) = shapes
    if not shape:
        raise ShapeError("Dense needs an input with a feature axis", "rank >= 2", shown(shape))
    return (*shape[:-1], int(args["units"]))


def dense_params(shapes: Sequence[Shape], args: Args) -> Params:
    units = int(args["units"])
    n = shapes[0][-1] * units + (units if args["use_bias"] else 0)
    return freeze(n, 0, args)


def dense_macs(shapes: Sequence[Shape], args: Args, out: Shape) -> int:
    return math.prod(out[:-1]) * shapes[0][-1] * int(args["units"])


# --- convolution and pooling -----------------------------------------------------------------


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


# --- shape-preserving and reshaping ----------------------------------------------------------


def same_shape(shapes: Sequence[Shape], _args: Args) -> Shape:
    return shapes[0]


def flatten_shape(shapes: Sequence[Shape], _args: Args) -> Shape:
    return (math.prod(shapes[0]),)


def batchnorm_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    axis_index(shapes[0], int(args["axis"]), "BatchNormalization")
    return shapes[0]


def batchnorm_params(shapes: Sequence[Shape], args: Args) -> Params:
    channels = shapes[0][axis_index(shapes[0], int(args["axis"]), "BatchNormalization")]
    trainable = channels * (int(bool(args["center"])) + int(bool(args["scale"])))
    return freeze(trainable, 2 * channels, args)


def reshape_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    target = [int(d) for d in args["target_shape"]]
    size = math.prod(shapes[0])
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1:
        raise ShapeError("at most one -1 in target_shape", "one -1", str(target), "target_shape")
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if size % known:
            raise ShapeError(
                "Reshape cannot change the number of values",
                expected=f"a target_shape whose size divides {size}",
                received=f"{target} on input {shown(shapes[0])}",
                arg="target_shape",
            )
        target[unknown[0]] = size // known
    elif known != size:
        raise ShapeError(
            "Reshape cannot change the number of values",
            expected=f"a target_shape of {size} values, e.g. {list(shapes[0])}",
            received=f"{target} ({known} values) on input {shown(shapes[0])}",
            arg="target_shape",
        )
    return tuple(target)


# --- merging ---------------------------------------------------------------------------------


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
