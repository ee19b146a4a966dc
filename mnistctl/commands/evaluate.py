"""``mnistctl evaluate RUN``: test-set loss, accuracy, per-class metrics, confusion matrix.

Of the run's model (``--checkpoint``): saved as ``evaluation.json`` when it is the model the
run ends with (the default), else as ``evaluation-best.json`` or ``evaluation-last.json``, so
that evaluating one never replaces the other's file; each file says which model it is of. A
run without a readable ``test_predictions.npz`` (runs from before ``mnistctl report``) gets one
too, of the model it ends with on its own data (``runs/testset.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistctl.commands.common import OpenRun, open_run
from mnistctl.data.datasets import Dataset
from mnistctl.errors import UserError
from mnistctl.ml.evaluation import TestSetResult, confusion_matrix, on_test_set, per_class
from mnistctl.phases import mark
from mnistctl.runs import testset
from mnistctl.runs.atomic import read_json, write_json
from mnistctl.runs.layout import ENV, Checkpoint
from mnistctl.runs.record import RunRecord, Status


@dataclass(frozen=True)
class EvaluateResult:
    run_dir: Path
    name: str
    class_names: tuple[str, ...]
    loss: float
    accuracy: float
    test_samples: int
    data_source: str
    data_sha256: str
    confusion_matrix: list[list[int]]
    per_class: list[dict[str, Any]]
    checkpoint: Checkpoint  # the model evaluated: best.keras or model.keras
    # test_predictions.npz to write for a run that lacks one (mnistctl report), else None
    test_set: testset.TestPredictions | None = field(default=None, repr=False, compare=False)

    @property
    def saved_as(self) -> Path:
        return self.checkpoint.evaluation_path(self.run_dir)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "name": self.name,
            "loss": self.loss,
            "accuracy": self.accuracy,
            "test_samples": self.test_samples,
            "data": {"source": self.data_source, "sha256": self.data_sha256},
            "confusion_matrix": self.confusion_matrix,
            "per_class": self.per_class,
            "checkpoint": self.checkpoint.to_json(),
        }


def evaluate_run(
    run_arg: Path, *, data: Path | None, runs_dir: Path | None, checkpoint: str | None = None
) -> EvaluateResult:
    """``checkpoint``: ``best``, ``last`` or None (the model the run ends with)."""
    opened = open_run(run_arg, runs_dir, checkpoint)
    dataset = opened.load_data(data)  # data problems before the model loads
    result = on_test_set(opened.load_model(), opened.spec, dataset)
    mark("evaluated")
    matrix = confusion_matrix(result.labels, result.predicted, opened.spec.info.classes)
    names = opened.spec.class_names
    return EvaluateResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=names,
        loss=result.loss,
        accuracy=result.accuracy,
        test_samples=len(result.labels),
        data_source=dataset.source,
        data_sha256=dataset.sha256,
        confusion_matrix=matrix.tolist(),
        per_class=per_class(matrix, names),
        checkpoint=opened.checkpoint,
        test_set=_missing_test_set(opened, result, dataset),
    )


def save_evaluation(result: EvaluateResult) -> Path:
    """Write ``evaluation.json`` (or ``evaluation-best.json``, ...) into the run, after the
    result was shown: a run folder that cannot be written loses nothing but this file."""
    write_json(result.saved_as, result.to_json())
    if result.test_set is not None:
        testset.write_test_predictions(RunRecord.load(result.run_dir), result.test_set)
    return result.saved_as


def _missing_test_set(
    opened: OpenRun, result: TestSetResult, dataset: Dataset
) -> testset.TestPredictions | None:
    """The test predictions ``mnistctl report`` shows, for a run without a readable
    ``test_predictions.npz`` (older runs): of the model the run ends with, on the run's own
    data (env.json's checksum), and never while the run trains (its record is the trainer's)."""
    if not opened.checkpoint.default or opened.record.status in (Status.TRAINING, Status.CREATED):
        return None
    try:
        env = read_json(opened.run_dir / ENV)
        own = env["data"]["sha256"]
    except (UserError, KeyError, TypeError):  # no env.json, or not of this shape: no check
        own = None
    if own is not None and own != dataset.sha256:
        return None
    try:
        testset.read_test_predictions(opened.run_dir, opened.record)
        return None  # it has them
    except (FileNotFoundError, UserError):
        pass
    return testset.arrange(
        result.labels, result.probabilities, dataset.x_test, data_sha256=dataset.sha256
    )
