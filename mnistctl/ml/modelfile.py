"""Saving and loading ``.keras`` model files: atomically, and safely (no code runs on load)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_with

if TYPE_CHECKING:
    import keras

    from mnistctl.spec import Spec


def save_model(model: keras.Model, target: Path, *, include_optimizer: bool = True) -> None:
    """Write to a temporary ``.keras`` beside ``target``, then rename into place."""

    def write(tmp: Path) -> None:
        model.save(tmp, overwrite=True, include_optimizer=include_optimizer)

    write_with(target, write, suffix=".keras")


def load_model(path: Path, *, compile: bool = True) -> keras.Model:
    """Load with Keras's ``safe_mode=True``: a Lambda layer or any pickled code is refused."""
    where = Location(str(path))
    if not path.is_file():
        raise UserError("model file not found", where)
    if not zipfile.is_zipfile(path):
        raise UserError(
            "corrupt model file",
            where,
            expected="a .keras file (a zip archive) written by Keras",
            received="a file that is not a zip archive (truncated or damaged?)",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UserError("corrupt model file", where, received=str(exc)) from None
    if bad is not None or not {"config.json", "metadata.json"} <= names:
        raise UserError(
            "corrupt model file",
            where,
            expected="a .keras archive with config.json, metadata.json and weights",
            received=f"a damaged member {bad!r}" if bad else f"members {sorted(names)[:5]}",
        )
    import keras

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for hostile or damaged files
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise UserError(
                "refused to load the model: it contains code (a Lambda layer or a pickled "
                "function)",
                where,
                expected="a model of plain layers, as mnistctl writes",
                received=text[:200],
                hint="mnistctl never runs code from a model file",
            ) from None
        raise UserError(
            "corrupt or unsupported model file",
            where,
            expected="a .keras file written by Keras 3",
            received=f"{type(exc).__name__}: {text[:200]}",
        ) from None


def check_matches(model: keras.Model, spec: Spec, path: Path) -> None:
    """Refuse a model that is not the model of ``spec`` (layer names, output shapes and
    parameter counts): a foreign checkpoint, or a run whose spec was edited."""
    expected = [(layer.name, layer.output_shape, layer.params) for layer in spec.info.layers]
    try:
        received = [
            (layer.name, tuple(layer.output.shape[1:]), int(layer.count_params()))
            for layer in model.layers
        ]
    except (AttributeError, ValueError):
        received = []
    if expected != received:
        diff = next(
            (f"{e} vs {r}" for e, r in zip(expected, received, strict=False) if e != r),
            f"{len(expected)} layers vs {len(received)}",
        )
        raise UserError(
            "the model file is not a model of this run's spec",
            Location(str(path)),
            expected="the layers, shapes and parameters of the run's spec.yaml",
            received=f"(name, output shape, parameters) {diff}",
            hint="the spec or the model file was replaced after training; train a new run",
        )
