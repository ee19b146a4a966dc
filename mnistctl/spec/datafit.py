"""Whether a spec fits its local data, told from the files without decoding a picture.

The class folders are counted, a CSV's label column read, a ``.npz``'s or IDX file's labels and
headers read (``data.probe``); never TensorFlow, never a picture decoded. The output layer's
units must equal the number of classes (reported at the output layer's line), and array data
must have the Input's height and width (reported at the Input's shape).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mnistctl.data.mnist import FAMILY_FILES
from mnistctl.data.probe import class_count, input_size
from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.fit import class_mismatch, input_path, picture_shape
from mnistctl.spec.model import LayerSpec, ModelInfo
from mnistctl.spec.sections import DataSection

__all__ = ["check_data"]

Locate = Callable[..., Location]  # (spec path, key=False) -> where that is


def check_data(
    data: DataSection,
    path: Path | None,
    layers: Sequence[LayerSpec],
    info: ModelInfo,
    locate: Locate,
) -> list[UserError]:
    """Problems fitting the model (its layers, their shapes) to the data at ``path`` (the
    spec's ``data.path`` or ``--data``); none when the data is a download (not local)."""
    dataset, specs = data.dataset, layers
    if path is None:
        if dataset in FAMILY_FILES:
            return [_needs_files(dataset, locate)]
        return []
    try:
        count = class_count(dataset, path, data.classes)
        size = input_size(dataset, path)
    except UserError as err:
        return [err]
    errors: list[UserError] = []
    by_name = {layer.name: layer for layer in info.layers}
    out_spec = next(layer for layer in specs if layer.name == info.outputs[0])
    out = by_name[out_spec.name].output_shape
    if count is not None and out != (count,):
        where, message, fields = class_mismatch(out_spec, out, count, source=str(path))
        errors.append(UserError(message, locate(where), **fields))
    picture = picture_shape(info.input_shape)
    if size is not None and picture is not None and picture[:2] != size[:2]:
        first = specs[0]
        errors.append(
            UserError(
                "the Input does not fit the data's pictures",
                locate(input_path(first)),
                expected=f"pictures of {picture[0]}x{picture[1]} (the Input's shape)",
                received=f"{size[0]}x{size[1]} pictures in {path}",
                hint=f"set the Input's shape to {_shape_for(info.input_shape, size)}",
            )
        )
    return errors


def _shape_for(input_shape: tuple[int, ...], size: tuple[int, int, int]) -> str:
    h, w, _ = size
    if len(input_shape) == 1:
        return f"[{h * w}]" if h == w else f"[{h}, {w}, 1]"
    if len(input_shape) == 2:
        return f"[{h}, {w}]"
    return f"[{h}, {w}, {input_shape[2]}]"


def _needs_files(dataset: str, locate: Locate) -> UserError:
    key: tuple[PathPart, ...] = ("data", "dataset")
    return UserError(
        f"{dataset} is read from its official files in a local folder",
        locate(key),
        expected="data.path: the folder holding them (or --data FOLDER)",
        received="no data.path",
        hint="download the files from the data set's page once, then point data.path at them",
    )
