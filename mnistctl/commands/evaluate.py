"""Test-set evaluation of a run: loss, accuracy, per-class metrics and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnistctl.ml import pipeline
from mnistctl.runs import files as runs
from mnistctl.spec.model import NUM_CLASSES

if TYPE_CHECKING:
    import keras

    from mnistctl.data.datasets import Dataset
    from mnistctl.spec import Spec


@dataclass
class TestResult:
    spec: Spec
    dataset: Dataset
    probabilities: np.ndarray  # (N, 10) float32
    loss: float
    accuracy: float

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.probabilities.argmax(axis=1), dtype=np.int64)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int = NUM_CLASSES) -> np.ndarray:
    """Rows: true label; columns: predicted label."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (true.astype(np.int64), pred.astype(np.int64)), 1)
    return matrix


def per_class(matrix: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for label in range(matrix.shape[0]):
        tp = int(matrix[label, label])
        support = int(matrix[label].sum())
        predicted = int(matrix[:, label].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {"label": label, "precision": precision, "recall": recall, "f1": f1, "support": support}
        )
    return rows


def load_run_model(run: Path) -> keras.Model:
    from mnistctl.ml.modelfile import load_model

    return load_model(runs.model_path(run))


def test_run(run: Path, data: Path | None) -> TestResult:
    from mnistctl.data.datasets import load_dataset

    spec = runs.load_run_spec(run)
    model_file = runs.model_path(run)  # fail before loading data if there is no model
    dataset = load_dataset(spec.data.dataset, spec.data_path(data))
    import keras

    from mnistctl.ml.modelfile import load_model

    model = load_model(model_file, compile=False)
    input_shape = spec.model_info.layers[0].output_shape
    one_hot = spec.label_mode == "one_hot"
    ds = pipeline.eval_dataset(
        dataset.x_test, dataset.y_test, batch_size=1024, input_shape=input_shape, one_hot=one_hot
    )
    # one pass: the probabilities give the accuracy, and the loss through the spec's
    # (allowlisted) loss function, as Keras's evaluate would compute it
    probabilities = np.asarray(model.predict(ds, verbose=0), dtype=np.float32)
    labels = dataset.y_test.astype(np.int64)
    targets = np.eye(10, dtype=np.float32)[labels] if one_hot else labels
    per_sample = keras.losses.get(spec.compile.loss)(targets, probabilities)
    loss = float(np.mean(keras.ops.convert_to_numpy(per_sample)))
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    return TestResult(spec, dataset, probabilities, loss, accuracy)


def evaluate_run(
    run_arg: Path, *, data: Path | None, json_output: bool, runs_dir: Path | None = None
) -> None:
    from mnistctl.ui.render import (
        CLASS_NAMES,
        confusion_table,
        metrics_table,
        per_class_table,
        print_json,
        stdout_console,
    )

    run = runs.find_run(run_arg, runs_dir)
    result = test_run(run, data)
    matrix = confusion_matrix(result.dataset.y_test, result.predicted)
    report = {
        "run_dir": str(run),
        "loss": result.loss,
        "accuracy": result.accuracy,
        "test_samples": len(result.dataset.y_test),
        "data": {"source": result.dataset.source, "sha256": result.dataset.sha256},
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class(matrix),
    }
    runs.write_json(run / "evaluation.json", report)
    if json_output:
        print_json(report)
        return
    names = CLASS_NAMES.get(result.spec.data.dataset, CLASS_NAMES["mnist"])
    out = stdout_console()
    out.print(
        metrics_table(
            f"{result.spec.name}: test set ({len(result.dataset.y_test):,} images)",
            {"loss": result.loss, "accuracy": result.accuracy},
        )
    )
    out.print(per_class_table(report["per_class"], names))
    out.print(confusion_table(report["confusion_matrix"], names))
    out.print(f"saved: {run / 'evaluation.json'}", markup=False, soft_wrap=True)
