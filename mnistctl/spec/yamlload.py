"""Safe YAML loading that keeps the line and column of every node.

PyYAML's safe loader is the parser; the construction of Python values is ours, so that:
duplicate keys are errors, no tag constructs an object, numbers read as people write them
(``1e-3`` is a float, YAML 1.2 style), ``.nan``/``.inf`` are refused, nesting depth and alias
expansion are bounded, and every value's place in the file is remembered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.textfile import MAX_FILE_BYTES, read_text

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Document",
    "load_file",
    "load_text",
    "parse_value",
    "read_text",
]

MAX_DEPTH = 64
MAX_NODES = 100_000  # after alias expansion

_STD = "tag:yaml.org,2002:"
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))\Z""",  # \Z: '$' would also match before a final newline
    re.X,
)

_NUMBER_TEXT = re.compile(r"[-+0-9A-Za-z_.:]+")  # what any YAML int or float is written with


class _Loader(yaml.SafeLoader):
    """SafeLoader whose float resolver also accepts ``1e-3`` and ``1E5`` (YAML 1.2)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own class attribute)
        key: [(tag, regexp) for tag, regexp in resolvers if tag != _STD + "float"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(_STD + "float", _FLOAT_RE, list("-+0123456789."))


class _DepthLimitedLoader(_Loader):
    """Composes nodes only; refuses nesting deeper than MAX_DEPTH before Python recursion does."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise UserError(
                    "nesting too deep",
                    Location(None, mark.line + 1, mark.column + 1),
                    expected=f"at most {MAX_DEPTH} levels of lists and mappings",
                    received="more",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass
class Document:
    """A loaded YAML document: plain data plus where each value and key came from."""

    data: Any
    file: str
    source: str
    marks: dict[tuple[PathPart, ...], tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[tuple[PathPart, ...], tuple[int, int]] = field(default_factory=dict)

    def location(self, path: tuple[PathPart, ...], *, key: bool = False) -> Location:
        """The place of ``path`` in the file; the nearest enclosing node if it is not there."""
        table = self.key_marks if key else self.marks
        probe = path
        while probe:
            if probe in table:
                line, col = table[probe]
                return Location(self.file, line, col, path)
            if key:  # fall back to the value table once the key itself is not found
                table, key = self.marks, False
                continue
            probe = probe[:-1]
        line, col = self.marks.get((), (1, 1))
        return Location(self.file, line, col, path)


def load_file(path: Path, display: str | None = None) -> Document:
    return load_text(read_text(path, display), display if display is not None else str(path))


def load_text(text: str, file: str) -> Document:
    """Parse one YAML document that must be a mapping."""
    root = _compose(text, file)
    if root is None:
        raise UserError(
            "the spec is empty",
            Location(file, 1, 1),
            expected="a mapping with 'model' and other sections",
            received="no content",
        )
    doc = Document(data=None, file=file, source=text)
    _check_size(root, file)
    doc.data = _Builder(doc).build(root, ())
    if doc.data is None:  # a lone '---' or '~'
        raise UserError(
            "the spec is empty",
            Location(file, 1, 1),
            expected="a mapping with 'model' and other sections",
            received="null",
        )
    if not isinstance(doc.data, dict):
        line, col = doc.marks[()]
        raise UserError(
            "the spec must be a mapping",
            Location(file, line, col),
            expected="keys such as 'model:', 'data:', 'train:'",
            received=_kind(doc.data),
        )
    return doc


def parse_value(text: str, where: str) -> Any:
    """Parse a ``--set`` value as YAML: ``abc`` a string, ``1e-3`` a float, ``[1, 2]`` a list."""
    root = _compose(text, where, locate=False)
    if root is None:
        return None
    doc = Document(data=None, file=where, source=text)
    _check_size(root, where)
    return _Builder(doc, locate=False).build(root, ())


def _compose(text: str, file: str, *, locate: bool = True) -> yaml.Node | None:
    try:
        loader = _DepthLimitedLoader(text)
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise UserError(
            "control character in the file",
            Location(file, line, col) if locate else Location(file),
            expected="printable text",
            received=f"character U+{exc.character:04X}"
            if isinstance(exc.character, int)
            else repr(exc.character),
        ) from None
    try:
        node = loader.get_single_node()
    except UserError as err:
        err.location = (
            Location(file, err.location.line, err.location.col) if locate else Location(file)
        )
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context):
            problem = "several YAML documents in one file"
            expected, received = "exactly one document", "a second '---' document"
        else:
            expected, received = "valid YAML", None
        loc = Location(file, mark.line + 1, mark.column + 1) if mark and locate else Location(file)
        raise UserError(f"YAML syntax error: {problem}", loc, expected, received) from None
    except yaml.YAMLError as exc:
        raise UserError(f"YAML error: {exc}", Location(file)) from None
    except RecursionError:
        raise UserError("nesting too deep", Location(file)) from None
    finally:
        loader.dispose()
    return node


