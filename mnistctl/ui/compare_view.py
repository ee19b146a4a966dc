"""``mnistctl compare`` in the terminal: the runs, what differs in their specs (``--set`` paths;
the layer lists aligned side by side when the models' structures differ), their metrics (with
the difference to the first run, green where better, red where worse), per-class F1, and where
the learning-curves figure went. With groups (``train --seeds``): the spec differences and
per-class F1 per group, and the groups' mean ± sd per metric with each group's verdict against
the first (``compare_groups_view.py``). User strings go through ``plain``: never markup."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from mnistctl.spec.options import lower_is_better
from mnistctl.ui.console import broken_text, plain
from mnistctl.ui.runs_view import NONE, STATUS_STYLES, duration, epochs, short_path

if TYPE_CHECKING:
    from mnistctl.commands.compare import CompareResult

Getter = Callable[[int], float | None]


def render_compare(result: CompareResult, console: Console) -> None:
    from mnistctl.ui.compare_groups_view import (
        group_differences,
        groups_f1_table,
        groups_table,
        structure_tables,
    )

    console.print(_runs_table(result, console.width))
    if result.groups:
        group_differences(result, console)
    else:
        _print_differences(result, console, console.width)
    for table in structure_tables(result):
        console.print(table)
    if result.groups:
        console.print(groups_table(result))
        if any(run.f1 for run in result.runs):
            console.print(groups_f1_table(result))
    else:
        console.print(_metrics_table(result))
        if any(run.f1 for run in result.runs):
            console.print(_f1_table(result))
    for run in result.runs:
        if run.f1_note:
            console.print(plain(f"{run.label}: {run.f1_note}"), soft_wrap=True)
    console.print(plain(f"learning curves: {short_path(result.figure)}"), soft_wrap=True)


def _runs_table(result: CompareResult, width: int) -> Table:
    """The runs; a path too long for its column is broken after a "/", never in a name."""
    table = Table(title="Runs", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("run", overflow="fold")
    table.add_column("status")
    table.add_column("path", overflow="fold", no_wrap=True)
    runs = result.runs
    labels = [run.label for run in runs]
    statuses = [run.info.shown_status for run in runs]
    room = _room([[str(len(runs))], ["run", *labels], ["status", *statuses]], width)
    for group in result.groups or ():
        for i in group.runs:
            labels[i] = _with_seed(group.label, runs[i].info.seed, runs[i].label)
    for i, run in enumerate(runs):
        table.add_row(
            str(i + 1),
            plain(labels[i]),
            plain(statuses[i], STATUS_STYLES.get(run.info.status, "")),
            broken_text(short_path(run.info.run_dir), room),
        )
    return table


def _with_seed(group: str, seed: int | None, label: str) -> str:
    """A run of a group: its group's label and its seed."""
    return label if seed is None else f"{group} seed {seed}"


def _header(
    result: CompareResult, first: str, title: str, justify: JustifyMethod = "right"
) -> Table:
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    table.add_column(first, overflow="fold", no_wrap=True)
    for run in result.runs:
        table.add_column(plain(run.label), justify=justify, overflow="fold")
    return table


def _print_differences(result: CompareResult, console: Console, width: int) -> None:
    from mnistctl.commands.compare import shown_value

    differing = sum(d.differs for d in result.differences)
    if not result.differences:
        console.print(plain(f"Spec: {_no_differences(result)}"), soft_wrap=True)
        return
    title = f"Spec differences ({differing})"
    if differing != len(result.differences):  # --all
        title = f"Spec values ({differing} of {len(result.differences)} differ)"
    table = _header(result, "spec value", title, justify="left")
    values = [[shown_value(v) for v in diff.values] for diff in result.differences]
    labels = [run.label for run in result.runs]
    room = _room([[label, *(row[i] for row in values)] for i, label in enumerate(labels)], width)
    for diff, row in zip(result.differences, values, strict=True):
        style = "" if diff.differs else "dim"
        table.add_row(
            broken_text(diff.path, room, ".", style), *(plain(value, style) for value in row)
        )
    console.print(table)


def _room(others: list[list[str]], width: int) -> int:
    """The width the terminal's ``width`` leaves for one column of a table beside ``others``
    (each column's header and cells), which wrap between words: at least 12."""
    words = sum(max((len(w) for text in col for w in text.split()), default=0) for col in others)
    return max(width - words - 3 * (len(others) + 1) - 1, 12)


