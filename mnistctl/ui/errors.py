"""User-facing errors on the terminal (one line each, an excerpt of the spec where known) and
as the ``--json`` error document."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from mnistctl.errors import UserError, UserErrors, format_path, unicode_text, visible


def excerpt(source: str, line: int, col: int | None, context: int = 2) -> list[str]:
    """Lines around ``line`` (1-based) with a gutter, the line marked and a caret at ``col``."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return []
    width = len(str(min(len(lines), line + context)))
    out = []
    for n in range(max(1, line - context), min(len(lines), line + context) + 1):
        mark = ">" if n == line else " "
        out.append(f" {mark} {n:>{width}} | {lines[n - 1]}")
        if n == line and col:
            out.append(f"   {' ' * width} | {' ' * (col - 1)}^")
    return out


def render_errors(errors: UserErrors | UserError, console: Console) -> None:
    """One line per problem (``PATH:LINE:COL: ...``), each followed by an excerpt if known."""
    if isinstance(errors, UserError):
        errors = UserErrors([errors])
    for err in errors.errors:
        console.print(
            Text("error: ", style="bold red") + Text(visible(err.one_line()))
            if console.is_terminal
            else Text(visible(err.one_line()))
        )
        loc = err.location
        if (
            errors.source is not None
            and loc.line is not None
            and loc.file
            and not loc.file.startswith("--set")
        ):
            for row in excerpt(errors.source, loc.line, loc.col):
                console.print(Text(visible(row), style="bold" if row.startswith(" >") else "dim"))
    if len(errors.errors) > 1:
        console.print(f"{len(errors.errors)} problems found", style="bold red")


def error_json(errors: UserErrors | UserError) -> dict[str, Any]:
    """``{"error": {...}}``: the first problem's fields (as the contract has them), and every
    problem's one line under ``errors``."""
    if isinstance(errors, UserError):
        errors = UserErrors([errors])
    first = errors.errors[0]
    loc = first.location
    text = _unicode  # a file name's bytes that are not UTF-8 as \xNN: strict JSON
    return {
        "error": {
            "message": text(first.message),
            "file": text(loc.file),
            "line": loc.line,
            "column": loc.col,
            "path": format_path(loc.path) or None,
            "expected": text(first.expected),
            "received": text(first.received),
            "hint": text(first.hint),
            "one_line": text(first.one_line()),
        },
        "errors": [unicode_text(e.one_line()) for e in errors.errors],
    }


def _unicode(value: str | None) -> str | None:
    return None if value is None else unicode_text(value)
