"""The training recipes' layers at work: augmentation and noise are active only while training
(the identity at inference: the same outputs as the model without them), regularizers add
their penalties to ``model.losses`` and the loss without changing the parameters, and a model
holding them all is saved, loaded in safe mode and checked against its spec; then a real
``mnistctl train`` and ``evaluate`` with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.spec import load_spec
from tests.helpers import cli, make_npz

HEAD = "model:\n  layers:\n    - {type: Input, name: image, shape: [28, 28, 1]}\n"
AUGMENTATION = (
    "    - {type: RandomRotation, name: rotate, factor: 0.1, seed: 1}\n"
    "    - {type: RandomTranslation, name: shift, height_factor: 0.2, width_factor: [-0.2, 0.1]}\n"
    "    - {type: RandomZoom, name: zoom, height_factor: [-0.3, 0.2], fill_mode: constant}\n"
    "    - {type: GaussianNoise, name: noise, stddev: 0.3}\n"
)
CONV = "    - {type: Conv2D, name: conv, filters: 4, kernel_size: 3, activation: relu}\n"
SPATIAL_DROPOUT = "    - {type: SpatialDropout2D, name: channel_drop, rate: 0.5}\n"
TAIL = (
    "    - {type: Flatten, name: flat}\n"
    "    - {type: Dense, name: out, units: 10, activation: softmax}\n"
)
WITH = HEAD + AUGMENTATION + CONV + SPATIAL_DROPOUT + TAIL
WITHOUT = HEAD + CONV + TAIL

EVERY_NEW_LAYER = (
    HEAD + AUGMENTATION + "    - {type: ZeroPadding2D, name: pad, padding: [1, [0, 2]]}\n"
    "    - {type: Conv2D, name: conv, filters: 4, kernel_size: 3,\n"
    "       kernel_regularizer: {type: L2, l2: 0.01}, activity_regularizer: {type: L1}}\n"
    + SPATIAL_DROPOUT
    + "    - {type: DepthwiseConv2D, name: depthwise, kernel_size: 3, depth_multiplier: 2,\n"
    "       depthwise_regularizer: {type: L1L2, l1: 0.001, l2: 0.01}}\n"
    "    - {type: SeparableConv2D, name: separable, filters: 6, kernel_size: 3, strides: 2,\n"
    "       pointwise_regularizer: {type: L2}, bias_regularizer: {type: L1, l1: 0.1}}\n"
    "    - {type: LayerNormalization, name: norm, axis: [1, 2, 3],\n"
    "       gamma_regularizer: {type: L2, l2: 0.5}}\n" + TAIL
)


def _spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Any:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _build(spec: Any) -> Any:
    import keras

    from mnistctl.ml.builder import build_model

    keras.utils.set_random_seed(0)
    return build_model(spec)


def _images(n: int = 8) -> np.ndarray:
    return np.random.default_rng(0).random((n, 28, 28, 1), dtype=np.float32)


def _pair(tmp_path: Path) -> tuple[Any, Any]:
    """The model with augmentation, noise and spatial dropout, and the same model without
    them, with the same weights."""
    import keras

    keras.backend.clear_session()
    augmented = _build(_spec(tmp_path, WITH, "with.yaml"))
    plain = _build(_spec(tmp_path, WITHOUT, "without.yaml"))
    for name in ("conv", "out"):
        plain.get_layer(name).set_weights(augmented.get_layer(name).get_weights())
    return augmented, plain


# --- active only while training --------------------------------------------------------------


def test_augmentation_is_the_identity_at_inference(tmp_path: Path) -> None:
    augmented, plain = _pair(tmp_path)
    x = _images()
    expected = np.asarray(plain(x, training=False))
    np.testing.assert_allclose(np.asarray(augmented(x, training=False)), expected, rtol=1e-6)
    # NB: a bare ``augmented(x)`` would augment: Keras's Random* layers default to
    # training=True when called with no training argument. fit/evaluate/predict and Keras's
    # exports pass it; code calling a model directly must pass training=False.
    np.testing.assert_allclose(
        augmented.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize(
    "name", ["rotate", "shift", "zoom", "noise", "channel_drop"], ids=lambda n: n
)
def test_each_training_only_layer_is_the_identity_at_inference_and_not_in_training(
    tmp_path: Path, name: str
) -> None:
    augmented, _plain = _pair(tmp_path)
    layer = augmented.get_layer(name)
    x = _images() if name != "channel_drop" else np.ones((8, 26, 26, 4), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    assert not np.allclose(np.asarray(layer(x, training=True)), x), f"{name} did nothing"


def test_augmentation_changes_the_output_while_training(tmp_path: Path) -> None:
    augmented, plain = _pair(tmp_path)
    x = _images()
    assert not np.allclose(np.asarray(augmented(x, training=True)), np.asarray(plain(x)))


def test_augmented_model_trains_a_step(tmp_path: Path) -> None:
    from mnistctl.ml.compile import compile_model

    spec = _spec(tmp_path, EVERY_NEW_LAYER)
    model = _build(spec)
    compile_model(model, spec)
    y = np.eye(10, dtype=np.float32)[np.arange(8) % 10]
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(_images(), y)
    assert np.all(np.isfinite(loss))
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


# --- regularizers ----------------------------------------------------------------------------


def test_regularizer_penalties_are_in_model_losses(tmp_path: Path) -> None:
    import keras

    keras.backend.clear_session()
    model = _build(_spec(tmp_path, EVERY_NEW_LAYER))
    conv, norm = model.get_layer("conv"), model.get_layer("norm")
    # one per weight regularizer: conv kernel, depthwise, pointwise, separable bias, norm gamma
    assert len(model.losses) == 5
    losses = sorted(float(v) for v in model.losses)
    l2_conv = 0.01 * float(np.sum(np.square(conv.kernel.numpy())))
    l2_gamma = 0.5 * float(np.sum(np.square(norm.gamma.numpy())))
    assert any(abs(v - l2_conv) < 1e-5 * max(1.0, l2_conv) for v in losses), (losses, l2_conv)
    assert any(abs(v - l2_gamma) < 1e-4 * l2_gamma for v in losses), (losses, l2_gamma)
    model(_images(), training=True)  # the activity regularizer adds its penalty on a call
    assert len(model.losses) == 6


def test_regularizers_change_no_parameter_count(tmp_path: Path) -> None:
    import keras

    regularized = _spec(tmp_path, EVERY_NEW_LAYER, "with.yaml")
    plain_text = EVERY_NEW_LAYER
    for reg in (
        ",\n       kernel_regularizer: {type: L2, l2: 0.01}, activity_regularizer: {type: L1}",
        ",\n       depthwise_regularizer: {type: L1L2, l1: 0.001, l2: 0.01}",
        ",\n       pointwise_regularizer: {type: L2}, bias_regularizer: {type: L1, l1: 0.1}",
        ",\n       gamma_regularizer: {type: L2, l2: 0.5}",
    ):
        assert reg in plain_text
        plain_text = plain_text.replace(reg, "")
    plain = _spec(tmp_path, plain_text, "without.yaml")
    assert regularized.info == plain.info
    keras.backend.clear_session()
    with_model, without_model = _build(regularized), _build(plain)
    assert not without_model.losses
    assert [layer.count_params() for layer in with_model.layers] == [
        layer.count_params() for layer in without_model.layers
    ]
    assert with_model.count_params() == regularized.info.total


def test_the_loss_includes_the_penalties(tmp_path: Path) -> None:
    """Same weights, same data: the regularized model's loss is higher by its penalties."""
    import keras

    from mnistctl.ml.compile import compile_model

    text = HEAD + CONV + TAIL
    reg_text = text.replace(
        "activation: softmax}",
        "activation: softmax,\n       kernel_regularizer: {type: L2, l2: 0.1}}",
    )
    keras.backend.clear_session()
    plain_spec, reg_spec = _spec(tmp_path, text, "a.yaml"), _spec(tmp_path, reg_text, "b.yaml")
    plain, regularized = _build(plain_spec), _build(reg_spec)
    regularized.set_weights(plain.get_weights())
    compile_model(plain, plain_spec)
    compile_model(regularized, reg_spec)
    x, y = _images(), np.eye(10, dtype=np.float32)[np.arange(8) % 10]
    base = plain.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    with_penalty = regularized.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    penalty = 0.1 * float(np.sum(np.square(regularized.get_layer("out").kernel.numpy())))
    assert with_penalty == pytest.approx(base + penalty, rel=1e-4)


