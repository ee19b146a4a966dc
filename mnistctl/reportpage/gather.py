"""What the report shows of one run, read from its files alone: the record (``runs/catalog``),
the resolved spec (its text, and loaded: class names, the compared dict), ``summary.json``'s
layers, ``history.csv``, ``env.json`` and ``test_predictions.npz``. Never a model, never
TensorFlow.

A run that cannot be read (a damaged or foreign folder) is refused with one line, as
``compare`` refuses it: a report is handed in or shared, and one that silently lacks a run
that was asked for would be read as complete. What a readable run lacks (a run still
training, an older run without test predictions) is shown in the page, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistctl.errors import Location, UserError
from mnistctl.formatting import format_shape
from mnistctl.runs import layout
from mnistctl.runs.atomic import read_json
from mnistctl.runs.catalog import RunInfo, read_run, undamaged
from mnistctl.runs.catalog import labels as run_labels
from mnistctl.runs.history import history_columns, read_history
from mnistctl.runs.record import RunRecord, Status
from mnistctl.runs.scores import per_class as class_scores
from mnistctl.runs.specdiff import as_compared
from mnistctl.runs.testset import TEST_PREDICTIONS, TestPredictions, read_test_predictions

EVALUATE_HINT = "run `mnistctl evaluate {run}` to add the confusion cells' pictures"


@dataclass(frozen=True)
class Layer:
    name: str
    type: str
    output_shape: str
    params: int | None


@dataclass(frozen=True)
class PerClass:
    label: int
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class RunFacts:
    """One run as the report shows it."""

    info: RunInfo
    label: str  # its name in the page: the spec's name, with the run's time if repeated
    spec_text: str
    compared: dict[str, Any]  # the resolved spec, as runs/specdiff compares it
    class_names: tuple[str, ...]
    loss: str
    dataset: str  # the data it was trained on, in words
    layers: tuple[Layer, ...]
    history: dict[str, list[float]]
    env: dict[str, Any]
    predictions: TestPredictions | None
    notes: tuple[str, ...]  # what the page and the terminal say about it (status, lacks)

    @property
    def confusion(self) -> np.ndarray[Any, np.dtype[np.int64]] | None:
        return self.predictions.confusion() if self.predictions is not None else None

    def per_class(self) -> list[PerClass]:
        """Precision, recall, F1 and support of each class, from the confusion matrix."""
        matrix = self.confusion
        if matrix is None:
            return []
        return [
            PerClass(r["label"], r["class"], r["precision"], r["recall"], r["f1"], r["support"])
            for r in class_scores(matrix, self.class_names)
        ]


def read_runs(run_dirs: Sequence[Path]) -> list[RunFacts]:
    """Each run's facts, labelled so that repeated names can be told apart."""
    hint = "leave it out, or see every run and its state: mnistctl runs"
    infos = [undamaged(read_run(run), "report", hint) for run in run_dirs]
    labels = run_labels(infos)
    return [_facts(info, label) for info, label in zip(infos, labels, strict=True)]


def _facts(info: RunInfo, label: str) -> RunFacts:
    run = info.run_dir
    record = RunRecord.load(run)
    spec = layout.load_run_spec(run, record)
    summary = _json(run / layout.SUMMARY)
    env = _json(run / layout.ENV)
    predictions, lacking = _predictions(run, record, len(spec.class_names))
    notes = [*_status_notes(info), *lacking]
    return RunFacts(
        info=info,
        label=label,
        spec_text=(run / layout.SPEC).read_text(encoding="utf-8"),
        compared=as_compared(spec),
        class_names=spec.class_names,
        loss=spec.compile.loss,
        dataset=_dataset(info, env),
        layers=_layers(summary),
        history=history_columns(read_history(run / layout.HISTORY)),
        env=env,
        predictions=predictions,
        notes=tuple(notes),
    )


def _status_notes(info: RunInfo) -> list[str]:
    status = info.status
    done = f"{info.epochs_completed or 0} of {info.epochs or '?'} epochs"
    if status == Status.TRAINING.value:
        if info.live is False:
            return [
                f"marked training, but its process is gone: this report shows the {done} it "
                f"finished (continue it: mnistctl train --resume {info.run_dir})"
            ]
        where = "" if info.live else " on another machine"
        return [f"still training{where}: this report shows the {done} so far"]
    if status == Status.COMPLETED.value:
        return []
    why = f": {info.error}" if info.error else ""
    return [f"{status} after {done}{why}"]


def _predictions(
    run: Path, record: RunRecord, classes: int
) -> tuple[TestPredictions | None, list[str]]:
    try:
        found = read_test_predictions(run, record)
        if found.classes != classes:
            raise UserError(
                "test predictions of other classes",
                Location(str(run / TEST_PREDICTIONS)),
                expected=f"{classes} classes, as the run's spec",
                received=f"{found.classes}",
            )
        return found, []
    except FileNotFoundError:
        if record.status in (Status.TRAINING, Status.CREATED):
            return None, ["no test-set results yet: the run has not finished"]
        return None, [f"no {TEST_PREDICTIONS} (an older run): " + EVALUATE_HINT.format(run=run)]
    except UserError as err:
        return None, [f"{err.one_line()}; " + EVALUATE_HINT.format(run=run)]


def _json(path: Path) -> dict[str, Any]:
    """A record file of the run (catalog has checked its shape); {} when there is none."""
    if not path.is_file():
        return {}
    value = read_json(path)
    return value if isinstance(value, dict) else {}


def _dataset(info: RunInfo, env: Mapping[str, Any]) -> str:
    data = env.get("data")
    source = data.get("source") if isinstance(data, Mapping) else None
    name = info.data_name or info.dataset or "?"
    shown = f"{name} ({source})" if source and source != name else name
    return f"{shown}, sha256 {info.data_sha256[:12]}" if info.data_sha256 else shown


def _layers(summary: Mapping[str, Any]) -> tuple[Layer, ...]:
    rows = summary.get("layers")
    if not isinstance(rows, list):
        return ()
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        shape = row.get("output_shape")
        shown = format_shape(shape) if isinstance(shape, list) else str(shape or "")
        params = row.get("params")
        out.append(
            Layer(
                str(row.get("name", "")),
                str(row.get("type", "")),
                shown,
                params if isinstance(params, int) else None,
            )
        )
    return tuple(out)
