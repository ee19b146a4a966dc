"""``mnistctl predict RUN IMAGE...``: the digit in each image, with probabilities.

An IMAGE may be a folder (its image files, in name order) or a glob pattern the shell did not
expand (see ``data/imagesets.py``). The pictures are prepared in worker processes while this
one starts TensorFlow and checks the run (one worker per CPU but one, the last when this one
is done if pictures are still waiting); every problem with them is known before the model is
loaded, and then the model reads the good ones in batches of PREDICT_BATCH
(``model_outputs``). For the CLI (``partial``) a bad picture is a ``Failure`` in its place
among the predictions; for the Python API, as when no picture is good, an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.imagesets import Preparation, expand_images
from mnistctl.data.inputs import Target
from mnistctl.errors import Location, UserError, UserErrors, unicode_text
from mnistctl.phases import mark
from mnistctl.startup import heavy_imports

if TYPE_CHECKING:
    import keras

    from mnistctl.commands.common import OpenRun
    from mnistctl.runs.layout import Checkpoint

PREDICT_BATCH = 256  # images per model call (measured: faster than 64, 128, 512 or 1024 here)


@dataclass(frozen=True)
class Prediction:
    file: str
    label: int
    probabilities: list[float]
    class_name: str = ""  # the label's class name ("7" for MNIST's digits)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": unicode_text(self.file),
            "label": self.label,
            "class": self.class_name,
            "probabilities": self.probabilities,
        }


@dataclass(frozen=True)
class Failure:
    """A picture that could not be predicted (or an argument that named none: a folder
    without image files, a pattern without matches), in its place among the predictions."""

    file: str
    error: UserError

    @property
    def reason(self) -> str:
        """The error's line without the file it is about (``file`` says it)."""
        return dataclasses.replace(self.error, location=Location()).one_line()

    def to_json(self) -> dict[str, Any]:
        return {"file": unicode_text(self.file), "error": unicode_text(self.reason)}


@dataclass(frozen=True)
class PredictResult:
    run_dir: Path
    name: str
    class_names: tuple[str, ...]
    entries: list[Prediction | Failure]  # in the order of the images given
    checkpoint: Checkpoint  # the model that read them (not in the JSON list: the CLI says it)

    @property
    def predictions(self) -> list[Prediction]:
        return [e for e in self.entries if isinstance(e, Prediction)]

    @property
    def failures(self) -> list[Failure]:
        return [e for e in self.entries if isinstance(e, Failure)]

    def to_json(self) -> list[dict[str, Any]]:
        """The contract's list: ``{"file", "label", "probabilities"}`` for each picture
        predicted, ``{"file", "error"}`` for each that was not, in order; names as valid
        Unicode (a byte that is not UTF-8 written ``\\xNN``)."""
        return [e.to_json() for e in self.entries]


def predict_images(
    run_arg: Path,
    images: Sequence[str | Path],
    *,
    runs_dir: Path | None,
    workers: int | None = None,
    checkpoint: str | None = None,
    partial: bool = False,
) -> PredictResult:
    """``mnistctl predict RUN IMAGE...``: every image is checked before the model is loaded.

    ``images``: files, folders (their image files in name order) and glob patterns (their
    matches in name order). ``workers``: processes preparing the pictures (default: one per
    CPU; 1: all of them here). ``checkpoint``: ``best``, ``last`` or None (the model the run
    ends with). Problems are reported in the order of ``images``: a problem with the run
    first, then every folder without images, pattern without matches and bad picture, as
    ``UserErrors``. With ``partial`` (the CLI), as long as one picture is good, the good ones
    are predicted and each problem is a ``Failure`` in its place in ``entries`` instead.
    """
    items = expand_images(images)
    with Preparation(items, workers=workers, target=_run_target(run_arg, runs_dir)) as preparation:
        # TensorFlow starts and the run is checked while the workers prepare the pictures.
        with heavy_imports():
            from mnistctl.commands.common import open_run

        opened = open_run(run_arg, runs_dir, checkpoint)
        batch = preparation.result()
        mark("prepared")  # the wait for what TensorFlow's import did not hide
    good = batch.prepared
    if batch.errors and not (partial and good):
        raise UserErrors(batch.errors)
    digits = batch.digits if len(good) == len(batch.names) else batch.digits[good]
    result = predict_digits(opened, [batch.names[n] for n in good], digits)
    if not batch.errors:
        return result
    predicted = iter(result.entries)
    entries = [
        next(predicted) if isinstance(outcome, int) else Failure(_file(outcome), outcome)
        for outcome in batch.outcomes
    ]
    return dataclasses.replace(result, entries=entries)


def _run_target(run_arg: Path, runs_dir: Path | None) -> Target:
    """What the run's model takes a picture as, from its spec (no TensorFlow: the pictures
    are prepared while it starts)."""
    from mnistctl.runs import layout
    from mnistctl.runs.record import RunRecord

    run = layout.find_run(run_arg, runs_dir)
    return layout.load_run_spec(run, RunRecord.load(run)).target


def _file(err: UserError) -> str:
    return err.location.file if err.location.file is not None else "?"


def predict_digits(
    opened: OpenRun,
    names: Sequence[str],
    digits: Sequence[npt.NDArray[np.float32]] | npt.NDArray[np.float32],
) -> PredictResult:
    """Prepared pictures (floats in 0..1, the run's ``Target``) through the run's model, in
    batches of PREDICT_BATCH (the same answers as one at a time, to float rounding, far
    faster); ``names`` label them in the result."""
    model = opened.load_model()
    batch = np.asarray(digits, dtype=np.float32).reshape(
        (len(names), *opened.spec.info.input_shape)
    )
    classes = opened.spec.class_names
    probabilities = model_outputs(model, batch) if len(batch) else np.zeros((0, len(classes)))
    mark("predicted")
    labels = probabilities.argmax(axis=1).tolist()
    return PredictResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=classes,
        entries=[
            Prediction(name, label, row, classes[label])
            for name, label, row in zip(names, labels, probabilities.tolist(), strict=True)
        ],
        checkpoint=opened.checkpoint,
    )


def model_outputs(model: keras.Model, inputs: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The model's outputs (inference: ``training=False``) for ``inputs`` (at least one),
    PREDICT_BATCH at a time through one traced function of a fixed batch size, the last batch
    padded with zeros (each input's output does not depend on the others in its batch).

    Instead of ``model.predict``: that traces its own function on its first call and runs a
    Keras loop around it (callbacks, progress); this is 0.3-0.5 s less for 10,000 digits, in a
    process that predicts once (measured, bench/predict_bulk.py).
    """
    import tensorflow as tf

    size = min(PREDICT_BATCH, len(inputs))
    shape = (size, *inputs.shape[1:])
    forward = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec(shape, tf.float32)],
        autograph=False,  # no Python control flow to convert
    )
    outputs: list[npt.NDArray[np.float32]] = []
    for at in range(0, len(inputs), size):
        part = inputs[at : at + size]
        if len(part) < size:
            part = np.concatenate([part, np.zeros((size - len(part), *shape[1:]), np.float32)])
        outputs.append(np.asarray(forward(part))[: len(inputs) - at])
    return np.concatenate(outputs).astype(np.float64)
