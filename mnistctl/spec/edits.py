"""``edit:``: a child spec's changes to its parent's layers, by layer name, in order.

::

    edit:
      - {after: pool_1, insert: [{type: Dropout, name: drop_1, rate: 0.25}]}
      - {before: output_tensor, insert: [{type: Dropout, name: drop_2, rate: 0.5}]}
      - {replace: hidden_2, with: {type: Dense, name: hidden_2, units: 64}}
      - {remove: relu_3}

An inserted layer takes the previous layer's output, and the next layer takes its output,
unless they name ``inputs:`` (a layer without ``inputs:`` takes the one before it in the list).
A replacement without a ``name:`` keeps the replaced layer's. Removing (or renaming by
``replace``) a layer that another layer names in ``inputs:``, or that ``model.outputs`` names,
is an error at that edit. Layers are found by the names the files give them (``name:``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from mnistctl.errors import Location, PathPart, UserError, visible
from mnistctl.spec.origins import Origin, Origins
from mnistctl.spec.wording import describe, did_you_mean
from mnistctl.spec.yamlload import Document

VERBS = ("after", "before", "replace", "remove")
_KEYS = {"after": "insert", "before": "insert", "replace": "with", "remove": None}
_SYNONYMS = {
    "delete": "remove",
    "drop": "remove",
    "add": "insert",
    "layers": "insert",
    "by": "with",
    "insert_after": "after",
    "insert_before": "before",
}
LAYERS: tuple[PathPart, ...] = ("model", "layers")


@dataclass(frozen=True)
class Edit:
    """One checked edit: its index in ``edit:``, verb, the layer it names, what it brings."""

    index: int
    verb: str
    target: str
    layers: tuple[dict[str, Any], ...]  # insert: the new layers; replace: the one replacement

    def where(self, doc: Document, *more: PathPart) -> Location:
        return doc.location(("edit", self.index, *more))


def check_edits(doc: Document) -> tuple[list[Edit], list[UserError]]:
    """The edits of ``doc``'s ``edit:`` list, or every problem of their form."""
    value = doc.data["edit"]
    if not isinstance(value, list):
        return [], [_shape_error(doc, ("edit",), "must be a list of edits", value)]
    edits: list[Edit] = []
    errors: list[UserError] = []
    for index, item in enumerate(value):
        edit, problems = _check_edit(doc, index, item)
        errors += problems
        if edit is not None and not problems:
            edits.append(edit)
    return edits, errors


def _shape_error(doc: Document, path: tuple[PathPart, ...], message: str, value: Any) -> UserError:
    return UserError(
        message,
        doc.location(path),
        expected="{after: LAYER, insert: [...]}, {before: LAYER, insert: [...]}, "
        "{replace: LAYER, with: {...}} or {remove: LAYER}",
        received=describe(value),
    )


def _check_edit(doc: Document, index: int, item: Any) -> tuple[Edit | None, list[UserError]]:
    at = ("edit", index)
    if not isinstance(item, dict):
        return None, [_shape_error(doc, at, "an edit must be a mapping", item)]
    verbs = [k for k in item if k in VERBS]
    allowed = {*VERBS, *(k for k in _KEYS.values() if k)}
    errors = [_unknown_key(doc, at, k, allowed) for k in item if k not in allowed]
    if not verbs:
        if errors:  # an unknown key: its error names the verbs
            return None, errors
        errors.append(
            UserError(
                "an edit needs one of after, before, replace, remove",
                doc.location(at),
                expected="one of after, before, replace, remove",
                received="keys " + ", ".join(map(repr, item)) if item else "an empty mapping",
            )
        )
        return None, errors
    if len(verbs) > 1:
        errors.append(
            UserError(
                f"an edit does one thing: this one has {' and '.join(map(repr, verbs))}",
                doc.location((*at, verbs[1]), key=True),
                expected="one of after, before, replace, remove per edit",
                received=", ".join(verbs),
                hint="write each change as an edit of its own",
            )
        )
        return None, errors
    verb = verbs[0]
    target = item[verb]
    if not isinstance(target, str) or not target:
        errors.append(
            UserError(
                "must name a layer",
                doc.location((*at, verb)),
                expected="a layer name",
                received=describe(target),
            )
        )
    layers, problems = _brought(doc, at, verb, item)
    errors += problems
    if errors:
        return None, errors
    return Edit(index, verb, target, layers), []


