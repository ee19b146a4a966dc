"""Listing a CSV file of pictures: a header row naming the columns ``image`` (a path relative
to the CSV file's folder), ``label`` (a class name or number) and optionally ``split``
(``train`` or ``test``), in any order and case, other columns ignored; UTF-8 (a BOM is fine).

- Class names: the labels, sorted (numerically when every label is a whole number, written
  without leading zeros then), or ``data.classes``: then every label must be one of its names,
  or every label a class number (0-based) in it.
- ``split``: every row's value is ``train`` or ``test``; a column left empty on every row, or
  without a single ``test``, means the data has no test part (a share of it is held out).
- An image path that is absolute, climbs out with ``..`` or leads out of the folder through a
  symbolic link, or names no file, is a UserError at its line; one that names a folder, a
  pipe, socket or device (never opened) is a bad file.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnistctl.data.files import exc_text, kind_text, open_data_file
from mnistctl.data.pictures.found import (
    BadFile,
    Listing,
    check_class_count,
    check_given_classes,
    inside,
    names_text,
)
from mnistctl.data.pictures.stats import lstat_groups
from mnistctl.errors import Location, UserError, visible

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

__all__ = ["list_csv", "read_rows"]

_EXPECTED = "a CSV file with a header row naming the columns image and label (and optionally split)"
_SPLITS = {"train": 0, "test": 1}
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DRIVE = re.compile(r"[A-Za-z]:")
_PATH_HINT = "image paths are relative to the CSV file's folder"


@dataclass(frozen=True)
class Row:
    line: int
    image: str  # normalised, relative
    label: str
    split: str  # "train", "test" or ""


def list_csv(
    source: Path, given: Sequence[str] | None, *, look: bool = True, workers: int | None = None
) -> Listing:
    """The pictures the CSV file ``source`` names, checked (each problem a UserError at its
    line). ``look``: stat every file (without: only the CSV itself is read)."""
    shown_csv = str(source)
    rows = read_rows(source)
    classes, labels = _classes(rows, given, shown_csv)
    splits = _splits(rows, shown_csv)
    _check_test_classes(rows, labels, splits, classes, shown_csv)
    order = sorted(
        range(len(rows)),
        key=lambda i: (0 if splits is None else splits[i], labels[i], rows[i].image, i),
    )
    root = os.path.abspath(os.path.dirname(source) or ".")
    files = _Files(root, shown_csv)
    if look:
        files.add_all([rows[i] for i in order], workers)
        files.raise_missing()
        kept = [i for i in order if rows[i].line in files.found]
    else:
        kept = order
    return Listing(
        source=shown_csv,
        root=root,
        shown=os.path.dirname(shown_csv),
        key_source=os.path.abspath(source),
        classes=classes,
        files=[rows[i].image for i in kept],
        labels=np.array([labels[i] for i in kept], np.int32),
        splits=None if splits is None else np.array([splits[i] for i in kept], np.int8),
        sizes=np.array([files.found[rows[i].line][0] for i in kept], np.int64) if look else None,
        mtimes=np.array([files.found[rows[i].line][1] for i in kept], np.int64) if look else None,
        bad=tuple(files.bad),
    )


def read_rows(source: Path) -> list[Row]:
    """The CSV file's rows with an image (blank rows skipped), each cell checked."""
    where = Location(file=str(source))
    reader, _ = open_data_file(source, where, "CSV file", _EXPECTED)
    with reader:
        data = reader.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            "the CSV file is not UTF-8 text",
            location=where,
            expected=_EXPECTED,
            received=f"byte {data[exc.start]:#04x} at offset {exc.start}",
            hint="save it as UTF-8 (CSV UTF-8 in spreadsheet programs)",
        ) from exc
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = _columns(rows, where)
        found = list(_rows(rows, columns, str(source)))
    except csv.Error as exc:
        raise UserError(
            "the CSV file cannot be read",
            location=Location(file=str(source), line=rows.line_num),
            expected=_EXPECTED,
            received=str(exc),
        ) from exc
    if not found:
        raise UserError(
            "the CSV file names no pictures",
            location=where,
            expected="one row per picture under the header",
            received="a header only",
        )
    return found


