"""Model graph: the layout (levels, order, positions) and the drawing (boxes, texts, arrows)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from mnistctl.plots import build_model_graph_figure, plot_model_graph
from mnistctl.plots.common import DPI, MAX_PIXELS
from mnistctl.plots.graph_draw import ROW_H, box_colour, format_shape
from mnistctl.plots.graph_layout import crossings, isotonic, layout_graph


def layer(name: str, kind: str, shape: list[Any], params: Any, inputs: Any) -> dict[str, Any]:
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


def boxes(fig: Any) -> dict[str, Any]:
    """Layer name -> its box, matched by the bold name text at the top of the box."""
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    names = [t for t in ax.texts if t.get_fontweight() == "bold"]
    found = {}
    for text in names:
        x, y = text.get_position()
        (box,) = [b for b in rects if b.get_x() <= x <= b.get_x() + b.get_width()
                  and b.get_y() <= y <= b.get_y() + b.get_height()]  # fmt: skip
        found[text.get_text()] = box
    assert len(found) == len(rects)
    return found


def box_texts(fig: Any, box: Any) -> list[str]:
    """The texts inside ``box``, top to bottom."""
    inside = [
        t for t in fig.axes[0].texts
        if box.get_x() <= t.get_position()[0] <= box.get_x() + box.get_width()
        and box.get_y() <= t.get_position()[1] <= box.get_y() + box.get_height()
    ]  # fmt: skip
    return [t.get_text() for t in sorted(inside, key=lambda t: -t.get_position()[1])]


def arrows(fig: Any) -> list[Any]:
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def points(arrow: Any) -> np.ndarray[Any, Any]:
    """The points (data units) the arrow's path goes through, arrow head included."""
    path = arrow.get_path()
    keep = (path.codes != MplPath.CLOSEPOLY) & (path.codes != MplPath.STOP)
    return np.asarray(path.vertices[keep])


def centre(box: Any) -> tuple[float, float]:
    return box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2


def heading(fig: Any) -> str:
    (top,) = [t for t in fig.axes[0].texts if t.get_position()[1] == max(
        u.get_position()[1] for u in fig.axes[0].texts)]  # fmt: skip
    return str(top.get_text())


# --- drawing -----------------------------------------------------------------------------------


def test_boxes_texts_and_arrows() -> None:
    fig = build_model_graph_figure(branching_graph(), title="branchy")
    found = boxes(fig)
    assert set(found) == {"input", "conv_a", "conv_b", "conv_c", "add", "flatten", "dense"}
    assert box_texts(fig, found["conv_b"]) == [
        "conv_b",
        "Conv2D",
        "(None, 26, 26, 8)  ·  584 params",
    ]
    assert box_texts(fig, found["dense"])[2] == "(None, 10)  ·  54,090 params"
    assert heading(fig) == "branchy — 7 layers, 54,834 parameters"
    assert len(arrows(fig)) == 7
    assert to_hex(found["conv_b"].get_facecolor()) == "#cfe2f3"  # a convolution
    assert to_hex(found["add"].get_facecolor()) == "#e4d4f4"  # a merge
    # rows top to bottom by depth; the two branches side by side
    y = {name: centre(box)[1] for name, box in found.items()}
    assert y["input"] > y["conv_a"] == y["conv_c"] > y["conv_b"] > y["add"] > y["dense"]
    x = {name: centre(box)[0] for name, box in found.items()}
    assert abs(x["conv_a"] - x["conv_c"]) >= found["conv_a"].get_width()
    # every box inside the figure
    width, height = fig.get_size_inches()
    assert all(b.get_x() >= 0 and b.get_x() + b.get_width() <= width for b in found.values())
    assert all(b.get_y() >= 0 and b.get_y() + b.get_height() <= height for b in found.values())


def test_skip_edge_passes_beside_the_box_it_skips() -> None:
    fig = build_model_graph_figure(branching_graph())
    conv_b = boxes(fig)["conv_b"]
    spans = {a: np.ptp(points(a)[:, 1]) for a in arrows(fig)}
    (skip,) = [a for a, span in spans.items() if span > ROW_H]  # skips a row
    top, bottom = conv_b.get_y() + conv_b.get_height(), conv_b.get_y()
    passing = [(vx, vy) for vx, vy in points(skip) if bottom <= vy <= top]
    assert passing
    assert all(not conv_b.get_x() <= vx <= conv_b.get_x() + conv_b.get_width()
               for vx, _ in passing)  # fmt: skip


def test_unlisted_input_missing_params_and_long_names() -> None:
    long_name = "a_very_long_layer_name_that_goes_on_and_on_forever"
    layers = [
        layer("Conv1", "Conv2D", [None, 26, 26, 32], 320, ["input_tensor"]),
        {"name": "Split", "type": "Lambda", "output_shape": [[None, 13], [None, 13]],
         "inputs": "Conv1"},  # no params key, two outputs, a single input as a string
        layer(long_name, "Dense", [None, 10], 10**7, ["Split"]),
    ]  # fmt: skip
    fig = build_model_graph_figure(layers)
    found = boxes(fig)
    assert box_texts(fig, found["input_tensor"]) == ["input_tensor", "Input", ""]
    assert found["input_tensor"].get_linestyle() == "--"
    assert found["Conv1"].get_linestyle() == "-"
    assert box_texts(fig, found["Split"]) == ["Split", "Lambda", "(None, 13), (None, 13)"]
    short = long_name[:33] + "…"
    assert box_texts(fig, found[short])[2] == "(None, 10)  ·  10,000,000 params"
    assert heading(fig) == "3 layers, 10,000,320 parameters"
    assert len(arrows(fig)) == 3