def _unknown_key(doc: Document, at: tuple[PathPart, ...], key: str, allowed: set[str]) -> UserError:
    shown = sorted(allowed, key=[*VERBS, "insert", "with"].index)
    hint = None
    if key in _SYNONYMS:
        hint = f"did you mean {_SYNONYMS[key]!r}?"
    return UserError(
        f"unknown key {visible(key)!r} in an edit",
        doc.location((*at, key), key=True),
        expected="one of " + ", ".join(shown),
        received=repr(key),
        hint=hint or did_you_mean(key, shown),
    )


def _brought(
    doc: Document, at: tuple[PathPart, ...], verb: str, item: dict[str, Any]
) -> tuple[tuple[dict[str, Any], ...], list[UserError]]:
    """The layers an edit brings (``insert:``'s, ``with:``'s), or its problems."""
    wanted = _KEYS[verb]
    errors = [
        UserError(
            f"does not go with {verb}:",
            doc.location((*at, key), key=True),
            expected=f"{wanted}: with {verb}:" if wanted else f"nothing but {verb}: LAYER",
            received=f"{key}:",
            hint="remove takes only the layer's name" if wanted is None else None,
        )
        for key in ("insert", "with")
        if key in item and key != wanted
    ]
    if wanted is None:
        return (), errors
    if wanted not in item:
        example = "[{type: Dropout, rate: 0.5}]" if wanted == "insert" else "{type: Dense, ...}"
        return (), [
            *errors,
            UserError(
                f"{verb}: needs {wanted}:",
                doc.location(at),
                expected=f"{{{verb}: LAYER, {wanted}: {example}}}",
                received="no " + wanted,
            ),
        ]
    value = item[wanted]
    if wanted == "with":
        if not isinstance(value, dict):
            errors.append(_not_a_layer(doc, (*at, "with"), value, "a layer {type: ..., ...}"))
        return ((value,) if isinstance(value, dict) else ()), errors
    if not isinstance(value, list) or not value:
        errors.append(_not_a_layer(doc, (*at, "insert"), value, "a list of layers [{...}, ...]"))
        return (), errors
    for k, layer in enumerate(value):
        if not isinstance(layer, dict):
            errors.append(_not_a_layer(doc, (*at, "insert", k), layer, "a layer {type: ...}"))
    return tuple(x for x in value if isinstance(x, dict)), errors


def _not_a_layer(doc: Document, path: tuple[PathPart, ...], value: Any, expected: str) -> UserError:
    return UserError(
        f"wrong type for {path[-1] if isinstance(path[-1], str) else 'a layer'}",
        doc.location(path),
        expected=expected,
        received=describe(value),
    )


# --- applying them --------------------------------------------------------------------------


def apply_edits(data: dict[str, Any], origins: Origins, doc: Document, edits: list[Edit]) -> None:
    """Apply ``edits`` (of ``doc``) in order to ``data``'s layers, keeping ``origins`` true;
    the first edit that cannot apply raises its error."""
    for edit in edits:
        layers = _layers(data, doc, edit)
        i = _find(layers, edit, doc)
        new = [copy.deepcopy(x) for x in edit.layers]
        if edit.verb == "replace" and "name" not in new[0]:
            new[0]["name"] = edit.target
        if edit.verb == "remove" or (edit.verb == "replace" and new[0]["name"] != edit.target):
            _check_unused(data, layers, i, edit, doc)
        _check_new_names(layers, i, new, edit, doc)
        origins.pin((*LAYERS, k) for k in range(len(layers)))
        start = {"after": i + 1, "before": i}.get(edit.verb, i)
        end = i + 1 if edit.verb in ("replace", "remove") else start
        order: list[int | None] = [*range(start), *([None] * len(new)), *range(end, len(layers))]
        layers[start:end] = new
        origins.reorder(LAYERS, order)
        for k in range(len(new)):
            place = ("with",) if edit.verb == "replace" else ("insert", k)
            origins.take((*LAYERS, start + k), Origin(doc, ("edit", edit.index, *place)))


