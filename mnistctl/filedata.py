"""The tool's own JSON files read through declared shapes: "damaged file" is one rule.

Each file mnistctl writes for itself (a run's record and state, the precision cache, a tune
trial's attributes, the parts of summary.json and env.json that readers use) has its shape
declared once, beside the code that writes it, as a ``Shape``: a JSON Schema (Draft 2020-12)
and what a document of that shape is called. Reading checks it; what is wrong is worded one
way everywhere (``Damage``: where in the file, what the shape expects there, what the file
holds), and each reader decides what damage means to it: an error for a run record, a miss for
a cache entry, a row that says why in ``mnistctl runs``.

Each validator (jsonschema's) is built once per process, on first use. Non-finite numbers
(``NaN``, ``Infinity``, which mnistctl wrote before its JSON was strict) read as null, as the
writer (``jsondata.plain``) writes them now. Imports nothing of mnistctl but its error
type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from mnistctl.errors import Location, PathPart, UserError

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TYPES = {
    "object": "an object",
    "array": "a list",
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def loads(text: str | bytes) -> Any:
    """JSON text as mnistctl writes it, NaN and Infinity read as null; ValueError if it is not
    JSON."""
    return json.loads(text, parse_constant=_non_finite)


def _non_finite(_name: str) -> None:
    return None


def read(path: Path) -> Any:
    """The parsed JSON file ``path``; a missing or unparsable file is a one-line error."""
    try:
        return loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("missing file", Location(str(path))) from None
    except (OSError, ValueError) as exc:
        raise UserError("damaged JSON file", Location(str(path)), received=str(exc)) from None


@dataclass(frozen=True)
class Damage:
    """What is wrong with a document: where (its path inside the file), what its shape expects
    there and what the file holds, in words."""

    path: tuple[PathPart, ...]
    expected: str
    received: str

    def error(self, file: Path | str, what: str) -> UserError:
        """The one-line error of a damaged file of ``what`` ("run record")."""
        return UserError(
            f"damaged {what}",
            Location(str(file), path=self.path),
            expected=self.expected,
            received=self.received,
        )


class Shape:
    """A declared JSON shape: ``schema`` (Draft 2020-12) and what a document of it is called
    (``what``: "run record"). Every shape declared is kept in ``DECLARED`` (a test checks each
    is a valid schema)."""

    def __init__(self, what: str, schema: Mapping[str, Any]) -> None:
        self.what = what
        self.schema = {"$schema": DIALECT, **schema}
        self._validator: Draft202012Validator | None = None
        DECLARED.append(self)

    def damage(self, value: Any) -> Damage | None:
        """The one thing most wrong with ``value`` (jsonschema's ``best_match``), or None when
        it has this shape."""
        if self.is_valid(value):
            return None
        found = best_match(self.validator().iter_errors(value))
        return None if found is None else _worded(found)

    def is_valid(self, value: Any) -> bool:
        return bool(self.validator().is_valid(value))

    def check(self, value: Any, file: Path | str) -> None:
        """Refuse ``value`` read from ``file`` unless it has this shape (a one-line error)."""
        found = self.damage(value)
        if found is not None:
            raise found.error(file, self.what)

    def valid_part(self, value: Any) -> dict[str, Any]:
        """The members of the object ``value`` that have their declared shapes, each damaged
        member read as absent; {} when the object as a whole is refused (not an object, a
        required key missing)."""
        if not isinstance(value, dict):
            return {}
        if self.is_valid(value):
            return dict(value)
        errors = list(self.validator().iter_errors(value))
        if any(not e.path for e in errors):
            return {}
        bad = {e.path[0] for e in errors}
        return {k: v for k, v in value.items() if k not in bad}

    def validator(self) -> Draft202012Validator:
        """This shape's validator, built on first use and kept for the process."""
        if self._validator is None:
            self._validator = _validator_class()(self.schema)
        return self._validator

    def __repr__(self) -> str:
        return f"Shape({self.what!r})"


DECLARED: list[Shape] = []


def closed(**properties: Any) -> dict[str, Any]:
    """The schema of an object of exactly these keys, each of its schema."""
    keys = list(properties)
    return {
        "type": "object",
        "required": keys,
        "additionalProperties": False,
        "properties": properties,
    }


def map_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of an object whose every value has the schema ``values``."""
    return {"type": "object", "additionalProperties": values}


@cache
def _validator_class() -> type[Draft202012Validator]:
    # an integer is an int: 3.0 is not an epoch count, True is not a pid
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool)
    )
    return jsonschema.validators.extend(  # type: ignore[no-any-return,no-untyped-call]
        Draft202012Validator, type_checker=checker
    )


def _worded(err: ValidationError) -> Damage:
    path = tuple(err.path)
    keyword = err.validator
    value: Any = err.instance
    wanted: Any = err.validator_value
    schema: Any = err.schema
    if keyword == "type":
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPES.get(n, n) for n in names)
        return Damage(path, expected, _received(value))
    if keyword == "required":
        missing = next((k for k in wanted if k not in value), wanted[0])
        return Damage(path, f"a key '{missing}'", "an object without it")
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        extra = next((k for k in value if k not in known), "?")
        expected = "only the keys " + ", ".join(known) if known else "no keys"
        return Damage(path, expected, f"the key {str(extra)[:40]!r}")
    if keyword == "enum":
        return Damage(path, "one of " + ", ".join(repr(v) for v in wanted), _received(value))
    if keyword == "const":
        return Damage(path, repr(wanted), _received(value))
    if keyword in _BOUNDS:
        return Damage(path, f"a number {_BOUNDS[str(keyword)]} {wanted}", _received(value))
    if keyword == "pattern":
        return Damage(path, f"text of the form {wanted}", _received(value))
    return Damage(path, f"{keyword}: {wanted!r}"[:80], _received(value))


def _received(value: Any) -> str:
    """``value`` in a few words: a short literal, or the kind of a container."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)[:60]
