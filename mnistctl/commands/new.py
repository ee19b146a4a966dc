"""``mnistctl new NAME``: a starter spec, copied from an example spec (a template) or any spec.

The example specs ship inside the package: the wheel maps the repository's ``specs/`` to
``mnistctl/templates/`` and ``schemas/spec.schema.json`` to ``mnistctl/spec.schema.json``; a
source checkout (an editable install included) reads both from the repository beside the
package. Each template is one file in the repository, ``specs/NAME.yaml``.

The copy is the source's text, its comments kept, with three changes: its first line points
editors at the installed schema (a ``yaml-language-server`` modeline with the schema file's
absolute URI, so checking works outside the repository), ``name:`` is NAME, and every relative
path (``extends``, ``data.path``, ``model.init_from``) still points where it did: relative to the
new file when the place is in its folder or below, absolute otherwise. A ``data.path`` that is
not there (a template's pictures, which the wheel does not ship) becomes ``null`` with a comment
and a note saying what to set. The file is written whole or not at all, never over a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mnistctl.errors import Location, UserError, visible

DEFAULT_TEMPLATE = "cnn"  # the course's main model
MODELINE = "# yaml-language-server: $schema="
SPEC_SUFFIXES = (".yaml", ".yml")
PACKAGE = Path(__file__).resolve().parent.parent  # the installed mnistctl/ folder

# Where the example specs and the schema are: in the wheel, then in a source checkout.
_WHEEL_TEMPLATES = "templates"
_WHEEL_SCHEMA = "spec.schema.json"
_CHECKOUT_TEMPLATES = "specs"
_CHECKOUT_SCHEMA = "schemas/spec.schema.json"


@dataclass(frozen=True)
class NewSpec:
    """What ``new`` wrote."""

    file: Path  # the new spec (absolute)
    source: Path  # the spec it is a copy of (absolute)
    template: str | None  # the template's name, when the source is one
    schema: str | None  # the URI the modeline points at (None: no schema file was found)
    notes: tuple[str, ...] = ()  # what the user must still do (a path that was not there)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "from": self.template if self.template is not None else str(self.source),
            "source": str(self.source),
            "schema": self.schema,
            "notes": list(self.notes),
        }


# --- where the templates and the schema are --------------------------------------------------


def _checkout(package: Path) -> Path | None:
    """The repository the package sits in (a source checkout, an editable install), if any."""
    root = package.parent
    return root if (root / "pyproject.toml").is_file() else None


def templates_dir(package: Path = PACKAGE) -> Path | None:
    """The folder of example specs: ``mnistctl/templates`` in the wheel, else the checkout's
    ``specs/``."""
    return _shipped(package, _WHEEL_TEMPLATES, _CHECKOUT_TEMPLATES, Path.is_dir)


def templates(package: Path = PACKAGE) -> dict[str, Path]:
    """Each example spec by name (its file's stem), in name order."""
    folder = templates_dir(package)
    if folder is None:
        return {}
    found = sorted(p for p in folder.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
    return {p.stem: p for p in found}


def schema_file(package: Path = PACKAGE) -> Path | None:
    """The installed JSON Schema of a spec: ``mnistctl/spec.schema.json`` in the wheel, else the
    checkout's ``schemas/spec.schema.json``."""
    return _shipped(package, _WHEEL_SCHEMA, _CHECKOUT_SCHEMA, Path.is_file)


def _shipped(
    package: Path, in_wheel: str, in_checkout: str, exists: Callable[[Path], bool]
) -> Path | None:
    """What the wheel ships at ``package/in_wheel``, else the checkout's ``in_checkout``."""
    shipped = package / in_wheel
    if exists(shipped):
        return shipped
    root = _checkout(package)
    if root is not None and exists(root / in_checkout):
        return root / in_checkout
    return None


# --- the command -----------------------------------------------------------------------------


def new_spec(
    name: str,
    source: str | None = None,
    output: Path | None = None,
    *,
    package: Path = PACKAGE,
) -> NewSpec:
    """Write the starter spec NAME: a copy of ``source`` (a template's name or a spec file;
    default: the CNN) at ``output`` (a file, or a folder for NAME.yaml; default: NAME.yaml
    here). Raises UserError (nothing written) for a name that is not plain, an unknown
    template, a source that is not a valid spec, or a file already there."""
    from mnistctl.spec import load_spec

    _check_name(name)
    found, template = _source(source or DEFAULT_TEMPLATE, package)
    target = _target(name, output)
    load_spec(found)  # a copy of a broken spec would be broken too: its errors, in its file
    schema = schema_file(package)
    uri = schema.resolve().as_uri() if schema is not None else None
    from mnistctl.spec.yamlload import read_text

    text, notes = starter_text(read_text(found), found, target, name, uri)
    _write_new(target, text)
    return NewSpec(target, found, template, uri, tuple(notes))


def _check_name(name: str) -> None:
    from mnistctl.spec.schema import NAME_PATTERN

    if re.fullmatch(NAME_PATTERN, name) and name not in (".", ".."):
        if Path(name).suffix in SPEC_SUFFIXES:
            raise UserError(
                "give the name without .yaml",
                Location("NAME"),
                expected="a plain name such as my_cnn",
                received=repr(visible(name)),
                hint=f"mnistctl new {Path(name).stem} (writes {Path(name).stem}.yaml)",
            )
        return
    raise UserError(
        "not a plain name",
        Location("NAME"),
        expected="letters, digits, _ . - (starting with a letter or digit), up to 64; it names "
        "the file and the runs folder",
        received=repr(visible(name))[:80],
        hint="put the file elsewhere with --output PATH" if "/" in name or "\\" in name else None,
    )


def _source(given: str, package: Path) -> tuple[Path, str | None]:
    """The spec to copy: a template by name, or a spec file's path."""
    from mnistctl.spec.wording import did_you_mean

    known = templates(package)
    is_path = "/" in given or os.sep in given or Path(given).suffix in SPEC_SUFFIXES
    if not is_path and given in known:
        return known[given].resolve(), given
    path = Path(given).expanduser()
    if path.is_file():
        return path.resolve(), None
    names = ", ".join(known) or "none installed"
    if is_path:
        stem = Path(given).stem
        hint = f"the template is --from {stem}" if stem in known and not path.exists() else None
        raise UserError(
            "no such spec file" if not path.exists() else "not a spec file",
            Location(visible(given)),
            expected=f"a spec file, or a template: {names}",
            received="nothing there"
            if not path.exists()
            else ("a folder" if path.is_dir() else "not a regular file"),
            hint=hint,
        )
    raise UserError(
        f"unknown template {visible(given)!r}",
        Location("--from"),
        expected=f"a template ({names}) or a spec file's path",
        received=repr(visible(given)),
        hint=did_you_mean(given, list(known)),
    )


def _target(name: str, output: Path | None) -> Path:
    """Where the new spec goes (absolute): NAME.yaml here, ``output``, or NAME.yaml in the
    folder ``output``; refused when something is there already or its folder is not."""
    shown = Path(f"{name}.yaml") if output is None else output.expanduser()
    if output is not None and shown.is_dir():
        shown = shown / f"{name}.yaml"
    if shown.exists() or shown.is_symlink():
        raise UserError(
            "the file already exists",
            Location(str(shown)),
            expected="a new file (new never overwrites)",
            received="a folder" if shown.is_dir() else "a file",
            hint="choose another NAME or --output PATH, or delete the file first",
        )
    if shown.suffix not in SPEC_SUFFIXES:
        raise UserError(
            "not a place for a spec",
            Location(str(shown)),
            expected="a .yaml file or an existing folder",
            received=repr(visible(shown.name)),
            hint=f"--output {shown}.yaml, or create the folder first: mkdir -p {shown}",
        )
    folder = shown.parent
    if not folder.is_dir():
        raise UserError(
            "no such folder",
            Location(str(folder)),
            expected="an existing folder for the new spec",
            received="nothing there" if not folder.exists() else "a file",
            hint=f"create it first: mkdir -p {folder}",
        )
    return Path(os.path.abspath(shown))


def _write_new(target: Path, text: str) -> None:
    """Write ``text`` to ``target``, which must not exist: whole or not at all (a temporary file
    beside it, then linked into place; a hard link never replaces a file)."""
    from mnistctl.runs.atomic import write_error

    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise write_error(target, exc) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        _link(tmp, target)
    except FileExistsError:
        raise UserError(
            "the file already exists", Location(str(target)), hint="it appeared meanwhile"
        ) from None
    except OSError as exc:
        raise write_error(target, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _link(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: create it exclusively, then fill it
        with open(target, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(tmp.read_text(encoding="utf-8"))


# --- the copy's text -------------------------------------------------------------------------


def starter_text(
    text: str, source: Path, target: Path, name: str, schema_uri: str | None
) -> tuple[str, list[str]]:
    """``text`` (the spec at ``source``) as the spec ``name`` at ``target``: the modeline, the
    name and the relative paths changed, everything else as written. Returns the notes too."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # the source passed load_spec
    edits: list[tuple[int, int, str]] = []
    notes: list[str] = []
    top = _entries(root)
    if "name" in top:
        edits.append(_replace(top["name"][1], _scalar(name)))
    else:
        start = _line_start(text, top_key_index(root))
        edits.append((start, start, f"name: {_scalar(name)}\n"))
    for node in _path_nodes(top, "extends") + _path_nodes(top, "model", "init_from"):
        edits.append(_replace(node, _scalar(_moved(node.value, source, target))))
    for node in _path_nodes(top, "data", "path"):
        place = Path(node.value).expanduser()
        place = place if place.is_absolute() else source.parent / place
        if place.exists():
            edits.append(_replace(node, _scalar(_moved(node.value, source, target))))
            continue
        start = _line_start(text, node.start_mark.index)
        indent = re.match(r"[ \t]*", text[start:])
        comment = f"{node.value} (the example's data) is not installed: set path: to your data"
        edits.append((start, start, f"{indent.group() if indent else ''}# {comment}\n"))
        edits.append(_replace(node, "null"))
        notes.append(
            f"data.path: {node.value} (the example's data) is not installed; set data.path in "
            f"{target.name} to your data: a folder of class folders, a CSV, a .npz or a folder "
            "of IDX files"
        )
    out = text
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    return _with_modeline(out, schema_uri), notes


def top_key_index(root: yaml.MappingNode) -> int:
    return int(root.value[0][0].start_mark.index) if root.value else 0


def _entries(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _path_nodes(top: dict[str, tuple[yaml.Node, yaml.Node]], *keys: str) -> list[yaml.Node]:
    """The scalar nodes holding a path at ``keys`` (a string, a list of strings, or a mapping's
    ``run``, as ``init_from: {run: ...}`` writes it)."""
    entries = top
    node: yaml.Node | None = None
    for key in keys:
        if key not in entries:
            return []
        node = entries[key][1]
        entries = _entries(node)
    candidates: Iterator[yaml.Node]
    if isinstance(node, yaml.SequenceNode):
        candidates = iter(node.value)
    elif isinstance(node, yaml.MappingNode) and "run" in entries:
        candidates = iter([entries["run"][1]])
    else:
        candidates = iter([node] if node is not None else [])
    return [
        n
        for n in candidates
        if isinstance(n, yaml.ScalarNode) and n.tag.endswith(":str") and n.value
    ]


def _moved(value: str, source: Path, target: Path) -> str:
    """A path written in ``source``, as ``target`` must write it to mean the same place:
    unchanged when absolute; relative to ``target``'s folder when the place is in it or below;
    else absolute."""
    path = Path(value).expanduser()
    if path.is_absolute() or value.startswith("~"):
        return value
    place = Path(os.path.normpath(source.parent / path))
    folder = target.parent
    if place == folder or folder in place.parents:
        return place.relative_to(folder).as_posix()
    return str(place)


def _replace(node: yaml.Node, new: str) -> tuple[int, int, str]:
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    if getattr(node, "style", None) in ("|", ">"):
        new += "\n"  # a block scalar's text runs to the end of its lines
    return start, end, new


def _scalar(value: str) -> str:
    """``value`` as a YAML string: plain when it reads back as itself, else double-quoted."""
    if re.fullmatch(r"[\w./+~-]+", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _with_modeline(text: str, schema_uri: str | None) -> str:
    """The first line points editors at the schema (any modeline of the source's replaced)."""
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(MODELINE)]
    if schema_uri is None:
        return "".join(kept)
    return f"{MODELINE}{schema_uri}\n" + "".join(kept)
