"""Inside the network, drawn: the first convolution's filters, feature maps, the PCA projection,
and what the model graph says about each layer; tested on the figures (no model, no training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mnistctl.plots import embedding
from mnistctl.plots.common import DPI
from mnistctl.plots.embedding import build_embedding_figure, class_styles, pca_2d, plot_embedding
from mnistctl.plots.featuremaps import (
    MAX_MAPS,
    MIN_TILE_PX,
    build_feature_maps_figure,
    plot_feature_maps,
)
from mnistctl.plots.filters import MAX_FILTERS, build_filters_figure, plot_filters
from mnistctl.plots.graph_draw import build_model_graph_figure, layer_details

RNG = np.random.default_rng(0)


def tiles(fig: Any) -> list[Any]:
    """The axes that show an image and are not a colour bar."""
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "colour bar"]


def colour_bars(fig: Any) -> list[Any]:
    return [ax for ax in fig.axes if ax.get_label() == "colour bar"]


def legend(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def side_px(ax: Any) -> float:
    fig = ax.get_figure()
    return float(ax.get_position().width * fig.get_size_inches()[0] * fig.dpi)


# --- filters -----------------------------------------------------------------------------------


def test_filters_one_tile_each_on_one_scale_centred_at_zero() -> None:
    kernels = RNG.normal(size=(3, 3, 1, 8))
    kernels[0, 0, 0, 5] = -4.0  # the largest magnitude sets both ends of the scale
    fig = build_filters_figure(kernels, "conv_1", title="cnn")
    shown = tiles(fig)
    assert len(shown) == 8 and [ax.get_title() for ax in shown] == [str(i) for i in range(8)]
    for k, ax in enumerate(shown):
        np.testing.assert_allclose(ax.images[0].get_array(), kernels[:, :, 0, k])
        assert ax.images[0].get_cmap().name == "RdBu_r"
        assert ax.images[0].norm.vmin == -4.0 and ax.images[0].norm.vmax == 4.0
    assert len(colour_bars(fig)) == 1
    assert fig.get_suptitle().startswith("cnn — filters of the first convolution, conv_1")
    assert "8 filters, 3×3" in fig.get_suptitle()
    assert all(side_px(ax) >= MIN_TILE_PX for ax in shown)


def test_rgb_filters_one_row_per_channel() -> None:
    fig = build_filters_figure(RNG.normal(size=(5, 5, 3, 4)), "conv")
    shown = tiles(fig)
    assert len(shown) == 12
    assert [ax.get_ylabel() for ax in shown if ax.get_ylabel()] == ["R", "G", "B"]


def test_many_channels_are_averaged_and_many_filters_capped() -> None:
    kernels = RNG.normal(size=(3, 3, 6, MAX_FILTERS + 6))
    fig = build_filters_figure(kernels, "conv")
    shown = tiles(fig)
    assert len(shown) == MAX_FILTERS
    np.testing.assert_allclose(shown[1].images[0].get_array(), kernels[:, :, :, 1].mean(axis=2))
    assert f"the first {MAX_FILTERS} of {MAX_FILTERS + 6} filters" in fig.get_suptitle()
    assert "averaged over 6 input channels" in fig.get_suptitle()


def test_filters_bad_or_empty_or_non_finite() -> None:
    with pytest.raises(ValueError, match="expected kernels of shape"):
        build_filters_figure(np.zeros((3, 3, 8)), "conv")
    fig = build_filters_figure(np.zeros((3, 3, 1, 0)), "conv")
    assert "no filters" in fig.axes[0].texts[0].get_text()
    fig = build_filters_figure(np.full((3, 3, 1, 2), np.nan), "conv")  # all zero: still a scale
    assert tiles(fig)[0].images[0].norm.vmax == 1.0


# --- feature maps ------------------------------------------------------------------------------


def test_feature_maps_rows_named_by_layer_with_the_picture_first() -> None:
    picture = RNG.integers(0, 256, (28, 28), dtype=np.uint8)
    chosen = [0, 3, *range(5, 5 + MAX_MAPS)]  # more than fit: the first MAX_MAPS shown
    maps = [("conv_1", RNG.random((26, 26, 4)), None), ("conv_b", RNG.random((4, 4, 40)), chosen)]
    fig = build_feature_maps_figure(picture, maps, "test picture 0: 7", title="cnn")
    shown = tiles(fig)
    assert len(shown) == 1 + 4 + MAX_MAPS
    first = shown[0]
    assert first.images[0].get_cmap().name == "gray"  # white ink on black
    np.testing.assert_array_equal(first.images[0].get_array(), picture)
    assert first.texts[0].get_text() == "test picture 0: 7"
    labels = [ax.get_ylabel() for ax in shown[1:] if ax.get_ylabel()]
    assert labels == ["conv_1\n26×26, 4 maps", f"conv_b\n4×4, {MAX_MAPS} most active\nof 40 maps"]
    assert all(side_px(ax) >= MIN_TILE_PX for ax in shown)  # 4x4 maps too
    assert [ax.get_title() for ax in shown[5:8]] == ["#0", "#3", "#5"]
    assert len(colour_bars(fig)) == 2
    assert fig.get_suptitle() == "cnn — feature maps of each convolution"


def test_strongest_channels_in_channel_order() -> None:
    from mnistctl.ml.activations import strongest

    maps = np.zeros((2, 2, 20))
    maps[..., [3, 17, 9]] = [1.0, 3.0, 2.0]
    assert strongest(maps, 3) == [3, 9, 17]
    assert strongest(maps[..., :3], 3) == [0, 1, 2]
    assert strongest(np.array([0.5, np.nan, 2.0]), 2) == [0, 2]  # a vector too


def test_feature_maps_of_an_rgb_picture_and_without_convolutions(tmp_path: Path) -> None:
    picture = RNG.random((12, 12, 3))
    fig = build_feature_maps_figure(picture, [("c", RNG.random((10, 10, 2)), None)], "a red")
    np.testing.assert_allclose(tiles(fig)[0].images[0].get_array(), picture)
    fig = build_feature_maps_figure(picture, [], "a red")
    assert fig.axes[0].texts[0].get_text() == "the model has no convolution"
    with pytest.raises(ValueError, match="as \\(height, width, channels\\)"):
        build_feature_maps_figure(picture, [("dense", RNG.random(10), None)], "x")
    with pytest.raises(ValueError, match="not all among the 2 maps"):
        build_feature_maps_figure(picture, [("c", RNG.random((3, 3, 2)), [0, 2])], "x")
    out = plot_feature_maps(picture, [("c", RNG.random((3, 3, 1)), [0])], tmp_path / "f.png", "x")
    with Image.open(out) as img:
        assert img.format == "PNG"


# --- which layers: read from the spec ----------------------------------------------------------


def test_layers_inside_read_from_the_spec() -> None:
    from mnistctl.ml import activations as inside
    from mnistctl.spec import load_spec

    root = Path(__file__).resolve().parents[1] / "specs"
    cnn = load_spec(root / "cnn.yaml")  # activations written as layers of their own
    assert inside.conv_layers(cnn) == ["Conv1", "Conv2"]
    assert inside.conv_outputs(cnn) == [("Conv1 → relu_1", "relu_1"), ("Conv2 → relu_2", "relu_2")]
    assert inside.last_hidden(cnn) == "relu_3"  # hidden_1 after its ReLU, not the logits
    assert inside.shown_layers(cnn) == [
        ("Conv1 → relu_1", "relu_1"), ("Conv2 → relu_2", "relu_2"), ("pool_1", "pool_1"),
        ("hidden_1 → relu_3", "relu_3"), ("hidden_2 → output_tensor", "output_tensor"),
    ]  # fmt: skip
    dnn = load_spec(root / "dnn.yaml")  # activations inside the Dense layers
    assert inside.conv_layers(dnn) == [] and inside.conv_outputs(dnn) == []
    assert inside.last_hidden(dnn) == "hidden_4"
    assert [label for label, _ in inside.shown_layers(dnn)][-1] == "output_tensor"


# --- PCA ---------------------------------------------------------------------------------------


def test_pca_finds_the_directions_of_most_variance() -> None:
    base = RNG.normal(size=(400, 2)) * [10.0, 3.0]
    rotation, _ = np.linalg.qr(RNG.normal(size=(6, 6)))
    x = np.hstack([base, RNG.normal(size=(400, 4)) * 0.1]) @ rotation + 5.0
    coords, explained = pca_2d(x)
    for j in range(2):  # the same projection up to the sign
        assert abs(np.corrcoef(coords[:, j], base[:, j])[0, 1]) > 0.999
    assert explained[0] > explained[1] > 0.05 and explained.sum() < 1.0
    assert explained.sum() > 0.99
    again, _ = pca_2d(x[::-1])
    np.testing.assert_allclose(again[::-1], coords, atol=1e-9)  # the sign does not flip


def test_pca_of_a_wide_tall_matrix_matches_the_full_svd(monkeypatch: pytest.MonkeyPatch) -> None:
    # a layer's outputs: a few strong directions (as in real features) and noise
    strong = RNG.normal(size=(1100, 5)) * [20.0, 10.0, 3.0, 2.0, 1.0]
    x = np.maximum(strong @ RNG.normal(size=(5, 1200)) + RNG.normal(size=(1100, 1200)), 0.0)
    fast, fast_share = pca_2d(x)
    monkeypatch.setattr(embedding, "EXACT_UP_TO", 10**6)
    full, full_share = pca_2d(x)
    np.testing.assert_allclose(fast, full, atol=1e-6 * np.abs(full).max())
    np.testing.assert_allclose(fast_share, full_share, rtol=1e-6)


def test_pca_degenerate_inputs() -> None:
    assert pca_2d(np.zeros((1, 5)))[0].tolist() == [[0.0, 0.0]]
    coords, explained = pca_2d(np.ones((5, 3)))
    assert not coords.any() and not explained.any()
    coords, _ = pca_2d(np.array([[0.0], [1.0], [np.inf]]))  # one feature: one component
    assert coords[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_embedding_coloured_by_class_with_a_legend_of_names(tmp_path: Path) -> None:
    y = np.repeat(np.arange(3), 30)
    x = RNG.normal(size=(90, 8)) + y[:, None] * 4
    fig = build_embedding_figure(x, y, "hidden (the layer before the output)",
                                 ["cat", "dog", "emu"], title="pets")  # fmt: skip
    ax: Any = fig.axes[0]
    assert legend(ax) == ["cat", "dog", "emu"]
    assert [len(c.get_offsets()) for c in ax.collections] == [30, 30, 30]
    assert fig.get_suptitle() == (
        "pets — PCA of hidden (the layer before the output) for 90 test pictures"
    )
    assert ax.get_xlabel().startswith("principal component 1 (")
    assert "% of the variance)" in ax.get_ylabel()
    with pytest.raises(ValueError, match="got 90 rows of features but 2 labels"):
        build_embedding_figure(x, [0, 1], "h")
    assert plot_embedding(x, y, tmp_path / "p.png", "h").read_bytes()[:4] == b"\x89PNG"


def test_many_classes_get_distinct_styles() -> None:
    styles = class_styles(47)  # EMNIST balanced
    assert len(set(styles)) == 47
    y = np.arange(47).repeat(2)
    fig = build_embedding_figure(RNG.normal(size=(94, 4)), y, "h")
    assert len(legend(fig.axes[0])) == 47
    fig = build_embedding_figure(RNG.normal(size=(1, 4)), [0], "h")
    assert fig.axes[0].texts[0].get_text() == "too few pictures to project"


# --- the model graph says what each layer does -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "args", "details"),
    [
        ("Dense", {"units": 256, "activation": "sigmoid"}, ["sigmoid"]),
        ("Dense", {"units": 10, "activation": None}, ["linear"]),
        ("Conv2D", {"kernel_size": 3, "strides": (1, 1), "activation": "relu"}, ["3×3", "relu"]),
        ("Conv2D", {"kernel_size": [5, 3], "strides": 2, "activation": None},
         ["5×3, stride 2", "linear"]),
        ("MaxPooling2D", {"pool_size": (2, 2), "strides": None}, ["2×2"]),
        ("AveragePooling2D", {"pool_size": 3, "strides": [1, 2]}, ["3×3, stride 1×2"]),
        ("GlobalAveragePooling2D", {"pool_size": 2}, []),
        ("Activation", {"activation": "tanh"}, ["tanh"]),
        ("Dropout", {"rate": 0.5}, []),
    ],
)  # fmt: skip
def test_layer_details(kind: str, args: dict[str, Any], details: list[str]) -> None:
    assert layer_details(kind, args) == details


def test_graph_boxes_show_activations_and_windows() -> None:
    layers = [
        {"name": "in", "type": "Input", "output_shape": [None, 784], "params": 0, "inputs": []},
        {"name": "h1", "type": "Dense", "output_shape": [None, 256], "params": 200960,
         "inputs": ["in"], "args": {"units": 256, "activation": "sigmoid"}},
        {"name": "out", "type": "Dense", "output_shape": [None, 10], "params": 2570,
         "inputs": ["h1"], "args": {"units": 10, "activation": "softmax"}},
    ]  # fmt: skip
    fig = build_model_graph_figure(layers, title="dnn")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Dense  ·  sigmoid" in texts and "Dense  ·  softmax" in texts
    assert "Input" in texts  # no args: the type alone


def test_new_figures_are_saved_at_the_common_dpi(tmp_path: Path) -> None:
    out = plot_filters(RNG.normal(size=(3, 3, 1, 2)), tmp_path / "f.png", "c")
    inches = build_filters_figure(RNG.normal(size=(3, 3, 1, 2)), "c").get_size_inches()
    with Image.open(out) as img:
        assert all(abs(px - side * DPI) <= 1 for px, side in zip(img.size, inches, strict=True))
