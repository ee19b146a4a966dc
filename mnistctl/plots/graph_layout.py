"""Layered layout of a model graph, in pure Python (no Graphviz).

Each layer's level is its longest path from an input (one row per level, top to bottom).
Edges spanning several levels get waypoints ("dummy" nodes) that occupy their own slot in the
levels they pass, so they never run through a box. Within a level, the order comes from
barycentre sweeps (keeping the ordering with the fewest crossings) and the x positions from
weighted isotonic regression towards the neighbours (so boxes never overlap).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DUMMY_WIDTH = 0.15  # in box widths
GAP = 0.3  # horizontal gap between boxes, in box widths


@dataclass
class Node:
    key: str
    level: int
    kind: str  # "layer", "input" (referenced but not listed) or "dummy" (long-edge waypoint)
    layer: Mapping[str, Any] = field(default_factory=dict)
    x: float = 0.0  # in box widths
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)


@dataclass
class GraphLayout:
    nodes: dict[str, Node]
    levels: list[list[str]]  # node keys per level, left to right
    edges: list[list[str]]  # each original edge: [source, waypoint..., target]


@dataclass
class _Layers:
    names: list[str]  # in the given (topological) order
    by_name: dict[str, Mapping[str, Any]]
    inputs_of: dict[str, list[str]]
    implicit: list[str]  # input names that are not listed layers

    @classmethod
    def of(cls, layers: Sequence[Mapping[str, Any]]) -> _Layers:
        names: list[str] = []
        by_name: dict[str, Mapping[str, Any]] = {}
        for i, layer in enumerate(layers):
            name = str(layer.get("name", f"layer_{i}"))
            if name in by_name:
                raise ValueError(f"duplicate layer name {name!r} in model graph")
            by_name[name] = layer
            names.append(name)
        inputs_of = {name: _input_names(by_name[name].get("inputs")) for name in names}
        implicit = [src for name in names for src in inputs_of[name] if src not in by_name]
        return cls(names, by_name, inputs_of, list(dict.fromkeys(implicit)))


def _input_names(inputs: Any) -> list[str]:
    if not inputs:
        return []
    if isinstance(inputs, str):  # one input, not a list of them
        return [inputs]
    return [str(src) for src in inputs]


def layout_graph(layers: Sequence[Mapping[str, Any]]) -> GraphLayout:
    """Levels, order within levels and x positions for ``layers`` (each ``{"name", "inputs",
    ...}``); ``ValueError`` on a duplicate name or a cycle."""
    graph = _Layers.of(layers)
    depth = _depths(graph)
    nodes: dict[str, Node] = {}
    for src in graph.implicit:
        nodes[src] = Node(src, 0, "input", {"name": src, "type": "Input"})
    for name in graph.names:
        nodes[name] = Node(name, depth[name], "layer", graph.by_name[name])
    n_levels = 1 + max((nd.level for nd in nodes.values()), default=0)
    levels: list[list[str]] = [[] for _ in range(n_levels)]
    for key in nodes:  # implicit inputs first, then layers in the given order
        levels[nodes[key].level].append(key)
    edges = _add_edges(graph, nodes, levels)
    _order_levels(nodes, levels)
    _assign_x(nodes, levels)
    return GraphLayout(nodes, levels, edges)


def _depths(graph: _Layers) -> dict[str, int]:
    """Longest path from an input, for every layer (iterative DFS: no recursion limit)."""
    depth: dict[str, int] = dict.fromkeys(graph.implicit, 0)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in graph.names:
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            name, i = stack.pop()
            if i == 0:
                if state.get(name) == 2:
                    continue
                if state.get(name) == 1:
                    raise ValueError(f"model graph has a cycle through layer {name!r}")
                state[name] = 1
            srcs = [s for s in graph.inputs_of[name] if s in graph.by_name]
            if i < len(srcs):
                stack.append((name, i + 1))
                src = srcs[i]
                if state.get(src) == 1:
                    raise ValueError(f"model graph has a cycle through layer {src!r}")
                if state.get(src) != 2:
                    stack.append((src, 0))
                continue
            depth[name] = 1 + max((depth[s] for s in graph.inputs_of[name]), default=-1)
            state[name] = 2
    return depth


def _add_edges(graph: _Layers, nodes: dict[str, Node], levels: list[list[str]]) -> list[list[str]]:
    """Every edge as a path joining adjacent levels, through a waypoint per level skipped."""
    edges: list[list[str]] = []
    for name in graph.names:
        for src in graph.inputs_of[name]:
            path = [src]
            for lvl in range(nodes[src].level + 1, nodes[name].level):
                key = f"\0{src}\0{name}\0{len(edges)}\0{lvl}"
                nodes[key] = Node(key, lvl, "dummy")
                levels[lvl].append(key)
                path.append(key)
            path.append(name)
            for a, b in itertools.pairwise(path):
                nodes[a].succs.append(b)
                nodes[b].preds.append(a)
            edges.append(path)
    return edges


def crossings(nodes: dict[str, Node], levels: list[list[str]]) -> int:
    """Edge crossings between adjacent levels (every edge joins adjacent levels)."""
    total = 0
    for upper, lower in itertools.pairwise(levels):
        upos = {k: i for i, k in enumerate(upper)}
        lpos = {k: i for i, k in enumerate(lower)}
        pairs = [(upos[k], lpos[s]) for k in upper for s in nodes[k].succs]
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _sweep(nodes: dict[str, Node], levels: list[list[str]], downward: bool) -> None:
    """Sort each level by the barycentre of its neighbours in the previous level."""
    n_levels = len(levels)
    for lvl in range(1, n_levels) if downward else range(n_levels - 2, -1, -1):
        ref = levels[lvl - 1] if downward else levels[lvl + 1]
        pos = {k: i for i, k in enumerate(ref)}
        keys = levels[lvl]
        scale = len(ref) / max(len(keys), 1)
        bary: dict[str, float] = {}
        for i, k in enumerate(keys):
            nbrs = nodes[k].preds if downward else nodes[k].succs
            bary[k] = sum(pos[p] for p in nbrs) / len(nbrs) if nbrs else i * scale
        keys.sort(key=bary.__getitem__)


def _order_levels(nodes: dict[str, Node], levels: list[list[str]]) -> None:
    """Barycentre sweeps, alternately down and up, keeping the ordering with fewest
    crossings."""
    best = [list(lv) for lv in levels]
    best_crossings = crossings(nodes, levels)
    for i in range(8):
        if best_crossings == 0:
            break
        _sweep(nodes, levels, downward=i % 2 == 0)
        c = crossings(nodes, levels)
        if c < best_crossings:
            best, best_crossings = [list(lv) for lv in levels], c
    levels[:] = best


def separation(a: Node, b: Node) -> float:
    """The least distance between the centres of neighbours ``a`` and ``b``."""
    width_a = DUMMY_WIDTH if a.kind == "dummy" else 1.0
    width_b = DUMMY_WIDTH if b.kind == "dummy" else 1.0
    gap = GAP if a.kind != "dummy" or b.kind != "dummy" else DUMMY_WIDTH
    return (width_a + width_b) / 2 + gap


def isotonic(y: list[float], w: list[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for value, weight in zip(y, w, strict=True):
        blocks.append([value, weight, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    fitted: list[float] = []
    for value, _, count in blocks:
        fitted.extend([value] * int(count))
    return fitted


def place_level(nodes: dict[str, Node], keys: list[str], desired: dict[str, float]) -> None:
    """Put the level's nodes as close to ``desired`` as the order and separations allow."""
    if not keys:
        return
    offsets = [0.0]
    for a, b in itertools.pairwise(keys):
        offsets.append(offsets[-1] + separation(nodes[a], nodes[b]))
    weights = [0.3 if nodes[k].kind == "dummy" else 1.0 for k in keys]
    fitted = isotonic([desired[k] - off for k, off in zip(keys, offsets, strict=True)], weights)
    for k, z, off in zip(keys, fitted, offsets, strict=True):
        nodes[k].x = z + off


def _assign_x(nodes: dict[str, Node], levels: list[list[str]]) -> None:
    """Start packed and centred, then pull each node towards its neighbours, alternately
    from above and from below; finally shift so the leftmost centre is at 0."""
    for keys in levels:
        place_level(nodes, keys, {k: 0.0 for k in keys})
        shift = (nodes[keys[0]].x + nodes[keys[-1]].x) / 2 if keys else 0.0
        for k in keys:
            nodes[k].x -= shift
    n_levels = len(levels)
    for it in range(12):
        downward = it % 2 == 0
        for lvl in range(1, n_levels) if downward else range(n_levels - 2, -1, -1):
            desired: dict[str, float] = {}
            for k in levels[lvl]:
                nbrs = nodes[k].preds if downward else nodes[k].succs
                desired[k] = sum(nodes[p].x for p in nbrs) / len(nbrs) if nbrs else nodes[k].x
            place_level(nodes, levels[lvl], desired)
    xmin = min((nd.x for nd in nodes.values()), default=0.0)
    for nd in nodes.values():
        nd.x -= xmin
