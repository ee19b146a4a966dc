"""``mnistctl plot RUN``: every picture of a run, as PNG files in ``RUN/plots/``.

The confusion matrix and the misclassified digits are of the run's model (``--checkpoint``),
computed here from its predictions on the test set (the same numbers as ``evaluate`` of that
model); as ``evaluate`` names its file, the pictures of the model the run ends with are
``confusion_matrix.png`` and ``misclassified.png``, those of the other ``...-best.png`` or
``...-last.png``. They go through the one rule for output paths (``runs/outputs.py``): each is
new or an earlier PNG, never a link or anything else.

Inside the network, of the same model: the first convolution's filters (``filters.png``), the
first test picture's feature maps through every convolution (``feature_maps.png``), and a PCA
of the last hidden layer's outputs for up to ``PROJECTED`` test pictures (``pca.png``). A
model without a convolution has no filters or feature maps: the result says why
(``not_drawn``), and the PCA is still drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from mnistctl.commands.common import OpenRun, open_run
from mnistctl.data.datasets import Dataset
from mnistctl.ml import activations as inside
from mnistctl.ml.evaluation import TestSetResult, confusion_matrix, on_test_set
from mnistctl.plots import (
    plot_confusion_matrix,
    plot_embedding,
    plot_feature_maps,
    plot_filters,
    plot_learning_curves,
    plot_misclassified,
    plot_model_graph,
)
from mnistctl.plots.featuremaps import MAX_MAPS
from mnistctl.runs import layout, outputs
from mnistctl.runs.history import history_columns, read_history
from mnistctl.spec import Spec
from mnistctl.spec.layers import LAYER_TYPES

PICTURE = outputs.png_kind("plot", f"move it out of the run's {layout.PLOTS}/ folder")
PROJECTED = 2000  # test pictures in the PCA
NO_CONVOLUTION = "the model has no convolution"


@dataclass(frozen=True)
class PlotResult:
    run_dir: Path
    files: list[Path]
    checkpoint: layout.Checkpoint  # the model of the confusion matrix and the digits
    not_drawn: dict[str, str] = field(default_factory=dict)  # a picture's name: why not

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": self.checkpoint.to_json(),
            "files": [str(f) for f in self.files],
            "not_drawn": dict(self.not_drawn),
        }


def picture_names(spec: Spec, suffix: str) -> tuple[dict[str, str], dict[str, str]]:
    """The PNG of each picture ``plot`` draws for this spec's model (``suffix``: the
    checkpoint's, ``""`` or ``-best``/``-last``), in order; and those it cannot draw, with
    why."""
    names = {
        "learning_curves": "learning_curves.png",
        "confusion_matrix": f"confusion_matrix{suffix}.png",
        "misclassified": f"misclassified{suffix}.png",
        "model": "model.png",
        "filters": f"filters{suffix}.png",
        "feature_maps": f"feature_maps{suffix}.png",
        "pca": f"pca{suffix}.png",
    }
    not_drawn: dict[str, str] = {}
    if not inside.conv_layers(spec):
        not_drawn = {"filters": NO_CONVOLUTION, "feature_maps": NO_CONVOLUTION}
    return {k: v for k, v in names.items() if k not in not_drawn}, not_drawn


def plot_run(
    run_arg: Path, *, data: Path | None, runs_dir: Path | None, checkpoint: str | None = None
) -> PlotResult:
    """``checkpoint``: ``best``, ``last`` or None (the model the run ends with)."""
    opened = open_run(run_arg, runs_dir, checkpoint)
    spec, out = opened.spec, opened.run_dir / layout.PLOTS
    names, not_drawn = picture_names(spec, opened.checkpoint.suffix)
    paths = {key: out / name for key, name in names.items()}
    for path in paths.values():  # the one rule for output paths, before anything is drawn
        outputs.check_output(path, PICTURE, own=out)
    history = history_columns(read_history(opened.run_dir / layout.HISTORY))
    dataset = opened.load_data(data)  # spec, model and data are checked before anything is drawn
    model = opened.load_model()
    result = on_test_set(model, spec, dataset)  # a test set is never empty (data refuses it)
    plot_learning_curves(history, paths["learning_curves"], title=spec.name)
    _plot_test_results(opened, dataset, result, paths)
    plot_model_graph(graph_layers(spec), paths["model"], title=spec.name)
    _plot_inside(opened, model, dataset, result, paths)
    return PlotResult(opened.run_dir, list(paths.values()), opened.checkpoint, not_drawn)


def graph_layers(spec: Spec) -> list[dict[str, Any]]:
    """The model graph's boxes: the summary's layers, each with its arguments (defaults
    filled in), from which the graph shows activations, kernel and pool sizes, strides."""
    args = {layer.name: LAYER_TYPES[layer.type].with_defaults(layer.args) for layer in spec.layers}
    layers: list[dict[str, Any]] = spec.info.to_json(spec.name)["layers"]
    return [{**layer, "args": args[layer["name"]]} for layer in layers]


def _plot_test_results(
    opened: OpenRun, dataset: Dataset, result: TestSetResult, paths: dict[str, Path]
) -> None:
    """The confusion matrix and the misclassified digits (the most confident mistakes first)."""
    spec, names = opened.spec, list(opened.spec.class_names)
    pred, true = result.predicted, result.labels
    wrong = np.flatnonzero(pred != true)
    confidence = result.probabilities[wrong, pred[wrong]]
    wrong = wrong[np.argsort(-confidence, kind="stable")]
    plot_confusion_matrix(
        confusion_matrix(true, pred, len(names)),
        paths["confusion_matrix"],
        labels=names,
        title=f"{spec.name} ({opened.checkpoint.file})",
    )
    plot_misclassified(
        dataset.x_test[wrong],
        true[wrong].tolist(),
        pred[wrong].tolist(),
        result.probabilities[wrong, pred[wrong]].tolist(),
        paths["misclassified"],
        labels=names,
        title=f"Misclassified test images ({opened.checkpoint.file})",
    )


def _plot_inside(
    opened: OpenRun,
    model: keras.Model,
    dataset: Dataset,
    result: TestSetResult,
    paths: dict[str, Path],
) -> None:
    """The first convolution's filters, the first test picture's feature maps, the PCA of
    the last hidden layer: those ``paths`` names."""
    spec, title = opened.spec, f"{opened.spec.name} ({opened.checkpoint.file})"
    shape, classes = spec.info.input_shape, list(spec.class_names)
    if "filters" in paths:
        filters = inside.first_conv_filters(model, spec)
        assert filters is not None  # the spec has a convolution
        plot_filters(filters.kernels, paths["filters"], filters.layer, title=title)
    if "feature_maps" in paths:
        convs = inside.conv_outputs(spec)  # (label, the layer whose output is shown)
        x = inside.model_inputs(dataset.x_test[:1], shape)
        maps = inside.activations(model, [layer for _, layer in convs], x)
        label, guess = int(result.labels[0]), int(result.predicted[0])
        caption = (
            f"test picture 0: {_name(classes, label)},\nread as {_name(classes, guess)}"
            f" ({result.probabilities[0, guess]:.0%})"
        )
        picture = _as_picture(dataset.x_test[0])
        shown = [
            (row, maps[layer][0], inside.strongest(maps[layer][0], MAX_MAPS))
            for row, layer in convs
        ]
        plot_feature_maps(picture, shown, paths["feature_maps"], caption, title=title)
    chosen = _projected(len(dataset.x_test))
    hidden = inside.last_hidden(spec)
    x = inside.model_inputs(dataset.x_test[chosen], shape)
    first = hidden == spec.layers[0].name  # no hidden layer: the output reads the input
    features = x if first else inside.activations(model, [hidden], x)[hidden]
    what = "the input" if first else "the last hidden layer"
    plot_embedding(features, result.labels[chosen], paths["pca"], f"{hidden} ({what})",
                   class_names=classes, title=title)  # fmt: skip


def _projected(n: int) -> npt.NDArray[np.int64]:
    """Which test pictures the PCA shows: all, or ``PROJECTED`` of them chosen at random
    (seeded: the same each time) in their order, so that a test set sorted by class is
    still shown whole."""
    if n <= PROJECTED:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, PROJECTED, replace=False))


def _as_picture(stored: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A test picture as stored, to draw: (H, W) or (H, W, C); a flat square one, such as a
    row of 784 pixels, made square."""
    side = math.isqrt(stored.size)
    return stored.reshape(side, side) if stored.ndim == 1 and side * side == stored.size else stored


def _name(classes: list[str], label: int) -> str:
    return classes[label] if 0 <= label < len(classes) else str(label)
