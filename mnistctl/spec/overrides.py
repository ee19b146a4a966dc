"""``--set KEY=VALUE``: overriding spec values by dotted path before any check runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.wording import describe, did_you_mean
from mnistctl.spec.yamlload import parse_value

Placed = dict[tuple[PathPart, ...], str]  # spec path -> the override that set it


def _split_key(key: str) -> list[PathPart]:
    parts: list[PathPart] = []
    for piece in key.split("."):
        parts.append(int(piece) if piece.lstrip("-").isdigit() else piece)
    return parts


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> Placed:
    """Set each ``KEY=VALUE`` (dotted KEY, YAML VALUE) in ``data``; return path -> override."""
    placed: Placed = {}
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
                    f"cannot set {part!r} inside {describe(node)}",
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
        hint=did_you_mean(part, [n for n in names if isinstance(n, str)]),
    )
