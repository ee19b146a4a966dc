"""Loading data sets: Keras's cached downloads, the bundled sample, local ``.npz`` files,
folders of IDX files, KMNIST's and EMNIST's official files, class folders and CSV files of
pictures.

Every problem with the data is a :class:`~mnistctl.errors.UserError` naming the file, what was
expected and what was found; no raw ``OSError``/``ValueError``/``BadZipFile`` escapes for bad
input. Whatever the source, the result is the same normalised :class:`Dataset`: ``uint8``
pictures ``(N, H, W)`` (grey) or ``(N, H, W, 3)`` (RGB), labels ``0..K-1`` of shape ``(N,)``
and the names of the K classes.

``sizes.source_kind`` says where a data set is read from; the formats are read in ``npz.py``,
``idx.py``, ``kmnist.py``, ``emnist.py`` and ``pictures/``, Keras's cache is found in
``keras_cache.py``, the sample bundled with the package is in ``sample.py`` and the arrays are
checked in ``arrays.py``; this module puts them together. ``sizes.train_size`` and ``probe``
tell what a data set holds without loading it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.arrays import (
    ALIGNMENT,
    Labels,
    aligned,
    aligned_empty,
    check_images,
    check_labels,
    fit_arrays,
    label_classes,
    narrow_labels,
)
from mnistctl.data.emnist import read_emnist
from mnistctl.data.idx import data_folder, find_idx_files, read_idx
from mnistctl.data.keras_cache import keras_files
from mnistctl.data.kmnist import read_kmnist
from mnistctl.data.mnist import CLASS_NAMES
from mnistctl.data.npz import ARRAY_KEYS, read_npz
from mnistctl.data.sample import SAMPLE_DATASET, SAMPLE_SHA256, SAMPLE_SOURCE, read_sample
from mnistctl.data.sizes import DATASETS, source_kind
from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    from mnistctl.data.pictures.listing import BadFile
    from mnistctl.data.pictures.prepare import PictureShape

__all__ = [
    "ALIGNMENT",
    "ARRAY_KEYS",
    "DATASETS",
    "DataOptions",
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

_CLASSES_LOC = Location(path=("data", "classes"))


@dataclass(frozen=True)
class DataOptions:
    """How to read the data, from the spec: ``classes`` (names in label order; default: the
    data's own), ``test_split`` (the held-out fraction of pictures without a test part),
    ``prepare`` (``resize`` or ``mnist_style``: how a picture becomes the Input's array;
    None: ``resize`` for pictures), ``shape`` (the Input's height, width and channels; None:
    pictures as they are), ``seed`` (of the test split)."""

    classes: tuple[str, ...] | None = None
    test_split: float | None = None
    prepare: str | None = None
    shape: PictureShape | None = None
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of pictures with labels 0..K-1, validated and normalised.

    ``sha256`` is the SHA-256 of the raw bytes of ``x_train``, ``y_train``, ``x_test``,
    ``y_test`` (in that order, after normalisation, before the pictures are made to the
    Input's channels), so the same digits give the same checksum whatever file format they
    came in. ``classes``: the names of the K classes, in label order. ``bad``: the pictures
    that could not be read (left out). ``sizes`` and ``modes``: the pictures' native sizes
    (``"WxH"``) and modes (``"L"``, ``"RGB"``) found, with their counts. ``prepare``: how a
    new picture is made like these (``mnist_style`` for the MNIST family's, else ``resize``).
    """

    name: str
    source: str
    x_train: npt.NDArray[np.uint8] = field(repr=False)
    y_train: npt.NDArray[Any] = field(repr=False)  # uint8, uint16 past 256 classes
    x_test: npt.NDArray[np.uint8] = field(repr=False)
    y_test: npt.NDArray[Any] = field(repr=False)
    sha256: str
    classes: tuple[str, ...] = tuple(str(i) for i in range(10))
    bad: tuple[BadFile, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    prepare: str = "mnist_style"
    cached: bool = False  # pictures: decoded before, read from the cache
    by_class: bool = False  # stored class by class (pictures): train_samples spreads over them

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_dataset(
    dataset: str, path: str | os.PathLike[str] | None, options: DataOptions | None = None
) -> Dataset:
    """Load ``path`` if given (a ``.npz``, a folder of IDX files, class folders, a CSV; for
    ``kmnist`` and the ``emnist_*`` sets the folder of their official files), else
    ``dataset``: the bundled sample for ``mnist_sample``, Keras's download (cached) for
    ``mnist`` and ``fashion_mnist``; read as ``options`` say."""
    options = options or DataOptions()
    kind = source_kind(dataset, path)
    if kind == "pictures":
        assert path is not None
        return _load_pictures(Path(os.fspath(path)), options)
    if kind == "sample":
        ds = load_sample(options.classes)
    elif kind == "keras":
        ds = _load_keras(dataset, options.classes)
    elif kind == "family":
        assert path is not None
        ds = _load_family(dataset, path, options.classes)
    elif kind == "idx":
        assert path is not None
        ds = load_idx_folder(path, options.classes)
    else:
        assert path is not None
        ds = load_npz(path, options.classes)
    if dataset == "fashion_mnist" and options.classes is None and ds.num_classes == 10:
        ds = dataclasses.replace(ds, classes=CLASS_NAMES["fashion_mnist"])
    family = kind in ("sample", "keras", "family") or (
        ds.x_train.shape[1:] == (28, 28) and dataset in CLASS_NAMES
    )
    prepare = options.prepare or ("mnist_style" if family else "resize")
    return _fit(dataclasses.replace(ds, prepare=prepare), options)


def _fit(ds: Dataset, options: DataOptions) -> Dataset:
    """``ds`` with its pictures made to the Input's channels (``options.shape``)."""
    if options.shape is None:
        return ds
    loc = Location(file=ds.source)
    x_train = fit_arrays(ds.x_train, options.shape, loc)
    x_test = fit_arrays(ds.x_test, options.shape, loc)
    if x_train is ds.x_train and x_test is ds.x_test:
        return ds
    return dataclasses.replace(ds, x_train=x_train, x_test=x_test)


def _load_family(
    dataset: str, path: str | os.PathLike[str], classes: tuple[str, ...] | None
) -> Dataset:
    """KMNIST or an EMNIST split from its official files in the folder ``path``; its classes
    named as its files say unless ``classes`` (``data.classes``) are given."""
    read = read_kmnist(path) if dataset == "kmnist" else read_emnist(dataset, path)
    arrays, locs, official = read
    return make_dataset(
        dataset,
        str(Path(os.fspath(path)).expanduser().resolve()),
        arrays,
        locs,
        classes=classes or official,
        classes_loc=_CLASSES_LOC if classes else Location(file=os.fspath(path)),
    )


def _load_keras(dataset: str, classes: tuple[str, ...] | None) -> Dataset:
    """MNIST or Fashion-MNIST from Keras's cache (downloaded once)."""
    paths = keras_files(dataset)
    source = f"keras.datasets.{dataset}"
    if "npz" in paths:
        arrays, loc = read_npz(paths["npz"])
        return make_dataset(
            dataset, source, arrays, dict.fromkeys(ARRAY_KEYS, loc), classes=classes
        )
    arrays = {key: read_idx(p) for key, p in paths.items()}
    locs = {k: Location(file=str(p)) for k, p in paths.items()}
    return make_dataset(dataset, source, arrays, locs, classes=classes)


def _load_pictures(path: Path, options: DataOptions) -> Dataset:
    """Class folders or a CSV of pictures (``pictures/``), as a Dataset."""
    from mnistctl.data.pictures.load import load_pictures

    mode = options.prepare or "resize"
    got = load_pictures(
        path,
        classes=options.classes,
        shape=options.shape,
        mode=mode,
        test_split=options.test_split,
        seed=options.seed,
    )
    x_train, y_train = aligned(got.x_train), np.ascontiguousarray(got.y_train)
    x_test, y_test = aligned(got.x_test), np.ascontiguousarray(got.y_test)
    source = Path(os.path.abspath(path.expanduser()))
    return Dataset(
        name=source.name,
        source=str(source),
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        sha256=checksum(x_train, y_train, x_test, y_test),
        classes=tuple(got.classes),
        bad=tuple(got.bad),
        sizes=dict(got.sizes),
        modes=dict(got.modes),
        prepare=mode,
        cached=bool(got.cached),
        by_class=True,
    )


def load_npz(path: str | os.PathLike[str], classes: tuple[str, ...] | None = None) -> Dataset:
    """Load a ``.npz`` with ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz`` layout);
    ``classes``: the names of its classes (default ``"0"``..``"K-1"``)."""
    arrays, loc = read_npz(path)
    resolved = Path(path).expanduser().resolve()
    return make_dataset(
        resolved.name, str(resolved), arrays, dict.fromkeys(ARRAY_KEYS, loc), classes=classes
    )


def load_sample(classes: tuple[str, ...] | None = None) -> Dataset:
    """The MNIST sample bundled with the package (``mnist_sample``: 5,000 training digits, the
    10,000 test digits); a UserError if the installed file is damaged."""
    arrays, loc = read_sample()
    dataset = make_dataset(
        SAMPLE_DATASET, SAMPLE_SOURCE, arrays, dict.fromkeys(ARRAY_KEYS, loc), classes=classes
    )
    if dataset.sha256 != SAMPLE_SHA256:
        raise UserError(
            "the bundled MNIST sample is damaged",
            location=loc,
            expected=f"digits with checksum {SAMPLE_SHA256[:12]}…",
            received=f"checksum {dataset.sha256[:12]}…",
            hint="reinstall mnistctl",
        )
    return dataset


def load_idx_folder(
    path: str | os.PathLike[str], classes: tuple[str, ...] | None = None
) -> Dataset:
    """Load a folder holding the four MNIST IDX files, each plain or ``.gz``."""
    p = data_folder(path, "a folder of IDX files")
    files = find_idx_files(p, Location(file=os.fspath(path)))
    arrays = {key: read_idx(f) for key, f in files.items()}
    locs = {key: Location(file=os.path.join(os.fspath(path), f.name)) for key, f in files.items()}
    return make_dataset(p.resolve().name, str(p.resolve()), arrays, locs, classes=classes)


def make_dataset(
    name: str,
    source: str,
    arrays: Mapping[str, npt.NDArray[Any]],
    locs: Mapping[str, Location],
    *,
    classes: tuple[str, ...] | None = None,
    classes_loc: Location = _CLASSES_LOC,
) -> Dataset:
    """Check and normalise the four arrays into a Dataset; ``locs`` says where each came from.
    ``classes``: the names of the classes (every label must have one; ``classes_loc`` is
    where they were given), else ``"0"``..``"K-1"`` for K the highest label plus one."""
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
    if x_test.shape[1:] != x_train.shape[1:]:
        raise UserError(
            "the test pictures are not shaped as the training pictures",
            location=locs["x_test"],
            expected=f"pictures {_picture_text(x_train)}, as in 'x_train'",
            received=f"pictures {_picture_text(x_test)}",
        )
    splits = [
        Labels(y, key, locs[key], _one_hot_width(arrays[key]))
        for y, key in ((y_train, "y_train"), (y_test, "y_test"))
    ]
    names = label_classes(splits, classes, classes_loc)
    y_train, y_test = narrow_labels(y_train, len(names)), narrow_labels(y_test, len(names))
    size = f"{x_train.shape[2]}x{x_train.shape[1]}"
    mode = "RGB" if x_train.ndim == 4 else "L"
    n = len(x_train) + len(x_test)
    return Dataset(
        name=name,
        source=source,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        sha256=checksum(x_train, y_train, x_test, y_test),
        classes=names,
        sizes={size: n},
        modes={mode: n},
    )


def _picture_text(x: npt.NDArray[Any]) -> str:
    return f"{x.shape[1]}x{x.shape[2]} " + ("RGB" if x.ndim == 4 else "grey")


def _one_hot_width(raw: npt.NDArray[Any]) -> int:
    """The number of classes of one-hot label rows (checked already), 0 for class numbers."""
    return int(raw.shape[1]) if raw.ndim == 2 and raw.shape[1] > 1 else 0


def checksum(*arrays: npt.NDArray[Any]) -> str:
    """SHA-256 of the arrays' raw bytes, in the order given."""
    h = hashlib.sha256()
    for a in arrays:
        if a.size:  # an empty array adds no bytes (and its buffer cannot be cast)
            h.update(np.ascontiguousarray(a).data.cast("B"))
    return h.hexdigest()
