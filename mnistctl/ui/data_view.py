"""How ``mnistctl data``'s report looks in the terminal (``--json`` prints ``to_json()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from mnistctl.ui.console import plain
from mnistctl.ui.runs_view import short_path

if TYPE_CHECKING:
    from mnistctl.commands.data import DataReport

MAX_SHOWN = 60  # class rows in the table; --json lists every class


def render_bad_files(report: DataReport, err: Console) -> None:
    """One line per file that could not be read (on stderr, also with --json)."""
    for bad in report.bad:
        err.print(plain(f"{bad.file}: {bad.error}"), soft_wrap=True)


def render_data(report: DataReport, out: Console) -> None:
    n = len(report.classes)
    table = Table(title=f"{report.name}: {n} classes", title_justify="left")
    for column in ("label", "class", "train", "test"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for c in report.classes[:MAX_SHOWN]:
        table.add_row(str(c.label), plain(c.name), f"{c.train:,}", f"{c.test:,}")
    if n > MAX_SHOWN:
        table.add_row("…", plain(f"{n - MAX_SHOWN} more (--json lists all)"), "", "")
    table.add_section()
    table.add_row("", "all", f"{report.train:,}", f"{report.test:,}")
    out.print(table)
    out.print(plain(f"source: {report.source}"), soft_wrap=True)
    out.print(plain("sizes found: " + _counts(report.sizes)), soft_wrap=True)
    out.print(plain("modes found: " + _counts(report.modes)), soft_wrap=True)
    made = "x".join(str(d) for d in report.shape[:2])
    colour = "RGB" if len(report.shape) == 3 else "grey"
    out.print(plain(f"pictures made to: {made} {colour}"))
    if report.bad:
        out.print(plain(f"bad files: {len(report.bad):,} (listed above, left out)"))
    if report.preview is not None:
        out.print(plain(f"preview: {short_path(report.preview)}"), soft_wrap=True)


def _counts(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} ({v:,})" for k, v in ordered[:6])
    return shown + (f", and {len(ordered) - 6} more" if len(ordered) > 6 else "") or "none"
