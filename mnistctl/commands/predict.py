"""``mnistctl predict RUN IMAGE...``: the digit in each image, with probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistctl.commands.common import open_run
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
    opened = open_run(run_arg, runs_dir)
    digits, errors = [], []
    for path in images:  # every image is checked before TensorFlow starts
        try:
            digits.append(load_digit(path))
        except UserError as err:
            errors.append(err)
    if errors:
        raise UserErrors(errors)
    model = opened.load_model()
    batch = np.stack(digits).astype(np.float32).reshape((-1, *opened.spec.info.input_shape))
    probabilities = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
    return PredictResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=class_names(opened.spec.data.dataset),
        predictions=[
            Prediction(str(path), int(p.argmax()), [float(v) for v in p])
            for path, p in zip(images, probabilities, strict=True)
        ],
    )
