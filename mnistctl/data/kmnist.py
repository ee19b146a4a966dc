"""KMNIST (Kuzushiji-MNIST) from its official files in a local folder.

The four NumPy files the data set publishes (``kmnist-train-imgs.npz``, ``kmnist-train-labels.npz``,
``kmnist-test-imgs.npz``, ``kmnist-test-labels.npz``, each holding one array ``arr_0``), read
with the package's own ``.npz`` reader (never unpickles); else the MNIST-format IDX files it
also publishes (``train-images-idx3-ubyte.gz``, ...). The class names follow
``kmnist_classmap.csv`` (``index,codepoint,char``) when it is in the folder, romanised as
``mnist.KMNIST_ROMAJI`` says (お is ``o``), else the built-in list.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from mnistctl.data.files import exc_text, numbered_names, read_small_text
from mnistctl.data.idx import IDX_NAMES, data_folder, find_idx_files, read_idx
from mnistctl.data.mnist import FAMILY_HINTS, KMNIST_CLASSES, KMNIST_ROMAJI
from mnistctl.data.npz import read_npz
from mnistctl.errors import Location, UserError

__all__ = [
    "KMNIST_CLASSMAP",
    "KMNIST_FILES",
    "KmnistFiles",
    "find_kmnist",
    "kmnist_classes",
    "read_kmnist",
]

KMNIST_FILES = {
    "x_train": "kmnist-train-imgs.npz",
    "y_train": "kmnist-train-labels.npz",
    "x_test": "kmnist-test-imgs.npz",
    "y_test": "kmnist-test-labels.npz",
}
KMNIST_CLASSMAP = "kmnist_classmap.csv"

_HINT = FAMILY_HINTS["kmnist"]

Arrays = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class KmnistFiles:
    """Where KMNIST's files are: by array, the NumPy files (``npz``) or the IDX files."""

    files: dict[str, Path]  # x_train, y_train, x_test, y_test
    shown: dict[str, str]  # each file as the user's path names it, for errors
    npz: bool
    classmap: Path | None
    classmap_shown: str


def find_kmnist(path: str | os.PathLike[str]) -> KmnistFiles:
    """KMNIST's files in the folder ``path``; a UserError naming those missing."""
    folder = data_folder(path, "a folder holding " + ", ".join(KMNIST_FILES.values()))
    shown = os.fspath(path)
    try:
        present = {p.name for p in folder.iterdir()}
    except OSError as e:
        raise UserError(
            "cannot list the data folder", location=Location(file=shown), received=exc_text(e)
        ) from e
    missing = [name for name in KMNIST_FILES.values() if name not in present]
    idx_present = any(n in present for s in IDX_NAMES.values() for n in (s[0], s[0] + ".gz"))
    if missing and idx_present:  # KMNIST's MNIST-format release
        files = find_idx_files(folder, Location(file=shown), hint=_HINT)
    elif missing:
        raise UserError(
            "missing KMNIST file" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
            location=Location(file=shown),
            expected=", ".join(KMNIST_FILES.values()) + " (KMNIST's NumPy format)",
            received=_listing(sorted(present)),
            hint=_HINT,
        )
    else:
        files = {key: folder / name for key, name in KMNIST_FILES.items()}
    return KmnistFiles(
        files=files,
        shown={key: os.path.join(shown, f.name) for key, f in files.items()},
        npz=not missing,
        classmap=folder / KMNIST_CLASSMAP if KMNIST_CLASSMAP in present else None,
        classmap_shown=os.path.join(shown, KMNIST_CLASSMAP),
    )


def kmnist_classes(found: KmnistFiles) -> tuple[str, ...]:
    """KMNIST's class names: its class map's, when it is beside the files, else built in."""
    if found.classmap is None:
        return KMNIST_CLASSES
    return read_classmap(found.classmap, found.classmap_shown)


def read_kmnist(
    path: str | os.PathLike[str],
) -> tuple[Arrays, dict[str, Location], tuple[str, ...]]:
    """KMNIST's four arrays (unchecked), where each came from, and its class names."""
    found = find_kmnist(path)
    arrays: Arrays = {}
    locs: dict[str, Location] = {}
    for key, f in found.files.items():
        if found.npz:
            got, locs[key] = read_npz(found.shown[key], ("arr_0",), hint=_HINT)
            arrays[key] = got["arr_0"]
        else:
            arrays[key] = read_idx(f)
            locs[key] = Location(file=found.shown[key])
    return arrays, locs, kmnist_classes(found)


def _listing(present: list[str]) -> str:
    """What a folder holds, for an error: its first 20 files."""
    if not present:
        return "an empty folder"
    more = f", ... ({len(present) - 20} more)" if len(present) > 20 else ""
    return "files " + ", ".join(present[:20]) + more


def read_classmap(path: Path, shown: str) -> tuple[str, ...]:
    """The class names ``kmnist_classmap.csv`` gives, in label order (its ``index`` column),
    each character romanised when it is one of KMNIST's hiragana."""
    loc = Location(file=shown)
    text = read_small_text(
        path, loc, "class map", "a CSV file index,codepoint,char",
        encoding="utf-8-sig", about="KMNIST's has ten lines",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != ["index", "codepoint", "char"]:
        raise UserError(
            "the class map has the wrong header",
            location=Location(file=shown, line=1),
            expected="index,codepoint,char",
            received=",".join(rows[0]) if rows else "an empty file",
        )
    listed = ((n, row) for n, row in enumerate(rows[1:], start=2) if row)
    names = numbered_names(
        listed, _classmap_row, shown, key="index", twice="class {number} is listed twice"
    )
    if sorted(names) != list(range(len(KMNIST_CLASSES))):
        raise UserError(
            "the class map does not list KMNIST's ten classes",
            location=loc,
            expected="indexes 0..9, one line each",
            received="indexes " + ", ".join(map(str, sorted(names))) if names else "none",
        )
    return tuple(names[i] for i in range(len(names)))


def _classmap_row(row: list[str], loc: Location) -> tuple[int, str]:
    """The index and class name of one line of the class map."""
    try:
        index, codepoint, char = (cell.strip() for cell in row)
        code = int(codepoint.removeprefix("U+").removeprefix("u+"), 16)
        if not (index.isdigit() and char and chr(code) == char):
            raise ValueError(row)
    except (ValueError, OverflowError) as e:
        raise UserError(
            "not a line of the class map",
            location=loc,
            expected="index,codepoint,char (e.g. 0,U+304A,お)",
            received=",".join(row)[:80],
        ) from e
    return int(index), KMNIST_ROMAJI.get(code, char)
