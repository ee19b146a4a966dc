"""``mnistctl report`` on the terminal: a warning line for each thing the page warns of (a run
still training, a run without test predictions, runs of other data), then where the page is."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from mnistctl.commands.report import ReportResult
from mnistctl.ui.console import plain


def render_report_warnings(result: ReportResult, err: Console) -> None:
    for warning in result.warnings:
        err.print(Text("warning: ", style="bold yellow") + plain(warning), soft_wrap=True)


def render_report(result: ReportResult, out: Console) -> None:
    runs = f"{len(result.runs)} run" + ("s" if len(result.runs) != 1 else "")
    groups = f", {len(result.groups)} group" + ("s" if len(result.groups) != 1 else "")
    size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 1e6 else f"{result.bytes / 1e3:.0f} kB"
    out.print(
        plain(
            f"report: {result.output} ({runs}{groups if result.groups else ''}, {size}, "
            f"{result.seconds:.1f} s)"
        ),
        soft_wrap=True,
    )
