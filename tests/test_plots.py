"""Tests for mnistctl.ui.plots: every plot writes a valid PNG, atomically, from plain data."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mnistctl.ui import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path, min_size: tuple[int, int] = (200, 150)) -> tuple[int, int]:
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert min_size[0] <= width <= 12_000
    assert min_size[1] <= height <= 30_000
    assert not list(path.parent.glob("*.tmp")), "temporary file left behind"
    return width, height


def layer(name: str, kind: str, shape: list[Any], params: int, inputs: list[str]) -> dict[str, Any]:
    return {"name": name, "type": kind, "output_shape": shape, "params": params, "inputs": inputs}


def branching_graph() -> list[dict[str, Any]]:
    return [
        layer("input", "InputLayer", [None, 28, 28, 1], 0, []),
        layer("conv_a", "Conv2D", [None, 26, 26, 8], 80, ["input"]),
        layer("conv_b", "Conv2D", [None, 26, 26, 8], 584, ["conv_a"]),
        layer("conv_c", "Conv2D", [None, 26, 26, 8], 80, ["input"]),
        layer("add", "Add", [None, 26, 26, 8], 0, ["conv_b", "conv_c"]),
        layer("flatten", "Flatten", [None, 5408], 0, ["add"]),
        layer("dense", "Dense", [None, 10], 54090, ["flatten"]),
    ]


def linear_graph(n: int = 10) -> list[dict[str, Any]]:
    kinds = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    layers = [layer("input_layer", "InputLayer", [None, 28, 28, 1], 0, [])]
    for i in range(n - 1):
        kind = kinds[i % len(kinds)]
        layers.append(layer(f"{kind.lower()}_{i}", kind, [None, 64], 100 * i, [layers[-1]["name"]]))
    return layers


HISTORY = {
    "loss": [0.6, 0.3, 0.2, 0.15],
    "accuracy": [0.82, 0.91, 0.94, 0.955],
    "val_loss": [0.35, 0.25, 0.22, 0.24],
    "val_accuracy": [0.9, 0.93, 0.94, 0.935],
}


# --- learning curves ---------------------------------------------------------------------------


def test_learning_curves(tmp_path: Path) -> None:
    out = plots.plot_learning_curves(HISTORY, tmp_path / "curves.png", title="cnn")
    assert out == tmp_path / "curves.png"
    width, height = assert_png(out)
    assert width > height  # panels side by side


def test_learning_curves_one_epoch(tmp_path: Path) -> None:
    history = {"loss": [0.3], "accuracy": [0.91], "val_loss": [0.2], "val_accuracy": [0.94]}
    assert_png(plots.plot_learning_curves(history, tmp_path / "one.png"))


def test_learning_curves_without_validation(tmp_path: Path) -> None:
    history = {"loss": [0.5, 0.3, 0.2], "accuracy": [0.8, 0.9, 0.93]}
    assert_png(plots.plot_learning_curves(history, tmp_path / "noval.png"))


def test_learning_curves_extra_metrics_and_nan(tmp_path: Path) -> None:
    history = {
        "loss": [0.5, float("nan"), float("inf")],
        "val_loss": [float("nan")] * 3,  # nothing finite: no best epoch, still plotted
        "mae": [0.3, 0.2, 0.1],
        "val_top_k": [0.7, 0.8, 0.9],  # validation-only metric
        "learning_rate": [1e-3, 1e-3, 5e-4],
    }
    assert_png(plots.plot_learning_curves(history, tmp_path / "extra.png"))


def test_learning_curves_empty_history(tmp_path: Path) -> None:
    assert_png(plots.plot_learning_curves({}, tmp_path / "empty.png"), min_size=(100, 100))
    assert_png(plots.plot_learning_curves({"loss": []}, tmp_path / "e2.png"), min_size=(100, 100))


# --- confusion matrix --------------------------------------------------------------------------


def confusion(n: int = 10) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(1)
    m = rng.integers(0, 6, size=(n, n))
    np.fill_diagonal(m, rng.integers(900, 1100, size=n))
    return m


def test_confusion_matrix(tmp_path: Path) -> None:
    out = plots.plot_confusion_matrix(confusion(), tmp_path / "cm.png", title="test set")
    assert_png(out, min_size=(600, 600))


def test_confusion_matrix_raw_counts_from_lists(tmp_path: Path) -> None:
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 0]]  # last class never predicted correctly
    out = plots.plot_confusion_matrix(
        matrix, tmp_path / "cm.png", labels=["cat", "dog", "emu"], normalize=False
    )
    assert_png(out)


def test_confusion_matrix_all_zero(tmp_path: Path) -> None:
    assert_png(plots.plot_confusion_matrix(np.zeros((10, 10), int), tmp_path / "z.png"))


def test_confusion_matrix_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix([[1, 2, 3], [4, 5, 6]], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="labels"):
        plots.plot_confusion_matrix(confusion(3), tmp_path / "bad.png", labels=["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        plots.plot_confusion_matrix([[1, -1], [0, 1]], tmp_path / "bad.png")
    assert not list(tmp_path.iterdir())


# --- misclassified images ----------------------------------------------------------------------


def test_misclassified_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    true = list(rng.integers(0, 10, 50))
    pred = [(t + 1) % 10 for t in true]
    conf = list(rng.random(50))
    out = plots.plot_misclassified(images, true, pred, conf, tmp_path / "mis.png")
    assert_png(out, min_size=(800, 800))  # a 6 x 6 grid of 36


def test_misclassified_float_images_with_channel_and_no_confidence(tmp_path: Path) -> None:
    images = np.random.default_rng(3).random((3, 28, 28, 1)).astype(np.float32)
    out = plots.plot_misclassified(
        images, [1, 2, 3], [7, 7, 8], None, tmp_path / "mis.png", max_images=2
    )
    assert_png(out)


def test_misclassified_empty(tmp_path: Path) -> None:
    images = np.zeros((0, 28, 28), dtype=np.uint8)
    out = plots.plot_misclassified(images, [], [], [], tmp_path / "none.png")
    assert_png(out, min_size=(300, 100))


def test_misclassified_rejects_mismatched_lengths(tmp_path: Path) -> None:
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError):
        plots.plot_misclassified(images, [1], [2, 3], None, tmp_path / "bad.png")
    with pytest.raises(ValueError):
        plots.plot_misclassified(images, [1, 2], [2, 3], [0.5], tmp_path / "bad.png")
    with pytest.raises(ValueError):
        plots.plot_misclassified(np.zeros((2, 5)), [1, 2], [2, 3], None, tmp_path / "bad.png")


# --- model graph -------------------------------------------------------------------------------


def test_model_graph_branching(tmp_path: Path) -> None:
    out = plots.plot_model_graph(branching_graph(), tmp_path / "g.png", title="branchy")
    assert_png(out, min_size=(300, 600))


def test_model_graph_linear_ten_layers(tmp_path: Path) -> None:
    width, height = assert_png(plots.plot_model_graph(linear_graph(10), tmp_path / "lin.png"))
    assert height > 2 * width  # one tall column


def test_layout_branching_puts_branches_side_by_side() -> None:
    g = plots._layout_graph(branching_graph())
    level = {k: nd.level for k, nd in g.nodes.items() if nd.kind == "layer"}
    assert level == {
        "input": 0, "conv_a": 1, "conv_c": 1, "conv_b": 2, "add": 3, "flatten": 4, "dense": 5,
    }  # fmt: skip
    x = {k: nd.x for k, nd in g.nodes.items()}
    assert abs(x["conv_a"] - x["conv_c"]) >= 1.0
    # the edge conv_c -> add skips level 2 through its own waypoint beside conv_b
    (skip,) = [path for path in g.edges if path[0] == "conv_c"]
    assert len(skip) == 3 and g.nodes[skip[1]].kind == "dummy"
    assert abs(g.nodes[skip[1]].x - x["conv_b"]) >= 0.5
    assert x["flatten"] == pytest.approx(x["add"]) and x["dense"] == pytest.approx(x["add"])


def test_layout_never_overlaps_boxes() -> None:
    layers = [*branching_graph()]
    layers += [
        layer("b1", "Conv2D", [None, 8], 1, ["dense"]),
        layer("b2", "Conv2D", [None, 8], 1, ["dense"]),
        layer("b3", "Conv2D", [None, 8], 1, ["b2"]),
        layer("cat", "Concatenate", [None, 16], 0, ["b1", "b3", "dense", "input"]),
    ]
    g = plots._layout_graph(layers)
    for keys in g.levels:
        xs = sorted((g.nodes[k].x, g.nodes[k].kind) for k in keys)
        for (xa, ka), (xb, kb) in itertools.pairwise(xs):
            # boxes are 1 wide: boxes must not touch, an edge waypoint must pass outside a box
            needed = {0: 1.2, 1: 0.6, 2: 0.1}[(ka, kb).count("dummy")]
            assert xb - xa >= needed, (keys, xs)


def test_layout_linear_graph_is_straight() -> None:
    g = plots._layout_graph(linear_graph(10))
    assert [len(keys) for keys in g.levels] == [1] * 10
    assert {round(nd.x, 9) for nd in g.nodes.values()} == {0.0}


def test_model_graph_unlisted_input_and_odd_shapes(tmp_path: Path) -> None:
    layers = [
        layer("Conv1", "Conv2D", [None, 26, 26, 32], 320, ["input_tensor"]),  # input not listed
        {"name": "Split", "type": "Lambda", "output_shape": [[None, 13], [None, 13]],
         "inputs": ["Conv1"]},  # no params key, two outputs
        layer("a_very_long_layer_name_that_goes_on_and_on_forever", "Dense", [None, 10], 10**7,
              ["Split"]),
    ]  # fmt: skip
    g = plots._layout_graph(layers)
    assert g.nodes["input_tensor"].kind == "input" and g.nodes["Conv1"].level == 1
    assert_png(plots.plot_model_graph(layers, tmp_path / "g.png"))


def test_model_graph_rejects_cycles_and_duplicates(tmp_path: Path) -> None:
    cyclic = [layer("a", "Dense", [None, 1], 2, ["b"]), layer("b", "Dense", [None, 1], 2, ["a"])]
    with pytest.raises(ValueError, match="cycle"):
        plots.plot_model_graph(cyclic, tmp_path / "g.png")
    dup = [layer("a", "Dense", [None, 1], 2, []), layer("a", "Dense", [None, 1], 2, ["a"])]
    with pytest.raises(ValueError, match="duplicate"):
        plots.plot_model_graph(dup, tmp_path / "g.png")
    assert not list(tmp_path.iterdir())


def test_model_graph_empty(tmp_path: Path) -> None:
    assert_png(plots.plot_model_graph([], tmp_path / "g.png"), min_size=(100, 100))


# --- atomic writes and isolation ---------------------------------------------------------------


@pytest.fixture
def failing_print_png(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def boom(self: Any, filename_or_obj: Any, *args: Any, **kwargs: Any) -> None:
        filename_or_obj.write(PNG_SIGNATURE + b"half a picture")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(FigureCanvasAgg, "print_png", boom)
    yield


@pytest.mark.usefixtures("failing_print_png")
@pytest.mark.parametrize("which", ["curves", "confusion", "misclassified", "graph"])
def test_failure_mid_write_leaves_no_file(tmp_path: Path, which: str) -> None:
    out = tmp_path / "plots" / f"{which}.png"
    with pytest.raises(RuntimeError, match="disk on fire"):
        if which == "curves":
            plots.plot_learning_curves(HISTORY, out)
        elif which == "confusion":
            plots.plot_confusion_matrix(confusion(), out)
        elif which == "misclassified":
            plots.plot_misclassified(np.zeros((1, 28, 28)), [1], [2], [0.9], out)
        else:
            plots.plot_model_graph(branching_graph(), out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_failure_keeps_previous_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = plots.plot_learning_curves(HISTORY, tmp_path / "curves.png")
    before = out.read_bytes()

    def boom(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(FigureCanvasAgg, "print_png", boom)
    with pytest.raises(OSError):
        plots.plot_learning_curves({"loss": [1.0]}, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_creates_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "run" / "plots" / "curves.png"
    assert_png(plots.plot_learning_curves(HISTORY, out))


def test_import_is_lazy_and_pyplot_free(tmp_path: Path) -> None:
    """Importing the module must not import matplotlib (``--help`` stays instant), and plotting
    must not go through pyplot (no GUI backend, no global figure registry)."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import mnistctl.ui.plots as plots
        assert "matplotlib" not in sys.modules, "matplotlib imported at module level"
        plots.plot_learning_curves({{"loss": [1.0, 0.5]}}, Path({str(tmp_path)!r}) / "c.png")
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert_png(tmp_path / "c.png")
