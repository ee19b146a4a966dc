"""The two consoles, strict JSON on stdout, and user strings made safe to show.

Every string a user supplied (a file name, a spec name, a layer name) is shown as plain text:
never read as rich markup (``seven[v2].png`` stays as it is) and with control characters made
visible (an escape sequence in a file name cannot reach the terminal). Writing to a stdout that
fails (a full disk, a closed pipe) is a one-line user error, not a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO, Any, cast

from rich.console import Console
from rich.text import Text

from mnistctl import jsondata
from mnistctl.errors import Location, UserError, visible


def plain(text: object, style: str = "") -> Text:
    """A user string as rich Text: no markup, control characters visible."""
    return Text(visible(str(text)), style=style)


def break_after(text: str, width: int, separators: str = "/") -> list[str]:
    """``text`` (a path, a dotted spec path) as lines of at most ``width`` characters, broken
    only after one of ``separators``, so that a line never ends in the middle of a name (unless
    one name alone is longer than the width)."""
    lines: list[str] = []
    line = ""
    for part in re.split(f"(?<=[{re.escape(separators)}])", text):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return [*lines, line]


def broken_text(text: str, width: int, separators: str = "/", style: str = "") -> Text:
    """``break_after``'s lines as one rich Text (for a table cell), each shown as ``plain``."""
    return Text("\n", style=style).join(
        plain(line, style) for line in break_after(text, width, separators)
    )


class _Stdout:
    """sys.stdout as rich sees it: every write flushed, a failure a UserError."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            written = self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            _stdout_lost()  # the reader has gone (| head): nothing to say, as other tools
            raise SystemExit(141) from None  # 128 + SIGPIPE
        except OSError as exc:
            _stdout_lost()
            raise UserError(
                "cannot write to standard output",
                Location("<stdout>"),
                received=exc.strerror or type(exc).__name__,
                hint="is the disk full, or the reading end of the pipe closed?",
            ) from None
        return written

    def flush(self) -> None:
        self.write("")

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


def _stdout_lost() -> None:
    """Point descriptor 1 at /dev/null, so that the interpreter's last flush of what could
    not be written does not print a second error at exit."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)
    except OSError:
        pass


def stdout() -> _Stdout:
    return _Stdout(sys.stdout)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return Console(file=cast(IO[str], stdout()), highlight=False)


def print_json(value: Any) -> None:
    """One strict JSON document on stdout, nothing else there."""
    stdout().write(jsondata.dumps(value) + "\n")
