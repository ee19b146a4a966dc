"""EMNIST's ``letters``, ``balanced`` and ``digits`` splits from their official files in a folder.

The IDX files ``emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte`` (plain or ``.gz``)
in the folder, or in its ``gzip/`` (the layout of the official ``gzip.zip`` unzipped). EMNIST
stores each picture transposed relative to MNIST: it is turned back upright here. ``letters``
labels run 1..26 (there is no class 0): they become 0..25. The class names are those of
``emnist-<split>-mapping.txt`` (each line a label, then decimal character codes: the first
code's character; ``letters`` gives ``1 65 97``, so its classes are ``A``..``Z``) when it is
there, else the built-in ones (``mnist.CLASS_NAMES``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.arrays import aligned_empty
from mnistctl.data.files import numbered_names, read_small_text
from mnistctl.data.idx import data_folder, find_idx_files, read_idx
from mnistctl.data.mnist import CLASS_NAMES, FAMILY_HINTS
from mnistctl.errors import Location, UserError

__all__ = [
    "EMNIST_SPLITS",
    "EmnistFiles",
    "emnist_classes",
    "emnist_names",
    "find_emnist",
    "read_emnist",
    "read_mapping",
]

EMNIST_SPLITS = {
    "emnist_letters": "letters",
    "emnist_balanced": "balanced",
    "emnist_digits": "digits",
}
"""The data set names of the EMNIST splits read, and each one's name in EMNIST's files."""

_FIRST_LABEL = {"letters": 1}  # the split's labels start here (0 for the others)

Arrays = dict[str, npt.NDArray[Any]]


def emnist_names(split: str) -> dict[str, tuple[str, ...]]:
    """The IDX file names of an EMNIST split, by array."""
    return {
        "x_train": (f"emnist-{split}-train-images-idx3-ubyte",),
        "y_train": (f"emnist-{split}-train-labels-idx1-ubyte",),
        "x_test": (f"emnist-{split}-test-images-idx3-ubyte",),
        "y_test": (f"emnist-{split}-test-labels-idx1-ubyte",),
    }


def files_folder(folder: Path, split: str) -> Path:
    """Where the split's files are: ``folder``, else its ``gzip/`` when that holds them."""
    stem = emnist_names(split)["x_train"][0]
    inner = folder / "gzip"
    here = any((folder / n).exists() for n in (stem, stem + ".gz"))
    if not here and any((inner / n).exists() for n in (stem, stem + ".gz")):
        return inner
    return folder


@dataclass(frozen=True)
class EmnistFiles:
    """Where an EMNIST split's files are."""

    dataset: str  # emnist_letters, ...
    files: dict[str, Path]  # x_train, y_train, x_test, y_test
    folder: Path  # the folder holding them (the one given, or its gzip/)
    shown: str  # that folder as the user's path names it, for errors


def find_emnist(dataset: str, path: str | os.PathLike[str]) -> EmnistFiles:
    """The IDX files of an EMNIST split (``dataset`` one of EMNIST_SPLITS) in the folder
    ``path`` or its ``gzip/``; a UserError naming those missing."""
    split = EMNIST_SPLITS[dataset]
    folder = data_folder(path, "a folder holding EMNIST's files (its gzip.zip, unzipped)")
    where = files_folder(folder, split)
    shown = os.fspath(path) if where == folder else os.path.join(os.fspath(path), "gzip")
    names = emnist_names(split)
    files = find_idx_files(where, Location(file=shown), names, hint=FAMILY_HINTS[dataset])
    return EmnistFiles(dataset, files, where, shown)


def emnist_classes(found: EmnistFiles) -> tuple[str, ...]:
    """The split's class names: its mapping file's when it is beside the files, else built in."""
    split = EMNIST_SPLITS[found.dataset]
    mapping = f"emnist-{split}-mapping.txt"
    if not (found.folder / mapping).exists():
        return CLASS_NAMES[found.dataset]
    return read_mapping(
        found.folder / mapping, os.path.join(found.shown, mapping), _FIRST_LABEL.get(split, 0)
    )


def read_emnist(
    dataset: str, path: str | os.PathLike[str]
) -> tuple[Arrays, dict[str, Location], tuple[str, ...]]:
    """The four arrays of an EMNIST split (``dataset`` one of EMNIST_SPLITS), pictures upright
    and labels from 0, unchecked otherwise; where each came from; the class names."""
    found = find_emnist(dataset, path)
    split = EMNIST_SPLITS[dataset]
    arrays: Arrays = {}
    locs: dict[str, Location] = {}
    for key, f in found.files.items():
        locs[key] = Location(file=os.path.join(found.shown, f.name))
        arr = read_idx(f)
        if key.startswith("x_"):
            arr = _upright(arr)
        elif arr.ndim == 1 and arr.dtype.kind in "iu" and arr.size:
            arr = _from_zero(arr, _FIRST_LABEL.get(split, 0), key, locs[key], split)
        arrays[key] = arr
    return arrays, locs, emnist_classes(found)


def _upright(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """EMNIST's pictures ``(N, W, H)`` (stored transposed) as ``(N, H, W)``, in an aligned
    buffer; anything else as it is (checking the arrays reports it)."""
    if x.ndim != 3:
        return x
    out = aligned_empty(x.nbytes).view(x.dtype).reshape(x.shape[0], x.shape[2], x.shape[1])
    out[...] = x.transpose(0, 2, 1)
    return out


def _from_zero(
    y: npt.NDArray[Any], first: int, key: str, loc: Location, split: str
) -> npt.NDArray[Any]:
    """Labels that start at ``first`` made to start at 0."""
    if not first:
        return y
    lo = int(y.min())
    if lo < first:
        i = int(np.argmin(y))
        raise UserError(
            f"label out of range in '{key}'",
            location=loc,
            expected=f"EMNIST {split} labels {first}..",
            received=f"{lo} at index {i}",
        )
    shifted: npt.NDArray[Any] = y - np.asarray(first, dtype=y.dtype)
    return shifted


def read_mapping(path: Path, shown: str, first: int) -> tuple[str, ...]:
    """The class names an EMNIST mapping file gives (``label code [code ...]`` a line: the
    first code's character), in label order from ``first``."""
    loc = Location(file=shown)
    text = read_small_text(
        path, loc, "mapping file", "EMNIST's emnist-<split>-mapping.txt",
        encoding="ascii", about="EMNIST's are a line per class",
    )  # fmt: skip
    lines = ((n, row) for n, row in enumerate(text.splitlines(), start=1) if row.strip())
    names = numbered_names(
        lines, _mapping_line, shown, key="label", twice="label {number} is mapped twice"
    )
    want = list(range(first, first + len(names)))
    if len(names) < 2 or sorted(names) != want:
        raise UserError(
            "the mapping file does not map labels " + (f"{first}.." if names else "at all"),
            location=loc,
            expected=f"labels {first}..{first + max(len(names), 2) - 1}, one line each",
            received="labels " + ", ".join(str(n) for n in sorted(names)[:20]) if names else "none",
        )
    return tuple(names[i] for i in want)


def _mapping_line(text: str, loc: Location) -> tuple[int, str]:
    """The label and class name of one line of a mapping file."""
    parts = text.split()
    try:
        if len(parts) < 2:
            raise ValueError(text)
        label = int(parts[0])
        char = chr(int(parts[1]))
        if label < 0 or not char.isprintable() or char.isspace():
            raise ValueError(text)
    except (ValueError, OverflowError) as e:
        raise UserError(
            "not a line of the mapping file",
            location=loc,
            expected="a label, then decimal character codes (e.g. 10 65)",
            received=text[:80],
        ) from e
    return label, char
