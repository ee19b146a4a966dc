"""Specs that build on specs: ``extends:``, ``set:`` and ``edit:``, resolved to a plain spec.

::

    extends: cnn.yaml          # a path relative to this file; parents may extend too
    train: {epochs: 20}        # sections merge into the parent's, key by key
    set: {model.layers.hidden_1.units: 256}    # --set paths, layer names allowed
    edit: [{after: pool_1, insert: [{type: Dropout, rate: 0.25}]}]

In this order: the parent is resolved (its own parents first); its relative ``data.path`` and
``model.init_from`` are rebased onto this file's folder (they keep naming what they named);
the sections this file writes merge into the parent's (``_merge``); then ``set:``, then
``edit:`` (``edits.py``). The command line's ``--set`` comes after all of it (``loader.py``).

Merging: mappings merge key by key, at every depth, the child winning; a list or any other value
is replaced whole (``model.layers`` included: edit them with ``edit:``); a mapping whose
``type:`` differs from the parent's (an optimizer) replaces it whole, as does each search
distribution (``search.space``'s values). The parent's ``name`` is not inherited: a spec is
named by its own ``name:`` or its file's stem.

Every problem is located in the file whose text is wrong (``origins.py``).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, PathPart, UserError, UserErrors, visible
from mnistctl.spec.edits import apply_edits, check_edits
from mnistctl.spec.origins import Origin, Origins, SpecPath
from mnistctl.spec.overrides import set_path
from mnistctl.spec.wording import describe, did_you_mean
from mnistctl.spec.yamlload import Document, load_text, read_text

DIRECTIVES = ("extends", "set", "edit")
SPEC_KEYS = ("name", "description", "data", "model", "compile", "train", "search", *DIRECTIVES)
MAX_CHAIN = 20  # files in one chain of extends, the spec itself included
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_INDEX = re.compile(r"-?[0-9]+")  # as overrides.py reads a --set path


@dataclass
class Resolved:
    """A spec file with its parents, set and edits applied: plain data and where each part of
    it was written."""

    data: dict[str, Any]
    origins: Origins
    sources: dict[str, str] = field(default_factory=dict)  # each file's text, by its name

    def locate(self, path: SpecPath, key: bool = False) -> Location:
        return self.origins.locate(path, key=key)

    def source_for(self, errors: list[UserError]) -> str | None:
        """The text to show excerpts from: the one file every located error is in, if one."""
        files = {e.location.file or "" for e in errors if e.location.line is not None}
        return self.sources.get(files.pop()) if len(files) == 1 else None


def resolve_file(path: Path) -> Resolved:
    """``path`` resolved; raises UserErrors (each problem in the file whose text is wrong)."""
    sources: dict[str, str] = {}
    return _Chain(sources).resolve(path, str(path), ())


@dataclass
class _Chain:
    sources: dict[str, str]

    def load(self, path: Path, display: str) -> Document:
        text = read_text(path, display)
        self.sources[display] = text
        try:
            return load_text(text, display)
        except UserError as err:
            raise UserErrors([err], text) from None

    def fail(self, errors: list[UserError], doc: Document) -> UserErrors:
        return UserErrors(errors, self.sources.get(doc.file))

    def resolve(self, path: Path, display: str, chain: tuple[tuple[str, str], ...]) -> Resolved:
        """``chain``: the files that extend this one, as (real path, name), child first."""
        try:
            doc = self.load(path, display)
        except UserError as err:  # the file itself: missing, a folder, not UTF-8, too large
            raise UserErrors([err], self.sources.get(display)) from None
        errors = _check_directives(doc)
        edits, problems = check_edits(doc) if "edit" in doc.data else ([], [])
        if errors or problems:
            raise self.fail(errors + problems, doc)
        try:
            if "extends" in doc.data:
                data, origins = self.parent(doc, path, chain)
                _merge(data, origins, doc)
            else:
                data = {k: copy.deepcopy(v) for k, v in doc.data.items() if k not in DIRECTIVES}
                origins = Origins(doc)
            _apply_set(data, origins, doc)
            apply_edits(data, origins, doc, edits)
        except UserError as err:
            raise self.fail([err], doc) from None
        return Resolved(data, origins, self.sources)

    def parent(
        self, doc: Document, path: Path, chain: tuple[tuple[str, str], ...]
    ) -> tuple[dict[str, Any], Origins]:
        """The resolved parent of ``doc``, its relative paths rebased onto ``doc``'s folder."""
        value = doc.data["extends"]
        where = doc.location(("extends",))
        parent_path = path.parent / Path(value).expanduser()
        display = os.path.normpath(
            os.path.join(os.path.dirname(doc.file), os.path.expanduser(value))
        )
        real = os.path.realpath(path)
        _check_chain(value, where, [*chain, (real, doc.file)], os.path.realpath(parent_path))
        try:
            parent = self.resolve(parent_path, display, (*chain, (real, doc.file)))
        except UserErrors as errs:  # a parent that cannot be read at all: this file's line
            first = errs.errors[0]
            if len(errs.errors) == 1 and first.location.file == display and not first.location.line:
                unreadable = _unreadable(first, value, where, parent_path)
                raise self.fail([unreadable], doc) from None
            raise
        _check_is_spec(parent.data, display, value, where)
        _rebase(parent.data, parent_path.parent, path.parent)
        return parent.data, parent.origins


