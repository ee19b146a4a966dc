"""``mnistctl compare RUN RUN...``: runs side by side.

What differs in their specs (as ``--set`` paths, layers by name), their final and best metrics,
test accuracy against the first run, per-class F1 (from each run's ``evaluation.json``; a run
without one is evaluated now, and the file saved) and their learning curves overlaid in one
PNG. Refused: fewer than two runs, one run twice, damaged runs, runs of different tasks (other
losses). Runs trained on different data are compared, with a warning.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError
from mnistctl.runs import layout, outputs
from mnistctl.runs.atomic import read_json
from mnistctl.runs.catalog import RunInfo, read_run
from mnistctl.runs.history import history_columns, read_history
from mnistctl.spec import Spec


class _Absent:
    """A spec value that one run has and another has not."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class ComparedRun:
    info: RunInfo
    label: str  # its name in tables and the legend: the spec's name, plus the time if repeated
    history: dict[str, list[float]]
    f1: tuple[float, ...] | None  # per class, from evaluation.json
    f1_note: str | None  # why there is no per-class F1


@dataclass(frozen=True)
class Difference:
    path: str  # a --set path: model.layers.hidden_1.units
    values: tuple[Any, ...]  # one per run; ABSENT where a run's spec has no such value
    differs: bool


@dataclass(frozen=True)
class CompareResult:
    runs: list[ComparedRun]
    differences: list[Difference]  # only those that differ, unless --all
    class_names: tuple[str, ...]
    figure: Path
    warnings: list[str]

    def test_accuracy_delta(self, index: int) -> float | None:
        """Test accuracy of run ``index`` minus the first run's."""
        first, this = self.runs[0].info.test_accuracy, self.runs[index].info.test_accuracy
        return None if first is None or this is None else round(this - first, 12)

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": [self._run_json(i) for i in range(len(self.runs))],
            "differences": [
                {
                    "path": d.path,
                    "values": [None if v is ABSENT else v for v in d.values],
                    "differs": d.differs,
                }
                for d in self.differences
            ],
            "per_class_f1": [
                {"label": i, "name": name, "f1": [r.f1[i] if r.f1 else None for r in self.runs]}
                for i, name in enumerate(self.class_names)
            ],
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
) -> CompareResult:
    dirs = _resolve(runs, runs_dir)
    infos = [_readable(read_run(run)) for run in dirs]
    specs = [layout.load_run_spec(run) for run in dirs]
    _same_task(infos, specs)
    infos = [_with_loss(info, spec) for info, spec in zip(infos, specs, strict=True)]
    labels = _labels(infos)
    warnings = _data_warnings(infos, labels)
    names = specs[0].class_names
    figure = _figure_path(output, runs_dir, dirs[0])  # before any run is evaluated
    compared = []
    for info, label in zip(infos, labels, strict=True):
        history = history_columns(read_history(info.run_dir / layout.HISTORY))
        f1, note = _per_class_f1(info, label, len(names), data, warnings)
        compared.append(ComparedRun(info, label, history, f1, note))
    from mnistctl.plots import plot_compare

    outputs.check_output(figure, FIGURE)  # again: it may have changed while runs were evaluated
    plot_compare([(r.label, r.history) for r in compared], figure)
    differences = spec_differences([_as_trained(s) for s in specs], show_all=show_all)
    return CompareResult(compared, differences, names, figure, warnings)


# --- which runs ----------------------------------------------------------------------------------


def _resolve(runs: Sequence[Path], runs_dir: Path | None) -> list[Path]:
    """Each RUN as an absolute run directory; at least two, each once."""
    if len(runs) < 2:
        raise UserError(
            "compare needs at least two runs",
            Location(str(runs[0])) if runs else Location(),
            expected="two or more runs (run directories, or specs meaning their latest run)",
            received=f"{len(runs)} run",
            hint="list the runs there are: mnistctl runs",
        )
    seen: dict[Path, Path] = {}
    for arg in runs:
        run = layout.find_run(arg, runs_dir).resolve()
        if run in seen:
            raise UserError(
                "the same run given twice: a run compared with itself",
                Location(str(arg)),
                expected="different runs",
                received=f"{seen[run]} and {arg}, both {run}",
                hint="list the runs there are: mnistctl runs",
            )
        seen[run] = arg
    return list(seen)


