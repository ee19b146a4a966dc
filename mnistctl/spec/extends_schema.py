"""The JSON Schema of ``extends:``, ``set:`` and ``edit:`` (``extends.py``, ``edits.py``), for
editors: ``schema.py`` puts them in the spec's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def directive_schemas(sections: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``extends:``, ``set:`` and ``edit:``; ``set:`` offers each key of ``sections`` (their
    schemas, by name) as a path, for editors to complete."""
    known = {
        f"{section}.{key}": {"$ref": f"#/properties/{section}/properties/{key}"}
        for section, schema in sections.items()
        for key in schema["properties"]
        if key != "layers"
    }
    return {
        "extends": {
            "type": "string",
            "minLength": 1,
            "description": (
                "a spec this one builds on, relative to this file; its sections merge key by key"
                " (this file wins, lists are replaced whole), then set:, then edit:"
            ),
        },
        "set": {
            "type": "object",
            "description": (
                "values set by dotted path, as --set does, in order: train.epochs, "
                "model.layers.LAYER_NAME.units, ..."
            ),
            "propertyNames": {"pattern": r"^[^.]+(\.[^.]+)*$"},
            "properties": known,
        },
        "edit": {
            "type": "array",
            "description": "changes to the layers, by layer name, in order (after set:)",
            "items": {"$ref": "#/$defs/edit"},
        },
    }


def edit_defs() -> dict[str, Any]:
    """``$defs/edit``: the four shapes of an edit."""

    def shape(verb: str, doc: str, more: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "description": doc,
            "required": [verb, *more],
            "additionalProperties": False,
            "properties": {verb: {"$ref": "#/$defs/layer_name"}, **more},
        }

    insert = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/layer"},
        "description": "new layers: the first takes the previous layer's output (unless it "
        "names inputs:), the next layer takes the last's",
    }
    return {
        "edit": {
            "description": "{after|before: LAYER, insert: [...]}, {replace: LAYER, with: {...}}"
            " or {remove: LAYER}",
            "oneOf": [
                shape("after", "insert layers after the layer named", {"insert": insert}),
                shape("before", "insert layers before the layer named", {"insert": insert}),
                shape(
                    "replace",
                    "replace the layer named (the new one keeps its name unless it gives one)",
                    {"with": {"$ref": "#/$defs/layer"}},
                ),
                shape("remove", "remove the layer named (no other may name it in inputs:)", {}),
            ],
        },
    }
