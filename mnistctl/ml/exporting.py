"""A run's model made into a file for other runtimes, through Keras's own ``model.export``.

What is exported is always a float32 inference model: the run's spec built again under a
float32 dtype policy (the global policy restored afterwards), given the trained weights (a
mixed-precision run keeps float32 variables, so nothing is lost), and wrapped so that the traced
function is the inference one (``training=False``): augmentation, noise and dropout layers
export as identity. Inputs and outputs are float32.

Keras's exporters and tf2onnx print and log while they work (``Saved artifact at ...`` on
stdout, tf2onnx's notes on stderr, numpy's FutureWarning): all of it is kept off the terminal,
so that ``--json`` leaves exactly one JSON document on stdout. A converter that fails is one
line: its first message line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from mnistctl.errors import Location, UserError
from mnistctl.ml.builder import build_model
from mnistctl.spec import Spec


@dataclass(frozen=True)
class Format:
    name: str  # as the CLI spells it
    keras_format: str  # as model.export spells it
    artifact: str  # the file (or folder) in the export folder
    about: str  # in words


FORMATS: dict[str, Format] = {
    "saved_model": Format(
        "saved_model", "tf_saved_model", "saved_model", "TensorFlow SavedModel (a folder)"
    ),
    "onnx": Format("onnx", "onnx", "model.onnx", "ONNX"),
    "litert": Format("litert", "litert", "model.tflite", "LiteRT (TensorFlow Lite)"),
}

EXPORTED_PRECISION = "float32"


@contextlib.contextmanager
def float32_policy() -> Iterator[None]:
    """Keras's global dtype policy float32 inside, whatever it was (restored afterwards)."""
    saved = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(saved)


def trained_precision(model: keras.Model) -> str:
    """The dtype policy the run trained in: a mixed one if any layer has it, else float32."""
    for layer in model.layers:
        policy = getattr(getattr(layer, "dtype_policy", None), "name", "float32")
        if str(policy).startswith("mixed"):
            return str(policy)
    return "float32"


def inference_model(spec: Spec, trained: keras.Model) -> keras.Model:
    """The spec's model in float32 with ``trained``'s weights, called with ``training=False``.

    The wrapper is a functional model whose one node calls the rebuilt model with
    ``training=False``: Keras's exporters trace ``call`` with no training flag, which would
    leave the augmentation layers (whose default is training) active in the artifact."""
    with float32_policy():
        model = build_model(spec)
        model.set_weights(trained.get_weights())
        first = spec.layers[0]
        inputs = keras.Input(shape=spec.info.input_shape, name=first.name, dtype="float32")
        wrapper = keras.Model(inputs, model(inputs, training=False), name=f"{spec.name}_inference")
        wrapper(np.zeros((1, *spec.info.input_shape), dtype=np.float32))  # "called", as export asks
    return wrapper


def write_artifact(model: keras.Model, fmt: Format, target: Path) -> None:
    """``model.export(target, format=...)``, quietly; a converter that raises is a UserError
    (its first message line)."""
    sink = io.StringIO()
    with (
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
        warnings.catch_warnings(),
        _quiet_loggers("tf2onnx", "tensorflow", "absl"),
    ):
        warnings.simplefilter("ignore")
        try:
            model.export(str(target), format=fmt.keras_format, verbose=False)
        except Exception as exc:
            text = str(exc).strip()
            raise UserError(
                f"the {fmt.name} converter failed",
                Location(str(target)),
                received=f"{type(exc).__name__}: {text.splitlines()[0][:300]}"
                if text
                else type(exc).__name__,
                hint="the model's layers may not be supported by this format; try another --format",
            ) from None


def artifact_size(path: Path) -> int:
    """Bytes on disk: the file, or every file in the folder (a SavedModel)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


@contextlib.contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    """Nothing from these Python loggers while inside (their levels restored afterwards)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
