"""``mnistctl compare`` in the terminal, the parts about groups and structure: the layer lists
aligned side by side when the models' structures differ; with groups (``train --seeds``), the
spec differences and per-class F1 one column per group, and each metric's mean ± sd per group
with the verdict against the first group (the rule said under the table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mnistctl.runs.stats import CANNOT_SAY, LARGER, RULE, Spread, Verdict, shown_p
from mnistctl.spec.options import lower_is_better
from mnistctl.ui.console import plain
from mnistctl.ui.runs_view import NONE

if TYPE_CHECKING:
    from mnistctl.commands.compare import CompareResult

_MARKS = {"same": "=", "changed": "~", "only_first": "-", "only_other": "+"}
_STYLES = {"same": "dim", "changed": "yellow", "only_first": "red", "only_other": "green"}


def structure_tables(result: CompareResult) -> list[Table]:
    """One table per other run (per other group, with groups) whose layer list differs from
    the first's: the two lists aligned, one row per layer."""
    structure = result.structure
    if structure is None or structure.same:
        return []
    shown = [g.runs[0] for g in result.groups] if result.groups else range(len(result.runs))
    label = _labels(result)
    tables = []
    for other in [i for i in shown if i != 0]:
        rows = structure.aligned[other - 1]
        same = "= same, " if any(row.op == "same" for row in rows) else ""
        title = (
            f"Layers: the structures differ ({same}~ changed, - only in {label[0]}, "
            f"+ only in {label[other]})"
        )
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column(plain(label[0]), overflow="fold")
        table.add_column(plain(label[other]), overflow="fold")
        for row in rows:
            style = _STYLES[row.op]
            table.add_row(
                Text(_MARKS[row.op], style=style),
                plain(row.first or "", "dim" if row.op == "same" else ""),
                plain(row.other or "", "dim" if row.op == "same" else ""),
            )
        tables.append(table)
    return tables


def _labels(result: CompareResult) -> dict[int, str]:
    """Each run's column label: its group's where there are groups."""
    if not result.groups:
        return {i: run.label for i, run in enumerate(result.runs)}
    return {i: g.label for g in result.groups for i in g.runs}


def group_differences(result: CompareResult, console: Console) -> None:
    """The spec differences between the groups (each group's first run; ``train.seed`` shown as
    the group's seeds)."""
    from mnistctl.runs.specdiff import shown_value

    groups = result.groups or []
    table = _group_header(result, "spec value", "Spec differences between the groups", "left")
    rows = 0
    for diff in result.differences:
        if diff.path == "train.seed":
            values = [" ".join(map(str, g.seeds)) or shown_value(diff.values[g.runs[0]])
                      for g in groups]  # fmt: skip
        else:
            values = [shown_value(diff.values[g.runs[0]]) for g in groups]
        differs = len(set(values)) > 1
        if not differs and diff.differs:
            continue  # differs within a group only: its seed
        style = "" if differs else "dim"
        table.add_row(plain(diff.path, style), *(plain(v, style) for v in values))
        rows += 1
    if rows:
        console.print(table)
    else:
        console.print(plain("Spec: no differences between the groups but their seeds"))


def _group_header(result: CompareResult, first: str, title: str, justify: str) -> Table:
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    table.add_column(first, overflow="fold", no_wrap=True)
    for group in result.groups or []:
        table.add_column(plain(group.label), justify="left" if justify == "left" else "right",
                         overflow="fold")  # fmt: skip
    return table


def groups_table(result: CompareResult) -> Table:
    """Each metric's mean ± sd per group, and each group's verdict against the first."""
    groups = result.groups or []
    table = _group_header(result, "metric", "Groups: mean ± sd over completed runs", "right")
    table.caption = RULE
    table.caption_justify = "left"
    table.add_row(
        "runs (completed)",
        *(plain(f"{len(g.runs)} ({_completed(result, g.runs)})") for g in groups),
    )
    table.add_row("seeds", *(plain(" ".join(map(str, g.seeds)) or NONE) for g in groups))
    for metric in groups[0].metrics if groups else ():
        cells = [
            _spread_cell(metric, g.metrics[metric], g.verdicts[metric] if g.verdicts else None)
            for g in groups
        ]
        table.add_row(plain(metric), *cells)
    return table


def _completed(result: CompareResult, runs: tuple[int, ...]) -> int:
    return sum(result.runs[i].info.status == "completed" for i in runs)


def _spread_cell(metric: str, spread: Spread, verdict: Verdict | None) -> Text:
    percent = "acc" in metric
    cell = Text(_value(spread.mean, percent))
    if spread.sd is not None:
        cell.append(" ± " + _value(spread.sd, percent, sd=True))
    if verdict is None:
        return cell
    if verdict.difference is not None:
        cell.append("\n" + _delta(verdict.difference, percent))
    if verdict.verdict == CANNOT_SAY:
        cell.append(f"\n{CANNOT_SAY}", style="dim")
        return cell
    better = (
        (verdict.difference or 0) < 0 if lower_is_better(metric) else (verdict.difference or 0) > 0
    )
    style = ("green" if better else "red") if verdict.verdict == LARGER else "dim"
    shown = f" ({shown_p(verdict.p)})" if verdict.p is not None else ""
    cell.append(f"\n{verdict.verdict}{shown}", style=style)
    return cell


def _value(value: float | None, percent: bool, *, sd: bool = False) -> str:
    if value is None:
        return NONE
    if percent:
        return f"{value * 100:.2f} pp" if sd else f"{value:.2%}"
    return f"{value:.4f}"


def _delta(value: float, percent: bool) -> str:
    return f"{value * 100:+.2f} pp" if percent else f"{value:+.4f}"


def groups_f1_table(result: CompareResult) -> Table:
    """Per-class F1, the mean over each group's runs that have it."""
    groups = result.groups or []
    table = _group_header(result, "class", "Per-class F1 (mean over each group's runs)", "right")
    for c, name in enumerate(result.class_names):
        shown = name if name == str(c) else f"{c} {name}"
        cells = []
        for g in groups:
            values = [f1[c] for i in g.runs if (f1 := result.runs[i].f1)]
            cells.append(plain(f"{sum(values) / len(values):.3f}" if values else NONE))
        table.add_row(plain(shown), *cells)
    return table
