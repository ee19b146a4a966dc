"""What a data set holds, told from its files without loading it: its number of classes and its
pictures' size. For ``validate``: no TensorFlow, no picture decoded, a fraction of a second.

Only labels and headers are read: a ``.npz``'s ``y_train`` and ``y_test`` and the ``.npy``
header of its ``x_train``, an IDX folder's label files and the header of its training images,
the names of class folders or a CSV's label column (``pictures.listing``). A structural problem
(a missing file, labels that are not class numbers, one class only) is the UserError loading
would raise; the pictures themselves are checked when the data is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mnistctl.data.mnist import known_classes
from mnistctl.data.sizes import source_kind
from mnistctl.errors import Location, UserError

__all__ = ["class_count", "input_size"]

_FAMILY_SIZE = (28, 28, 1)  # the MNIST family's pictures: 28x28 grey
_CLASSES_LOC = Location(path=("data", "classes"))


def class_count(
    dataset: str, path: str | os.PathLike[str] | None, classes: Sequence[str] | None
) -> int | None:
    """How many classes ``load_dataset(dataset, path)`` would give, the names ``classes`` given
    (``data.classes``: then their number, once the data's labels are known to fit them)."""
    kind = source_kind(dataset, path)
    names = tuple(classes) if classes is not None else None
    if kind in ("keras", "sample"):
        return _named_count(dataset, known_classes(dataset), names)
    assert path is not None
    if kind == "family":
        return _named_count(dataset, len(_family_classes(dataset, path)), names)
    if kind == "pictures":
        from mnistctl.data.pictures.listing import count_classes

        count: int | None = count_classes(Path(os.fspath(path)), names)
        return count
    return _array_classes(kind, path, names)


def _named_count(dataset: str, known: int | None, names: tuple[str, ...] | None) -> int | None:
    """The classes of a named set: ``known``, or as many as ``names`` (at least ``known``)."""
    if names is None:
        return known
    from mnistctl.data.arrays import check_class_names

    check_class_names(names, _CLASSES_LOC)
    if known is not None and len(names) < known:
        raise UserError(
            f"{dataset} has {known} classes, data.classes names {len(names)}",
            location=_CLASSES_LOC,
            expected=f"{known} class names, in label order",
            received=f"{len(names)} names",
        )
    return len(names)


def _family_classes(dataset: str, path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The class names of a named set's official files (their mapping), once they are found."""
    if dataset == "kmnist":
        from mnistctl.data.kmnist import find_kmnist, kmnist_classes

        return kmnist_classes(find_kmnist(path))
    from mnistctl.data.emnist import emnist_classes, find_emnist

    return emnist_classes(find_emnist(dataset, path))


def _array_classes(kind: str, path: str | os.PathLike[str], names: tuple[str, ...] | None) -> int:
    """The classes of a ``.npz`` or IDX folder, from its labels alone."""
    from mnistctl.data.arrays import Labels, check_labels, label_classes

    if kind == "npz":
        from mnistctl.data.npz import read_npz

        arrays, loc = read_npz(path, ("y_train", "y_test"))
        locs = dict.fromkeys(arrays, loc)
    else:
        from mnistctl.data.idx import IDX_NAMES, data_folder, find_idx_files, read_idx

        folder = data_folder(path, "a folder of IDX files")
        labels = {k: v for k, v in IDX_NAMES.items() if k.startswith("y_")}
        files = find_idx_files(folder, Location(file=os.fspath(path)), labels)
        arrays = {key: read_idx(f) for key, f in files.items()}
        locs = {k: Location(file=os.path.join(os.fspath(path), f.name)) for k, f in files.items()}
    splits = []
    for key, raw in arrays.items():
        n = raw.shape[0] if raw.ndim else 0
        values = check_labels(raw, key, locs[key], n, "x_" + key[2:])
        width = int(raw.shape[1]) if raw.ndim == 2 and raw.shape[1] > 1 else 0
        splits.append(Labels(values, key, locs[key], width))
    return len(label_classes(splits, names, _CLASSES_LOC))


def input_size(dataset: str, path: str | os.PathLike[str] | None) -> tuple[int, int, int] | None:
    """The (height, width, channels) of the pictures ``load_dataset(dataset, path)`` gives,
    from headers alone; None for class folders and CSV files (their pictures are made to the
    Input's size)."""
    kind = source_kind(dataset, path)
    if kind in ("keras", "sample", "family"):
        return _FAMILY_SIZE
    if kind == "pictures":
        return None
    assert path is not None
    from mnistctl.data.arrays import image_shape

    if kind == "npz":
        from mnistctl.data.npz import npz_header

        shape, _ = npz_header(path, "x_train")
        return image_shape(shape, "x_train", Location(file=os.fspath(path)))
    from mnistctl.data.idx import data_folder, find_idx_files, read_idx_header

    folder = data_folder(path, "a folder of IDX files")
    files = find_idx_files(folder, Location(file=os.fspath(path)))
    shown = os.path.join(os.fspath(path), files["x_train"].name)
    _, dims = read_idx_header(files["x_train"])
    return image_shape(dims, "x_train", Location(file=shown))