def _check_directives(doc: Document) -> list[UserError]:
    """The form of ``extends:`` and ``set:`` (``edit:``'s is ``edits.check_edits``)."""
    data = doc.data
    errors = []
    if "extends" in data:
        value = data["extends"]
        if not isinstance(value, str) or not value.strip():
            errors.append(
                UserError(
                    "must name a spec file",
                    doc.location(("extends",)),
                    expected="a path relative to this file, e.g. extends: cnn.yaml",
                    received=describe(value),
                )
            )
    if "set" in data:
        value = data["set"]
        if not isinstance(value, dict):
            errors.append(
                UserError(
                    "must be a mapping of spec paths to values",
                    doc.location(("set",)),
                    expected="e.g. set: {train.epochs: 20, model.layers.hidden_1.units: 64}",
                    received=describe(value),
                )
            )
        else:
            errors += [_bad_key(doc, key) for key in value if any(not p for p in key.split("."))]
    return errors


def _bad_key(doc: Document, key: str) -> UserError:
    return UserError(
        "not a spec path",
        doc.location(("set", key), key=True),
        expected="a dotted path, e.g. train.epochs or model.layers.hidden_1.units",
        received=repr(visible(key)),
    )


def _check_chain(
    value: str, where: Location, chain: list[tuple[str, str]], parent_real: str
) -> None:
    if _URL.match(value):
        raise UserError(
            "a URL: extends names a local file",
            where,
            expected="a path relative to this file",
            received=visible(value),
            hint="download the spec and extend the file",
        )
    reals = [real for real, _ in chain]
    if parent_real in reals:
        names = [name for _, name in chain[reals.index(parent_real) :]]
        cycle = " -> ".join(visible(n) for n in [*names, names[0]])
        raise UserError(
            "a spec cannot extend itself" if len(names) == 1 else f"a cycle of extends: {cycle}",
            where,
            expected="a chain of parents that ends in a spec without extends",
            received=cycle,
        )
    if len(chain) >= MAX_CHAIN:
        raise UserError(
            "too many specs in a chain of extends",
            where,
            expected=f"at most {MAX_CHAIN} files, this one included",
            received=f"more, from {visible(chain[0][1])}",
        )


