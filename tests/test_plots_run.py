"""``mnistctl plot RUN`` draws inside the network: the first convolution's filters, feature maps
through every convolution, a PCA of the last hidden layer; for a model without convolutions
the result says what it did not draw, and why. Small runs trained once per module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    CONV_SPEC,
    TINY_SPEC,
    assert_user_error,
    cli,
    colour_folders,
    colour_spec,
    no_tmp_files,
    trained_run,
)
from PIL import Image

pytestmark = pytest.mark.slow  # every test here trains, or reads a run trained here

ALL = ["learning_curves", "confusion_matrix", "misclassified", "model", "filters",
       "feature_maps", "pca"]  # fmt: skip
TWO_CONVS = CONV_SPEC.replace(
    "    - {type: MaxPooling2D",
    "    - {type: Conv2D, name: conv_2, filters: 4, kernel_size: 3, strides: 2,"
    " activation: sigmoid}\n    - {type: MaxPooling2D",
)


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(tmp_path_factory.mktemp("conv"), TWO_CONVS, "conv.yaml", n_test=120)


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(tmp_path_factory.mktemp("dense"), TINY_SPEC, "tiny.yaml", n_test=120)


def plot_json(run: Path) -> dict[str, Any]:
    result = cli("plot", run, "--json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_plot_draws_inside_a_cnn(conv_run: Path) -> None:
    doc = plot_json(conv_run)
    plots = conv_run.resolve() / "plots"
    assert doc["files"] == [str(plots / f"{name}.png") for name in ALL]
    assert doc["not_drawn"] == {}
    for name in ALL:
        with Image.open(plots / f"{name}.png") as img:
            assert img.format == "PNG" and min(img.size) >= 150, name
    assert no_tmp_files(plots) == []
    result = cli("plot", conv_run)  # the terminal lists the same files, one a line
    assert result.stdout.split() == doc["files"]


def test_activations_are_the_models_own(conv_run: Path) -> None:
    from mnistctl.commands.common import open_run
    from mnistctl.ml import activations as inside
    from mnistctl.ml.modelfile import load_model

    opened = open_run(conv_run, None)
    model, spec = load_model(opened.model_file, compile=False), opened.spec
    assert inside.conv_layers(spec) == ["conv", "conv_2"]
    assert inside.last_hidden(spec) == "flat"
    shown = [label for label, _ in inside.shown_layers(spec)]
    assert shown == ["conv", "conv_2", "pool", "output_tensor"]
    x = inside.model_inputs(np.arange(3 * 784).reshape(3, 28, 28) % 256, (28, 28, 1))
    assert x.dtype == np.float32 and x.shape == (3, 28, 28, 1) and float(x.max()) <= 1.0
    got = inside.activations(model, ["conv_2", "output_tensor"], x, batch_size=2)
    assert got["conv_2"].shape == (3, 12, 12, 4) and float(got["conv_2"].min()) >= 0.0  # sigmoid
    np.testing.assert_allclose(got["output_tensor"], model.predict(x, verbose=0), atol=1e-5)
    filters = inside.first_conv_filters(model, spec)
    assert filters is not None and filters.layer == "conv"
    np.testing.assert_array_equal(filters.kernels, model.get_layer("conv").get_weights()[0])


def test_a_model_without_convolutions_says_what_it_did_not_draw(dense_run: Path) -> None:
    plots = dense_run.resolve() / "plots"
    result = cli("plot", dense_run, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    drawn = [n for n in ALL if n not in ("filters", "feature_maps")]
    assert doc["files"] == [str(plots / f"{name}.png") for name in drawn]
    reason = "the model has no convolution"
    assert doc["not_drawn"] == {"filters": reason, "feature_maps": reason}
    assert not (plots / "filters.png").exists() and (plots / "pca.png").exists()
    result = cli("plot", dense_run)
    assert f"not drawn: filters, feature maps ({reason})" in result.stderr


def test_a_link_where_a_new_picture_goes_is_refused_first(dense_run: Path, tmp_path: Path) -> None:
    plots = dense_run.resolve() / "plots"
    (plots / "pca.png").unlink(missing_ok=True)
    (plots / "pca.png").symlink_to(tmp_path / "mine.png")
    before = (plots / "model.png").stat().st_mtime_ns
    try:
        assert_user_error(cli("plot", dense_run), "pca.png", "symbolic link")
        assert (plots / "model.png").stat().st_mtime_ns == before  # nothing drawn
        assert not (tmp_path / "mine.png").exists()
    finally:
        (plots / "pca.png").unlink()


def test_rgb_pictures_and_named_classes(tmp_path: Path) -> None:
    root = colour_folders(tmp_path / "colours", train=10, test=4)
    spec = tmp_path / "colours.yaml"
    spec.write_text(colour_spec(root, epochs=1))
    result = cli("train", spec, "--runs-dir", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    run = Path(json.loads(result.stdout)["run_dir"])
    doc = plot_json(run)
    assert [Path(f).stem for f in doc["files"]] == ALL and doc["not_drawn"] == {}
