"""What listing a source of pictures finds (``Listing``, ``BadFile``), and the checks that
folders and CSV files share: file names that are clearly not pictures, links kept inside the
source, the classes (how many, ``data.classes``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError, visible

__all__ = [
    "MAX_CLASSES",
    "NOT_PICTURES",
    "BadFile",
    "Listing",
    "check_class_count",
    "check_given_classes",
    "inside",
    "names_text",
    "not_a_picture_name",
]

MAX_CLASSES = 1000

NOT_PICTURES = frozenset(
    {
        *(".txt", ".md", ".rst", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".xml"),
        *(".html", ".htm", ".ini", ".cfg", ".toml", ".log", ".db", ".sqlite", ".py", ".ipynb"),
        *(".sh", ".bat", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5", ".mat", ".pt"),
        *(".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".pdf", ".doc", ".docx"),
        *(".xls", ".xlsx", ".mp4", ".mov", ".avi", ".mkv", ".mp3", ".wav", ".lnk", ".url"),
        *(".bak", ".tmp", ".swp", ".part", ".crdownload", ".xmp", ".aae", ".lock"),
    }
)
"""Extensions (any case) of files that are clearly not pictures: skipped without a word, as
hidden files (a leading dot: ``.DS_Store``) are. Anything else is read, and is a bad file
if it is not a picture (a file without an extension, ``.heic``, ...)."""


@dataclass(frozen=True)
class BadFile:
    """A picture that could not be read, left out of the data: the file as the user named it
    (the source's path joined with its name there) and what is wrong, in one line."""

    file: str
    error: str


@dataclass(frozen=True, eq=False)
class Listing:
    """Every picture file of a source, in the order the data keeps them: by split (train,
    then test), class, then name.

    ``root`` is the absolute folder the names are relative to (the source folder, or the CSV
    file's folder), ``shown`` the same folder as the user gave it (for messages);
    ``key_source`` is the absolute path of the source itself. ``splits`` is None when the data
    has no test part of its own (a share is held out then); ``sizes`` and ``mtimes`` are None
    when the files were listed without looking at each one (``count_classes``).
    """

    source: str
    root: str
    shown: str
    key_source: str
    classes: tuple[str, ...]
    files: list[str] = field(repr=False)
    labels: npt.NDArray[np.int32] = field(repr=False)
    splits: npt.NDArray[np.int8] | None = field(repr=False)
    sizes: npt.NDArray[np.int64] | None = field(repr=False)
    mtimes: npt.NDArray[np.int64] | None = field(repr=False)
    bad: tuple[BadFile, ...] = ()

    def shown_name(self, name: str) -> str:
        """A file's name as the user sees it: the source's folder as given, joined."""
        return os.path.join(self.shown, name) if self.shown else name


def not_a_picture_name(name: str) -> bool:
    """Whether a file name says the file is skipped: hidden, or clearly not a picture."""
    if name.startswith("."):
        return True
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in NOT_PICTURES


def inside(real: str, root_real: str) -> bool:
    """Whether the real path ``real`` is ``root_real`` or lies within it."""
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def check_class_count(classes: Sequence[str], where: Location, what: str) -> None:
    """At least two classes and at most MAX_CLASSES; ``what`` says where they come from."""
    if len(classes) < 2:
        raise UserError(
            "the data has only one class" if classes else "the data has no classes",
            location=where,
            expected=f"at least 2 classes ({what})",
            received=f"only {visible(classes[0])!r}" if classes else "none",
            hint="a classifier needs pictures of two classes or more",
        )
    if len(classes) > MAX_CLASSES:
        raise UserError(
            "the data has too many classes",
            location=where,
            expected=f"at most {MAX_CLASSES:,} classes",
            received=f"{len(classes):,} ({what})",
        )


def names_text(names: Sequence[str], limit: int = 8) -> str:
    """``'a', 'b', 'c' and 5 more``."""
    shown = ", ".join(repr(visible(n)) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_given_classes(given: Sequence[str], found: Sequence[str], where: Location) -> None:
    """``data.classes`` names exactly the classes found (each once)."""
    seen: set[str] = set()
    twice = [c for c in given if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if twice:
        raise UserError(
            "data.classes names a class twice",
            location=where,
            expected="each class once",
            received=names_text(twice),
        )
    missing = [c for c in given if c not in set(found)]
    extra = [c for c in found if c not in seen]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no pictures of {names_text(missing)}")
        if extra:
            parts.append(f"classes not in data.classes: {names_text(extra)}")
        raise UserError(
            "the classes found do not match data.classes",
            location=where,
            expected=f"the classes {names_text(list(given))}",
            received="; ".join(parts),
            hint="list every class of the data in data.classes, or leave it out",
        )
