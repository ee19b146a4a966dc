"""A study in the terminal: the trials as they finish, and the result.

In a terminal, a live table (number, values, metric, epochs run, state, seconds; the best row
highlighted) with a line for the trial in training under it; elsewhere (a pipe, a log,
``--json``) one plain line per finished trial. Everything live goes to stderr; the result after
the table goes to stdout. Nothing here imports TensorFlow or Optuna.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mnistctl.tune.masking import masked
from mnistctl.ui.console import plain
from mnistctl.ui.runs_view import short_path

if TYPE_CHECKING:
    from mnistctl.tune.command import TuneResult
    from mnistctl.tune.trials import TrialRow

MAX_ROWS = 25  # the live table shows the latest trials (and the best) beyond this
BEST_STYLE = "bold green"
STATE_STYLES = {"PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan", "WAITING": "dim"}


def short(path: str) -> str:
    """A parameter's column name: its path's last two parts (``hidden_1.units``)."""
    return ".".join(path.split(".")[-2:])


def shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def shown_path(path: object) -> str:
    """A path as people read it: relative to the working folder when inside it (as ``runs``
    shows them)."""
    return short_path(Path(str(path)))


def shown_storage(storage: str) -> str:
    """A study's storage as people read it: a URL with its secrets masked (never through the
    path shortener, which would fold its ``//``), or the journal's path."""
    return masked(storage) if "://" in storage else shown_path(storage)


def best_number(rows: Sequence[TrialRow], direction: str) -> int | None:
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(done, key=lambda r: (sign * (r.value or 0.0), r.number)).number


def headers(paths: Sequence[str]) -> list[str]:
    """Each parameter's column header: the shortest tail of its path (``units``,
    ``hidden_1.units``) that no other parameter's path ends with."""
    names = []
    for path in paths:
        parts = path.split(".")
        for n in range(1, len(parts) + 1):
            tail = ".".join(parts[-n:])
            if not any(o != path and (o == tail or o.endswith("." + tail)) for o in paths):
                break
        names.append(tail)
    return names


def trials_table(
    rows: Sequence[TrialRow], metric: str, direction: str, paths: Sequence[str]
) -> Group:
    """The trials, compact enough for 80 columns: no vertical rules, each parameter headed by
    the shortest tail of its path, headers and the fixed columns never cut (long values fold
    within their column); a trial's note (why it failed, what it retries) on a line under the
    table."""
    best = best_number(rows, direction)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("#", justify="right", no_wrap=True)
    for name in headers(paths):
        table.add_column(plain(name), overflow="fold", min_width=len(name))
    table.add_column(plain(metric), justify="right", no_wrap=True)
    table.add_column("epochs", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("s", justify="right", no_wrap=True)
    picked = list(rows)
    if len(picked) > MAX_ROWS:
        tail = picked[-MAX_ROWS:]
        picked = [r for r in picked if r.number == best and r not in tail] + tail
    notes: list[Text] = []
    for row in picked:
        value = "-" if row.value is None else f"{row.value:.4f}"
        note = row.reason or ""
        if row.retry_of is not None:
            note = f"retry of {row.retry_of}" + (f"; {note}" if note else "")
        if row.retried:
            note += "; retried" if note else "retried"
        if note:
            notes.append(
                plain(f"trial {row.number}: {note}", style=STATE_STYLES.get(row.state, ""))
            )
        table.add_row(
            str(row.number),
            *(plain(shown(row.params.get(p, "-"))) for p in paths),
            value,
            str(row.epochs),
            Text(row.state, style=STATE_STYLES.get(row.state, "")),
            "-" if row.seconds is None else f"{row.seconds:.1f}",
            style=BEST_STYLE if row.number == best else "",
        )
    return Group(table, *notes)


def trial_line(row: TrialRow, metric: str, best: bool) -> str:
    values = " ".join(f"{short(k)}={shown(v)}" for k, v in row.params.items())
    value = "-" if row.value is None else f"{row.value:.4f}"
    seconds = "" if row.seconds is None else f", {row.seconds:.1f} s"
    epochs = f"{row.epochs} epoch{'' if row.epochs == 1 else 's'}"
    line = f"trial {row.number} {row.state}: {metric} {value} ({epochs}{seconds})"
    line += f" {values}" if values else ""
    if row.reason:
        line += f"; {row.reason}"
    if row.retry_of is not None:
        line += f"; retry of trial {row.retry_of}"
    return line + ("  <- best so far" if best else "")


class TuneView:
    """The study's progress (``tune.objective.Watcher``)."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.metric, self.direction, self.paths = "value", "maximize", list[str]()
        self.rows: list[TrialRow] = []
        self.reported: set[tuple[int, str]] = set()
        self.running: dict[int, str] = {}
        self.notes: set[str] = set()
        self.live: Live | None = None
        self.wants_live = live and console.is_terminal
        self.was_live = False

    def configure(self, metric: str, direction: str, paths: Sequence[str]) -> None:
        """The study's metric and parameters, once its spec is checked; the live table starts."""
        self.metric, self.direction, self.paths = metric, direction, list(paths)
        if self.wants_live and self.live is None:
            self.live = Live(
                self._renderable(), console=self.console, refresh_per_second=4, transient=False
            )
            self.live.start()
            self.was_live = True

    def _renderable(self) -> Group:
        parts: list[Any] = []
        if self.rows:
            parts.append(trials_table(self.rows, self.metric, self.direction, self.paths))
        for number in sorted(self.running):
            parts.append(plain(f"trial {number}: {self.running[number]}", style="cyan"))
        return Group(*parts)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._renderable())

    def started(self, number: int, params: Mapping[str, Any]) -> None:
        values = " ".join(f"{short(k)}={shown(v)}" for k, v in params.items())
        self.running[number] = f"starting ({values})" if values else "starting"
        self._refresh()

    def epoch(self, number: int, epoch: int, epochs: int, value: float | None) -> None:
        shown_value = "-" if value is None or not math.isfinite(value) else f"{value:.4f}"
        self.running[number] = f"epoch {epoch}/{epochs}, {self.metric} {shown_value}"
        self._refresh()

    def finished(self, rows: list[Any]) -> None:
        self.rows = list(rows)
        for row in rows:
            if row.state != "RUNNING":
                self.running.pop(row.number, None)
        if self.live is not None:
            self._refresh()
            return
        best = best_number(self.rows, self.direction)
        for row in self.rows:
            if row.state in ("RUNNING", "WAITING") or (row.number, row.state) in self.reported:
                continue
            self.reported.add((row.number, row.state))
            self.console.print(plain(trial_line(row, self.metric, row.number == best)))

    def note(self, text: str) -> None:
        if text in self.notes:
            return
        self.notes.add(text)
        if self.live is not None:
            self.live.console.print(plain(text, style="yellow"))
        else:
            self.console.print(plain(text))

    def stop(self) -> None:
        if self.live is not None:
            self.running.clear()
            self.live.update(self._renderable())
            self.live.stop()
            self.live = None