def _unreadable(err: UserError, value: str, where: Location, parent_path: Path) -> UserError:
    """A parent that cannot be read as a file (missing, a folder, ...): the child's line."""
    hint = err.hint
    if err.message == "no such file":
        folder = parent_path.parent
        try:
            names = [p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml")]
        except OSError:
            names = []
        hint = did_you_mean(parent_path.name, names) or (
            f"the path is relative to this file's folder ({visible(str(folder))})"
        )
    return UserError(
        f"{err.message}: {visible(err.location.file or value)}",
        where,
        expected=err.expected or "a spec file",
        received=err.received or visible(value),
        hint=hint,
    )


def _check_is_spec(data: dict[str, Any], display: str, value: str, where: Location) -> None:
    if any(k in data for k in SPEC_KEYS) or not data:
        return
    raise UserError(
        f"not a spec: {visible(display)}",
        where,
        expected="a spec: a mapping with model:, data:, compile:, train: ...",
        received="keys " + ", ".join(repr(visible(k)) for k in list(data)[:5]),
    )


# --- rebasing, merging, set -----------------------------------------------------------------


def _rebase(data: dict[str, Any], parent_dir: Path, child_dir: Path) -> None:
    """The parent's relative ``data.path`` and ``model.init_from`` made relative to the child's
    folder, so that they name the same files from there."""
    if os.path.abspath(parent_dir) == os.path.abspath(child_dir):
        return

    def moved(value: Any) -> Any:
        if not isinstance(value, str) or not value or value.startswith("~"):
            return value
        if Path(value).is_absolute():
            return value
        target = os.path.normpath(os.path.join(os.path.abspath(parent_dir), value))
        try:
            return os.path.relpath(target, os.path.abspath(child_dir))
        except ValueError:  # another drive (Windows): no relative path between them
            return target

    _update(data, ("data", "path"), moved)
    model = data.get("model")
    init = model.get("init_from") if isinstance(model, dict) else None
    _update(data, ("model", "init_from", *(("run",) if isinstance(init, dict) else ())), moved)


def _update(data: dict[str, Any], path: tuple[str, ...], change: Callable[[Any], Any]) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and path[-1] in node:
        node[path[-1]] = change(node[path[-1]])


def _merge(data: dict[str, Any], origins: Origins, doc: Document) -> None:
    """The sections ``doc`` writes merged into its parent's ``data`` (the child winning)."""
    data.pop("name", None)  # a spec is named by its own file
    origins.pin((k,) for k in data)
    origins.table[()] = Origin(doc, ())
    for key, value in doc.data.items():
        if key not in DIRECTIVES:
            _merge_value(data, key, value, (key,), origins, doc)


def _merge_value(
    into: dict[str, Any], key: str, value: Any, path: SpecPath, origins: Origins, doc: Document
) -> None:
    old = into.get(key)
    if isinstance(old, dict) and isinstance(value, dict) and _same_kind(path, old, value):
        origins.pin((*path, k) for k in old)
        origins.table[path] = Origin(doc, path)
        for k, v in value.items():
            _merge_value(old, k, v, (*path, k), origins, doc)
        return
    into[key] = copy.deepcopy(value)
    origins.take(path, Origin(doc, path))


def _same_kind(path: SpecPath, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new`` merges into ``old``: not when it names another ``type:``, nor when it is
    a search distribution (``{float: [...], log: true}`` or ``{choice: [...]}``: one value)."""
    if len(path) == 3 and path[:2] == ("search", "space"):
        return False
    return "type" not in new or new["type"] == old.get("type")


def _apply_set(data: dict[str, Any], origins: Origins, doc: Document) -> None:
    """``set:``'s values, in order, at their paths (as ``--set`` sets them)."""
    for key, value in (doc.data.get("set") or {}).items():
        where = doc.location(("set", key), key=True)
        paths = _set_paths(data, key)
        set_path(data, key, copy.deepcopy(value), where)
        created, final = paths or (None, tuple(key.split(".")))
        if created is not None:  # mappings set: made on its way: its key is their place
            origins.take(created, Origin(doc, ("set", key), whole=True))
        origins.take(final, Origin(doc, ("set", key)))


def _set_paths(data: dict[str, Any], key: str) -> tuple[SpecPath | None, SpecPath] | None:
    """The path ``key`` sets (list items by index), and the first mapping it creates on its
    way (None: none); None when ``set_path`` will refuse it."""
    node: Any = data
    path: list[PathPart] = []
    created: SpecPath | None = None
    for piece in key.split("."):
        if created is not None:  # inside a mapping it makes
            path.append(piece)
        elif isinstance(node, list):
            index = _item(node, piece)
            if index is None:
                return None
            path.append(index)
            node = node[index]
        elif isinstance(node, dict):
            path.append(piece)
            if node.get(piece) is None:
                created = tuple(path)
            node = node.get(piece)
        else:
            return None
    return created if created != tuple(path) else None, tuple(path)


def _item(node: list[Any], piece: str) -> int | None:
    if _INDEX.fullmatch(piece):
        i = int(piece)
        return i % len(node) if -len(node) <= i < len(node) else None
    names = [x.get("name") if isinstance(x, dict) else None for x in node]
    return names.index(piece) if piece in names else None
