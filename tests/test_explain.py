"""``mnistctl explain``: maps that mean something (the faithfulness property), on any spec
(a graph with a skip connection, a dense network, RGB pictures of three classes), files
prepared as ``predict`` prepares them, the Python API on the same code, and every bad input
refused in one line with nothing written."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    COLOURS,
    TINY_SPEC,
    assert_user_error,
    cli,
    colour_folders,
    colour_spec,
    digit_png,
    real_arrays,
    trained_run,
)

pytestmark = pytest.mark.slow  # every test here trains, or reads a run trained here

# A graph with a skip connection: conv -> conv, added to the first; the default Grad-CAM layer
# is the pooling after the sum (every path to the output passes through it).
SKIP_SPEC = """\
name: skip
data: {dataset: mnist, validation_split: 0.1}
model:
  layers:
    - {type: Input, name: image, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv_a, filters: 8, kernel_size: 3, padding: same, activation: relu}
    - {type: Conv2D, name: conv_b, filters: 8, kernel_size: 3, padding: same}
    - {type: Add, name: skip, inputs: [conv_a, conv_b]}
    - {type: MaxPooling2D, name: pool, pool_size: 2}
    - {type: Flatten, name: flat}
    - {type: Dense, name: out, units: 10, activation: softmax}
compile: {loss: categorical_crossentropy, optimizer: adam, metrics: [accuracy]}
train: {batch_size: 32, epochs: 2, seed: 0}
"""

# A dense network whose output is not a softmax (mean squared error allows that).
SIGMOID_SPEC = (
    TINY_SPEC.replace("name: tiny", "name: sigmoid")
    .replace("units: 10, activation: softmax", "units: 10, activation: sigmoid")
    .replace("loss: categorical_crossentropy", "loss: mean_squared_error")
)


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"JSON holds {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def skip_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(
        tmp_path_factory.mktemp("skip"), SKIP_SPEC, "skip.yaml", n_train=800, n_test=60, epochs=2
    )


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(tmp_path_factory.mktemp("dense"), TINY_SPEC, "tiny.yaml", n_test=20)


def _explain(*args: str | Path) -> Any:
    result = cli("explain", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return _strict(result.stdout)


def _check_maps(entry: dict[str, Any], shape: tuple[int, int]) -> None:
    for values in entry["maps"].values():
        if values is None:
            continue
        arr = np.asarray(values, dtype=np.float64)
        assert arr.shape == shape
        assert np.all(np.isfinite(arr)) and arr.min() >= 0.0 and arr.max() > 0.0


def test_test_pictures_are_explained_by_three_maps_with_a_png_each(skip_run: Path) -> None:
    doc = _explain(skip_run, "--test", "3")
    assert [e["test_index"] for e in doc] == [0, 1, 2]
    y = real_arrays()["y_test"]
    for entry in doc:
        assert set(entry["maps"]) == {"gradcam", "saliency", "occlusion"}
        assert entry["layer"] == "pool" and entry["reasons"] == {}
        assert entry["true_label"] == int(y[entry["test_index"]])
        assert entry["label"] == int(np.argmax(entry["probabilities"]))
        assert math.isclose(sum(entry["probabilities"]), 1.0, abs_tol=1e-4)
        _check_maps(entry, (28, 28))
        assert Path(entry["png"]).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (skip_run / "explain").iterdir()) == [
        "test-0.png", "test-1.png", "test-2.png",
    ]  # fmt: skip


def test_files_are_prepared_as_predict_prepares_them(skip_run: Path, tmp_path: Path) -> None:
    digit = real_arrays()["x_test"][7]
    photo = digit_png(tmp_path / "photo.png", digit, invert=True, scale=4)  # dark on light
    doc = _explain(skip_run, photo, "--method", "saliency", "--output", tmp_path / "out")
    predicted = cli("predict", skip_run, photo, "--json")
    expected = json.loads(predicted.stdout)[0]
    assert doc[0]["file"] == str(photo) and doc[0]["label"] == expected["label"]
    np.testing.assert_allclose(doc[0]["probabilities"], expected["probabilities"], atol=1e-4)
    assert list(doc[0]["maps"]) == ["saliency"]
    assert (tmp_path / "out" / "photo.png").is_file()


def test_the_maps_are_faithful_on_a_small_model(skip_run: Path) -> None:
    """Covering the 10 % of pixels a map ranks highest lowers the predicted class's probability
    more than covering 10 % of the digit's ink at random, on most correctly read pictures."""
    from mnistctl.commands.common import open_run
    from mnistctl.ml.explain import Explainer
    from mnistctl.ml.explain.faithfulness import measure

    explainer = Explainer(open_run(skip_run, None).load_model())
    arrays = real_arrays()
    x = explainer.pictures(arrays["x_test"][:60].astype(np.float32) / 255)
    found = explainer.explain(x)
    labels = np.array([e.label for e in found])
    right = labels == arrays["y_test"][:60]
    assert right.sum() >= 40, right.sum()
    rates = {}
    for method in ("saliency", "occlusion", "gradcam"):
        maps = np.stack([e.maps[method] for e in found])[right]  # type: ignore[misc]
        result = measure(explainer.traced.probabilities, x[right], labels[right], maps)
        rates[method] = (result.win_rate("ink"), result.win_rate("pixels"))
    assert rates["saliency"][0] >= 0.9 and rates["occlusion"][0] >= 0.9, rates  # 1.0 and 1.0
    assert rates["gradcam"][1] >= 0.8, rates  # 1.0 (49 pictures, measured)


