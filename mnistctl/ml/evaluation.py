"""Test-set results of a model, computed one way for every command: the probabilities of one
pass over the test set give the accuracy, the confusion matrix and (through the spec's
allowlisted loss function, as Keras's evaluate would) the loss."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from mnistctl.data.datasets import Dataset
from mnistctl.ml import pipeline
from mnistctl.spec import Spec


@dataclass(frozen=True)
class TestSetResult:
    probabilities: npt.NDArray[np.float32]  # (N, classes)
    labels: npt.NDArray[np.int64]  # (N,)
    loss: float
    accuracy: float

    @property
    def predicted(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.probabilities.argmax(axis=1), dtype=np.int64)


def on_test_set(model: keras.Model, spec: Spec, dataset: Dataset) -> TestSetResult:
    """One pass of ``model`` over the test set of ``dataset``."""
    ds = pipeline.eval_dataset(
        dataset.x_test,
        dataset.y_test,
        batch_size=1024,
        input_shape=spec.info.input_shape,
        one_hot=spec.label_mode == "one_hot",
        classes=spec.info.classes,
    )
    probabilities = np.asarray(model.predict(ds, verbose=0), dtype=np.float32)
    labels = dataset.y_test.astype(np.int64)
    one_hot = spec.label_mode == "one_hot"
    targets = np.eye(spec.info.classes, dtype=np.float32)[labels] if one_hot else labels
    per_sample = keras.losses.get(spec.compile.loss)(targets, probabilities)
    loss = float(np.mean(keras.ops.convert_to_numpy(per_sample)))
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    return TestSetResult(probabilities, labels, loss, accuracy)


def confusion_matrix(
    true: npt.NDArray[Any], pred: npt.NDArray[Any], n: int
) -> npt.NDArray[np.int64]:
    """Rows: true label; columns: predicted label."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (true.astype(np.int64), pred.astype(np.int64)), 1)
    return matrix


def per_class(matrix: npt.NDArray[np.int64], names: Sequence[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of each class (0 where a class has no samples)."""
    rows = []
    for label in range(matrix.shape[0]):
        tp = int(matrix[label, label])
        support = int(matrix[label].sum())
        predicted = int(matrix[:, label].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "label": label,
                "class": names[label],
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support,
            }
        )
    return rows
