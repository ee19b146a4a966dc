"""``mnistctl evaluate RUN``: test-set loss, accuracy, per-class metrics, confusion matrix.

Of the run's model (``--checkpoint``): saved as ``evaluation.json`` when it is the model the
run ends with (the default), else as ``evaluation-best.json`` or ``evaluation-last.json``, so
that evaluating one never replaces the other's file; each file says which model it is of.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.commands.common import open_run
from mnistctl.ml.evaluation import confusion_matrix, on_test_set, per_class
from mnistctl.phases import mark
from mnistctl.runs.atomic import write_json
from mnistctl.runs.layout import Checkpoint


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
    )


def save_evaluation(result: EvaluateResult) -> Path:
    """Write ``evaluation.json`` (or ``evaluation-best.json``, ...) into the run, after the
    result was shown: a run folder that cannot be written loses nothing but this file."""
    write_json(result.saved_as, result.to_json())
    return result.saved_as
