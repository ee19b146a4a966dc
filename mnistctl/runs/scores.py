"""Per-class scores from predictions, in NumPy alone (no TensorFlow): the confusion matrix and
each class's precision, recall, F1 and support. ``evaluate`` computes them after a model's pass
over the test set; ``compare`` and ``report`` from a run's ``test_predictions.npz``: the same
numbers, one way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


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