class QuietWatcher:
    """A worker's watcher: a line per finished trial of its own into its log."""

    def __init__(self, console: Console) -> None:
        self.console, self.metric = console, "value"
        self.mine: set[int] = set()
        self.reported: set[int] = set()

    def configure(self, metric: str, direction: str, paths: Sequence[str]) -> None:
        self.metric = metric

    def started(self, number: int, params: Mapping[str, Any]) -> None:
        self.mine.add(number)
        self.console.print(plain(f"trial {number} started"))

    def epoch(self, number: int, epoch: int, epochs: int, value: float | None) -> None:
        pass

    def finished(self, rows: list[Any]) -> None:
        for row in rows:
            mine = row.number in self.mine and row.number not in self.reported
            if mine and row.state not in ("RUNNING", "WAITING"):
                self.reported.add(row.number)
                self.console.print(plain(trial_line(row, self.metric, False)))

    def note(self, text: str) -> None:
        self.console.print(plain(text))


def render_tune(result: TuneResult, out: Console, *, table: bool) -> None:
    """The result after the trials: (the table, when it was not live), the best trial, its
    spec, the plots, and how to go on."""
    if table and result.trials:
        paths = list(result.trials[0].params) if result.trials else []
        for row in result.trials:
            paths += [p for p in row.params if p not in paths]
        out.print(trials_table(result.trials, result.metric, result.direction, paths))
    counts: dict[str, int] = {}
    for row in result.trials:
        counts[row.state] = counts.get(row.state, 0) + 1
    summary = ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items()))
    out.print(
        plain(
            f"study {result.study}: {len(result.trials)} trials ({summary}); "
            f"{result.ran_here} run by this command; storage {shown_storage(result.storage)}"
        )
    )
    best = result.best
    if best is None:
        out.print(plain("no trial has completed yet"))
    else:
        values = ", ".join(f"{k}={shown(v)}" for k, v in best.params.items())
        out.print(plain(f"best: trial {best.number}, {result.metric} {best.value:.4f}: {values}"))
        if best.run_dir:
            out.print(plain(f"best run: {shown_path(best.run_dir)}"), soft_wrap=True)
        if result.best_spec is not None:
            out.print(plain(f"best spec: {shown_path(result.best_spec)}"), soft_wrap=True)
    for path in result.plots:
        out.print(plain(f"plot: {shown_path(path)}"), soft_wrap=True)
    for reason in result.plots_skipped:
        out.print(plain(f"plot left out: {reason}"))
    if result.interrupted:
        out.print(plain("interrupted: the study is intact; run the same command again to continue"))
    elif result.best_spec is not None:
        out.print(plain(f"next: mnistctl train {shown_path(result.best_spec)}"), soft_wrap=True)