def test_the_python_api_returns_the_same_maps_as_arrays(skip_run: Path) -> None:
    import mnistctl

    result = mnistctl.open_run(skip_run).explain(test=2, draw=False)
    doc = _explain(skip_run, "--test", "2", "--output", skip_run.parent / "api-out")
    for entry, json_entry in zip(result.entries, doc, strict=True):
        for method, values in entry.explanation.maps.items():
            assert values is not None and values.dtype == np.float32 and values.shape == (28, 28)
            np.testing.assert_allclose(values, json_entry["maps"][method], atol=1e-4)
        assert entry.png is None
    assert result.to_json()[0]["png"] is None


def test_a_layer_is_chosen_by_name_and_must_be_convolutional(skip_run: Path) -> None:
    doc = _explain(skip_run, "--test", "1", "--layer", "conv_a", "--method", "gradcam")
    assert doc[0]["layer"] == "conv_a" and list(doc[0]["maps"]) == ["gradcam"]
    first = assert_user_error(cli("explain", skip_run, "--test", "1", "--layer", "flat"),
                              "'flat'", "not a convolutional layer")  # fmt: skip
    assert "conv_a, conv_b, skip, pool" in first
    assert_user_error(cli("explain", skip_run, "--test", "1", "--layer", "nope"), "no layer")


def test_the_terminal_shows_a_row_per_picture_and_the_layer(skip_run: Path, tmp_path: Path) -> None:
    result = cli("explain", skip_run, "--test", "2", "--output", tmp_path / "o")
    assert result.exit_code == 0, result.stderr
    assert "test 0" in result.stdout and "test 1" in result.stdout
    assert "Grad-CAM at layer pool" in result.stdout
    assert "test-1.png" in result.stdout


def test_bad_input_is_refused_and_nothing_is_written(skip_run: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in (skip_run / "explain").iterdir()) if (
        skip_run / "explain").exists() else []  # fmt: skip
    assert_user_error(cli("explain", skip_run, "--test", "0"), "--test 0")
    assert_user_error(cli("explain", skip_run, "--test", "61"), "only 60 pictures")
    assert_user_error(cli("explain", skip_run), "nothing to explain")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    refused = cli("explain", skip_run, bad)
    predicted = cli("predict", skip_run, bad)
    assert refused.exit_code == 1 and predicted.exit_code == 1
    assert refused.stderr.splitlines()[0] == predicted.stderr.splitlines()[0]
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert_user_error(cli("explain", skip_run, "--test", "1", "--output", blocker), "afile")
    assert blocker.read_text() == "x"
    json_error = cli("explain", skip_run, "--test", "0", "--json")
    assert json_error.exit_code == 1 and _strict(json_error.stdout)["error"]["message"]
    copy = tmp_path / "copy"
    shutil.copytree(skip_run, copy, ignore=shutil.ignore_patterns("explain"))
    (copy / "model.keras").unlink()
    assert_user_error(cli("explain", copy, "--test", "1"), "model.keras")
    assert not (copy / "explain").exists()
    after = sorted(p.name for p in (skip_run / "explain").iterdir()) if (
        skip_run / "explain").exists() else []  # fmt: skip
    assert after == before


