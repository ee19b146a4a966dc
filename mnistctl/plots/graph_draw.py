"""Drawing the model graph: boxes (name, type, output shape, parameters) joined by arrows.

A layer given with its ``args`` (the spec's, defaults filled in) says on its type line what the
lesson is about: its activation (``Dense · sigmoid``), and a convolution's kernel size and
strides or a pooling layer's pool size (``Conv2D · 3×3, stride 2 · relu``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from mnistctl.plots.common import (
    MUTED,
    TEXT,
    capped_dpi,
    ellipsize,
    message_figure,
    new_figure,
    save_figure,
    text_width_in,
)
from mnistctl.plots.graph_layout import GraphLayout, Node, layout_graph
from mnistctl.spec import model

NAME_SIZE, DETAIL_SIZE = 9.5, 8.5
BOX_H = 0.78  # inches; the box width fits the widest text
ROW_H = BOX_H + 0.55
MARGIN = 0.3
MAX_TITLE = 100  # characters

_TYPE_COLOURS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("input",), "#e9e9e9"),
    (("conv",), "#cfe2f3"),
    (("pool",), "#d9ead3"),
    (("flatten", "reshape", "permute", "repeat"), "#fff2cc"),
    (("dense",), "#fce5cd"),
    (("dropout", "normalization", "activation", "relu", "softmax", "noise", "rescaling"),
     "#f4f4f4"),
)  # fmt: skip
_MERGE_TYPES = frozenset(
    {"add", "concatenate", "multiply", "average", "maximum", "minimum", "subtract", "dot"}
)


def box_colour(layer_type: str) -> str:
    low = layer_type.lower()
    if low in _MERGE_TYPES:  # exact: "ZeroPadding2D" contains "add"
        return "#e4d4f4"
    for tokens, colour in _TYPE_COLOURS:
        if any(t in low for t in tokens):
            return colour
    return "#eeeeee"


def format_shape(shape: Any) -> str:
    """``(None, 28, 28, 1)``; several outputs joined by commas; nothing for no shape."""
    if shape is None:
        return ""
    if isinstance(shape, Sequence) and not isinstance(shape, str):
        if shape and all(isinstance(s, Sequence) and not isinstance(s, str) for s in shape):
            return ", ".join(format_shape(s) for s in shape)
        return model.format_shape(shape)
    return str(shape)


def param_count(layer: Mapping[str, Any]) -> int | None:
    """The layer's parameter count, or None when it has no finite one."""
    params = layer.get("params")
    if isinstance(params, int | float) and math.isfinite(params):
        return int(params)
    return None


