"""``mnistctl runs`` in the terminal: one table row per run (a group of seeds one row: its mean
± sd over its completed runs, how many there are and how many completed, its name where a run
has its path), damaged folders marked with why.

Every user string (names, paths, reasons) goes through ``plain``: never read as markup.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from mnistctl.runs.catalog import DAMAGED, RunInfo
from mnistctl.runs.stats import Spread
from mnistctl.ui.console import plain

if TYPE_CHECKING:
    from mnistctl.commands.runs_list import GroupRow, RunsListing
    from mnistctl.commands.seeds import GroupResult

NONE = "—"
STATUS_STYLES = {
    "completed": "green",
    "training": "cyan",
    "interrupted": "yellow",
    "failed": "red",
    "diverged": "magenta",
    "created": "dim",
    DAMAGED: "bold red",
}


def render_runs(listing: RunsListing, console: Console) -> None:
    """The runs as a table: a title, a header, a rule and one line per run (laid out here as
    rich Text, not a rich Table, so a thousand runs render in a blink), then a line for each
    damaged folder saying why it is not a readable run."""
    where = short_path(listing.where)
    if not listing.runs:
        console.print(plain(_nothing(listing, where)), soft_wrap=True)
        return
    shown = len(listing.runs)
    count = f"{shown} run{'s' if shown != 1 else ''}"
    if shown != listing.found:
        count = f"{shown} of {listing.found} runs"
    groups = sum(not isinstance(row, RunInfo) for row in listing.shown)
    if groups:
        count += (
            f", {groups} group{'s' if groups != 1 else ''}: a group of seeds is one row, mean ± sd"
        )
    title = f"Runs of {listing.spec!r} in {where}" if listing.spec else f"Runs in {where}"
    rows = [_row(run) if isinstance(run, RunInfo) else _group_row(run) for run in listing.shown]
    widths = [
        max([len(header), *(row[i].cell_len for row in rows)])
        for i, (header, _) in enumerate(_COLUMNS)
    ]
    keep = _fitting_columns(widths, console.width)
    path = len(_COLUMNS) - 1
    below = _width(widths, keep) > console.width  # the path on its own line under its row
    if below:
        keep.remove(path)
    headers = [Text(header, style="bold") for header, _ in _COLUMNS]
    out = plain(f"{title} ({count})")
    out.append("\n").append_text(_line(headers, widths, keep)).append("\n")
    out.append("─" * min(console.width, _width(widths, keep)))
    for row in rows:
        out.append("\n").append_text(_line(row, widths, keep))
        if below:
            out.append("\n  ").append_text(row[path])
    for run in listing.runs:
        if run.damaged:
            out.append("\ndamaged: ", style=STATUS_STYLES[DAMAGED])
            out.append_text(plain(f"{short_path(run.run_dir)}: {run.damaged}"))
    console.print(out, soft_wrap=True)


GAP = 2  # spaces between columns
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "left"),
    ("started (UTC)", "left"),
    ("status", "left"),
    ("epochs", "right"),
    ("best val", "right"),
    ("test", "right"),
    ("params", "right"),
    ("precision", "left"),
    ("time", "right"),
    ("path", "left"),
)
# the columns left out first when the console is too narrow for all of them
_OPTIONAL = ("precision", "started (UTC)", "time", "params", "best val")


def _width(widths: list[int], keep: list[int]) -> int:
    return sum(widths[i] for i in keep) + GAP * (len(keep) - 1)


def _fitting_columns(widths: list[int], width: int) -> list[int]:
    """The indices of the columns to show: all of them when they fit ``width``, else without
    the optional ones, least useful first (then, if still too wide, the path goes on a line
    of its own under its row)."""
    keep = list(range(len(_COLUMNS)))
    for header in _OPTIONAL:
        if _width(widths, keep) <= width:
            break
        keep.remove(next(i for i, (h, _) in enumerate(_COLUMNS) if h == header))
    return keep


def _line(cells: list[Text], widths: list[int], keep: list[int]) -> Text:
    """One table line: each kept cell padded to its column's width (the last one not)."""
    line = Text()
    for n, i in enumerate(keep):
        cell = cells[i].copy()
        room = widths[i] - cell.cell_len
        if _COLUMNS[i][1] == "right":
            cell.pad_left(room)
        elif n < len(keep) - 1:
            cell.pad_right(room)
        if n:
            line.append(" " * GAP)
        line.append_text(cell)
    return line


