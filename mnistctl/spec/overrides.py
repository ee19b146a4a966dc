"""``--set KEY=VALUE``: overriding spec values by dotted path before any check runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mnistctl.errors import Location, PathPart, UserError, visible
from mnistctl.spec.wording import describe, did_you_mean
from mnistctl.spec.yamlload import parse_value

# Each spec path an override set, in the order set, with that override: the path it names, and
# every mapping it had to create on the way (``--set train.epochs=1`` on a spec with no
# ``train``: the ``train`` mapping is the override's too).
Placed = list[tuple[tuple[PathPart, ...], str]]

_INDEX = re.compile(r"-?[0-9]+")  # ASCII only: int() also takes '١' and '１', and fails on '²'


def override_label(item: str) -> str:
    """How an override is named in errors, in place of a file name: ``--set KEY=VALUE``."""
    return f"--set {visible(item)}"


def _split_key(key: str) -> list[PathPart]:
    return [int(piece) if _INDEX.fullmatch(piece) else piece for piece in key.split(".")]


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> Placed:
    """Set each ``KEY=VALUE`` (dotted KEY, YAML VALUE) in ``data``; return what each set."""
    placed: Placed = []
    for item in overrides:
        where = Location(override_label(item))
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not p for p in key.split(".")):
            raise UserError(
                "not an override",
                where,
                expected="KEY=VALUE with a dotted KEY, e.g. train.epochs=1",
                received=visible(item),
            )
        value = parse_value(text, where.file or "")
        for path in _set(data, _split_key(key), value, where, text):
            placed.append((path, item))
    return placed


def set_path(data: dict[str, Any], key: str, value: Any, where: Location) -> None:
    """Set ``value`` at the dotted ``key`` (as ``--set`` does); problems located at ``where``."""
    _set(data, _split_key(key), value, where, repr(value))


def _set(
    data: dict[str, Any], path: list[PathPart], value: Any, where: Location, text: str
) -> list[tuple[PathPart, ...]]:
    """Set ``value`` at ``path``; return the path set and the paths of mappings created."""
    node: Any = data
    resolved: list[PathPart] = []
    created: list[tuple[PathPart, ...]] = []
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
                    created.append(tuple(resolved))
                node = node[part]
        else:
            raise _cannot_set(node, part, resolved, where, text)
    return [*created, tuple(resolved)]


def _cannot_set(
    node: Any, part: PathPart, resolved: list[PathPart], where: Location, text: str
) -> UserError:
    hint = None
    if resolved == ["compile", "optimizer"] and isinstance(node, str):
        hint = visible(
            f"set the optimizer as a whole: --set 'compile.optimizer="
            f"{{type: {node}, {part}: {text.strip()}}}'"
        )
    return UserError(
        f"cannot set {part!r} inside {describe(node)}",
        where,
        expected="a path through mappings and lists",
        received=visible(f"{'.'.join(map(str, resolved))} is {node!r}"),
        hint=hint,
    )


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
        f"no item named {part!r} in {visible('.'.join(map(str, at))) or 'the list'}",
        where,
        expected="a list index or a layer name",
        received=visible(part),
        hint=did_you_mean(part, [n for n in names if isinstance(n, str)]),
    )
