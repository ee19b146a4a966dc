"""``mnistctl compare RUN RUN...``: runs side by side, and groups of runs (``train --seeds``).

What differs in their specs (``runs/specdiff.py``: as ``--set`` paths where the models have the
same structure, as aligned layer lists where they do not), their final and best metrics, test
accuracy against the first run, per-class F1 (from each run's ``evaluation.json``; a run
without one is evaluated now, and the file saved) and their learning curves overlaid in one
PNG. Refused: fewer than two runs, one run twice, damaged runs, runs of different tasks (other
losses). Runs trained on different data are compared, with a warning.

Groups: a RUN may be a group's name (``dnn-seeds-20260101T120000Z``, as ``mnistctl runs``
shows it: all its runs), and ``--groups`` makes each RUN stand for its whole group. When any
compared run belongs to a group, the runs are also taken together by group (a run of no group
is a group of one): per metric the mean and sample sd over each group's completed runs, and
for each group after the first whether its difference to the first is larger than the seeds'
spread (``runs/stats.py``: Welch's t-test, two-sided, alpha 0.05; a group of one run "cannot
say"). The runs of one group must have the same spec but for ``train.seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mnistctl.commands.compare_f1 import per_class_f1
from mnistctl.errors import Location, UserError
from mnistctl.runs import layout, outputs
from mnistctl.runs.catalog import RunInfo, read_run, undamaged
from mnistctl.runs.catalog import labels as run_labels
from mnistctl.runs.groups import METRICS, Group, check_group, collect, named_runs
from mnistctl.runs.history import history_columns, read_history
from mnistctl.runs.specdiff import ABSENT as ABSENT
from mnistctl.runs.specdiff import Difference as Difference
from mnistctl.runs.specdiff import Structure, as_compared, compare_specs
from mnistctl.runs.specdiff import flatten as flatten
from mnistctl.runs.specdiff import shown_value as shown_value
from mnistctl.runs.specdiff import spec_differences as spec_differences
from mnistctl.runs.stats import RULE, Spread, Verdict, welch
from mnistctl.spec import Spec


@dataclass(frozen=True)
class ComparedRun:
    info: RunInfo
    label: str  # its name in tables and the legend: the spec's name, plus the time if repeated
    history: dict[str, list[float]]
    f1: tuple[float, ...] | None  # per class, from evaluation.json
    f1_note: str | None  # why there is no per-class F1


@dataclass(frozen=True)
class ComparedGroup:
    """The compared runs of one group (or one run of no group): their spread per metric and,
    for every group after the first, the verdict against the first."""

    name: str | None  # the group's name; None for a run of no group
    label: str  # in tables and the legend
    runs: tuple[int, ...]  # indices into CompareResult.runs
    seeds: tuple[int, ...]
    metrics: dict[str, Spread]  # METRICS, over the completed runs
    verdicts: dict[str, Verdict] | None  # against the first group; None for the first

    def to_json(self, runs: Sequence[ComparedRun]) -> dict[str, Any]:
        return {
            "group": self.name,
            "label": self.label,
            "n": max((s.n for s in self.metrics.values()), default=0),
            "runs": [str(runs[i].info.run_dir) for i in self.runs],
            "seeds": list(self.seeds),
            "metrics": {
                name: {
                    **spread.to_json(),
                    "vs_first": self.verdicts[name].to_json() if self.verdicts else None,
                }
                for name, spread in self.metrics.items()
            },
        }


@dataclass(frozen=True)
class CompareResult:
    runs: list[ComparedRun]
    differences: list[Difference]  # only those that differ, unless --all
    class_names: tuple[str, ...]
    figure: Path
    warnings: list[str]
    structure: Structure | None = None  # the layer lists (runs/specdiff.py)
    groups: list[ComparedGroup] | None = None  # when any run belongs to a group

    def test_accuracy_delta(self, index: int) -> float | None:
        """Test accuracy of run ``index`` minus the first run's."""
        first, this = self.runs[0].info.test_accuracy, self.runs[index].info.test_accuracy
        return None if first is None or this is None else round(this - first, 12)

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": [self._run_json(i) for i in range(len(self.runs))],
            "differences": [d.to_json() for d in self.differences],
            "structure": self.structure.to_json() if self.structure else None,
            "per_class_f1": [
                {"label": i, "name": name, "f1": [r.f1[i] if r.f1 else None for r in self.runs]}
                for i, name in enumerate(self.class_names)
            ],
            "groups": [g.to_json(self.runs) for g in self.groups or ()],
            "rule": RULE if self.groups else None,
            "figure": str(self.figure),
            "warnings": list(self.warnings),
        }

    def _run_json(self, index: int) -> dict[str, Any]:
        run = self.runs[index]
        info = run.info
        return {
            "run_dir": str(info.run_dir),
            "name": info.name,
            "label": run.label,
            "status": info.status,
            "group": info.group,
            "seed": info.seed,
            "epochs": info.epochs,
            "epochs_completed": info.epochs_completed,
            "total_params": info.total_params,
            "seconds": info.seconds,
            "precision": info.precision,
            "loss": info.loss,
            "data": {"dataset": info.dataset, "name": info.data_name, "sha256": info.data_sha256},
            "final": dict(info.final),
            "best": {k: {"value": b.value, "epoch": b.epoch} for k, b in info.best.items()},
            "test": {"loss": info.test_loss, "accuracy": info.test_accuracy},
            "test_accuracy_delta": self.test_accuracy_delta(index),
            "per_class_f1": list(run.f1) if run.f1 else None,
            "per_class_f1_note": run.f1_note,
        }


