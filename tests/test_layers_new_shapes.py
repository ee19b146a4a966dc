"""The training recipes' layer types: pure-Python output shapes, parameter counts (trainable and
non-trainable) and multiply-adds against Keras, layer by layer, for many argument combinations.

Each case builds ``Input(shape) -> layer`` through the real builder (``ml/builder.py``, the
table's arguments as the spec gives them) and compares it with the layer table's rules
(``spec/shapes*.py``) on the same arguments, Keras's defaults filled in from the table.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mnistctl.spec.layers import LAYER_TYPES
from mnistctl.spec.model import LayerSpec, Shape

NEW_TYPES = (
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "SpatialDropout2D",
    "SeparableConv2D",
    "DepthwiseConv2D",
    "LayerNormalization",
    "ZeroPadding2D",
    "GaussianNoise",
)
L2 = {"type": "L2", "l2": 0.001}

# (type, arguments as a spec gives them, input shape without the batch axis)
CASES: list[tuple[str, dict[str, Any], Shape]] = [
    ("RandomRotation", {"factor": 0.1}, (28, 28, 1)),
    ("RandomRotation", {"factor": [-0.2, 0.3], "fill_mode": "constant"}, (13, 7, 3)),
    ("RandomRotation", {"factor": 1, "interpolation": "nearest", "seed": 3}, (28, 28, 1)),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": [-0.2, 0.1]}, (28, 28, 1)),
    ("RandomTranslation", {"height_factor": [0, 0.2], "width_factor": 0}, (9, 12, 4)),
    ("RandomZoom", {"height_factor": [-0.3, 0.2]}, (28, 28, 1)),
    ("RandomZoom", {"height_factor": 0.2, "width_factor": [-0.1, 0.1]}, (10, 10, 2)),
    ("RandomZoom", {"height_factor": 1, "fill_mode": "wrap", "fill_value": 1}, (28, 28, 1)),
    ("SpatialDropout2D", {"rate": 0.3}, (28, 28, 1)),
    ("SpatialDropout2D", {"rate": 0, "seed": 7}, (5, 6, 16)),
    ("GaussianNoise", {"stddev": 0.2}, (28, 28, 1)),
    ("GaussianNoise", {"stddev": 1, "seed": 1}, (784,)),
    ("GaussianNoise", {"stddev": 0}, (28, 28)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (28, 28, 1)),
    (
        "SeparableConv2D",
        {
            "filters": 8,
            "kernel_size": [3, 5],
            "padding": "same",
            "strides": 2,
            "depth_multiplier": 3,
        },
        (14, 14, 6),
    ),
    (
        "SeparableConv2D",
        {
            "filters": 5,
            "kernel_size": 3,
            "dilation_rate": 2,
            "depth_multiplier": 2,
            "use_bias": False,
        },
        (9, 11, 3),
    ),
    (
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 3, "strides": [2, 1], "dilation_rate": 2, "padding": "same"},
        (15, 15, 2),
    ),
    ("SeparableConv2D", {"filters": 3, "kernel_size": [1, 4], "strides": [1, 3]}, (7, 13, 5)),
    ("SeparableConv2D", {"filters": 6, "kernel_size": 2, "trainable": False}, (8, 8, 3)),
    (
        "SeparableConv2D",
        {"filters": 6, "kernel_size": 3, "depthwise_regularizer": L2, "pointwise_regularizer": L2},
        (8, 8, 3),
    ),
    ("DepthwiseConv2D", {"kernel_size": 3}, (28, 28, 1)),
    (
        "DepthwiseConv2D",
        {"kernel_size": [3, 1], "strides": 2, "padding": "same", "depth_multiplier": 4},
        (13, 14, 3),
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 5, "dilation_rate": [2, 1], "use_bias": False},
        (20, 9, 2),
    ),
    ("DepthwiseConv2D", {"kernel_size": 2, "strides": 3, "dilation_rate": 2}, (17, 17, 4)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": [1, 2], "padding": "valid"}, (6, 9, 8)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "trainable": False}, (8, 8, 3)),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "depthwise_regularizer": L2, "bias_regularizer": L2},
        (8, 8, 3),
    ),
    ("LayerNormalization", {}, (28, 28, 1)),
    ("LayerNormalization", {"axis": -1}, (14, 14, 6)),
    ("LayerNormalization", {"axis": [1, 2, 3]}, (7, 5, 4)),
    ("LayerNormalization", {"axis": [-2, -1]}, (7, 5, 4)),
    ("LayerNormalization", {"axis": [3, 1]}, (7, 5, 4)),
    ("LayerNormalization", {"axis": 1}, (28, 28)),
    ("LayerNormalization", {}, (784,)),
    ("LayerNormalization", {"center": False}, (6, 6, 8)),
    ("LayerNormalization", {"scale": False, "axis": [1, 2]}, (6, 6, 8)),
    ("LayerNormalization", {"center": False, "scale": False}, (6, 6, 8)),
    ("LayerNormalization", {"trainable": False, "gamma_regularizer": L2}, (6, 6, 8)),
    ("ZeroPadding2D", {}, (28, 28, 1)),
    ("ZeroPadding2D", {"padding": 2}, (28, 28, 1)),
    ("ZeroPadding2D", {"padding": 0}, (5, 5, 3)),
    ("ZeroPadding2D", {"padding": [1, 3]}, (5, 7, 3)),
    ("ZeroPadding2D", {"padding": [[1, 2], [3, 4]]}, (5, 7, 3)),
    ("ZeroPadding2D", {"padding": [[0, 2], 1]}, (5, 7, 3)),
    ("ZeroPadding2D", {"padding": [4, [0, 1]]}, (5, 7, 3)),
]


def _id(case: tuple[str, dict[str, Any], Shape]) -> str:
    type_name, args, shape = case
    text = ",".join(f"{k}={v}" for k, v in args.items() if not k.endswith("_regularizer"))
    regs = "+reg" if any(k.endswith("_regularizer") for k in args) else ""
    return f"{type_name}({text}{regs})@{'x'.join(map(str, shape))}"


def build_one(type_name: str, args: dict[str, Any], shape: Shape) -> Any:
    """``Input(shape) -> type_name(**args)`` by the real builder; the Keras layer."""
    import keras

    from mnistctl.ml.builder import build_model

    layers = (
        LayerSpec("image", "Input", (), {"shape": list(shape)}, 0),
        LayerSpec("probe", type_name, ("image",), dict(args), 1),
    )
    spec = SimpleNamespace(name="probe_model", layers=layers, outputs=("probe",))
    keras.backend.clear_session()
    model = build_model(spec, float32_output=False)  # type: ignore[arg-type]
    return model.get_layer("probe")


def _count(weights: Any) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def test_every_new_type_is_in_the_table_and_has_cases() -> None:
    assert set(NEW_TYPES) <= set(LAYER_TYPES)
    assert {case[0] for case in CASES} == set(NEW_TYPES)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_shape_and_params_match_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    type_name, args, shape = case
    kind = LAYER_TYPES[type_name]
    full = kind.with_defaults(args)
    out = kind.output_shape([shape], full)
    trainable, fixed = kind.params([shape], full)

    layer = build_one(type_name, args, shape)
    assert type(layer).__name__ == type_name
    assert tuple(layer.output.shape) == (None, *out)
    assert _count(layer.trainable_weights) == trainable
    assert _count(layer.non_trainable_weights) == fixed
    assert layer.count_params() == trainable + fixed


CONV_CASES = [c for c in CASES if c[0] in ("SeparableConv2D", "DepthwiseConv2D")]


@pytest.mark.parametrize("case", CONV_CASES, ids=_id)
def test_convolution_macs_are_output_positions_times_kernel_weights(
    case: tuple[str, dict[str, Any], Shape],
) -> None:
    """A depthwise or separable convolution does, at each output position, one multiply-add
    per weight of its kernels (depthwise, and pointwise for SeparableConv2D): Keras's kernels
    give the count independently of our formula."""
    type_name, args, shape = case
    kind = LAYER_TYPES[type_name]
    full = kind.with_defaults(args)
    out = kind.output_shape([shape], full)
    layer = build_one(type_name, args, shape)
    if type_name == "SeparableConv2D":
        kernels = [layer.depthwise_kernel, layer.pointwise_kernel]
    else:
        kernels = [layer.kernel]  # Keras's DepthwiseConv2D names its kernel so
    expected = out[0] * out[1] * sum(int(np.prod(k.shape)) for k in kernels)
    assert kind.macs([shape], full, out) == expected


@pytest.mark.parametrize(
    "type_name",
    ["RandomRotation", "RandomTranslation", "RandomZoom", "SpatialDropout2D", "GaussianNoise"],
)
def test_training_only_layers_count_no_work_and_no_weights(type_name: str) -> None:
    kind = LAYER_TYPES[type_name]
    required = {a.name: 0.1 for a in kind.args if a.required}
    full = kind.with_defaults(required)
    assert kind.params([(28, 28, 1)], full) == (0, 0)
    assert kind.macs([(28, 28, 1)], full, (28, 28, 1)) == 0


@pytest.mark.parametrize(
    ("type_name", "args"),
    [
        ("SeparableConv2D", {"filters": 4, "kernel_size": 3}),
        ("DepthwiseConv2D", {"kernel_size": 3}),
        ("ZeroPadding2D", {"padding": 1}),
        ("LayerNormalization", {"axis": [1, 2]}),
    ],
)
def test_builds_and_runs_on_a_batch(type_name: str, args: dict[str, Any]) -> None:
    """Not only the symbolic shape: a real batch comes out in the shape the rules say."""
    kind = LAYER_TYPES[type_name]
    out = kind.output_shape([(12, 10, 3)], kind.with_defaults(args))
    layer = build_one(type_name, args, (12, 10, 3))
    y = layer(np.random.default_rng(0).random((2, 12, 10, 3), dtype="float32"))
    assert tuple(y.shape) == (2, *out)
    assert np.all(np.isfinite(np.asarray(y)))
