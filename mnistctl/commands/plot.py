"""``mnistctl plot RUN``: every picture of a run, as PNG files in ``RUN/plots/``.

The confusion matrix and the misclassified digits are of the run's model (``--checkpoint``),
computed here from its predictions on the test set (the same numbers as ``evaluate`` of that
model); as ``evaluate`` names its file, the pictures of the model the run ends with are
``confusion_matrix.png`` and ``misclassified.png``, those of the other ``...-best.png`` or
``...-last.png``. They go through the one rule for output paths (``runs/outputs.py``): each is
new or an earlier PNG, never a link or anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistctl.commands.common import open_run
from mnistctl.ml.evaluation import confusion_matrix, on_test_set
from mnistctl.plots import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_misclassified,
    plot_model_graph,
)
from mnistctl.runs import layout, outputs
from mnistctl.runs.history import history_columns, read_history

PICTURE = outputs.png_kind("plot", f"move it out of the run's {layout.PLOTS}/ folder")


@dataclass(frozen=True)
class PlotResult:
    run_dir: Path
    files: list[Path]
    checkpoint: layout.Checkpoint  # the model of the confusion matrix and the digits

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": self.checkpoint.to_json(),
            "files": [str(f) for f in self.files],
        }


def plot_run(
    run_arg: Path, *, data: Path | None, runs_dir: Path | None, checkpoint: str | None = None
) -> PlotResult:
    """``checkpoint``: ``best``, ``last`` or None (the model the run ends with)."""
    opened = open_run(run_arg, runs_dir, checkpoint)
    spec, out, suffix = opened.spec, opened.run_dir / layout.PLOTS, opened.checkpoint.suffix
    pngs = ("learning_curves.png", f"confusion_matrix{suffix}.png",
                f"misclassified{suffix}.png", "model.png")  # fmt: skip
    for name in pngs:  # the one rule for output paths, before anything is drawn
        outputs.check_output(out / name, PICTURE, own=out)
    history = history_columns(read_history(opened.run_dir / layout.HISTORY))
    dataset = opened.load_data(data)  # spec, model and data are checked before anything is drawn
    result = on_test_set(opened.load_model(), spec, dataset)
    names = list(spec.class_names)
    pred, true = result.predicted, result.labels
    wrong = np.flatnonzero(pred != true)
    confidence = result.probabilities[wrong, pred[wrong]]
    wrong = wrong[np.argsort(-confidence, kind="stable")]  # the most confident mistakes first
    files = [
        plot_learning_curves(history, out / pngs[0], title=spec.name),
        plot_confusion_matrix(
            confusion_matrix(true, pred, len(names)),
            out / pngs[1],
            labels=names,
            title=f"{spec.name} ({opened.checkpoint.file})",
        ),
        plot_misclassified(
            dataset.x_test[wrong],
            true[wrong].tolist(),
            pred[wrong].tolist(),
            result.probabilities[wrong, pred[wrong]].tolist(),
            out / pngs[2],
            labels=names,
            title=f"Misclassified test images ({opened.checkpoint.file})",
        ),
        plot_model_graph(spec.info.to_json(spec.name)["layers"], out / pngs[3], title=spec.name),
    ]
    return PlotResult(opened.run_dir, files, opened.checkpoint)
