"""What differs between the specs of runs: as ``--set`` paths where the models have the same
structure, as an aligned diff of their layer lists where they do not. No TensorFlow.

Used by ``mnistctl compare`` (``commands/compare.py``) and the HTML report alike; both render
the same ``SpecComparison``:

- ``compare_specs(specs, show_all=...)``: the whole answer for two or more resolved specs
  (plain dicts, as a run's ``spec.yaml`` holds them; ``as_compared`` makes one from a loaded
  ``Spec``): ``differences`` (``--set`` paths) and ``structure``.
- Same structure (the same layers in the same order: type, name and inputs each the same, and
  the same model outputs): every differing value is a ``--set`` path
  (``model.layers.hidden_1.units``), as ``--set`` would change it.
- Different structures (the DNN against the CNN): pairing layers by name or index would set a
  256-unit ``hidden_2`` against a 10-unit one and show ``model.layers.6.type`` as a setting.
  Instead the layer lists are aligned (layers of one kind paired in order, the most alike
  first) and shown side by side, one row per layer written as ``name: Type(arguments)``, each
  row ``same``, ``changed`` (same type, other arguments or name), ``only_first`` or
  ``only_other``; the ``--set`` paths keep what is not the model's layers (data, compile,
  train, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mnistctl.spec import Spec


class _Absent:
    """A spec value that one run has and another has not."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
LAYERS = "model.layers"  # the --set path prefix of the layer list
OUTPUTS = "model.outputs"


@dataclass(frozen=True)
class Difference:
    path: str  # a --set path: model.layers.hidden_1.units
    values: tuple[Any, ...]  # one per spec; ABSENT where a spec has no such value
    differs: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "values": [None if v is ABSENT else v for v in self.values],
            "differs": self.differs,
        }


@dataclass(frozen=True)
class AlignedRow:
    """One line of two aligned layer lists: ``first`` (the first spec's layer) beside
    ``other`` (the other spec's), each ``name: Type(arguments)`` or None where that spec has
    no layer there."""

    op: str  # same | changed | only_first | only_other
    first: str | None
    other: str | None

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "first": self.first, "other": self.other}


@dataclass(frozen=True)
class Structure:
    """The specs' layer lists: ``same`` when they have one structure; ``layers[i]`` the rows
    of spec ``i``; ``aligned[j]`` spec ``j + 1`` aligned with the first (empty when same)."""

    same: bool
    layers: tuple[tuple[str, ...], ...]
    aligned: tuple[tuple[AlignedRow, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "same": self.same,
            "layers": [list(rows) for rows in self.layers],
            "aligned": [
                {"first": 0, "other": j + 1, "rows": [row.to_json() for row in rows]}
                for j, rows in enumerate(self.aligned)
            ],
        }


@dataclass(frozen=True)
class SpecComparison:
    """``differences``: by ``--set`` path (without the model's layers when the structures
    differ: ``structure`` shows those)."""

    differences: list[Difference]
    structure: Structure


def compare_specs(specs: Sequence[Mapping[str, Any]], *, show_all: bool) -> SpecComparison:
    """What differs between ``specs`` (resolved spec dicts): see the module's docstring."""
    structure = layer_structure(specs)
    differences = spec_differences(specs, show_all=show_all)
    if not structure.same:
        differences = [d for d in differences if not _in_model_layers(d.path)]
    return SpecComparison(differences, structure)


def _in_model_layers(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in (LAYERS, OUTPUTS))


# --- the layer lists ----------------------------------------------------------------------------


def layer_structure(specs: Sequence[Mapping[str, Any]]) -> Structure:
    """Each spec's layers as rows, and whether they share one structure; if not, each other
    spec's layers aligned with the first's."""
    lists = [_layers(spec) for spec in specs]
    rows = tuple(tuple(layer_row(layer) for layer in layers) for layers in lists)
    outputs = [_model(spec).get("outputs") for spec in specs]
    keys = [[_key(layer) for layer in layers] for layers in lists]
    same = all(k == keys[0] for k in keys[1:]) and all(o == outputs[0] for o in outputs[1:])
    if same:
        return Structure(True, rows, ())
    aligned = tuple(align(lists[0], other) for other in lists[1:])
    return Structure(False, rows, aligned)


def align(
    first: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]
) -> tuple[AlignedRow, ...]:
    """Two layer lists side by side, in order: only layers of one kind (type and explicit
    inputs) are paired, the pairing that keeps the most alike in order (a weighted longest
    common subsequence: a pair scores 1, plus up to 1 for the arguments and name they share);
    the rest stand alone, the first spec's before the other's."""
    pairs = _best_pairs(first, other)
    out: list[AlignedRow] = []
    i = j = 0
    for pi, pj in [*pairs, (len(first), len(other))]:
        out += [AlignedRow("only_first", layer_row(x), None) for x in first[i:pi]]
        out += [AlignedRow("only_other", None, layer_row(y)) for y in other[j:pj]]
        if pi < len(first) and pj < len(other):
            x, y = layer_row(first[pi]), layer_row(other[pj])
            out.append(AlignedRow("same" if x == y else "changed", x, y))
        i, j = pi + 1, pj + 1
    return tuple(out)