# --- saved, loaded in safe mode, checked against the spec ------------------------------------


def test_model_with_every_new_layer_saves_and_loads_safely(tmp_path: Path) -> None:
    import keras

    from mnistctl.ml.compile import compile_model
    from mnistctl.ml.modelfile import check_matches, load_model, save_model

    spec = _spec(tmp_path, EVERY_NEW_LAYER)
    keras.backend.clear_session()
    model = _build(spec)
    compile_model(model, spec)
    y = np.eye(10, dtype=np.float32)[np.arange(8) % 10]
    model.train_on_batch(_images(), y)  # an optimizer state too, as a run saves it
    target = tmp_path / "model.keras"
    save_model(model, target)
    loaded = load_model(target)  # safe_mode=True
    check_matches(loaded, spec, target)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        info.type if info.type != "Input" else "InputLayer" for info in spec.info.layers
    ]
    x = _images()
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)), rtol=1e-5
    )
    assert len(loaded.losses) == len(model.losses) >= 5  # the regularizers came back
    separable = loaded.get_layer("separable")
    assert isinstance(separable.pointwise_regularizer, keras.regularizers.L2)


def test_train_and_evaluate_with_augmentation_and_regularizers(tmp_path: Path) -> None:
    """The real commands: a run trains with every new layer, and evaluate loads its model
    (safe mode, checked against the run's spec)."""
    data = make_npz(tmp_path / "small.npz", 256, 64)
    spec = tmp_path / "every.yaml"
    spec.write_text(
        "name: every\ndescription: every new layer\n"
        + EVERY_NEW_LAYER
        + "train:\n  batch_size: 32\n  epochs: 1\n  seed: 0\n",
        encoding="utf-8",
    )
    runs = tmp_path / "runs"
    result = cli("train", spec, "--data", data, "--runs-dir", runs, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["epochs_run"] == 1 and np.isfinite(out["history"]["loss"][0])
    evaluated = cli("evaluate", out["run_dir"], "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert 0.0 <= json.loads(evaluated.stdout)["accuracy"] <= 1.0


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_activity_regularizer_trains_under_mixed_precision(tmp_path: Path, policy: str) -> None:
    """Keras 3.15 adds a float16/bfloat16 activity penalty to the float32 loss without a cast
    (``Trainer._aggregate_additional_loss``) and fit fails: the builder computes such a layer
    in float32."""
    import keras

    from mnistctl.ml.compile import compile_model

    text = (
        HEAD
        + AUGMENTATION
        + CONV.replace("activation: relu}", "activation: relu, activity_regularizer: {type: L2}}")
        + SPATIAL_DROPOUT
        + "    - {type: SeparableConv2D, name: separable, filters: 4,\n"
        + ("       kernel_size: 3, activity_regularizer: {type: L1, l1: 0.001}}\n" + TAIL)
    )
    spec = _spec(tmp_path, text)
    keras.backend.clear_session()
    keras.config.set_dtype_policy(policy)
    try:
        model = _build(spec)
        compile_model(model, spec)
        assert model.get_layer("conv").compute_dtype == "float32"
        assert model.get_layer("separable").compute_dtype == "float32"
        assert model.get_layer("channel_drop").compute_dtype != "float32"  # the rest: mixed
        y = np.eye(10, dtype=np.float32)[np.arange(8) % 10]
        loss = model.train_on_batch(_images(), y)
        assert np.all(np.isfinite(loss))
    finally:
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()
