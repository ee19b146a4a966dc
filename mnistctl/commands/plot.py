"""``mnistctl plot RUN``: every picture of a run, as PNG files in ``RUN/plots/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistctl.commands.common import open_run
from mnistctl.ml.evaluation import confusion_matrix, on_test_set
from mnistctl.runs import layout
from mnistctl.runs.history import history_columns, read_history
from mnistctl.spec.model import class_names
from mnistctl.ui.plots import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_misclassified,
    plot_model_graph,
)


@dataclass(frozen=True)
class PlotResult:
    run_dir: Path
    files: list[Path]


def plot_run(run_arg: Path, *, data: Path | None, runs_dir: Path | None) -> PlotResult:
    opened = open_run(run_arg, runs_dir)
    spec, out = opened.spec, opened.run_dir / layout.PLOTS
    history = history_columns(read_history(opened.run_dir / layout.HISTORY))
    dataset = opened.load_data(data)  # spec, model and data are checked before anything is drawn
    result = on_test_set(opened.load_model(), spec, dataset)
    names = list(class_names(spec.data.dataset))
    pred, true = result.predicted, result.labels
    wrong = np.flatnonzero(pred != true)
    confidence = result.probabilities[wrong, pred[wrong]]
    wrong = wrong[np.argsort(-confidence, kind="stable")]  # the most confident mistakes first
    files = [
        plot_learning_curves(history, out / "learning_curves.png", title=spec.name),
        plot_confusion_matrix(
            confusion_matrix(true, pred),
            out / "confusion_matrix.png",
            labels=names,
            title=spec.name,
        ),
        plot_misclassified(
            dataset.x_test[wrong],
            true[wrong].tolist(),
            pred[wrong].tolist(),
            result.probabilities[wrong, pred[wrong]].tolist(),
            out / "misclassified.png",
            labels=names,
        ),
        plot_model_graph(
            spec.info.to_json(spec.name)["layers"], out / "model.png", title=spec.name
        ),
    ]
    return PlotResult(opened.run_dir, files)
