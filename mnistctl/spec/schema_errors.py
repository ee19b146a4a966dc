"""JSON Schema errors turned into located, worded UserErrors.

The schema (``schema.py``) says what is valid; jsonschema finds what is not; here each kind of
failure (unknown key, missing key, wrong type, bad choice, out of bounds, ...) gets its own
wording through a table of small functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.layers import LAYER_TYPES
from mnistctl.spec.objects import FAMILIES, family_at
from mnistctl.spec.schema import build_schema
from mnistctl.spec.wording import describe, did_you_mean

Locate = Callable[..., Location]  # (spec path, key=False) -> where that is


def schema_errors(data: Any, locate: Locate) -> list[UserError]:
    """Every schema problem of ``data``, each once, located by ``locate``."""
    out: list[UserError] = []
    seen: set[str] = set()
    for err in _validator().iter_errors(data):
        for problem in _convert(err, locate):
            # a layer that is not a mapping fails every layer type's branch the same way
            if problem.one_line() not in seen:
                seen.add(problem.one_line())
                out.append(problem)
    return out


@cache
def _validator() -> Draft202012Validator:
    # integers are ints: 3.0 is not an integer in a spec (Keras wants an int for units)
    type_checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool)
    )
    cls = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, validators={"pattern": _full_pattern}, type_checker=type_checker
    )
    return cls(build_schema())  # type: ignore[no-any-return]


def _full_pattern(
    _validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` as ECMAScript reads the schema's anchored ``^...$``: the whole string.

    jsonschema's own check is ``re.search``, whose ``$`` also matches before a final newline:
    ``"tiny\\n"`` would pass ``^[a-z]+$``, then name a folder and crash TensorFlow. Every pattern
    of the schema is anchored (a test checks), so a full match is what editors check too.
    """
    if isinstance(instance, str) and not re.fullmatch(pattern, instance, flags=re.ASCII):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@dataclass(frozen=True)
class _Failure:
    """One jsonschema failure, with what the wording functions need."""

    kind: str  # the JSON Schema keyword that failed
    path: tuple[PathPart, ...]
    schema: dict[str, Any]  # the schema at that place
    value: Any  # what the spec has there
    wanted: Any  # the keyword's value in the schema
    where: Location
    name: str  # what the value is called in messages
    locate: Locate


def _convert(err: jsonschema.ValidationError, locate: Locate) -> list[UserError]:
    path = tuple(err.absolute_path)
    failure = _Failure(
        kind=str(err.validator),
        path=path,
        schema=err.schema if isinstance(err.schema, dict) else {},
        value=err.instance,
        wanted=err.validator_value,
        where=locate(path),
        name=_field_name(path),
        locate=locate,
    )
    wording = _WORDING.get(failure.kind)
    if wording is None:
        return [UserError(err.message, failure.where)]
    return wording(failure)


def _unknown_keys(f: _Failure) -> list[UserError]:
    allowed = list(f.schema.get("properties", {}))
    return [
        UserError(
            _unknown_key_message(k, f.path, f.value),
            f.locate((*f.path, k), key=True),
            expected="one of " + ", ".join(allowed),
            received=repr(k),
            hint=did_you_mean(k, allowed) or _left_out_hint(k, f.path, f.value),
        )
        for k in f.value
        if k not in allowed
    ]


def _missing_keys(f: _Failure) -> list[UserError]:
    missing = [k for k in f.wanted if k not in f.value]
    if f.schema.get("additionalProperties") is False:
        # 'unit: 10' for 'units': the unknown-key error says "did you mean 'units'?"
        unknown = [k for k in f.value if k not in f.schema.get("properties", {})]
        missing = [k for k in missing if not did_you_mean(k, unknown)]
    layer = f.path[:2] == ("model", "layers") and len(f.path) == 3
    what = _layer_label(f.value) if layer else None
    return [
        UserError(
            f"missing required key {k!r}" + (f" for {what}" if what else ""),
            f.where,
            expected=f"the key {k!r}",
            received="none",
            hint=_required_hint(k, f.value),
        )
        for k in missing
    ]


def _wrong_type(f: _Failure) -> list[UserError]:
    then = f.schema.get("then")
    ref = then.get("$ref", "") if isinstance(then, dict) else ""
    family = FAMILIES.get(ref.rpartition("/")[2]) if ref.startswith("#/$defs/") else None
    expected = _type_words(f.wanted)
    if family is not None:  # a number or an object: say which object
        expected = expected.replace("a mapping", f"a {family.noun} {{type: ..., ...}}")
    return [
        UserError(
            f"wrong type for {f.name}",
            f.where,
            expected=expected,
            received=describe(f.value),
        )
    ]


def _bad_choice(f: _Failure) -> list[UserError]:
    choices = f.wanted if f.kind == "enum" else [f.wanted]
    shown = [c for c in choices if c is not None]
    path = f.path
    family = family_at(path)
    if family is not None and len(path) == family[1] + 1 and path[-1] == "type":
        message = f"unknown {family[0].noun} type"
    elif (
        path[-2:-1] == ("layers",)
        or (len(path) == 4 and path[-1] == "type")
        or (path and path[-1] == "type" and path[:2] == ("model", "layers"))
    ):
        message = "unknown layer type"
    elif isinstance(f.value, str) or f.value is None:
        message = f"unknown {f.name}"
    else:
        message = f"invalid {f.name}"
    return [
        UserError(
            message,
            f.where,
            expected="one of " + ", ".join(map(str, shown)),
            received=describe(f.value),
            hint=_choice_hint(f.value, shown),
        )
    ]