def _pair(value: Any) -> tuple[int, int] | None:
    """An ``int`` or a pair of ints (a window or a step) as a pair; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def layer_details(layer_type: str, args: Mapping[str, Any]) -> list[str]:
    """What a box says after its type: a window (``3×3``, a convolution's kernel or a pooling
    layer's pool), a step other than the window's own (``stride 2``), and the activation of
    a layer that has one (``linear`` when it is none)."""
    parts: list[str] = []
    window = _pair(args.get("kernel_size", args.get("pool_size")))
    if window is not None and not layer_type.startswith("Global"):
        text = f"{window[0]}×{window[1]}"
        step = _pair(args.get("strides"))
        default_step = (1, 1) if "kernel_size" in args else window
        if step is not None and step != default_step:
            text += f", stride {step[0]}" if step[0] == step[1] else f", stride {step[0]}×{step[1]}"
        parts.append(text)
    if "activation" in args:
        activation = args["activation"]
        parts.append(str(activation) if isinstance(activation, str) and activation else "linear")
    return parts


def box_lines(node: Node) -> tuple[str, str, str]:
    """The three lines of a box: name, type (with its details), and output shape · parameters."""
    layer = node.layer
    name = str(layer.get("name", node.key))
    kind = str(layer.get("type", "")) or "?"
    args = layer.get("args")
    if isinstance(args, Mapping):
        kind = "  ·  ".join([kind, *layer_details(kind, args)])
    parts = []
    shape = format_shape(layer.get("output_shape"))
    if shape:
        parts.append(shape)
    count = param_count(layer)
    if count is not None and node.kind != "input":
        parts.append(f"{count:,} param" + ("" if count == 1 else "s"))
    return ellipsize(name, 34), ellipsize(kind, 44), ellipsize("  ·  ".join(parts), 44)


def heading_text(real: Sequence[Node], title: str) -> str:
    """``title — 7 layers, 54,834 parameters``."""
    layers = [nd for nd in real if nd.kind == "layer"]
    total = sum(param_count(nd.layer) or 0 for nd in layers)
    n = len(layers)
    counts = f"{n} layer{'s' if n != 1 else ''}, {total:,} parameters"
    return f"{ellipsize(title, MAX_TITLE)} — {counts}" if title else counts


@dataclass
class _Fonts:
    name: FontProperties
    detail: FontProperties
    heading: FontProperties

    @classmethod
    def of(cls, titled: bool) -> _Fonts:
        return cls(
            FontProperties(size=NAME_SIZE, weight="bold"),
            FontProperties(size=DETAIL_SIZE),
            FontProperties(size=12 if titled else 9),
        )


@dataclass
class _Geometry:
    """Sizes in inches; node x positions (in box widths) and levels mapped to the figure."""

    box_w: float
    title_h: float
    width: float
    height: float
    x_shift: float

    @classmethod
    def of(cls, graph: GraphLayout, box_w: float, heading_w: float, titled: bool) -> _Geometry:
        xs = [nd.x for nd in graph.nodes.values()]
        span = (max(xs) - min(xs)) if xs else 0.0
        title_h = 0.55 if titled else 0.15
        width = max(span * box_w + box_w, heading_w, 3.5) + 2 * MARGIN
        height = len(graph.levels) * ROW_H - (ROW_H - BOX_H) + 2 * MARGIN + title_h
        x_shift = (width - (span * box_w + box_w)) / 2 + box_w / 2
        return cls(box_w, title_h, width, height, x_shift)

    def cx(self, node: Node) -> float:
        return self.x_shift + node.x * self.box_w

    def cy(self, node: Node) -> float:
        return self.height - self.title_h - MARGIN - BOX_H / 2 - node.level * ROW_H


def build_model_graph_figure(layers: Sequence[Mapping[str, Any]], title: str = "") -> Figure:
    """The figure of :func:`plot_model_graph`, not saved (its dpi is the one to save at)."""
    if not layers:
        return message_figure("model has no layers", title)
    graph = layout_graph(layers)
    real = [nd for nd in graph.nodes.values() if nd.kind != "dummy"]
    lines = {nd.key: box_lines(nd) for nd in real}
    fonts = _Fonts.of(bool(title))
    heading = heading_text(real, title)
    widest = max(
        max(text_width_in(a, fonts.name), text_width_in(b, fonts.detail),
            text_width_in(c, fonts.detail))
        for a, b, c in lines.values()
    )  # fmt: skip
    geo = _Geometry.of(
        graph, max(1.8, widest + 0.3), text_width_in(heading, fonts.heading), bool(title)
    )
    fig = new_figure(geo.width, geo.height, constrained=False)
    fig.set_dpi(capped_dpi(geo.width, geo.height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, geo.width)
    ax.set_ylim(0, geo.height)
    ax.set_axis_off()
    _draw_edges(ax, graph, geo)
    _draw_boxes(ax, real, lines, geo, fonts)
    ax.text(
        geo.width / 2, geo.height - MARGIN / 2 - geo.title_h / 2 + 0.05, heading, ha="center",
        va="center", fontproperties=fonts.heading, color=TEXT if title else MUTED,
    )  # fmt: skip
    return fig


def plot_model_graph(layers: Sequence[Mapping[str, Any]], out: Path, title: str = "") -> Path:
    """Draw the model as boxes (name, type, output shape, parameters) joined by arrows.

    ``layers`` is in topological order, each ``{"name", "type", "output_shape", "params",
    "inputs"}`` and optionally ``"args"`` (the layer's arguments: see the module), where
    ``inputs`` names earlier layers (an input name that is not itself a listed layer, such as
    Keras' input tensor, is drawn as a dashed input box).

    We draw the graph ourselves rather than with ``keras.utils.plot_model``: that needs
    Graphviz (pydot and the ``dot`` binary) and TensorFlow, while this needs only matplotlib,
    so it works from a saved summary anywhere. Layout: each layer's depth is its longest path
    from an input (one row per depth, top to bottom); parallel branches sit side by side;
    edges that skip rows (skip connections) run through their own slot in the rows they pass
    and are drawn under the boxes, so they never hide one. The figure grows with the depth
    and width of the graph (the resolution drops so that no side exceeds 30,000 pixels).
    """
    return save_figure(build_model_graph_figure(layers, title), out)


def _spread(count: int, box_w: float) -> list[float]:
    """Offsets from the box centre for ``count`` edge ends along one side of a box."""
    if count <= 1:
        return [0.0]
    half = min(0.32, 0.12 * (count - 1)) * box_w
    return [float(v) for v in np.linspace(-half, half, count)]


def _edge_ends(graph: GraphLayout, box_w: float) -> tuple[dict[int, float], dict[int, float]]:
    """Per edge, the x offsets of its start (on the source) and end (on the target), spread
    so that several edges meeting one box do not share a point, in their neighbours' order."""
    out_ends: dict[int, float] = {}
    in_ends: dict[int, float] = {}
    by_source: dict[str, list[int]] = {}
    by_target: dict[str, list[int]] = {}
    for e, path in enumerate(graph.edges):
        by_source.setdefault(path[0], []).append(e)
        by_target.setdefault(path[-1], []).append(e)
    for group, ends, nxt in ((by_source, out_ends, 1), (by_target, in_ends, -2)):
        for edge_ids in group.values():
            neighbour_x = {e: graph.nodes[graph.edges[e][nxt]].x for e in edge_ids}
            edge_ids.sort(key=neighbour_x.__getitem__)
            for e, offset in zip(edge_ids, _spread(len(edge_ids), box_w), strict=True):
                ends[e] = offset
    return out_ends, in_ends


def _edge_path(points: Sequence[tuple[float, float]]) -> MplPath:
    """Through ``points`` (source, then two per waypoint, then target): S-curves between
    rows, vertical at both ends, and straight lines through a waypoint's row."""
    verts: list[tuple[float, float]] = [points[0]]
    codes = [MplPath.MOVETO]
    for i in range(1, len(points)):
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        if i % 2 == 1:  # between rows
            mid = (y0 + y1) / 2
            verts += [(x0, mid), (x1, mid), (x1, y1)]
            codes += [MplPath.CURVE4] * 3
        else:  # passing through a row, in the waypoint's own slot
            verts.append((x1, y1))
            codes.append(MplPath.LINETO)
    return MplPath(verts, codes)


def _draw_edges(ax: Any, graph: GraphLayout, geo: _Geometry) -> None:
    out_ends, in_ends = _edge_ends(graph, geo.box_w)
    for e, path in enumerate(graph.edges):
        src, dst = graph.nodes[path[0]], graph.nodes[path[-1]]
        points = [(geo.cx(src) + out_ends[e], geo.cy(src) - BOX_H / 2)]
        for key in path[1:-1]:
            waypoint = graph.nodes[key]
            points.append((geo.cx(waypoint), geo.cy(waypoint) + BOX_H / 2))
            points.append((geo.cx(waypoint), geo.cy(waypoint) - BOX_H / 2))
        points.append((geo.cx(dst) + in_ends[e], geo.cy(dst) + BOX_H / 2))
        ax.add_patch(
            FancyArrowPatch(
                path=_edge_path(points), arrowstyle="-|>", mutation_scale=11,
                color="#555555", lw=1.2, zorder=1, shrinkA=0, shrinkB=0,
            )
        )  # fmt: skip


def _draw_boxes(
    ax: Any,
    real: Sequence[Node],
    lines: Mapping[str, tuple[str, str, str]],
    geo: _Geometry,
    fonts: _Fonts,
) -> None:
    for nd in real:
        name, kind, detail = lines[nd.key]
        x, y = geo.cx(nd), geo.cy(nd)
        ax.add_patch(
            FancyBboxPatch(
                (x - geo.box_w / 2, y - BOX_H / 2), geo.box_w, BOX_H,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=box_colour(str(nd.layer.get("type", ""))),
                edgecolor="#888888" if nd.kind == "input" else "#555555",
                linestyle="--" if nd.kind == "input" else "-", lw=1.0, zorder=3,
            )
        )  # fmt: skip
        ax.text(x, y + 0.22, name, ha="center", va="center", fontproperties=fonts.name,
                color=TEXT, zorder=4)  # fmt: skip
        ax.text(x, y, kind, ha="center", va="center", fontproperties=fonts.detail,
                color="#444444", zorder=4)  # fmt: skip
        ax.text(x, y - 0.22, detail, ha="center", va="center", fontproperties=fonts.detail,
                color=MUTED, zorder=4)  # fmt: skip
