"""Spec arguments as Keras constructors take them, by the tables' schema fragments.

A spec is YAML: ``learning_rate: 1`` is an integer, and the schema rightly accepts it as a
number. Keras does not always: optimizers refuse ``learning_rate=1`` ("should be float") and
SGD ``momentum=0``. So the builders pass every argument through ``keras_kwargs``, which turns
integers into floats wherever the argument's schema says ``number`` (and not ``integer``).
Pure Python, so the rule is tested without Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schemas = Mapping[str, Mapping[str, Any]]  # argument name -> its JSON Schema fragment


def keras_kwargs(schemas: Schemas, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` ready for a Keras constructor: integers as floats where the schema says
    ``number``, lists as tuples (Keras's shapes and sizes), nested mappings alike. Arguments
    without a schema pass unchanged but for lists. ``args`` itself is not changed."""
    return {name: _coerce(value, schemas.get(name, {})) for name, value in args.items()}


def wants_float(schema: Mapping[str, Any]) -> bool:
    """True when a fragment admits numbers but not integers as such: Keras wants a float."""
    kind = schema.get("type", ())
    types = {kind} if isinstance(kind, str) else set(kind)
    return "number" in types and "integer" not in types


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if wants_float(schema) else value
    if isinstance(value, list | tuple):
        items = schema.get("items", {})
        return tuple(_coerce(v, items if isinstance(items, Mapping) else {}) for v in value)
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        return {k: _coerce(v, props.get(k, {})) for k, v in value.items()}
    return value
