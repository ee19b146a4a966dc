"""The one error type for user-facing problems, carrying where the problem is.

Raised where a problem is found, rendered once by the CLI layer (see ``render``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

PathPart = str | int


def visible(text: str) -> str:
    """``text`` with each unprintable character escaped as Python writes it (``\\n``,
    ``\\x1b``, ``\\u2028``): what a user typed stays on one line and cannot drive a terminal.
    A byte of a file name that is not UTF-8 is ``\\xNN``, as ``unicode_text`` writes it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in unicode_text(text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_text(text: str) -> str:
    """``text`` as valid Unicode (what strict JSON parsers accept): each byte of a file name
    that is not UTF-8 (Python's ``os.fsdecode`` holds it as a lone surrogate, U+DC80-U+DCFF)
    written ``\\xNN`` (``bad\\xff.png``), any other lone surrogate ``\\udNNN``."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def format_path(path: Sequence[PathPart]) -> str:
    """``("model", "layers", 2, "units")`` -> ``model.layers[2].units`` (unprintable characters
    of keys escaped)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part:  # a key that is itself a dotted path (search.space's keys)
            out += f"['{visible(part)}']"
        else:
            out += ("." if out else "") + visible(part)
    return out


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, a 1-based line and column, a path inside the spec."""

    file: str | None = None
    line: int | None = None
    col: int | None = None
    path: tuple[PathPart, ...] = ()

    def prefix(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file)
            if self.line is not None:
                parts.append(str(self.line))
                if self.col is not None:
                    parts.append(str(self.col))
        return ":".join(parts) + ": " if parts else ""


@dataclass
class UserError(Exception):
    """A problem the user can fix: bad spec, missing data, damaged model or image file.

    ``message`` says what was wrong; ``expected``/``received`` say what should have been there
    and what was; ``hint`` helps fix it.
    """

    message: str
    location: Location = field(default_factory=Location)
    expected: str | None = None
    received: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = self.location.prefix()
        spec_path = format_path(self.location.path)
        if spec_path:
            text += f"{spec_path}: "
        text += self.message
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.received is not None:
            text += f"; received {self.received}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class UserErrors(Exception):
    """Several problems found in one pass (every problem in a spec is reported, not the first).

    Also the one exception type the Python API raises (``mnistctl.Error``), a single problem
    included: ``str()`` is exactly the line(s) the CLI prints, one per problem; ``errors``
    holds each problem, and ``message``, ``location``, ``expected``, ``received`` and ``hint``
    are the first one's.
    """

    def __init__(self, errors: Sequence[UserError], source: str | None = None) -> None:
        super().__init__("\n".join(e.one_line() for e in errors))
        self.errors = list(errors)
        self.source = source  # the text of the file, for excerpts

    def __str__(self) -> str:
        return "\n".join(self.lines)

    @property
    def lines(self) -> list[str]:
        """One line per problem, as the CLI prints them (unprintable characters escaped)."""
        return [visible(e.one_line()) for e in self.errors]

    @property
    def first(self) -> UserError:
        """The first problem (the one a ``--json`` error document describes)."""
        return self.errors[0] if self.errors else UserError("unknown problem")

    @property
    def message(self) -> str:
        return self.first.message

    @property
    def location(self) -> Location:
        return self.first.location

    @property
    def expected(self) -> str | None:
        return self.first.expected

    @property
    def received(self) -> str | None:
        return self.first.received

    @property
    def hint(self) -> str | None:
        return self.first.hint