def _best_pairs(
    first: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]
) -> list[tuple[int, int]]:
    """The index pairs of the alignment (see ``align``), by dynamic programming."""
    n, m = len(first), len(other)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            alike = _alike(first[i], other[j])
            score[i][j] = max(best, score[i + 1][j + 1] + alike) if alike else best
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        alike = _alike(first[i], other[j])
        if alike and score[i][j] == score[i + 1][j + 1] + alike:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _alike(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """0 for layers of different kinds; else 1 plus the share of keys with equal values."""
    if _kind(a) != _kind(b):
        return 0.0
    keys = (set(a) | set(b)) - {"type", "inputs"}
    same = sum(1 for k in keys if k in a and k in b and _same(a[k], b[k]))
    return 1.0 + (same / len(keys) if keys else 1.0)


def layer_row(layer: Mapping[str, Any]) -> str:
    """A layer as people read it: ``hidden_1: Dense(units=256, activation=sigmoid)``; a layer
    without a name is its type alone; explicit ``inputs`` are arguments like the others."""
    args = ", ".join(
        f"{key}={shown_value(value)}" for key, value in layer.items() if key not in ("type", "name")
    )
    call = f"{layer.get('type', '?')}({args})"
    name = layer.get("name")
    return f"{name}: {call}" if isinstance(name, str) else call


def _model(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    model = spec.get("model")
    return model if isinstance(model, Mapping) else {}


def _layers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    layers = _model(spec).get("layers")
    return [x for x in layers if isinstance(x, Mapping)] if isinstance(layers, list) else []


def _kind(layer: Mapping[str, Any]) -> str:
    """What pairs two layers of different specs: the type and the explicit inputs."""
    inputs = layer.get("inputs")
    return (
        f"{layer.get('type')}<-{json.dumps(inputs)}"
        if inputs is not None
        else str(layer.get("type"))
    )


def _key(layer: Mapping[str, Any]) -> tuple[str, Any]:
    """What makes two layers the same place in one structure: kind and name."""
    return _kind(layer), layer.get("name")


# --- --set paths -------------------------------------------------------------------------------


def spec_differences(specs: Sequence[Mapping[str, Any]], *, show_all: bool) -> list[Difference]:
    """Every spec value by ``--set`` path, in the order first met; only those that differ
    between the specs unless ``show_all``."""
    flat = [flatten(spec) for spec in specs]
    paths: dict[str, None] = {}
    for one in flat:
        paths.update(dict.fromkeys(one))
    out = []
    for path in paths:
        values = tuple(f.get(path, ABSENT) for f in flat)
        differs = any(not _same(values[0], v) for v in values[1:])
        if differs or show_all:
            out.append(Difference(path, values, differs))
    return out


def as_compared(spec: Spec) -> dict[str, Any]:
    """A run's resolved spec, with what a run trained before the classes and the preparation
    were recorded used (MNIST's digits, its digit preparation), so that only real
    differences show."""
    out = spec.resolved_dict()
    out["data"]["classes"] = list(spec.class_names)
    out["data"]["prepare"] = spec.target.mode
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested spec data -> ``{--set path: value}``. A list of mappings (layers, callbacks) is
    addressed by each item's name where it has a unique one, else by its index; other lists
    (shapes, metrics) are values."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        names = [item.get("name") for item in value]
        out = {}
        for index, item in enumerate(value):
            name = item.get("name")
            named = isinstance(name, str) and names.count(name) == 1 and not name.isdigit()
            rest = {k: v for k, v in item.items() if k != "name"} if named else item
            out.update(flatten(rest, f"{prefix}.{name if named else index}"))
        return out
    return {prefix: value}


def _same(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return (type(a) is type(b) and a == b) or (_number(a) and _number(b) and a == b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown_value(value: Any) -> str:
    """A spec value as a person reads it: YAML-like, on one line."""
    if value is ABSENT:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "), default=str)