def compare_runs(
    runs: Sequence[Path],
    *,
    runs_dir: Path | None,
    data: Path | None,
    output: Path | None,
    show_all: bool,
    whole_groups: bool = False,
) -> CompareResult:
    warnings: list[str] = []
    dirs = _resolve(runs, runs_dir, whole_groups, warnings)
    infos = [
        undamaged(read_run(run), "compare", "see every run and its state: mnistctl runs")
        for run in dirs
    ]
    specs = [layout.load_run_spec(run) for run in dirs]
    _same_task(infos, specs)
    infos = [_with_loss(info, spec) for info, spec in zip(infos, specs, strict=True)]
    labels = run_labels(infos)
    groups = _groups(infos, labels, warnings)
    warnings += _data_warnings(infos, labels)
    names = specs[0].class_names
    figure = _figure_path(output, runs_dir, dirs[0])  # before any run is evaluated
    compared = []
    for info, label in zip(infos, labels, strict=True):
        history = history_columns(read_history(info.run_dir / layout.HISTORY))
        f1, note = per_class_f1(info, label, len(names), data, warnings)
        compared.append(ComparedRun(info, label, history, f1, note))
    from mnistctl.plots import plot_compare

    outputs.check_output(figure, FIGURE)  # again: it may have changed while runs were evaluated
    plot_compare(_curves(compared, groups), figure, title=_title(compared, groups))
    spec_diff = compare_specs([as_compared(s) for s in specs], show_all=show_all)
    return CompareResult(
        compared, spec_diff.differences, names, figure, warnings, spec_diff.structure, groups
    )


def _title(runs: list[ComparedRun], groups: list[ComparedGroup] | None) -> str:
    labels = [g.label for g in groups] if groups else [r.label for r in runs]
    shown = (
        " vs ".join(labels)
        if len(labels) <= 3
        else f"{len(labels)} " + ("groups" if groups else "runs")
    )
    return f"Learning curves: {shown}"


def _curves(
    runs: list[ComparedRun], groups: list[ComparedGroup] | None
) -> list[tuple[str, list[dict[str, list[float]]]]]:
    """One series per run; with groups, one per group: its completed runs' histories (a band
    where there are several), else whatever its run recorded."""
    if not groups:
        return [(r.label, [r.history]) for r in runs]
    out = []
    for group in groups:
        members = [runs[i] for i in group.runs]
        done = [r.history for r in members if r.info.status == "completed"]
        out.append((group.label, done or [members[0].history]))
    return out


# --- groups -------------------------------------------------------------------------------------


def _groups(
    infos: list[RunInfo], labels: list[str], warnings: list[str]
) -> list[ComparedGroup] | None:
    """The runs taken together by group, in the order first met; None when no run belongs to
    a group. Each group is checked to be one (the same spec but for train.seed)."""
    if all(info.group is None for info in infos):
        return None
    found = {g.name: g for g in collect(infos)}
    order: list[tuple[str | None, list[int]]] = []
    for i, info in enumerate(infos):
        if info.group is None:
            order.append((None, [i]))
        elif (slot := next((o for o in order if o[0] == info.group), None)) is not None:
            slot[1].append(i)
        else:
            order.append((info.group, [i]))
    groups: list[ComparedGroup] = []
    shown = _group_labels([(name, labels[idx[0]], infos[idx[0]]) for name, idx in order])
    for (name, idx), label in zip(order, shown, strict=True):
        group = found[name] if name is not None else Group(labels[idx[0]], (), (infos[idx[0]],))
        if name is not None:
            check_group(group)
            _group_warnings(group, label, warnings)
        metrics = {metric: group.metric(metric) for metric in METRICS}
        verdicts = None
        if groups:
            verdicts = {m: welch(groups[0].metrics[m], metrics[m]) for m in METRICS}
        seeds = group.seeds if name is not None else ()
        groups.append(ComparedGroup(name, label, tuple(idx), seeds, metrics, verdicts))
    return groups