def _columns(rows: CsvReader, where: Location) -> tuple[int, int, int | None]:
    """The positions of image, label and split (None: no split column) in the header."""
    header = next((row for row in rows if any(cell.strip() for cell in row)), None)
    if header is None:
        raise UserError("the CSV file is empty", location=where, expected=_EXPECTED)
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in ("image", "label") if name not in names]
    if missing:
        raise UserError(
            f"the CSV file has no {' and no '.join(missing)} column",
            location=Location(file=where.file, line=rows.line_num),
            expected=_EXPECTED,
            received=f"the columns {names_text(names)}" if names else "an empty header",
            hint="the first row names the columns: image,label (a path and a class)",
        )
    split = names.index("split") if "split" in names else None
    return names.index("image"), names.index("label"), split


def _rows(rows: CsvReader, columns: tuple[int, int, int | None], shown: str) -> Iterator[Row]:
    at_image, at_label, at_split = columns

    def cell(row: list[str], at: int | None) -> str:
        return row[at].strip() if at is not None and at < len(row) else ""

    for row in rows:
        if not any(value.strip() for value in row):
            continue
        line = rows.line_num
        where = Location(file=shown, line=line)
        label = cell(row, at_label)
        if not label:
            raise UserError(
                "the label is empty",
                location=where,
                expected="a class name or number in the label column",
                received="an empty cell",
            )
        split = cell(row, at_split).lower()
        if split and split not in _SPLITS:
            raise UserError(
                "the split is neither train nor test",
                location=where,
                expected="train or test in the split column",
                received=repr(visible(cell(row, at_split))),
                hint="validation data is held out of train by data.validation_split",
            )
        yield Row(line, _relative(cell(row, at_image), where), label, split)


def _relative(image: str, where: Location) -> str:
    """The image path, checked to stay in the CSV file's folder, normalised."""
    if not image:
        raise UserError(
            "the image path is empty",
            location=where,
            expected="the path of a picture in the image column",
            received="an empty cell",
        )
    parts = re.split(r"[/\\]", image)
    absolute = image.startswith(("/", "\\")) or _DRIVE.match(image) is not None
    if absolute or ".." in parts or "\0" in image:
        raise UserError(
            "the image path leads out of the CSV file's folder",
            location=where,
            expected="a path relative to the CSV file's folder, without ..",
            received=repr(visible(image)),
            hint=_PATH_HINT + "; move the pictures into it",
        )
    return posixpath.normpath(image)


def _classes(
    rows: list[Row], given: Sequence[str] | None, shown: str
) -> tuple[tuple[str, ...], list[int]]:
    """The class names, and each row's class number."""
    where = Location(file=shown)
    texts = [row.label for row in rows]
    whole = all(_WHOLE.fullmatch(t) for t in texts)
    if given is None:
        if whole:
            numbers = sorted({int(t) for t in texts})
            classes = tuple(str(n) for n in numbers)
            index = {n: i for i, n in enumerate(numbers)}
            labels = [index[int(t)] for t in texts]
        else:
            classes = tuple(sorted(set(texts)))
            named = {c: i for i, c in enumerate(classes)}
            labels = [named[t] for t in texts]
        check_class_count(classes, where, "labels in the label column")
        return classes, labels
    classes = tuple(given)
    named = {c: i for i, c in enumerate(classes)}
    if all(t in named for t in texts):
        labels = [named[t] for t in texts]
    elif whole and all(0 <= int(t) < len(classes) for t in texts):
        labels = [int(t) for t in texts]  # class numbers in data.classes
    else:
        row = next(r for r in rows if r.label not in named)
        raise UserError(
            "the label is not in data.classes",
            location=Location(file=shown, line=row.line),
            expected=f"one of {names_text(list(classes))}",
            received=repr(visible(row.label)),
            hint="list every label in data.classes, or leave it out",
        )
    check_given_classes(classes, sorted({classes[i] for i in labels}), where)
    check_class_count(classes, where, "data.classes")
    return classes, labels


def _splits(rows: list[Row], shown: str) -> list[int] | None:
    """Each row's split (0 train, 1 test), or None when the data has no test part."""
    if not any(row.split == "test" for row in rows):
        return None
    empty = next((row for row in rows if not row.split), None)
    if empty is not None:
        raise UserError(
            "the split is empty",
            location=Location(file=shown, line=empty.line),
            expected="train or test on every row (or the column empty on all of them)",
            received="an empty cell",
        )
    return [_SPLITS[row.split] for row in rows]


