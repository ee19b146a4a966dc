"""Test-set results of a model, computed one way for every command: the probabilities of one
pass over the test set give the accuracy, the confusion matrix and (through the spec's
allowlisted loss function, as Keras's evaluate would) the loss."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import numpy.typing as npt

from mnistctl.data.datasets import Dataset
from mnistctl.ml import pipeline
from mnistctl.runs.scores import confusion_matrix as confusion_matrix
from mnistctl.runs.scores import per_class as per_class
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