def _check_size(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs and recursive aliases: count nodes as if aliases were expanded."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise UserError(
                "recursive alias",
                Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                expected="an alias to a finished node",
                received="an alias to a node that contains it",
            )
        active.add(key)
        total = 1
        for child in _children(node):
            total += size(child)
            if total > MAX_NODES:
                raise UserError(
                    "too many values after expanding aliases (an alias bomb?)",
                    Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                    expected=f"at most {MAX_NODES:,} values",
                    received="more",
                )
        active.discard(key)
        sizes[key] = total
        return total

    size(root)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _short(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else f"a {type(value).__name__}"
    )


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording every position."""

    def __init__(self, doc: Document, *, locate: bool = True) -> None:
        self.doc = doc
        self.locate = locate
        self.scalar = yaml.SafeLoader.__new__(_Loader)  # only for its scalar constructors

    def error(self, node: yaml.Node, message: str, **kw: Any) -> UserError:
        if not self.locate:
            return UserError(message, Location(self.doc.file), **kw)
        mark = node.start_mark
        return UserError(message, Location(self.doc.file, mark.line + 1, mark.column + 1), **kw)

    def build(self, node: yaml.Node, path: tuple[PathPart, ...]) -> Any:
        self.doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _STD + "seq":
                raise self._tag_error(node)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar_value(node)

    def _tag_error(self, node: yaml.Node) -> UserError:
        return self.error(
            node,
            f"YAML tag {_short(node.tag)!r} is not allowed",
            expected="plain values (strings, numbers, booleans, null, lists and mappings)",
            received=_short(node.tag),
            hint="a spec is data: no tag may construct objects",
        )

    def integer(self, node: yaml.ScalarNode) -> Any:
        """YAML 1.2 integers: ``010`` is ten (not octal eight), ``1:30`` is a string (not 90)."""
        text = str(node.value).replace("_", "")
        if ":" in text:
            return str(node.value)
        if re.fullmatch(r"[-+]?0[0-9]+", text):
            return int(text, 10)
        if re.fullmatch(r"[-+]?0o[0-7]+", text):
            return int(text.replace("0o", ""), 8)
        return self.scalar.construct_yaml_int(node)

    def scalar_value(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_STD + "str", _STD + "timestamp"):  # !!binary: bytes, refused below
            return str(node.value)
        if tag == _STD + "null":
            return None
        try:  # an explicit tag (``!!int abc``) or ``._`` can reach a constructor with junk
            if tag in (_STD + "int", _STD + "float") and not _NUMBER_TEXT.fullmatch(node.value):
                raise ValueError(node.value)  # int() and float() take '١٢', '１' and ' 12'
            if tag == _STD + "bool":
                return self.scalar.construct_yaml_bool(node)
            if tag == _STD + "int":
                return self.integer(node)
            if tag == _STD + "float":
                value = float(self.scalar.construct_yaml_float(node))
        except (ValueError, KeyError, IndexError):
            raise self.error(
                node,
                f"not a valid {_short(tag)[2:]}",
                expected=f"a value of type {_short(tag)}",
                received=repr(node.value),
            ) from None
        if tag == _STD + "float":
            if not math.isfinite(value):
                raise self.error(
                    node,
                    "not a finite number",
                    expected="a finite number",
                    received=str(node.value),
                    hint=".nan and .inf are never valid in a spec",
                )
            return value
        raise self._tag_error(node)

    def mapping(self, node: yaml.MappingNode, path: tuple[PathPart, ...]) -> dict[str, Any]:
        if node.tag != _STD + "map":
            raise self._tag_error(node)
        out: dict[str, Any] = {}
        # merge keys ('<<') first, later sources first, so that earlier sources and then the
        # mapping's own keys win (YAML merge semantics) and own keys keep their own positions
        for key_node, value_node in reversed(node.value):
            if key_node.tag != _STD + "merge":
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in reversed(sources):
                if not isinstance(source, yaml.MappingNode):
                    raise self.error(
                        source,
                        "a merge key '<<' needs a mapping or a list of mappings",
                        expected="an alias to a mapping, e.g. '<<: *defaults'",
                        received="something else",
                    )
                out.update(self.mapping(source, path))
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, "a key must be a plain string", received="a collection")
            key = str(key_node.value)
            if key in explicit:
                first = self.doc.key_marks.get((*path, key))
                where = f" (first at line {first[0]})" if first else ""
                raise self.error(
                    key_node,
                    f"duplicate key {key!r}{where}",
                    expected="each key once per mapping",
                    received=f"{key!r} again",
                    hint="YAML would keep only the last one; remove one of them",
                )
            explicit.add(key)
            self.doc.key_marks[(*path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, (*path, key))
        return out
