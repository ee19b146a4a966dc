"""``mnistctl evaluate RUN``: test-set loss, accuracy, per-class metrics, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.commands.common import open_run
from mnistctl.ml.evaluation import confusion_matrix, on_test_set, per_class
from mnistctl.runs import layout
from mnistctl.runs.atomic import write_json
from mnistctl.spec.model import class_names


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

    @property
    def saved_as(self) -> Path:
        return self.run_dir / layout.EVALUATION

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
        }


def evaluate_run(run_arg: Path, *, data: Path | None, runs_dir: Path | None) -> EvaluateResult:
    opened = open_run(run_arg, runs_dir)
    dataset = opened.load_data(data)  # data problems before the model loads
    result = on_test_set(opened.load_model(), opened.spec, dataset)
    matrix = confusion_matrix(result.labels, result.predicted)
    return EvaluateResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=class_names(opened.spec.data.dataset),
        loss=result.loss,
        accuracy=result.accuracy,
        test_samples=len(result.labels),
        data_source=dataset.source,
        data_sha256=dataset.sha256,
        confusion_matrix=matrix.tolist(),
        per_class=per_class(matrix),
    )


def save_evaluation(result: EvaluateResult) -> Path:
    """Write ``evaluation.json`` into the run (after the result was shown: a run folder that
    cannot be written loses nothing but this file)."""
    write_json(result.saved_as, result.to_json())
    return result.saved_as
