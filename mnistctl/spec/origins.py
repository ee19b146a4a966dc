"""Where each value of a resolved spec was written: which file, at which path of that file.

A spec that ``extends`` another is put together from several files (``extends.py``): the
parent's sections, the child's, its ``set:`` values and its ``edit:`` layers. Every check runs
on the spec put together, and every problem it finds is located through ``Origins`` in the file
whose text is wrong, at that text's line and column (a parent's typo is the parent's line).

The table maps a path of the resolved spec to the place its value came from; a path not in the
table came with the nearest path above it that is (a whole mapping or list taken from one file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mnistctl.errors import Location, PathPart
from mnistctl.spec.yamlload import Document

SpecPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class Origin:
    """A place in one file. ``whole``: every path below is that same place (the key of a
    ``set:`` entry that created mappings on its way, ``set: {train.epochs: 3}`` on a spec
    without ``train``); otherwise a path below is the same path below ``path`` in ``doc``."""

    doc: Document
    path: SpecPath
    whole: bool = False

    def below(self, rest: SpecPath) -> Origin:
        return self if self.whole or not rest else Origin(self.doc, (*self.path, *rest))


class Origins:
    """The origin of every part of one resolved spec."""

    def __init__(self, doc: Document) -> None:
        self.table: dict[SpecPath, Origin] = {(): Origin(doc, ())}

    def at(self, path: SpecPath) -> Origin:
        """Where the value at ``path`` was written (the nearest entry above it, descended)."""
        for n in range(len(path), -1, -1):
            found = self.table.get(path[:n])
            if found is not None:
                return found.below(path[n:])
        raise AssertionError("the root always has an origin")  # pragma: no cover

    def locate(self, path: SpecPath, key: bool = False) -> Location:
        """The file, line and column of ``path`` (of its key with ``key``), and its path in
        that file; the nearest enclosing place when the file does not have it."""
        origin = self.at(path)
        return origin.doc.location(origin.path, key=key or origin.whole)

    def take(self, path: SpecPath, origin: Origin) -> None:
        """The value at ``path`` and everything below it now come from ``origin``."""
        for known in [p for p in self.table if p[: len(path)] == path]:
            del self.table[known]
        self.table[path] = origin

    def pin(self, paths: Iterable[SpecPath]) -> None:
        """Record the origins of ``paths`` as they are now, before what is above them changes."""
        fixed = {p: self.at(p) for p in paths}
        self.table.update(fixed)

    def reorder(self, list_path: SpecPath, order: Sequence[int | None]) -> None:
        """A list was rebuilt: its item ``j`` is the old item ``order[j]`` (None: new, whose
        origin the caller gives with ``take``). Entries of items dropped go with them."""
        n = len(list_path)
        new_index = {old: new for new, old in enumerate(order) if old is not None}
        moved: dict[SpecPath, Origin] = {}
        for path in [p for p in self.table if len(p) > n and p[:n] == list_path]:
            origin = self.table.pop(path)
            old = path[n]
            if isinstance(old, int) and old in new_index:
                moved[(*list_path, new_index[old], *path[n + 1 :])] = origin
        self.table.update(moved)
