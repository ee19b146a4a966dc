"""Load, override, validate and resolve a spec into plain typed data. Never imports Keras.

``load_spec(path, overrides)`` runs every check that needs no TensorFlow: YAML, schema, graph,
shapes and data fit; it raises ``UserErrors`` with every problem found, each with its place.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema import Draft202012Validator

from mnistctl.errors import Location, PathPart, UserError, UserErrors
from mnistctl.spec.options import LOSSES
from mnistctl.spec.schema import build_schema
from mnistctl.spec.yamlload import Document, load_file, parse_value

if TYPE_CHECKING:
    from mnistctl.spec.graph import ModelInfo

DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {"dataset": "mnist", "path": None, "train_samples": None, "validation_split": 0.1},
    "compile": {"loss": "categorical_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]},
    "train": {"batch_size": 128, "epochs": 10, "seed": 0, "precision": "auto", "shuffle": True},
}


@dataclass(frozen=True)
class LayerSpec:
    name: str
    type: str
    inputs: tuple[str, ...]  # resolved: the previous layer when the spec names none
    args: dict[str, Any]  # the Keras arguments the spec gives (no defaults filled in)
    index: int
    explicit_inputs: bool = False


@dataclass
class Spec:
    """A resolved spec: every default filled in, every check passed."""

    name: str
    description: str
    data: dict[str, Any]
    layers: list[LayerSpec]
    outputs: list[str]
    compile: dict[str, Any]
    train: dict[str, Any]
    file: str
    raw: dict[str, Any]  # the spec as written, overrides applied (for the run's spec.yaml)
    overrides: list[str] = field(default_factory=list)
    info: ModelInfo | None = None  # shapes and parameter counts, set once every check passed

    @property
    def model_info(self) -> ModelInfo:
        assert self.info is not None, "load_spec sets info"
        return self.info

    def data_path(self, given: Path | None = None) -> Path | None:
        """Where the data comes from: ``given`` (--data, MNISTCTL_DATA) if any, else the spec's
        ``data.path`` (relative to the spec file), else None for the Keras download."""
        if given is not None:
            return given
        path = self.data.get("path")
        if not path:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.file).parent / p

    @property
    def label_mode(self) -> str:
        return LOSSES[self.compile["loss"]]

    def resolved_dict(self) -> dict[str, Any]:
        """The spec with defaults filled in: what a run records as its spec.yaml."""
        out = copy.deepcopy(self.raw)
        out["name"] = self.name
        for section in ("data", "compile", "train"):
            out[section] = {**DEFAULTS[section], **getattr(self, section)}
        return out


# --- overrides -------------------------------------------------------------------------------


def _split_key(key: str) -> list[PathPart]:
    parts: list[PathPart] = []
    for piece in key.split("."):
        parts.append(int(piece) if piece.lstrip("-").isdigit() else piece)
    return parts


def apply_overrides(
    data: dict[str, Any], overrides: Sequence[str]
) -> dict[tuple[PathPart, ...], str]:
    """Set each ``KEY=VALUE`` (dotted KEY, YAML VALUE) in ``data``; return path -> override."""
    placed: dict[tuple[PathPart, ...], str] = {}
    for item in overrides:
        where = Location(f"--set {item}")
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not p for p in key.split(".")):
            raise UserError(
                "not an override",
                where,
                expected="KEY=VALUE with a dotted KEY, e.g. train.epochs=1",
                received=item,
            )
        value = parse_value(text, f"--set {item}")
        path = _split_key(key)
        node: Any = data
        resolved: list[PathPart] = []
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                index = _list_index(node, part, where, resolved)
                resolved.append(index)
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                part = str(part)
                resolved.append(part)
                if last:
                    node[part] = value
                else:
                    if node.get(part) is None:
                        node[part] = {}
                    node = node[part]
            else:
                raise UserError(
                    f"cannot set {part!r} inside {_describe(node)}",
                    where,
                    expected="a path through mappings and lists",
                    received=f"{'.'.join(map(str, resolved))} is {node!r}",
                    hint=f"set the optimizer as a whole: --set 'compile.optimizer="
                    f"{{type: {node}, {part}: {text.strip()}}}'"
                    if resolved == ["compile", "optimizer"] and isinstance(node, str)
                    else None,
                )
        placed[tuple(resolved)] = item
    return placed


def _list_index(node: list[Any], part: PathPart, where: Location, at: list[PathPart]) -> int:
    if isinstance(part, int):
        if -len(node) <= part < len(node):
            return part % len(node)
        raise UserError(
            "list index out of range",
            where,
            expected=f"0 to {len(node) - 1}",
            received=str(part),
        )
    names = [item.get("name") for item in node if isinstance(item, dict)]
    for index, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part:
            return index
    raise UserError(
        f"no item named {part!r} in {'.'.join(map(str, at)) or 'the list'}",
        where,
        expected="a list index or a layer name",
        received=part,
        hint=_did_you_mean(part, [n for n in names if isinstance(n, str)]),
    )


# --- schema errors ---------------------------------------------------------------------------


# what people coming from other tools write, and what a spec spells instead
_ALIASES = {
    "lr": "learning_rate",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "acc": "accuracy",
    "kld": "kl_divergence",
    "n_units": "units",
    "size": "units",
    "kernel": "kernel_size",
    "pool": "pool_size",
    "dropout": "rate",
    "shape": "target_shape",
    "input_shape": "shape",
    "batch": "batch_size",
    "epoch": "epochs",
}


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = [c for c in choices if isinstance(c, str)]
    if _ALIASES.get(word.lower()) in choices:
        return f"did you mean {_ALIASES[word.lower()]!r}?"
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean {lowered[word.lower()]!r}?"
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match:
        match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return f"did you mean {match[0]!r}?" if match else None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value!r} (a number)"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _type_words(types: str | Sequence[str]) -> str:
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _bounds(schema: dict[str, Any]) -> str:
    parts = []
    if "minimum" in schema:
        parts.append(f">= {schema['minimum']}")
    if "exclusiveMinimum" in schema:
        parts.append(f"> {schema['exclusiveMinimum']}")
    if "maximum" in schema:
        parts.append(f"<= {schema['maximum']}")
    if "exclusiveMaximum" in schema:
        parts.append(f"< {schema['exclusiveMaximum']}")
    return " and ".join(parts)


def _field_name(path: Sequence[PathPart]) -> str:
    """The name of what ``path`` points at: ``metrics[0]`` is a metric, ``layers[2]`` a layer."""
    for i in range(len(path) - 1, -1, -1):
        part = path[i]
        if isinstance(part, str):
            if i < len(path) - 1 and part.endswith("s") and part not in ("outputs", "inputs"):
                return part[:-1]  # an item of a plural list
            if path[-2:] == ("optimizer", "type") or path[-1:] == ("optimizer",):
                return "optimizer"
            return part
    return "value"


def _schema_errors(
    doc: Document, data: Any, placed: dict[tuple[PathPart, ...], str]
) -> list[UserError]:
    validator = _validator()
    out: list[UserError] = []
    seen: set[str] = set()
    for err in validator.iter_errors(data):
        for problem in _convert(err, doc, placed):
            # a layer that is not a mapping fails every layer type's branch the same way
            if problem.one_line() not in seen:
                seen.add(problem.one_line())
                out.append(problem)
    return out


def _validator() -> Draft202012Validator:
    # integers are ints: 3.0 is not an integer in a spec (Keras wants an int for units)
    type_checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool)
    )
    cls = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, type_checker=type_checker
    )
    return cls(build_schema())  # type: ignore[no-any-return]


def _where(
    doc: Document,
    placed: dict[tuple[PathPart, ...], str],
    path: tuple[PathPart, ...],
    *,
    key: bool = False,
) -> Location:
    for prefix, item in placed.items():
        if path[: len(prefix)] == prefix:
            return Location(f"--set {item}", None, None, path)
    return doc.location(path, key=key)


def _convert(
    err: jsonschema.ValidationError, doc: Document, placed: dict[tuple[PathPart, ...], str]
) -> list[UserError]:
    path = tuple(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    value: Any = err.instance
    kind: Any = err.validator
    wanted: Any = err.validator_value
    where = _where(doc, placed, path)
    name = _field_name(path)
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extras = [k for k in value if k not in allowed]
        return [
            UserError(
                _unknown_key_message(k, path, value),
                _where(doc, placed, (*path, k), key=True),
                expected="one of " + ", ".join(allowed),
                received=repr(k),
                hint=_did_you_mean(k, allowed),
            )
            for k in extras
        ]
    if kind == "required":
        missing = [k for k in wanted if k not in value]
        if schema.get("additionalProperties") is False:
            # 'unit: 10' for 'units': the unknown-key error says "did you mean 'units'?"
            unknown = [k for k in value if k not in schema.get("properties", {})]
            missing = [k for k in missing if not _did_you_mean(k, unknown)]
        what = _layer_label(value) if path[:2] == ("model", "layers") and len(path) == 3 else None
        return [
            UserError(
                f"missing required key {k!r}" + (f" for {what}" if what else ""),
                where,
                expected=f"the key {k!r}",
                received="none",
                hint=_required_hint(k, value),
            )
            for k in missing
        ]
    if kind == "type":
        return [
            UserError(
                f"wrong type for {name}",
                where,
                expected=_type_words(wanted),
                received=_describe(value),
            )
        ]
    if kind in ("enum", "const"):
        choices = wanted if kind == "enum" else [wanted]
        shown = [c for c in choices if c is not None]
        if path[-2:-1] == ("layers",) or (len(path) == 4 and path[-1] == "type"):
            message = "unknown layer type"
        elif isinstance(value, str) or value is None:
            message = f"unknown {name}"
        else:
            message = f"invalid {name}"
        if path and path[-1] == "type" and path[:2] == ("model", "layers"):
            message = "unknown layer type"
        return [
            UserError(
                message,
                where,
                expected="one of " + ", ".join(map(str, shown)),
                received=_describe(value),
                hint=_choice_hint(value, shown),
            )
        ]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        small = kind in ("minimum", "exclusiveMinimum")
        return [
            UserError(
                f"{name} is too {'small' if small else 'large'}",
                where,
                expected=f"a value {_bounds(schema)}",
                received=_describe(value),
            )
        ]
    if kind in ("minItems", "maxItems"):
        return [
            UserError(
                f"{name} has too {'few' if kind == 'minItems' else 'many'} items",
                where,
                expected=f"{'at least' if kind == 'minItems' else 'at most'} {wanted}",
                received=f"{len(value)}",
            )
        ]
    if kind == "pattern":
        return [
            UserError(
                f"invalid {name}",
                where,
                expected="letters, digits, '_', '.', '-' (starting with a letter or "
                + ("'_'" if str(wanted).startswith("^[A-Za-z_]") else "digit")
                + ")",
                received=repr(value),
            )
        ]
    if kind == "not":
        return [UserError(f"invalid {name}", where, expected="not 0", received=_describe(value))]
    if kind in ("minLength", "maxLength"):
        return [
            UserError(
                f"{name} is too {'short' if kind == 'minLength' else 'long'}",
                where,
                expected=f"{'at least' if kind == 'minLength' else 'at most'} {wanted} characters",
                received=f"{len(value)} characters",
            )
        ]
    if kind == "uniqueItems":
        return [
            UserError(
                f"{name} lists an item twice", where, expected="unique items", received=str(value)
            )
        ]
    return [UserError(err.message, where)]


def _choice_hint(value: Any, choices: list[Any]) -> str | None:
    if not isinstance(value, str):
        return None
    if value == "Lambda":
        return "a spec is data: no layer may run Python code"
    return _did_you_mean(value, choices)


def _unknown_key_message(key: str, path: tuple[PathPart, ...], obj: Any) -> str:
    if path[:2] == ("model", "layers") and len(path) == 3 and isinstance(obj, dict):
        return f"unknown argument {key!r} for {obj.get('type')}"
    section = ".".join(map(str, path)) or "the spec"
    return f"unknown key {key!r} in {section}"


def _layer_label(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return str(value["type"])
    return None


def _required_hint(key: str, obj: Any) -> str | None:
    if isinstance(obj, dict):
        near = _did_you_mean(key, [k for k in obj if isinstance(k, str)])
        if near:
            return near.replace("did you mean", "misspelt? did you mean to write").replace(
                "?", " as the key?"
            )
    return None


# --- the whole check -------------------------------------------------------------------------


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> Spec:
    """Every check short of TensorFlow; raises UserErrors listing every problem found."""
    from mnistctl.spec import graph  # graph checks build on the resolved layers below

    path = Path(path)
    try:
        doc = load_file(path)
        data = copy.deepcopy(doc.data)
        placed = apply_overrides(data, overrides)
    except UserError as err:
        raise UserErrors([err], None) from None
    errors = _schema_errors(doc, data, placed)
    if errors:
        raise UserErrors(_sorted(errors), doc.source)
    spec = _resolve(doc, data, path, list(overrides))
    info, errors = graph.analyze(spec, lambda p, key=False: _where(doc, placed, p, key=key))
    if errors or info is None:
        raise UserErrors(_sorted(errors), doc.source)
    spec.info = info
    return spec


def _sorted(errors: list[UserError]) -> list[UserError]:
    return sorted(
        errors,
        key=lambda e: (e.location.file or "", e.location.line or 0, e.location.col or 0),
    )


def _resolve(doc: Document, data: dict[str, Any], path: Path, overrides: list[str]) -> Spec:
    from mnistctl.spec.layers import STRUCTURAL_KEYS, auto_name_stem

    model = data["model"]
    given = {str(layer["name"]) for layer in model["layers"] if "name" in layer}
    counters: dict[str, int] = {}
    layers: list[LayerSpec] = []
    previous: str | None = None
    for index, raw in enumerate(model["layers"]):
        name = raw.get("name")
        if name is None:
            stem = auto_name_stem(raw["type"])
            while True:
                n = counters.get(stem, 0)
                counters[stem] = n + 1
                name = stem if n == 0 else f"{stem}_{n}"
                if name not in given:
                    break
        explicit = "inputs" in raw
        inputs = tuple(raw["inputs"]) if explicit else ((previous,) if previous else ())
        if raw["type"] == "Input":
            inputs = ()
        args = {k: v for k, v in raw.items() if k not in STRUCTURAL_KEYS}
        layers.append(LayerSpec(name, raw["type"], inputs, args, index, explicit))
        previous = name
    outputs = list(model.get("outputs") or [layers[-1].name])
    return Spec(
        name=str(data.get("name") or _safe_name(path.stem)),
        description=str(data.get("description", "")),
        data={**DEFAULTS["data"], **data.get("data", {})},
        layers=layers,
        outputs=outputs,
        compile={**DEFAULTS["compile"], **data.get("compile", {})},
        train={**DEFAULTS["train"], **data.get("train", {})},
        file=str(path),
        raw=data,
        overrides=overrides,
    )


def _safe_name(stem: str) -> str:
    """A file stem as a run name: runs/<name>/ must stay one plain folder name."""
    import re

    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem).lstrip(".-_") or "spec"
    return name[:64]