def _nothing(listing: RunsListing, where: str) -> str:
    if listing.status and listing.found:
        return (
            f"no {listing.status} runs in {where} ({listing.found} "
            f"run{'s' if listing.found != 1 else ''} in all)"
        )
    of = f" of spec {listing.spec!r}" if listing.spec else ""
    return f"no runs{of} in {where} yet (hint: mnistctl train SPEC)"


def _row(run: RunInfo) -> list[Text]:
    status = run.shown_status
    style = STATUS_STYLES.get(run.status, "")
    if run.status == "training" and run.live is False:
        style = "yellow"
    return [
        plain(run.name),
        plain(started(run.started)),
        plain(status, style),
        plain(epochs(run.epochs_completed, run.epochs)),
        plain(percent(run.best_val_accuracy)),
        plain(percent(run.test_accuracy)),
        plain(NONE if run.total_params is None else f"{run.total_params:,}"),
        plain(run.precision or NONE),
        plain(duration(run.seconds)),
        plain(short_path(run.run_dir)),
    ]


def _group_row(row: GroupRow) -> list[Text]:
    group, info = row.group, row.info
    done, n = len(group.complete), len(group.runs)
    epoch_counts = {(r.epochs_completed, r.epochs) for r in group.runs}
    return [
        plain(f"{info.name} ×{n} seed{'s' if n != 1 else ''}"),
        plain(started(info.started)),
        plain(f"{done}/{n} completed", "green" if done == n else "yellow"),
        plain(epochs(*next(iter(epoch_counts))) if len(epoch_counts) == 1 else NONE),
        plain(_mean_sd(group.metric("best_val_accuracy"))),
        plain(_mean_sd(group.metric("test_accuracy"))),
        plain(NONE if info.total_params is None else f"{info.total_params:,}"),
        plain(info.precision or NONE),
        plain(duration(info.seconds)),
        plain(group.name),
    ]


def _mean_sd(spread: Spread) -> str:
    """``41.66±0.81%`` (mean and sample sd in percent); the mean alone for one run."""
    if spread.mean is None:
        return NONE
    if spread.sd is None:
        return f"{spread.mean:.2%}"
    return f"{spread.mean * 100:.2f}±{spread.sd * 100:.2f}%"


def started(iso: str | None) -> str:
    """``2026-01-02T03:04:05Z`` -> ``2026-01-02 03:04``."""
    if not iso:
        return NONE
    return iso.replace("T", " ")[:16]


def epochs(done: int | None, total: int | None) -> str:
    if done is None:
        return NONE
    return f"{done}/{total}" if total is not None else str(done)


def percent(value: float | None) -> str:
    return NONE if value is None or not math.isfinite(value) else f"{value:.2%}"


def duration(seconds: float | None) -> str:
    """Seconds for people: ``42s``, ``3m 05s``, ``1h 02m``, ``2d 03h``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return NONE
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def short_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies inside it, else as it is."""
    try:
        cwd = Path.cwd()
    except OSError:
        return str(path)
    try:
        return str(path.relative_to(cwd)) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def render_group_train(result: GroupResult, console: Console) -> None:
    """``train --seeds``: one line per run this command trained or continued, then the group:
    its completed runs and the mean ± sd of test and best validation accuracy."""
    for seed, run in result.trained:
        test = run.test.get("accuracy")
        line = (
            f"seed {seed}: {run.status}, test accuracy {percent(test)}, {short_path(run.run_dir)}"
        )
        console.print(plain(line), soft_wrap=True)
    group = result.group
    done = len(group.complete)
    console.print(
        plain(
            f"group {group.name}: {done} of {len(result.seeds)} runs completed; test accuracy "
            f"{spread_text(group.metric('test_accuracy'))}, best val accuracy "
            f"{spread_text(group.metric('best_val_accuracy'))} (mean ± sd)"
        ),
        soft_wrap=True,
    )
    if result.status != "completed":
        console.print(
            plain(
                f"to finish the group: mnistctl train --resume {short_path(group.runs[0].run_dir)}"
            ),
            soft_wrap=True,
        )


def spread_text(spread: Spread) -> str:
    """``96.12% ± 0.21 pp``; ``96.12% (n = 1)`` without a spread; ``—`` without values."""
    if spread.mean is None:
        return NONE
    if spread.sd is None:
        return f"{spread.mean:.2%} (n = {spread.n})"
    return f"{spread.mean:.2%} ± {spread.sd * 100:.2f} pp"
