"""Which paths are sources of pictures, and what is in them, without decoding a picture.

A source is a folder holding ``train/`` (class folders: ``folders.py``) or a CSV file
(``csvsource.py``). ``list_source`` lists its picture files (and stats each, for the cache);
``count_classes`` only reads the folders or the CSV file, for ``validate``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from mnistctl.data.pictures.csvsource import list_csv
from mnistctl.data.pictures.folders import list_folders
from mnistctl.data.pictures.found import BadFile, Listing
from mnistctl.errors import Location, UserError

__all__ = ["BadFile", "Listing", "count_classes", "is_picture_source", "list_source"]


def is_picture_source(path: Path) -> bool:
    """Whether ``path`` is read as pictures: a name ending ``.csv`` (any case; it need not
    exist: reading it says what is wrong), or a folder holding a ``train`` folder. Cheap: at
    most two ``stat`` calls, nothing opened."""
    if path.suffix.lower() == ".csv":
        return True
    try:
        return stat.S_ISDIR(os.stat(path / "train").st_mode)
    except (OSError, ValueError):
        return False


def count_classes(path: Path, classes: Sequence[str] | None) -> int:
    """How many classes the source at ``path`` has (``classes``: ``data.classes``), from its
    folders or its CSV file's labels alone: no picture is opened. Raises ``UserError`` for
    the structural problems (``list_source``)."""
    return len(list_source(path, classes, look=False).classes)


def list_source(
    path: Path,
    classes: Sequence[str] | None,
    *,
    look: bool = True,
    workers: int | None = None,
) -> Listing:
    """Every picture file of the source at ``path``, in the data's order, checked for the
    structural problems (each a ``UserError`` naming the folder, file or line); with ``look``
    each file is stat'ed (its size and time: the cache's key; ``workers`` > 1, default the
    usable CPUs, allows a worker process to share that when the files are many)."""
    if path.suffix.lower() == ".csv":
        return list_csv(path, classes, look=look, workers=workers)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        raise UserError(
            "data folder not found",
            location=Location(file=str(path)),
            expected="a folder holding train/<class>/<pictures>, or a CSV file",
            received="no such file or folder",
            hint="check the path",
        ) from exc
    except OSError as exc:
        raise UserError(
            "cannot read the data folder",
            location=Location(file=str(path)),
            received=exc.strerror or type(exc).__name__,
        ) from exc
    if not stat.S_ISDIR(mode):
        raise UserError(
            "the data is neither a folder nor a CSV file",
            location=Location(file=str(path)),
            expected="a folder holding train/<class>/<pictures>, or a file ending .csv",
            received="a file",
        )
    return list_folders(path, classes, look=look, workers=workers)