def _readable(info: RunInfo) -> RunInfo:
    if info.damaged:
        raise UserError(
            "cannot compare a damaged run",
            Location(str(info.run_dir)),
            expected="a run written by 'mnistctl train'",
            received=info.damaged,
            hint="see every run and its state: mnistctl runs",
        )
    return info


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


def _labels(infos: list[RunInfo]) -> list[str]:
    """The spec's name; with the run's time when names repeat; numbered if that repeats too."""
    names = [info.name for info in infos]
    labels = [
        f"{info.name} {info.run_dir.name}" if names.count(info.name) > 1 else info.name
        for info in infos
    ]
    return [
        f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]


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


# --- per-class F1 ------------------------------------------------------------------------------


def _per_class_f1(
    info: RunInfo, label: str, n: int, data: Path | None, warnings: list[str]
) -> tuple[tuple[float, ...] | None, str | None]:
    """From the run's evaluation.json; else the run is evaluated now and the file saved."""
    saved = _saved_f1(info.run_dir / layout.EVALUATION, n)
    if saved is not None:
        return saved, None
    if not (info.run_dir / layout.MODEL).is_file():
        return None, f"not evaluated: no model.keras ({info.shown_status})"
    from mnistctl.commands.evaluate import evaluate_run, save_evaluation

    result = evaluate_run(info.run_dir, data=data, runs_dir=None)
    try:
        save_evaluation(result)
    except UserError as err:
        warnings.append(f"{label}: the evaluation was not saved: {err.one_line()}")
    rows = sorted(result.per_class, key=lambda row: int(row["label"]))
    return tuple(float(row["f1"]) for row in rows), None


def _saved_f1(path: Path, n: int) -> tuple[float, ...] | None:
    """Per-class F1 of a readable evaluation.json with ``n`` classes; None otherwise."""
    if not path.is_file():
        return None
    try:
        saved = read_json(path)
    except UserError:
        return None
    rows = saved.get("per_class") if isinstance(saved, dict) else None
    if not isinstance(rows, list) or len(rows) != n:
        return None
    by_label: dict[int, float] = {}
    for row in rows:
        label, f1 = (row.get("label"), row.get("f1")) if isinstance(row, dict) else (None, None)
        if not isinstance(label, int) or not isinstance(f1, int | float) or isinstance(f1, bool):
            return None
        by_label[label] = float(f1)
    if sorted(by_label) != list(range(n)) or not all(map(math.isfinite, by_label.values())):
        return None
    return tuple(by_label[i] for i in range(n))


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


# --- spec differences ---------------------------------------------------------------------------


def spec_differences(specs: Sequence[dict[str, Any]], *, show_all: bool) -> list[Difference]:
    """Every spec value by ``--set`` path, in the order first met; only those that differ
    between the specs unless ``show_all``."""
    flat = [flatten(spec) for spec in specs]
    paths: dict[str, None] = {}
    for one in flat:
        paths.update(dict.fromkeys(one))
    out = []
    for path in paths:
        values = tuple(f.get(path, ABSENT) for f in flat)
        differs = any(not _same(values[0], v) for v in values[1:])
        if differs or show_all:
            out.append(Difference(path, values, differs))
    return out


def _as_trained(spec: Spec) -> dict[str, Any]:
    """A run's resolved spec, with what a run trained before the classes and the preparation
    were recorded used (MNIST's digits, its digit preparation), so that only real
    differences show."""
    out = spec.resolved_dict()
    out["data"]["classes"] = list(spec.class_names)
    out["data"]["prepare"] = spec.target.mode
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested spec data -> ``{--set path: value}``. A list of mappings (layers, callbacks) is
    addressed by each item's name where it has a unique one, else by its index; other lists
    (shapes, metrics) are values."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        names = [item.get("name") for item in value]
        out = {}
        for index, item in enumerate(value):
            name = item.get("name")
            named = isinstance(name, str) and names.count(name) == 1 and not name.isdigit()
            rest = {k: v for k, v in item.items() if k != "name"} if named else item
            out.update(flatten(rest, f"{prefix}.{name if named else index}"))
        return out
    return {prefix: value}


def _same(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return (type(a) is type(b) and a == b) or (_number(a) and _number(b) and a == b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown_value(value: Any) -> str:
    """A spec value as a person reads it: YAML-like, on one line."""
    if value is ABSENT:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "), default=str)