def _check_test_classes(
    rows: list[Row],
    labels: list[int],
    splits: list[int] | None,
    classes: tuple[str, ...],
    shown: str,
) -> None:
    if splits is None:
        return
    trained = {lab for lab, s in zip(labels, splits, strict=True) if s == 0}
    for row, lab, s in zip(rows, labels, splits, strict=True):
        if s == 1 and lab not in trained:
            raise UserError(
                "a class has test pictures but no training pictures",
                location=Location(file=shown, line=row.line),
                expected="every test class among the train rows' classes",
                received=f"class {visible(classes[lab])!r} only in test rows",
                hint="add training rows for it, or remove its test rows",
            )


class _Files:
    """The files the rows name: their sizes and times by line, the bad ones, the missing."""

    def __init__(self, root: str, shown: str) -> None:
        self.root = root
        self.real = os.path.realpath(root)
        self.shown = shown
        self.shown_root = os.path.dirname(shown)
        self.found: dict[int, tuple[int, int]] = {}  # line -> (size, mtime_ns)
        self.bad: list[BadFile] = []
        self.missing: list[Row] = []

    def add_all(self, rows: Sequence[Row], workers: int | None) -> None:
        """Look at each row's file (all of them at once: ``stats.lstat_groups``)."""
        by_folder: dict[str, list[Row]] = {}
        for row in rows:
            by_folder.setdefault(os.path.dirname(row.image), []).append(row)
        for folder, mine in by_folder.items():
            if not inside(os.path.realpath(os.path.join(self.root, folder)), self.real):
                raise self._escapes(min(mine, key=lambda row: row.line))
        groups = [
            (os.path.join(self.root, folder), [os.path.basename(row.image) for row in mine])
            for folder, mine in by_folder.items()
        ]
        for mine, (modes, sizes, mtimes) in zip(
            by_folder.values(), lstat_groups(groups, workers=workers), strict=True
        ):
            for row, mode, size, mtime in zip(mine, modes, sizes, mtimes, strict=True):
                if mode & 0o170000 == stat.S_IFREG:
                    self.found[row.line] = (size, mtime)
                else:
                    self._other(row, mode, size)

    def _other(self, row: Row, mode: int, size: int) -> None:
        """A row whose file is not there, is a link, or is not a regular file (``mode`` and
        ``size`` as ``lstat_groups`` gives them)."""
        path = os.path.join(self.root, row.image)
        try:
            if mode == 0:
                raise OSError(size, os.strerror(size))
            if stat.S_ISLNK(mode):
                if not inside(os.path.realpath(path), self.real):
                    raise self._escapes(row)
                st = os.stat(path)
                mode, size, mtime = st.st_mode, st.st_size, st.st_mtime_ns
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                self.missing.append(row)
            elif exc.errno == errno.ELOOP:
                raise UserError(
                    "the image path is a symbolic link that loops",
                    location=Location(file=self.shown, line=row.line),
                    expected="a picture file",
                    received=repr(visible(row.image)),
                ) from exc
            else:
                self.bad.append(BadFile(self._name(row), f"cannot be read: {exc_text(exc)}"))
            return
        if stat.S_ISREG(mode):
            self.found[row.line] = (size, mtime)
        else:
            self.bad.append(BadFile(self._name(row), f"not a picture file: {kind_text(mode)}"))

    def _name(self, row: Row) -> str:
        return os.path.join(self.shown_root, row.image) if self.shown_root else row.image

    def _escapes(self, row: Row) -> UserError:
        return UserError(
            "the image path leads out of the CSV file's folder through a symbolic link",
            location=Location(file=self.shown, line=row.line),
            expected="a picture inside the CSV file's folder",
            received=repr(visible(row.image)),
            hint=_PATH_HINT + "; links out of it are not followed",
        )

    def raise_missing(self) -> None:
        if not self.missing:
            return
        first = min(self.missing, key=lambda row: row.line)
        more = len(self.missing) - 1
        raise UserError(
            "the image file is not there",
            location=Location(file=self.shown, line=first.line),
            expected="a picture file at the path",
            received=f"no file {visible(first.image)!r}"
            + (f" ({more:,} more rows name missing files)" if more else ""),
            hint=_PATH_HINT,
        )