def test_a_dense_network_has_no_grad_cam_and_says_why(dense_run: Path) -> None:
    doc = _explain(dense_run, "--test", "2")
    for entry in doc:
        assert entry["maps"]["gradcam"] is None and entry["layer"] is None
        assert "no convolutional layer" in entry["reasons"]["gradcam"]
        _check_maps(entry, (28, 28))  # a flat Input of 784: maps of 28x28
    assert_user_error(cli("explain", dense_run, "--test", "1", "--layer", "hidden"),
                      "not a convolutional layer")  # fmt: skip


def test_an_output_that_is_not_a_softmax_is_refused(tmp_path: Path) -> None:
    run = trained_run(tmp_path, SIGMOID_SPEC, "sigmoid.yaml", n_train=100, n_test=10)
    line = assert_user_error(cli("explain", run, "--test", "1"), "softmax", "sigmoid")
    assert line.startswith(str(run / "spec.yaml"))
    assert not (run / "explain").exists()


def test_rgb_pictures_of_named_classes(tmp_path: Path) -> None:
    colour_folders(tmp_path / "data", train=10, test=3)
    spec = tmp_path / "colours.yaml"
    spec.write_text(colour_spec(tmp_path / "data"))
    trained = cli("train", spec, "--runs-dir", tmp_path / "runs", "--json")
    assert trained.exit_code == 0, trained.stderr
    run = Path(json.loads(trained.stdout)["run_dir"])
    doc = _explain(run, tmp_path / "data" / "test" / "red" / "00.png", "--test", "2")
    assert doc[0]["class"] == "red" and len(doc[0]["probabilities"]) == 3
    assert doc[1]["true_class"] in COLOURS
    for entry in doc:
        _check_maps(entry, (12, 12))
    assert (run / "explain" / "00.png").is_file() and (run / "explain" / "test-1.png").is_file()


def test_occlusion_patches_cover_every_pixel() -> None:
    from mnistctl.ml.explain.occlusion import masks, patch_size

    assert patch_size(28, 28) == (4, 2) and len(masks(28, 28)) == 169  # one call: 169 copies
    for shape in ((28, 28), (32, 32), (12, 12), (5, 9)):
        assert masks(*shape).sum(axis=0).min() >= 1, shape


def test_random_covers_take_what_they_say() -> None:
    from mnistctl.ml.explain.faithfulness import cover_random, cover_top

    pics = np.zeros((1, 10, 10, 1), np.float32)
    pics[0, 2:8, 4:6] = 1.0  # 12 ink pixels
    rng = np.random.default_rng(0)
    covered = {b: int((cover_random(pics, b, 0.1, rng) == 0).sum()) - 88 for b in
               ("ink", "ink_same", "pixels")}  # fmt: skip
    assert covered["ink"] == 1 and covered["ink_same"] == 10  # 10 % of 12; 10 % of 100
    ranking = np.arange(100, dtype=np.float32).reshape(1, 10, 10)
    top = cover_top(np.ones((1, 10, 10, 1), np.float32), ranking, 0.1)
    assert top[0, 9, :, 0].sum() == 0 and top[0, :9].min() == 1  # the last row ranks highest


def test_a_mixed_precision_model_is_explained_in_float32() -> None:
    import keras

    from mnistctl.ml.explain import Explainer

    saved = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        inputs = keras.Input((8, 8, 1))
        conv = keras.layers.Conv2D(2, 3, name="conv")(inputs)
        flat = keras.layers.Flatten()(conv)
        out = keras.layers.Dense(3, activation="softmax", dtype="float32")(flat)
        model = keras.Model(inputs, out)
    finally:
        keras.mixed_precision.set_global_policy(saved)
    explainer = Explainer(model)
    assert explainer.traced.model is not model
    assert {layer.dtype_policy.name for layer in explainer.traced.model.layers} == {"float32"}
    found = explainer.explain(np.random.default_rng(0).random((2, 8, 8, 1)))
    for entry in found:
        for values in entry.maps.values():
            assert values is not None and values.dtype == np.float32 and values.shape == (8, 8)
