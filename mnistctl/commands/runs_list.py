"""``mnistctl runs [SPEC|DIR]``: the runs found, one row each; never imports TensorFlow.

WHERE is nothing (the runs directory: every spec's runs), a spec file (that spec's runs, by the
spec's name; the spec is checked as ``validate`` would, without TensorFlow) or a folder (a runs
directory, a spec's folder ``runs/<name>/`` or one run). Rows come from ``runs/catalog.py``:
damaged folders are rows that say why, never a failure of the listing.

Groups (``train --seeds``, ``runs/groups.py``): the runs of a group are one row (``GroupRow``):
mean ± sample sd of test and best validation accuracy over its completed runs, ``n`` and how
many are complete; sorted by those means, its latest start, its total time. ``--each`` (and
``--status``, a run's own property) lists every run on its own row. The JSON stays one row per
run, in the contract's shape: each row gains ``"group"`` (its group's name, null for a lone
run), ``"seed"`` and ``"group_summary"`` (the group's ``n``, runs and mean/sd per metric, the
same on every row of the group; null for a lone run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError, visible
from mnistctl.runs.catalog import DAMAGED, Best, RunInfo, scan
from mnistctl.runs.groups import Group, collect
from mnistctl.runs.layout import SPEC
from mnistctl.runs.record import Status

STATUSES = (*(s.value for s in Status), DAMAGED)
_STATUS_ALIASES = {"running": Status.TRAINING.value}  # what format-1 records said

# --sort KEY: (the value to sort by, largest first?); runs without the value go last
_SORTS: dict[str, tuple[Callable[[RunInfo], Any], bool]] = {
    "started": (lambda r: _started(r), True),
    "name": (lambda r: r.name.lower(), False),
    "status": (lambda r: r.status, False),
    "epochs": (lambda r: r.epochs_completed, True),
    "best_val_accuracy": (lambda r: r.best_val_accuracy, True),
    "test_accuracy": (lambda r: r.test_accuracy, True),
    "params": (lambda r: r.total_params, True),
    "seconds": (lambda r: r.seconds, True),
}
SORT_KEYS = tuple(_SORTS)


@dataclass(frozen=True)
class GroupRow:
    """A group's row: ``info`` stands for the group where rows are sorted (its means, latest
    start, total time); ``group`` has its runs."""

    info: RunInfo
    group: Group


Row = RunInfo | GroupRow


@dataclass(frozen=True)
class RunsListing:
    """The runs of one listing, filtered, sorted and cut as asked; ``rows`` as shown (a group
    one row unless ``--each``), ``runs`` every run of those rows."""

    where: Path  # the folder looked in
    spec: str | None  # the spec's name when WHERE was a spec
    runs: list[RunInfo]
    found: int  # runs found before --status and --limit
    status: str | None  # the --status filter
    rows: list[Row] | None = None  # None: one row per run
    groups: dict[str, Group] | None = None  # every group found, by name

    @property
    def shown(self) -> list[Row]:
        return self.rows if self.rows is not None else list(self.runs)

    def to_json(self) -> list[dict[str, Any]]:
        groups = self.groups or {}
        return [
            {**run.to_json(), "group_summary": _summary(groups.get(run.group or ""))}
            for run in self.runs
        ]


def _summary(group: Group | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {k: v for k, v in group.to_json().items() if k != "group"}


def list_runs(
    where: Path | None,
    *,
    runs_dir: Path | None,
    status: str | None,
    sort: str,
    limit: int | None,
    each: bool = False,
) -> RunsListing:
    status = _choice("--status", status, STATUSES, _STATUS_ALIASES) if status else None
    sort = _choice("--sort", sort, SORT_KEYS, {"total_params": "params"})
    folder, spec = _folder(where, runs_dir)
    runs = [] if spec is not None and not folder.is_dir() else scan(folder)
    found = len(runs)
    groups = {g.name: g for g in collect(runs)}
    if status is not None:
        runs = [r for r in runs if r.status == status]
    if each or status is not None or not groups or (folder / SPEC).is_file():  # one run
        runs = _sorted(runs, sort)[: limit if limit is not None else None]
        return RunsListing(folder, spec, runs, found, status, None, groups)
    rows = _sorted_rows(_grouped(runs, groups), sort)[: limit if limit is not None else None]
    shown = [r for row in rows for r in (row.group.runs if isinstance(row, GroupRow) else [row])]
    return RunsListing(folder, spec, shown, found, status, rows, groups)


def _grouped(runs: Iterable[RunInfo], groups: dict[str, Group]) -> list[Row]:
    """Each lone run a row; each group one row, where its first run was."""
    rows: list[Row] = []
    for run in runs:
        if run.group is None:
            rows.append(run)
        elif not any(isinstance(r, GroupRow) and r.group.name == run.group for r in rows):
            rows.append(GroupRow(_standing_for(groups[run.group]), groups[run.group]))
    return rows


def _standing_for(group: Group) -> RunInfo:
    """A RunInfo with a group's sortable facts: means, latest start, total time."""
    first = group.runs[0]
    starts = [s for r in group.runs if (s := _started(r))]
    val, test = group.metric("best_val_accuracy").mean, group.metric("test_accuracy").mean
    seconds = [r.seconds for r in group.runs if r.seconds is not None]
    return replace(
        first,
        run_dir=first.run_dir.parent,
        status=first.status if len({r.status for r in group.runs}) == 1 else "mixed",
        started=max(starts) if starts else None,
        best={"val_accuracy": Best(val, 1)} if val is not None else {},
        test_accuracy=test,
        seconds=sum(seconds) if seconds else None,
    )