def _out_of_bounds(f: _Failure) -> list[UserError]:
    small = f.kind in ("minimum", "exclusiveMinimum")
    return [
        UserError(
            f"{f.name} is too {'small' if small else 'large'}",
            f.where,
            expected=f"a value {_bounds(f.schema)}",
            received=describe(f.value),
        )
    ]


def _item_count(f: _Failure) -> list[UserError]:
    few = f.kind == "minItems"
    return [
        UserError(
            f"{f.name} has too {'few' if few else 'many'} items",
            f.where,
            expected=f"{'at least' if few else 'at most'} {f.wanted}",
            received=f"{len(f.value)}",
        )
    ]


def _bad_pattern(f: _Failure) -> list[UserError]:
    first = "'_'" if str(f.wanted).startswith("^[A-Za-z_]") else "digit"
    return [
        UserError(
            f"invalid {f.name}",
            f.where,
            expected=f"letters, digits, '_', '.', '-' (starting with a letter or {first})",
            received=repr(f.value),
        )
    ]


def _forbidden(f: _Failure) -> list[UserError]:
    return [UserError(f"invalid {f.name}", f.where, expected="not 0", received=describe(f.value))]


def _length(f: _Failure) -> list[UserError]:
    short = f.kind == "minLength"
    return [
        UserError(
            f"{f.name} is too {'short' if short else 'long'}",
            f.where,
            expected=f"{'at least' if short else 'at most'} {f.wanted} characters",
            received=f"{len(f.value)} characters",
        )
    ]


def _repeated(f: _Failure) -> list[UserError]:
    return [
        UserError(
            f"{f.name} lists an item twice", f.where, expected="unique items", received=str(f.value)
        )
    ]


_WORDING: dict[str, Callable[[_Failure], list[UserError]]] = {
    "additionalProperties": _unknown_keys,
    "required": _missing_keys,
    "type": _wrong_type,
    "enum": _bad_choice,
    "const": _bad_choice,
    "minimum": _out_of_bounds,
    "maximum": _out_of_bounds,
    "exclusiveMinimum": _out_of_bounds,
    "exclusiveMaximum": _out_of_bounds,
    "minItems": _item_count,
    "maxItems": _item_count,
    "pattern": _bad_pattern,
    "not": _forbidden,
    "minLength": _length,
    "maxLength": _length,
    "uniqueItems": _repeated,
}


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
            if i < len(path) - 1 and part.endswith("ies"):
                return part[:-3] + "y"  # boundaries[0] is a boundary
            if i < len(path) - 1 and part.endswith("s") and part not in ("outputs", "inputs"):
                return part[:-1]  # an item of a plural list
            if path[-2:] == ("optimizer", "type") or path[-1:] == ("optimizer",):
                return "optimizer"
            return part
    return "value"


def _choice_hint(value: Any, choices: list[Any]) -> str | None:
    if not isinstance(value, str):
        return None
    if value == "Lambda":
        return "a spec is data: no layer may run Python code"
    return did_you_mean(value, choices)


def _unknown_key_message(key: str, path: tuple[PathPart, ...], obj: Any) -> str:
    if path[:2] == ("model", "layers") and len(path) == 3 and isinstance(obj, dict):
        return f"unknown argument {key!r} for {obj.get('type')}"
    family = family_at(path)
    if family is not None and len(path) == family[1] and isinstance(obj, dict):
        return f"unknown argument {key!r} for {obj.get('type')}"
    section = ".".join(map(str, path)) or "the spec"
    return f"unknown key {key!r} in {section}"


def _left_out_hint(key: str, path: tuple[PathPart, ...], obj: Any) -> str | None:
    """Why a Keras argument is not in the table: an object's deliberate omission, or a
    regularizer on a layer that has no weights."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    family = family_at(path)
    if family is not None and len(path) == family[1] and isinstance(kind, str):
        t = family[0].types.get(kind)
        reason = t.excluded.get(key) if t is not None else None
        return f"mnistctl leaves Keras's {key!r} out: {reason}" if reason else None
    layer = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if path[:2] != ("model", "layers") or len(path) != 3 or layer is None:
        return None
    weighted = any(a.endswith("_regularizer") for a in layer.arg_names)
    if key.endswith("_regularizer") and not weighted:
        return f"{kind} has no weights to regularize"
    reason = layer.excluded.get(key)
    return f"mnistctl leaves Keras's {key!r} out: {reason}" if reason else None


def _layer_label(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return str(value["type"])
    return None


def _required_hint(key: str, obj: Any) -> str | None:
    if isinstance(obj, dict):
        near = did_you_mean(key, [k for k in obj if isinstance(k, str)])
        if near:
            return near.replace("did you mean", "misspelt? did you mean to write").replace(
                "?", " as the key?"
            )
    return None
