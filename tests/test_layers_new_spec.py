"""The training recipes' layer types in a spec: ``validate`` and ``summary`` on a spec using
every one of them (matching the Keras model, layer by layer), and located errors for what the
schema refuses (factors out of range) and what the shape rules refuse (a [lower, upper] pair
out of order, an augmentation of a non-image input, a LayerNormalization axis named twice)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.errors import UserError, UserErrors
from mnistctl.spec import load_spec

EVERY_NEW_LAYER = """\
name: every_new_layer
description: Every layer type of the training recipes, in one model
model:
  layers:
    - {type: Input, name: image, shape: [28, 28, 1]}
    - {type: RandomRotation, name: rotate, factor: 0.05, fill_mode: constant}
    - {type: RandomTranslation, name: shift, height_factor: [-0.1, 0.1], width_factor: 0.1}
    - {type: RandomZoom, name: zoom, height_factor: [-0.1, 0.2], interpolation: nearest}
    - {type: GaussianNoise, name: noise, stddev: 0.1, seed: 1}
    - {type: ZeroPadding2D, name: pad, padding: [[1, 2], 3]}
    - type: Conv2D
      name: conv
      filters: 8
      kernel_size: 3
      kernel_regularizer: {type: L2, l2: 0.0001}
    - {type: SpatialDropout2D, name: channel_drop, rate: 0.1}
    - {type: DepthwiseConv2D, name: depthwise, kernel_size: 3, depth_multiplier: 2,
       padding: same, strides: 2, depthwise_regularizer: {type: L1, l1: 0.0001}}
    - {type: SeparableConv2D, name: separable, filters: 16, kernel_size: [3, 3],
       depth_multiplier: 2, activation: relu, pointwise_regularizer: {type: L1L2, l1: 0.001}}
    - {type: LayerNormalization, name: norm, axis: [1, 2, 3]}
    - {type: GlobalAveragePooling2D, name: pool}
    - {type: Dense, name: out, units: 10, activation: softmax, bias_regularizer: {type: L1}}
compile:
  loss: categorical_crossentropy
train:
  batch_size: 16
  epochs: 1
