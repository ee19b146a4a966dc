"""Where a data set is read from, and how many training images it has, told without loading it
(without TensorFlow; without NumPy for the data sets known by name).

``source_kind`` is the dispatch ``datasets.load_dataset`` and ``probe`` follow. For the data
sets known by name the count is known; for a local ``.npz`` only the ``.npy`` headers of
``x_train`` and ``y_train`` inside the zip are read, for a folder of IDX files only the headers
of the two training files, for class folders or a CSV the pictures are counted, not decoded.
Anything that cannot be told (a missing, damaged or odd file) gives None, never an exception:
loading the data is what reports problems.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from mnistctl.data.files import open_data_file
from mnistctl.data.keras_cache import KERAS_DATASETS, LOCAL_DATA_HINT
from mnistctl.data.mnist import FAMILY_FILES, FAMILY_HINTS, FAMILY_TRAIN_SIZES
from mnistctl.data.sample import SAMPLE_DATASET, SAMPLE_TRAIN_SIZE
from mnistctl.errors import Location, UserError

__all__ = ["DATASETS", "TRAIN_SIZES", "SourceKind", "source_kind", "train_size"]

DATASETS = (*KERAS_DATASETS, SAMPLE_DATASET, *FAMILY_FILES)
"""The data sets known by name: Keras's downloads, the sample bundled with the package, and
the sets read from their official files in a local folder."""

TRAIN_SIZES: dict[str, int] = {
    "mnist": 60_000,
    "fashion_mnist": 60_000,
    SAMPLE_DATASET: SAMPLE_TRAIN_SIZE,
    **FAMILY_TRAIN_SIZES,
}
"""Training images of the data sets known by name (MNIST and Fashion-MNIST: 60,000 each)."""

SourceKind = Literal["keras", "sample", "family", "pictures", "idx", "npz"]

_LOCAL_TEXT = "a .npz file, a folder of IDX files, a folder of class folders or a CSV file"

# The IDX training files, as idx.IDX_NAMES has them (not imported: that pulls in numpy).
_IDX_TRAIN = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
}
_IDX_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}

# Errors reading a header means "cannot tell".
_READ_ERRORS = (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, UserError)


def source_kind(dataset: str, path: str | os.PathLike[str] | None) -> SourceKind:
    """What ``load_dataset(dataset, path)`` reads: Keras's download (``keras``), the bundled
    sample, a named set's official files in the folder ``path`` (``family``), class folders or
    a CSV (``pictures``), a folder of IDX files or a ``.npz``. A UserError when it is none
    (an unknown name, an empty or missing path, a named set's files without their folder)."""
    if path is None:
        if dataset == SAMPLE_DATASET:
            return "sample"
        if dataset in KERAS_DATASETS:
            return "keras"
        if dataset in FAMILY_FILES:
            raise UserError(
                f"{dataset} is read from its official files in a local folder",
                location=Location(path=("data", "path")),
                expected="data.path (or --data): the folder holding them",
                received="no data.path",
                hint=FAMILY_HINTS[dataset],
            )
        raise UserError(
            "unknown data set",
            location=Location(path=("data", "dataset")),
            expected=", ".join(DATASETS[:-1]) + " or " + DATASETS[-1],
            received=repr(dataset),
            hint="for other data, " + LOCAL_DATA_HINT,
        )
    given = os.fspath(path)
    if not given:
        raise UserError(
            "the data path is empty",
            location=Location(path=("data", "path")),
            expected=_LOCAL_TEXT,
        )
    if dataset in FAMILY_FILES:
        return "family"
    p = Path(given).expanduser()
    if not p.exists() and not p.is_symlink():
        raise UserError(
            "data not found",
            location=Location(file=given),
            expected=_LOCAL_TEXT,
            received="no such file or folder",
        )
    if _is_pictures(p):
        return "pictures"
    return "idx" if p.is_dir() else "npz"


def _is_pictures(p: Path) -> bool:
    """Whether ``p`` is a folder of class folders or a CSV of pictures."""
    from mnistctl.data.pictures.listing import is_picture_source

    return is_picture_source(p)


def train_size(
    dataset: str, path: str | os.PathLike[str] | None, test_split: float | None = None
) -> int | None:
    """The number of training images ``load_dataset(dataset, path)`` would give, before
    ``data.train_samples`` and the validation split; None when it cannot be told. For
    pictures without a test part, ``test_split`` (``data.test_split``) is the share held out;
    their files are counted, not opened (a bad picture among them counts)."""
    try:
        kind = source_kind(dataset, path)
    except UserError:
        return None
    if kind in ("keras", "sample"):
        return TRAIN_SIZES.get(dataset)
    assert path is not None
    p = Path(os.fspath(path)).expanduser()
    try:
        if kind == "family":
            return _family_train_size(dataset, p) or TRAIN_SIZES.get(dataset)
        if kind == "pictures":
            return _pictures_train_size(p, test_split)
        if kind == "idx":
            return _idx_train_size(p)
        return _npz_train_size(p)
    except (*_READ_ERRORS, RecursionError, MemoryError):
        return None


def _pictures_train_size(p: Path, test_split: float | None) -> int | None:
    from mnistctl.data.pictures.layout import DEFAULT_TEST_SPLIT, hold_out
    from mnistctl.data.pictures.listing import list_source

    fraction = DEFAULT_TEST_SPLIT if test_split is None else test_split
    if not 0.0 <= fraction < 1.0:
        return None
    listing = list_source(p, None, look=False)
    splits = listing.splits
    if splits is None:
        splits = hold_out(listing.labels, fraction, 0)  # how many: the same whatever the seed
    return int((splits == 0).sum())


def _family_train_size(dataset: str, folder: Path) -> int | None:
    """The training pictures of a named set's official files, from the header of the file of
    its training pictures."""
    if dataset == "kmnist":
        npz = folder / "kmnist-train-imgs.npz"
        return _npz_rows(npz, "arr_0") if npz.exists() else _idx_train_size(folder)
    stem = f"emnist-{dataset.removeprefix('emnist_')}-train-images-idx3-ubyte"
    for where in (folder, folder / "gzip"):
        for name in (stem, stem + ".gz"):
            if (where / name).is_file():
                return _idx_rows(where / name)
    return None


def _npz_train_size(p: Path) -> int | None:
    x, y = _npz_rows(p, "x_train"), _npz_rows(p, "y_train")
    return x if x is not None and x == y else None


def _npz_rows(p: Path, key: str) -> int | None:
    """The first dimension of the array ``key`` of a ``.npz``, from its header."""
    f, _ = open_data_file(p, Location(file=str(p)), "data file", "a .npz file")
    with f, zipfile.ZipFile(f) as archive:
        names = set(archive.namelist())
        name = key if key in names else key + ".npy"
        if name not in names:
            return None
        return _npy_rows(archive, archive.getinfo(name))


def _npy_rows(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int | None:
    """The first dimension of a ``.npy`` member, from its header; None unless the member holds
    exactly the data its header promises."""
    import numpy as np

    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            return None
        header_len = member.tell()
    if dtype.hasobject or not shape:
        return None
    if header_len + math.prod(shape) * dtype.itemsize != info.file_size:
        return None
    return int(shape[0])


def _idx_train_size(folder: Path) -> int | None:
    counts = []
    for stems in _IDX_TRAIN.values():
        found = next(
            (folder / n for s in stems for n in (s, s + ".gz") if (folder / n).is_file()), None
        )
        if found is None:
            return None
        counts.append(_idx_rows(found))
    x, y = counts
    return x if x is not None and x == y else None


def _idx_rows(p: Path) -> int | None:
    """The first dimension an IDX file's header gives (plain or gzip-compressed); for a plain
    file, None unless its length is what the header promises."""
    raw, size = open_data_file(p, Location(file=str(p)), "IDX file", "an IDX file")
    with raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if gzipped:
            import gzip

            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                header = _idx_header(gz)
        else:
            header = _idx_header(raw)
    if header is None:
        return None
    dims, itemsize = header
    if not gzipped and 4 + 4 * len(dims) + math.prod(dims) * itemsize != size:
        return None
    return dims[0]


def _idx_header(stream: io.BufferedIOBase) -> tuple[list[int], int] | None:
    """The dimensions and item size an IDX header gives; None if it is not one."""
    head = stream.read(4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_ITEMSIZE or not head[3]:
        return None
    ndim = head[3]
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        return None
    dims = [int.from_bytes(raw_dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4)]
    return dims, _IDX_ITEMSIZE[head[2]]