def _sorted_rows(rows: list[Row], key: str) -> list[Row]:
    infos = _sorted([r.info if isinstance(r, GroupRow) else r for r in rows], key)
    by_id = {id(r.info if isinstance(r, GroupRow) else r): r for r in rows}
    return [by_id[id(info)] for info in infos]


def _choice(option: str, value: str, known: tuple[str, ...], aliases: dict[str, str]) -> str:
    if value in known:
        return value
    if value in aliases:
        return aliases[value]
    from mnistctl.spec.wording import did_you_mean  # the spec package: only when it is needed

    raise UserError(
        f"unknown {option.removeprefix('--')} {visible(value)!r}",
        Location(option),
        expected="one of " + ", ".join(known),
        received=repr(visible(value)),
        hint=did_you_mean(value, known),
    )


def _folder(where: Path | None, runs_dir: Path | None) -> tuple[Path, str | None]:
    """The folder to list, and the spec's name when ``where`` is a spec."""
    base = runs_dir if runs_dir is not None else Path("runs")
    if where is None:
        if not base.exists():
            raise UserError(
                "no runs directory",
                Location(str(base)),
                expected="a folder of runs made by 'mnistctl train'",
                received="nothing there",
                hint="train a spec first: mnistctl train SPEC (or name a folder: --runs-dir DIR)",
            )
        if not base.is_dir():
            raise UserError(
                "not a runs directory", Location(str(base)), expected="a folder", received="a file"
            )
        return _absolute(base), None
    if where.is_dir():
        return _absolute(where), None
    if where.is_file() and where.suffix in (".yaml", ".yml"):
        from mnistctl.spec import load_spec

        name = load_spec(where).name
        return _absolute(base / name), name
    raise UserError(
        "no such spec or folder of runs",
        Location(str(where)),
        expected="a spec file (.yaml), a runs directory or a run",
        received="nothing there" if not where.exists() else "a file that is not a spec",
    )


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # a symlink loop: said when the folder is read
        return path.absolute()


def _sorted(runs: list[RunInfo], key: str) -> list[RunInfo]:
    """Sorted by ``key`` (newest first within equal values); runs without a value last."""
    value, descending = _SORTS[key]
    ordered = sorted(runs, key=_started, reverse=True)
    present = [r for r in ordered if value(r) is not None]
    missing = [r for r in ordered if value(r) is None]
    return sorted(present, key=value, reverse=descending) + missing


def _started(run: RunInfo) -> str:
    """When a run began (ISO 8601), else its folder's timestamp, for ordering by time."""
    if run.started:
        return run.started
    stamp = run.stamp
    if not stamp:
        return ""
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