"""

TAIL = (
    "    - {type: Flatten, name: flat}\n"
    "    - {type: Dense, name: out, units: 10, activation: softmax}\n"
)


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_layer(layer: str, input_shape: str = "[28, 28, 1]") -> str:
    return (
        "model:\n  layers:\n"
        f"    - {{type: Input, name: image, shape: {input_shape}}}\n"
        f"    - {layer}\n" + TAIL
    )


def _errors(path: Path) -> list[UserError]:
    with pytest.raises(UserErrors) as info:
        load_spec(path)
    return info.value.errors


# --- a spec with every new layer -------------------------------------------------------------


def test_validate_accepts_every_new_layer(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, EVERY_NEW_LAYER)
    result = cli("validate", path)
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.stdout + result.stderr


def test_summary_of_every_new_layer_matches_keras(cli: Any, tmp_path: Path) -> None:
    import keras

    from mnistctl.ml.builder import build_model

    path = _write(tmp_path, EVERY_NEW_LAYER)
    result = cli("summary", "--json", path)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    keras.backend.clear_session()
    model = build_model(load_spec(path))
    rows = [(r["name"], r["output_shape"], r["params"]) for r in summary["layers"]]
    assert rows == [
        (layer.name, list(layer.output.shape), layer.count_params()) for layer in model.layers
    ]
    assert summary["total_params"] == model.count_params()
    assert {r["type"] for r in summary["layers"]} >= {
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "GaussianNoise",
        "ZeroPadding2D",
        "SpatialDropout2D",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "LayerNormalization",
    }
    text = cli("summary", path)
    assert text.exit_code == 0 and "SeparableConv2D" in text.stdout


def test_model_graph_plot_draws_every_new_layer(tmp_path: Path) -> None:
    from mnistctl.plots import plot_model_graph

    spec = load_spec(_write(tmp_path, EVERY_NEW_LAYER))
    layers = spec.info.to_json(spec.name)["layers"]
    target = plot_model_graph(layers, tmp_path / "graph.png", title=spec.name)
    assert target.stat().st_size > 1000


def test_layer_names_default_as_keras_names_them(tmp_path: Path) -> None:
    import keras

    from mnistctl.ml.builder import build_model

    text = EVERY_NEW_LAYER
    for name in ("rotate", "shift", "zoom", "noise", "pad", "channel_drop", "depthwise"):
        text = text.replace(f"name: {name}, ", "")
    text = text.replace("name: separable, ", "").replace("name: norm, ", "")
    spec = load_spec(_write(tmp_path, text))
    keras.backend.clear_session()
    model = build_model(spec)
    assert [layer.name for layer in model.layers] == [info.name for info in spec.info.layers]
    assert "separable_conv2d" in [info.name for info in spec.info.layers]


# --- located errors --------------------------------------------------------------------------

BAD = [
    # (the layer, where the error is under model.layers[1], a fragment of the message)
    ("{type: RandomRotation, factor: 1.5}", ("factor",), "too large"),
    ("{type: RandomRotation, factor: -1.01}", ("factor",), "too small"),
    ("{type: RandomRotation, factor: [-1.5, 0.2]}", ("factor", 0), "too small"),
    ("{type: RandomRotation, factor: [0.1, 0.2, 0.3]}", ("factor",), ""),
    ("{type: RandomRotation, factor: [0.3, -0.1]}", ("factor",), "lower must not exceed upper"),
    ("{type: RandomRotation, factor: 0.1, fill_mode: mirror}", ("fill_mode",), ""),
    ("{type: RandomRotation, factor: 0.1, interpolation: bicubic}", ("interpolation",), ""),
    ("{type: RandomRotation, factor: 0.1, seed: -1}", ("seed",), "too small"),
    ("{type: RandomRotation, factor: 0.1, fill_value: abc}", ("fill_value",), "wrong type"),
    ("{type: RandomRotation}", (), "factor"),
    ("{type: RandomTranslation, height_factor: 0.1}", (), "width_factor"),
    ("{type: RandomTranslation, height_factor: 2, width_factor: 0.1}", ("height_factor",), ""),
    (
        "{type: RandomTranslation, height_factor: 0.1, width_factor: [0.5, 0.2]}",
        ("width_factor",),
        "lower must not exceed upper",
    ),
    ("{type: RandomZoom, height_factor: -1}", ("height_factor",), "too small"),
    ("{type: RandomZoom, height_factor: [-1, 0.5]}", ("height_factor", 0), "too small"),
    ("{type: RandomZoom, height_factor: 1.2}", ("height_factor",), "too large"),
    (
        "{type: RandomZoom, height_factor: [0.2, 0.1]}",
        ("height_factor",),
        "lower must not exceed upper",
    ),
    (
        "{type: RandomZoom, height_factor: 0.1, width_factor: [0.2, -0.2]}",
        ("width_factor",),
        "lower must not exceed upper",
    ),
    ("{type: GaussianNoise, stddev: 1.5}", ("stddev",), "too large"),
    ("{type: GaussianNoise, stddev: -0.1}", ("stddev",), "too small"),
    ("{type: SpatialDropout2D, rate: 1}", ("rate",), ""),
    ("{type: SpatialDropout2D, rate: 0.2, trainable: false}", ("trainable",), "unknown argument"),
    ("{type: ZeroPadding2D, padding: -1}", ("padding",), "too small"),
    ("{type: ZeroPadding2D, padding: [[1, 2], [3]]}", ("padding", 1), ""),
    ("{type: ZeroPadding2D, padding: [1, 2, 3]}", ("padding",), ""),
    ("{type: LayerNormalization, axis: [-1, 3]}", ("axis",), "the same axis twice"),
    ("{type: LayerNormalization, axis: [1, 1]}", ("axis",), ""),
    ("{type: LayerNormalization, axis: 4}", ("axis",), "out of range"),
    ("{type: DepthwiseConv2D, kernel_size: 29}", ("kernel_size",), "larger than the input"),
    ("{type: DepthwiseConv2D, kernel_size: 3, depth_multiplier: 0}", ("depth_multiplier",), ""),
    ("{type: SeparableConv2D, filters: 4, kernel_size: [3, 29]}", ("kernel_size",), "larger"),
    (
        "{type: SeparableConv2D, filters: 4, kernel_size: 3, kernel_regularizer: {type: L2}}",
        ("kernel_regularizer",),
        "unknown argument",
    ),
    (
        "{type: SeparableConv2D, filters: 4, kernel_size: 3, depthwise_regularizer: {type: L3}}",
        ("depthwise_regularizer", "type"),
        "",
    ),
    (
        "{type: DepthwiseConv2D, kernel_size: 3, bias_regularizer: {type: L2, l2: -1}}",
        ("bias_regularizer", "l2"),
        "",
    ),
]


@pytest.mark.parametrize(("layer", "at", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_argument_is_a_located_error(
    tmp_path: Path, layer: str, at: tuple[Any, ...], fragment: str
) -> None:
    errors = _errors(_write(tmp_path, _one_layer(layer)))
    where = ("model", "layers", 1, *at)
    located = [e for e in errors if e.location.path == where]
    assert located, [(e.location.path, e.one_line()) for e in errors]
    assert all(e.location.line == 4 for e in located)
    assert any(fragment in e.one_line() for e in located), [e.one_line() for e in located]


AUGMENT_AND_IMAGE_LAYERS = [
    "{type: RandomRotation, factor: 0.1}",
    "{type: RandomTranslation, height_factor: 0.1, width_factor: 0.1}",
    "{type: RandomZoom, height_factor: 0.1}",
    "{type: SpatialDropout2D, rate: 0.1}",
    "{type: ZeroPadding2D}",
    "{type: DepthwiseConv2D, kernel_size: 3}",
    "{type: SeparableConv2D, filters: 2, kernel_size: 3}",
]


@pytest.mark.parametrize("shape", ["[784]", "[28, 28]"])
@pytest.mark.parametrize("layer", AUGMENT_AND_IMAGE_LAYERS)
def test_image_layers_refuse_non_image_inputs(tmp_path: Path, layer: str, shape: str) -> None:
    errors = _errors(_write(tmp_path, _one_layer(layer, shape)))
    (error,) = [e for e in errors if e.location.path == ("model", "layers", 1)]
    assert "needs an input of rank 4" in error.message
    assert "[28, 28, 1]" in error.message  # the hint: an image Input or a Reshape
    assert error.location.line == 4 and error.received and "(None, " in error.received


@pytest.mark.parametrize(
    "layer",
    ["{type: GaussianNoise, stddev: 0.1}", "{type: LayerNormalization}"],
)
@pytest.mark.parametrize("shape", ["[784]", "[28, 28]", "[28, 28, 1]"])
def test_any_rank_layers_accept_every_input(tmp_path: Path, layer: str, shape: str) -> None:
    spec = load_spec(_write(tmp_path, _one_layer(layer, shape)))
    assert spec.info.layers[1].output_shape == spec.info.layers[0].output_shape


def test_factors_in_order_and_at_the_bounds_are_valid(tmp_path: Path) -> None:
    layers = [
        "{type: RandomRotation, factor: [-1, 1]}",
        "{type: RandomRotation, factor: -0.2}",  # Keras: the same as 0.2
        "{type: RandomRotation, factor: [0.1, 0.1]}",
        "{type: RandomTranslation, height_factor: [-1, 1], width_factor: [0, 0]}",
        "{type: RandomZoom, height_factor: [-0.99, 1], width_factor: 1}",
        "{type: RandomZoom, height_factor: 0, width_factor: null}",
    ]
    for i, layer in enumerate(layers):
        spec = load_spec(_write(tmp_path, _one_layer(layer), f"ok{i}.yaml"))
        assert spec.info.layers[1].output_shape == (28, 28, 1)


def test_keras_accepts_the_factors_the_schema_accepts(tmp_path: Path) -> None:
    """The bounds mirror Keras: its constructors take the extreme values we allow."""
    import keras

    from mnistctl.ml.builder import build_model

    text = (
        "model:\n  layers:\n"
        "    - {type: Input, name: image, shape: [28, 28, 1]}\n"
        "    - {type: RandomRotation, factor: [-1, 1]}\n"
        "    - {type: RandomTranslation, height_factor: [-1, 1], width_factor: -1}\n"
        "    - {type: RandomZoom, height_factor: [-0.999, 1], width_factor: 1}\n"
        "    - {type: GaussianNoise, stddev: 1}\n"
        "    - {type: SpatialDropout2D, rate: 0.999}\n" + TAIL
    )
    spec = load_spec(_write(tmp_path, text))
    keras.backend.clear_session()
    model = build_model(spec)
    out = model(np.zeros((2, 28, 28, 1), dtype="float32"), training=True)
    assert tuple(out.shape) == (2, 10)