def _metrics_table(result: CompareResult) -> Table:
    runs = result.runs
    table = _header(result, "metric", "Metrics (difference to the first run)")
    table.add_row("epochs", *(plain(epochs(r.info.epochs_completed, r.info.epochs)) for r in runs))
    table.add_row(
        "params",
        *(plain(NONE if r.info.total_params is None else f"{r.info.total_params:,}") for r in runs),
    )
    table.add_row("time", *(plain(duration(r.info.seconds)) for r in runs))
    table.add_row("precision", *(plain(r.info.precision or NONE) for r in runs))
    for metric in _ordered(key for r in runs for key in r.info.final):
        table.add_row(
            plain(f"final {metric}"), *_compared(metric, _final(result, metric), len(runs))
        )
    best_metrics = list(_ordered(key for r in runs for key in r.info.best))
    if any(m.startswith("val_") for m in best_metrics):
        best_metrics = [m for m in best_metrics if m.startswith("val_")]
    for metric in best_metrics:
        table.add_row(plain(f"best {metric}"), *_best_cells(result, metric))
    table.add_row("test loss", *_compared("loss", lambda i: runs[i].info.test_loss, len(runs)))
    table.add_row(
        "test accuracy", *_compared("accuracy", lambda i: runs[i].info.test_accuracy, len(runs))
    )
    return table


def _final(result: CompareResult, metric: str) -> Getter:
    return lambda i: result.runs[i].info.final.get(metric)


def _best_cells(result: CompareResult, metric: str) -> list[Text]:
    def epoch(i: int) -> str:
        best = result.runs[i].info.best.get(metric)
        return f" @{best.epoch}" if best is not None else ""

    return _compared(metric, lambda i: _best_value(result, i, metric), len(result.runs), epoch)


def _best_value(result: CompareResult, index: int, metric: str) -> float | None:
    best = result.runs[index].info.best.get(metric)
    return None if best is None else best.value


def _f1_table(result: CompareResult) -> Table:
    runs = result.runs
    table = _header(result, "class", "Per-class F1 (difference to the first run)")
    for c, name in enumerate(result.class_names):
        shown = name if name == str(c) else f"{c} {name}"

        def f1(i: int, c: int = c) -> float | None:
            values = runs[i].f1
            return values[c] if values else None

        table.add_row(plain(shown), *_compared("f1", f1, len(runs), decimals=3))
    return table


def _compared(
    metric: str,
    get: Getter,
    n: int,
    suffix: Callable[[int], str] | None = None,
    *,
    decimals: int = 4,
) -> list[Text]:
    """One cell per run: the value (then ``suffix``, dim); from the second run on, the
    difference to the first, green where better, red where worse (lower is better for
    losses)."""
    percent = "acc" in metric.lower()
    first = get(0)
    cells = []
    for i in range(n):
        value = get(i)
        if value is None:
            cells.append(Text(NONE))
            continue
        cell = Text(f"{value:.2%}" if percent else f"{value:.{decimals}f}")
        if suffix is not None:
            cell.append(suffix(i), style="dim")
        if i and first is not None:
            delta = value - first
            shown = f"{delta * 100:+.2f} pp" if percent else f"{delta:+.{decimals}f}"
            better = delta < 0 if lower_is_better(metric) else delta > 0
            same = round(delta * 100, 2) == 0 if percent else round(delta, decimals) == 0
            style = "dim" if same else "green" if better else "red"
            cell.append(f" ({shown})", style=style)
        cells.append(cell)
    return cells


def _ordered(keys: Iterable[str]) -> list[str]:
    """Metric names once each: the loss first, each metric before its validation twin."""
    names = list(dict.fromkeys(keys))
    bases = list(dict.fromkeys(k.removeprefix("val_") for k in names))
    bases.sort(key=lambda b: b != "loss")
    return [k for b in bases for k in (b, f"val_{b}") if k in names]


def _no_differences(result: CompareResult) -> str:
    if result.structure is not None and not result.structure.same:
        return "no other differences (hint: --all shows every value)"
    return "no differences (hint: --all shows every value)"
