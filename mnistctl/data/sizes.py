"""How many training images a data set has, told without loading it (and without TensorFlow).

For the data sets known by name the count is known; for a local ``.npz`` only the ``.npy``
headers of ``x_train`` and ``y_train`` inside the zip are read, for a folder of IDX files only
the headers of the two training files. Anything that cannot be told (a missing, damaged or
odd file) gives None, never an exception: loading the data is what reports problems.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path

from mnistctl.data.files import open_data_file
from mnistctl.data.sample import SAMPLE_DATASET, SAMPLE_TRAIN_SIZE
from mnistctl.errors import Location, UserError

__all__ = ["TRAIN_SIZES", "train_size"]

TRAIN_SIZES: dict[str, int] = {
    "mnist": 60_000,
    "fashion_mnist": 60_000,
    SAMPLE_DATASET: SAMPLE_TRAIN_SIZE,
}
"""Training images of the data sets known by name (MNIST and Fashion-MNIST: 60,000 each)."""

# The IDX training files, as idx.IDX_NAMES has them (not imported: that pulls in numpy).
_IDX_TRAIN = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
}
_IDX_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}

# Errors reading a header means "cannot tell".
_READ_ERRORS = (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, UserError)


def train_size(dataset: str, path: str | os.PathLike[str] | None) -> int | None:
    """The number of training images ``load_dataset(dataset, path)`` would give, before
    ``data.train_samples`` and the validation split; None when it cannot be told."""
    if path is None:
        return TRAIN_SIZES.get(dataset)
    given = os.fspath(path)
    if not given:
        return None
    p = Path(given).expanduser()
    try:
        if stat.S_ISDIR(p.stat().st_mode):
            return _idx_train_size(p)
        return _npz_train_size(p)
    except (*_READ_ERRORS, RecursionError, MemoryError):
        return None


def _npz_train_size(p: Path) -> int | None:
    f, _ = open_data_file(p, Location(file=str(p)), "data file", "a .npz file")
    with f, zipfile.ZipFile(f) as archive:
        names = set(archive.namelist())
        counts = []
        for key in ("x_train", "y_train"):
            name = key if key in names else key + ".npy"
            if name not in names:
                return None
            counts.append(_npy_rows(archive, archive.getinfo(name)))
    x, y = counts
    return x if x is not None and x == y else None


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