def _group_labels(items: list[tuple[str | None, str, RunInfo]]) -> list[str]:
    """A group is shown by its spec's name, or by its own name where two share a spec; a run
    of no group by its run's label."""
    specs = [info.name for name, _, info in items if name is not None]
    return [
        label if name is None else info.name if specs.count(info.name) == 1 else name
        for name, label, info in items
    ]


def _group_warnings(group: Group, label: str, warnings: list[str]) -> None:
    left = len(group.runs) - len(group.complete)
    if left:
        warnings.append(
            f"{label}: {left} of its {len(group.runs)} runs compared not completed: its mean "
            "and sd are of the completed runs"
        )


# --- which runs ----------------------------------------------------------------------------------


def _resolve(
    runs: Sequence[Path], runs_dir: Path | None, whole_groups: bool, warnings: list[str]
) -> list[Path]:
    """Each RUN as absolute run directories (``runs/groups.named_runs``); at least two."""
    seen = named_runs(
        runs, runs_dir, whole_groups=whole_groups, warnings=warnings,
        twice="the same run given twice: a run compared with itself", once="different runs",
    )  # fmt: skip
    if len(seen) < 2:
        raise UserError(
            "compare needs at least two runs",
            Location(str(runs[0])) if runs else Location(),
            expected="two or more runs (run directories, specs meaning their latest run, or "
            "groups' names)",
            received=f"{len(seen)} run",
            hint="list the runs there are: mnistctl runs",
        )
    return seen


def _same_task(infos: list[RunInfo], specs: list[Spec]) -> None:
    first = specs[0].compile.loss
    for info, spec in zip(infos[1:], specs[1:], strict=True):
        if spec.compile.loss != first:
            raise UserError(
                "runs of different tasks cannot be compared",
                Location(str(info.run_dir / layout.SPEC), path=("compile", "loss")),
                expected=f"the loss of the first run ({first!r}, {infos[0].name})",
                received=f"{spec.compile.loss!r} ({info.name})",
            )
        if spec.class_names != specs[0].class_names:
            raise UserError(
                "runs of different classes cannot be compared",
                Location(str(info.run_dir / layout.SPEC), path=("data", "classes")),
                expected=f"the classes of the first run ({_few(specs[0].class_names)})",
                received=f"{_few(spec.class_names)} ({info.name})",
                hint="compare runs trained on the same classes",
            )


def _few(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:6])
    return f"{len(names)} classes: {shown}" + (", ..." if len(names) > 6 else "")


def _with_loss(info: RunInfo, spec: Spec) -> RunInfo:
    return replace(info, loss=spec.compile.loss)


def _data_warnings(infos: list[RunInfo], labels: list[str]) -> list[str]:
    seen = {(i.data_name, i.data_sha256) for i in infos if i.data_sha256 or i.data_name}
    if len(seen) <= 1:
        return []
    used = ", ".join(
        f"{label}: {info.data_name or info.dataset or '?'} "
        f"(sha256 {(info.data_sha256 or '?')[:12]})"
        for info, label in zip(infos, labels, strict=True)
    )
    return [f"the runs were trained on different data: {used}"]


# --- the figure ---------------------------------------------------------------------------------


FIGURE = outputs.png_kind(
    "compare", "give a new file name, or a folder to put compare-<UTC time>.png in"
)


def _figure_path(output: Path | None, runs_dir: Path | None, first: Path) -> Path:
    """``--output`` (a folder: a new file in it); else ``compare-<UTC time>.png`` in the runs
    directory (``--runs-dir``, or the one the first run lives in). Either way checked by the
    one rule for output paths (``runs/outputs.py``): a new file or a PNG written earlier, never
    a link, a special file or a file inside a run directory."""
    name = f"compare-{layout.timestamp()}.png"
    if output is None:
        target = (runs_dir if runs_dir is not None else first.parent.parent) / name
    elif output.is_dir() and not output.is_symlink():
        target = output / name
    else:
        target = output
    outputs.check_output(target, FIGURE)
    return target
