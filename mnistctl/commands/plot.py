"""``mnistctl plot RUN``: every picture of a run, as PNG files in ``RUN/plots/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistctl.runs import files as runs


def plot_run(run_arg: Path, *, data: Path | None, runs_dir: Path | None = None) -> list[Path]:
    from mnistctl.commands.evaluate import confusion_matrix, test_run
    from mnistctl.ui.plots import (
        plot_confusion_matrix,
        plot_learning_curves,
        plot_misclassified,
        plot_model_graph,
    )
    from mnistctl.ui.render import CLASS_NAMES, stdout_console

    run = runs.find_run(run_arg, runs_dir)
    out = run / "plots"
    result = test_run(run, data)  # checks spec, model and data before anything is drawn
    names = CLASS_NAMES.get(result.spec.data.dataset, CLASS_NAMES["mnist"])
    history = runs.history_columns(runs.read_history(run / "history.csv"))
    pred = result.predicted
    true = result.dataset.y_test.astype(np.int64)
    wrong = np.flatnonzero(pred != true)
    confidence = result.probabilities[wrong, pred[wrong]]
    wrong = wrong[np.argsort(-confidence, kind="stable")]  # the most confident mistakes first
    written = [
        plot_learning_curves(history, out / "learning_curves.png", title=result.spec.name),
        plot_confusion_matrix(
            confusion_matrix(true, pred),
            out / "confusion_matrix.png",
            labels=names,
            title=result.spec.name,
        ),
        plot_misclassified(
            result.dataset.x_test[wrong],
            true[wrong].tolist(),
            pred[wrong].tolist(),
            result.probabilities[wrong, pred[wrong]].tolist(),
            out / "misclassified.png",
            labels=names,
        ),
        plot_model_graph(
            result.spec.model_info.to_json(result.spec.name)["layers"],
            out / "model.png",
            title=result.spec.name,
        ),
    ]
    console = stdout_console()
    for path in written:
        console.print(str(path), markup=False, highlight=False, soft_wrap=True)
    return written