@pytest.mark.parametrize("params", [math.inf, -math.inf, math.nan, "many", None])
def test_non_finite_params_are_left_out(params: Any) -> None:
    layers = [layer("a", "Dense", [None, 4], 20, []), layer("b", "Dense", [None, 1], params, ["a"])]
    fig = build_model_graph_figure(layers, title="t")
    assert box_texts(fig, boxes(fig)["b"]) == ["b", "Dense", "(None, 1)"]
    assert heading(fig) == "t — 2 layers, 20 parameters"


def test_long_title_is_shortened() -> None:
    fig = build_model_graph_figure(linear_graph(2), title="t" * 1000)
    assert heading(fig) == "t" * 99 + "… — 2 layers, 0 parameters"
    assert fig.get_size_inches()[0] < 20


def test_linear_graph_is_one_tall_column() -> None:
    fig = build_model_graph_figure(linear_graph(10))
    width, height = fig.get_size_inches()
    assert height > 2 * width
    assert len({round(centre(b)[0], 9) for b in boxes(fig).values()}) == 1
    assert fig.dpi == DPI


def test_huge_graph_caps_the_resolution() -> None:
    fig = build_model_graph_figure(linear_graph(400))
    assert fig.dpi < DPI
    assert max(fig.get_size_inches()) * fig.dpi <= MAX_PIXELS + 1e-6


def test_empty_model_says_so() -> None:
    fig = build_model_graph_figure([], title="t")
    assert [t.get_text() for t in fig.axes[0].texts] == ["model has no layers"]


def test_rejects_cycles_and_duplicates(tmp_path: Path) -> None:
    cyclic = [layer("a", "Dense", [None, 1], 2, ["b"]), layer("b", "Dense", [None, 1], 2, ["a"])]
    with pytest.raises(ValueError, match="cycle"):
        plot_model_graph(cyclic, tmp_path / "g.png")
    with pytest.raises(ValueError, match="cycle"):
        plot_model_graph([layer("a", "Dense", [None, 1], 2, ["a"])], tmp_path / "g.png")
    dup = [layer("a", "Dense", [None, 1], 2, []), layer("a", "Dense", [None, 1], 2, ["a"])]
    with pytest.raises(ValueError, match="duplicate"):
        plot_model_graph(dup, tmp_path / "g.png")
    assert not list(tmp_path.iterdir())


def test_box_colours_and_shapes() -> None:
    assert box_colour("Add") == box_colour("concatenate") == "#e4d4f4"
    assert box_colour("ZeroPadding2D") == "#eeeeee"  # contains "add", is no merge
    assert box_colour("MaxPooling2D") == "#d9ead3"
    assert format_shape([None, 10]) == "(None, 10)" and format_shape([5]) == "(5,)"
    assert format_shape(None) == "" and format_shape("odd") == "odd"


# --- layout ------------------------------------------------------------------------------------


def test_layout_branching_puts_branches_side_by_side() -> None:
    g = layout_graph(branching_graph())
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
    assert crossings(g.nodes, g.levels) == 0
    assert min(x.values()) == 0.0


def test_layout_never_overlaps_boxes() -> None:
    layers = [*branching_graph()]
    layers += [
        layer("b1", "Conv2D", [None, 8], 1, ["dense"]),
        layer("b2", "Conv2D", [None, 8], 1, ["dense"]),
        layer("b3", "Conv2D", [None, 8], 1, ["b2"]),
        layer("cat", "Concatenate", [None, 16], 0, ["b1", "b3", "dense", "input"]),
    ]
    g = layout_graph(layers)
    for keys in g.levels:
        xs = sorted((g.nodes[k].x, g.nodes[k].kind) for k in keys)
        for (xa, ka), (xb, kb) in itertools.pairwise(xs):
            # boxes are 1 wide: boxes must not touch, an edge waypoint must pass outside a box
            needed = {0: 1.2, 1: 0.6, 2: 0.1}[(ka, kb).count("dummy")]
            assert xb - xa >= needed, (keys, xs)


def test_layout_linear_graph_is_straight() -> None:
    g = layout_graph(linear_graph(10))
    assert [len(keys) for keys in g.levels] == [1] * 10
    assert {round(nd.x, 9) for nd in g.nodes.values()} == {0.0}


def test_layout_unlisted_input_and_empty() -> None:
    g = layout_graph([layer("Conv1", "Conv2D", [None, 8], 1, ["input_tensor"])])
    assert g.nodes["input_tensor"].kind == "input" and g.nodes["Conv1"].level == 1
    empty = layout_graph([])
    assert empty.nodes == {} and empty.levels == [[]] and empty.edges == []


def test_isotonic_fit() -> None:
    assert isotonic([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]) == [1.0, 2.5, 2.5]
    assert isotonic([3.0, 1.0], [3.0, 1.0]) == [2.5, 2.5]
    assert isotonic([], []) == []
