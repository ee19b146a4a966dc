"""Whether a model fits its data: the Input takes the pictures, the output has one unit per class.

What the spec alone tells is checked here, with the graph (``graph.analyze``): the MNIST
family's 28x28 grey pictures and their class counts, ``data.classes`` when the spec states them.
Local data (a folder, a CSV, a ``.npz``) is counted by ``datafit.check_data`` from the files
themselves, at the same layers' lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mnistctl.data.mnist import FAMILY_FILES, INPUT_SHAPES, known_classes
from mnistctl.errors import PathPart
from mnistctl.formatting import format_shape
from mnistctl.spec.model import LayerSpec, ModelInfo, Shape
from mnistctl.spec.sections import DataSection

__all__ = [
    "MNIST_FIT",
    "DataFit",
    "check_fit",
    "data_fit",
    "input_path",
    "output_path",
    "picture_shape",
]

Report = Callable[..., None]  # (spec path, message, key=False, **UserError fields)

MIN_SIDE, MAX_SIDE = 4, 1024
"""The smallest and largest picture side an Input may take."""


@dataclass(frozen=True)
class DataFit:
    """What the spec alone says about its data."""

    classes: int | None  # how many classes, when the spec tells (a named set, data.classes)
    mnist_input: bool  # the pictures are the MNIST family's 28x28 grey


MNIST_FIT = DataFit(10, mnist_input=True)


def data_fit(data: DataSection) -> DataFit:
    """What ``data`` tells without reading any file."""
    if data.classes is not None:
        classes: int | None = len(data.classes)
    elif data.path is None or data.dataset in FAMILY_FILES:
        classes = known_classes(data.dataset)
    else:
        classes = None  # local data: its files say (datafit.check_data)
    return DataFit(classes, data.path is None or data.dataset in FAMILY_FILES)


def picture_shape(input_shape: Shape) -> tuple[int, int, int] | None:
    """The (height, width, channels) of the pictures an Input takes; None when it takes none:
    ``[784]`` is 28x28 grey (a flat Input takes square grey pictures), ``[H, W]`` is grey."""
    if len(input_shape) == 1:
        side = math.isqrt(input_shape[0])
        return (side, side, 1) if side * side == input_shape[0] else None
    if len(input_shape) == 2:
        return (input_shape[0], input_shape[1], 1)
    if len(input_shape) == 3 and input_shape[2] in (1, 3):
        return (input_shape[0], input_shape[1], input_shape[2])
    return None


def input_path(layer: LayerSpec) -> tuple[PathPart, ...]:
    return ("model", "layers", layer.index, "shape")


def output_path(layer: LayerSpec) -> tuple[PathPart, ...]:
    """Where an output of the wrong size is at fault: a Dense's units, else the layer."""
    if layer.type == "Dense" and "units" in layer.args:
        return ("model", "layers", layer.index, "units")
    return ("model", "layers", layer.index)


def check_fit(
    layers: Sequence[LayerSpec],
    outputs: Sequence[str],
    loss: str,
    info: ModelInfo,
    fit: DataFit,
    err: Report,
) -> None:
    """The Input takes the pictures, the output has one unit per class and suits the loss."""
    by_name = {layer.name: layer for layer in info.layers}
    first = layers[0]
    if first.type == "Input":
        _check_input(first, by_name[first.name].output_shape, fit, err)
    out_spec = next(layer for layer in layers if layer.name == outputs[0])
    out = by_name[out_spec.name].output_shape
    if len(out) != 1 or out[0] < 2 or (fit.classes is not None and out[0] != fit.classes):
        path, message, fields = class_mismatch(out_spec, out, fit.classes)
        err(path, message, **fields)
    if "crossentropy" in loss:
        activation = out_spec.args.get("activation")
        if activation != "softmax":
            err(
                ("model", "layers", out_spec.index, "activation")
                if "activation" in out_spec.args
                else ("model", "layers", out_spec.index),
                f"{loss} needs probabilities from the output layer",
                expected="activation: softmax on the output layer",
                received=f"activation {activation or 'none (linear)'}",
                hint="add 'activation: softmax' to the last layer",
            )


def class_mismatch(
    out_spec: LayerSpec, out: Shape, classes: int | None, source: str | None = None
) -> tuple[tuple[PathPart, ...], str, dict[str, Any]]:
    """The report of an output that does not give one probability per class: (path, message,
    fields); ``source`` says where the count comes from when it is the data's."""
    wanted = f"{classes} classes" if classes is not None else "the classes"
    of = f" of {source}" if source else ""
    units = "units: " + (str(classes) if classes is not None else "the number of classes")
    fields: dict[str, Any] = {
        "expected": (
            f"an output shaped (None, {classes}), e.g. Dense with {units}"
            if classes is not None
            else "an output shaped (None, K) for K >= 2 classes, e.g. a Dense layer"
        ),
        "received": format_shape(out, batch=True),
        "hint": "add Flatten before the last Dense" if len(out) > 1 else None,
    }
    path = output_path(out_spec) if len(out) == 1 else ("model", "layers", out_spec.index)
    return path, f"the output layer {out_spec.name!r} does not fit {wanted}{of}", fields


def _check_input(first: LayerSpec, shape: Shape, fit: DataFit, err: Report) -> None:
    if fit.mnist_input:
        if shape not in INPUT_SHAPES:
            err(
                input_path(first),
                "the Input does not fit 28x28 images",
                expected="shape [784], [28, 28] or [28, 28, 1]",
                received=str(list(shape)),
            )
        return
    picture = picture_shape(shape)
    if picture is None or not all(MIN_SIDE <= side <= MAX_SIDE for side in picture[:2]):
        err(
            input_path(first),
            "the Input does not take pictures",
            expected=(
                f"[height, width, channels] with channels 1 (grey) or 3 (RGB), sides"
                f" {MIN_SIDE}..{MAX_SIDE}; [height, width] (grey); or [side*side] (flat grey)"
            ),
            received=str(list(shape)),
        )
