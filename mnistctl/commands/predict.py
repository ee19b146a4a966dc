"""``mnistctl predict RUN IMAGE...``: the digit in each image, with probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.commands.common import OpenRun, open_run
from mnistctl.data.images import load_digit
from mnistctl.errors import UserError, UserErrors
from mnistctl.spec.model import class_names


@dataclass(frozen=True)
class Prediction:
    file: str
    label: int
    probabilities: list[float]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "label": self.label, "probabilities": self.probabilities}


@dataclass(frozen=True)
class PredictResult:
    run_dir: Path
    name: str
    class_names: tuple[str, ...]
    predictions: list[Prediction]

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.predictions]


def predict_images(
    run_arg: Path, images: Sequence[Path], *, runs_dir: Path | None
) -> PredictResult:
    """``mnistctl predict RUN IMAGE...``: every image is checked before TensorFlow starts."""
    opened = open_run(run_arg, runs_dir)
    digits, errors = [], []
    for path in images:
        try:
            digits.append(load_digit(path))
        except UserError as err:
            errors.append(err)
    if errors:
        raise UserErrors(errors)
    return predict_digits(opened, [str(p) for p in images], digits)


def predict_digits(
    opened: OpenRun, names: Sequence[str], digits: Sequence[npt.NDArray[np.float32]]
) -> PredictResult:
    """Prepared 28x28 digits (floats in 0..1, white on black) through the run's model, in one
    batch; ``names`` label them in the result."""
    model = opened.load_model()
    batch = np.stack(digits).astype(np.float32).reshape((-1, *opened.spec.info.input_shape))
    probabilities = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
    return PredictResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=class_names(opened.spec.data.dataset),
        predictions=[
            Prediction(name, int(p.argmax()), [float(v) for v in p])
            for name, p in zip(names, probabilities, strict=True)
        ],
    )
