"""Loading MNIST-style data: Keras's cached downloads, local ``.npz`` files, folders of IDX files.

Every problem with the data is a :class:`~mnistctl.errors.UserError` naming the file, what was
expected and what was found; no raw ``OSError``/``ValueError``/``BadZipFile`` escapes for bad
input. Whatever the source, the result is the same normalised :class:`Dataset`: ``uint8`` images
of shape ``(N, 28, 28)`` and ``uint8`` labels ``0..9`` of shape ``(N,)``.

The formats are read in ``npz.py`` and ``idx.py``, Keras's cache is found in ``keras_cache.py``,
the sample bundled with the package is in ``sample.py`` and the arrays are checked in
``arrays.py``; this module puts them together. ``sizes.train_size`` tells how many training
images a data set has without loading it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.arrays import ALIGNMENT, aligned, aligned_empty, check_images, check_labels
from mnistctl.data.files import exc_text
from mnistctl.data.idx import find_idx_files, read_idx
from mnistctl.data.keras_cache import KERAS_DATASETS, LOCAL_DATA_HINT, keras_files
from mnistctl.data.npz import ARRAY_KEYS, read_npz
from mnistctl.data.sample import SAMPLE_DATASET, SAMPLE_SHA256, SAMPLE_SOURCE, read_sample
from mnistctl.errors import Location, UserError

__all__ = [
    "ALIGNMENT",
    "ARRAY_KEYS",
    "Dataset",
    "aligned",
    "aligned_empty",
    "checksum",
    "load_dataset",
    "load_idx_folder",
    "load_npz",
    "load_sample",
    "read_idx",
]

DATASETS = (*KERAS_DATASETS, SAMPLE_DATASET)
"""The data sets known by name: Keras's downloads and the sample bundled with the package."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of 28x28 grayscale images with labels 0..9, validated and normalised.

    ``sha256`` is the SHA-256 of the raw bytes of ``x_train``, ``y_train``, ``x_test``, ``y_test``
    (in that order, after normalisation), so the same digits give the same checksum whatever file
    format they came in.
    """

    name: str
    source: str
    x_train: npt.NDArray[np.uint8] = field(repr=False)
    y_train: npt.NDArray[np.uint8] = field(repr=False)
    x_test: npt.NDArray[np.uint8] = field(repr=False)
    y_test: npt.NDArray[np.uint8] = field(repr=False)
    sha256: str


def load_dataset(dataset: str, path: str | os.PathLike[str] | None) -> Dataset:
    """Load ``path`` (a ``.npz`` or a folder of IDX files) if given, else ``dataset``: the
    bundled sample for ``mnist_sample``, Keras's download (cached) for the others."""
    if path is not None:
        given = os.fspath(path)
        if not given:
            raise UserError(
                "the data path is empty",
                location=Location(path=("data", "path")),
                expected="a .npz file or a folder of IDX files",
            )
        p = Path(given).expanduser()
        if p.is_dir():
            return load_idx_folder(given)
        if not p.exists() and not p.is_symlink():
            raise UserError(
                "data not found",
                location=Location(file=given),
                expected="a .npz file or a folder of IDX files",
                received="no such file or folder",
            )
        return load_npz(given)
    if dataset == SAMPLE_DATASET:
        return load_sample()
    if dataset not in KERAS_DATASETS:
        raise UserError(
            "unknown data set",
            location=Location(path=("data", "dataset")),
            expected=", ".join(DATASETS[:-1]) + " or " + DATASETS[-1],
            received=repr(dataset),
            hint="for other data, " + LOCAL_DATA_HINT,
        )
    paths = keras_files(dataset)
    source = f"keras.datasets.{dataset}"
    if "npz" in paths:
        arrays, loc = read_npz(paths["npz"])
        return make_dataset(dataset, source, arrays, dict.fromkeys(ARRAY_KEYS, loc))
    arrays = {key: read_idx(p) for key, p in paths.items()}
    return make_dataset(
        dataset, source, arrays, {k: Location(file=str(p)) for k, p in paths.items()}
    )


def load_npz(path: str | os.PathLike[str]) -> Dataset:
    """Load a ``.npz`` with ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz`` layout)."""
    arrays, loc = read_npz(path)
    resolved = Path(path).expanduser().resolve()
    return make_dataset(resolved.name, str(resolved), arrays, dict.fromkeys(ARRAY_KEYS, loc))


def load_sample() -> Dataset:
    """The MNIST sample bundled with the package (``mnist_sample``: 5,000 training digits, the
    10,000 test digits); a UserError if the installed file is damaged."""
    arrays, loc = read_sample()
    dataset = make_dataset(SAMPLE_DATASET, SAMPLE_SOURCE, arrays, dict.fromkeys(ARRAY_KEYS, loc))
    if dataset.sha256 != SAMPLE_SHA256:
        raise UserError(
            "the bundled MNIST sample is damaged",
            location=loc,
            expected=f"digits with checksum {SAMPLE_SHA256[:12]}…",
            received=f"checksum {dataset.sha256[:12]}…",
            hint="reinstall mnistctl",
        )
    return dataset


def load_idx_folder(path: str | os.PathLike[str]) -> Dataset:
    """Load a folder holding the four MNIST IDX files, each plain or ``.gz``."""
    p = Path(path).expanduser()
    loc = Location(file=os.fspath(path))
    try:
        st = p.stat()
    except FileNotFoundError as e:
        raise UserError(
            "data folder not found",
            location=loc,
            expected="a folder of IDX files",
            received="no such file or folder",
        ) from e
    except OSError as e:
        raise UserError("cannot read the data folder", location=loc, received=exc_text(e)) from e
    if not stat.S_ISDIR(st.st_mode):
        raise UserError(
            "not a folder", location=loc, expected="a folder of IDX files", received="a file"
        )
    files = find_idx_files(p, loc)
    arrays = {key: read_idx(f) for key, f in files.items()}
    locs = {key: Location(file=os.path.join(os.fspath(path), f.name)) for key, f in files.items()}
    return make_dataset(p.resolve().name, str(p.resolve()), arrays, locs)


def make_dataset(
    name: str,
    source: str,
    arrays: Mapping[str, npt.NDArray[Any]],
    locs: Mapping[str, Location],
) -> Dataset:
    """Check and normalise the four arrays into a Dataset; ``locs`` says where each came from."""
    x_train = check_images(arrays["x_train"], "x_train", locs["x_train"])
    y_train = check_labels(arrays["y_train"], "y_train", locs["y_train"], len(x_train), "x_train")
    x_test = check_images(arrays["x_test"], "x_test", locs["x_test"])
    y_test = check_labels(arrays["y_test"], "y_test", locs["y_test"], len(x_test), "x_test")
    for images, split, where in ((x_train, "training", "x_train"), (x_test, "test", "x_test")):
        if len(images) == 0:
            raise UserError(
                f"the {split} set is empty",
                location=locs[where],
                expected=f"at least one {split} image",
                received="0 images",
            )
    return Dataset(
        name=name,
        source=source,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        sha256=checksum(x_train, y_train, x_test, y_test),
    )


def checksum(*arrays: npt.NDArray[Any]) -> str:
    """SHA-256 of the arrays' raw bytes, in the order given."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).data.cast("B"))
    return h.hexdigest()