def _layers(data: dict[str, Any], doc: Document, edit: Edit) -> list[Any]:
    model = data.get("model")
    layers = model.get("layers") if isinstance(model, dict) else None
    if not isinstance(layers, list):
        raise UserError(
            "nothing to edit: the spec has no model.layers list",
            edit.where(doc, edit.verb),
            expected="a parent (extends:) whose model has layers",
            received="model.layers is " + describe(layers),
        )
    return layers


def _name(layer: Any) -> str | None:
    name = layer.get("name") if isinstance(layer, dict) else None
    return name if isinstance(name, str) else None


def _find(layers: list[Any], edit: Edit, doc: Document) -> int:
    for i, layer in enumerate(layers):
        if _name(layer) == edit.target:
            return i
    names = [n for n in map(_name, layers) if n is not None]
    unnamed = [str(x.get("type")) for x in layers if isinstance(x, dict) and _name(x) is None]
    hint = did_you_mean(edit.target, names)
    if hint is None and unnamed:
        n = len(unnamed)
        hint = (
            f"an edit finds a layer by its name:, and {n} layer{'s' * (n > 1)} "
            f"{'have' if n > 1 else 'has'} none ({', '.join(dict.fromkeys(unnamed))}): name it "
            "in its file, or with set: {model.layers.INDEX.name: NAME}"
        )
    raise UserError(
        f"no layer named {visible(edit.target)!r}",
        edit.where(doc, edit.verb),
        expected="the name of a layer: " + (", ".join(names) or "none has a name"),
        received=repr(edit.target),
        hint=hint,
    )


def _check_unused(
    data: dict[str, Any], layers: list[Any], i: int, edit: Edit, doc: Document
) -> None:
    """A layer that goes away (removed, or replaced under another name) must not be named in
    another layer's ``inputs:`` or in ``model.outputs``."""
    name = edit.target
    users = [
        f"layer {visible(_name(x) or str(k))!r}"
        for k, x in enumerate(layers)
        if k != i and isinstance(x, dict) and isinstance(x.get("inputs"), list)
        if name in x["inputs"]
    ]
    outputs = data["model"].get("outputs")
    named = isinstance(outputs, list) and name in outputs
    if not users and not named:
        return
    what = "remove" if edit.verb == "remove" else "rename"
    takes = "take" if len(users) > 1 else "takes"
    takers = f"{' and '.join(users)} {takes} it as input" if users else ""
    by = " and ".join(x for x in (takers, "model.outputs names it" if named else "") if x)
    raise UserError(
        f"cannot {what} layer {visible(name)!r}: {by}",
        edit.where(doc, edit.verb),
        expected=f"a layer no other layer takes as input (to {what} it)",
        received=f"{name!r} named by " + ", ".join([*users, *(["model.outputs"] * named)]),
        hint="point those inputs: elsewhere first (set: comes before edit:), or edit those "
        "layers too",
    )


def _check_new_names(
    layers: list[Any], i: int, new: list[dict[str, Any]], edit: Edit, doc: Document
) -> None:
    """The names an edit brings must not be taken: by the other layers, or by each other."""
    taken = {_name(x) for k, x in enumerate(layers) if not (edit.verb == "replace" and k == i)}
    for k, layer in enumerate(new):
        name = _name(layer)
        if name is None or name not in taken:
            taken.add(name)
            continue
        more: tuple[PathPart, ...] = ("with",) if edit.verb == "replace" else ("insert", k)
        raise UserError(
            f"a layer named {visible(name)!r} already exists",
            edit.where(doc, *more, "name"),
            expected="a name no other layer has",
            received=repr(name),
            hint=f"replace: {name} to change that layer, or give this one another name",
        )
