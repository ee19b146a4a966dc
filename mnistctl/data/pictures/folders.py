"""Listing a folder of class folders: ``train/<class>/...`` and optionally ``test/<class>/...``.

Class folders are the folders in ``train/`` (and ``test/``), hidden ones (a leading dot, such
as ``.ipynb_checkpoints``) aside; files beside them are ignored. A class folder's pictures are
every file in it and in its sub-folders, at any depth, except hidden files and folders and
files clearly not pictures by their extension (``found.NOT_PICTURES``: ``.txt``, ``.json``,
``Thumbs.db``, ...), which are skipped without a word. Pipes, sockets and devices are never
opened (a FIFO would block): each is a bad file.

Symbolic links are followed when they lead to a file or folder inside the source folder; one
that leads out of it is not followed (a bad file; a UserError for ``train``, ``test`` or a
class folder itself), a link to nothing is a bad file, and a link that loops (to itself, or
to a folder that holds it) is a UserError.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mnistctl.data.files import exc_text, kind_text
from mnistctl.data.pictures.classwalk import ClassFiles, ClassWalk, link_error, unreadable
from mnistctl.data.pictures.found import (
    BadFile,
    Listing,
    check_class_count,
    check_given_classes,
    inside,
    names_text,
)
from mnistctl.data.pictures.stats import Looker, Stats
from mnistctl.errors import Location, UserError, visible

__all__ = ["list_folders"]


def list_folders(
    source: Path, given: Sequence[str] | None, *, look: bool = True, workers: int | None = None
) -> Listing:
    """The pictures of the folder ``source``, checked for the structural problems (each a
    UserError). ``look``: stat every file (its size and time, for the cache; ``workers``: see
    ``stats.lstat_groups``); without it only the folders are read (``count_classes``)."""
    walker = _Walker(source, look)
    train = "train"
    walker.split_folder(train, required=True)
    test = "test" if walker.split_folder("test", required=False) else None
    train_classes = walker.class_folders(train)
    test_classes = walker.class_folders(test) if test is not None else []
    train_where = Location(file=walker.shown_name(train))
    if given is not None:
        check_given_classes(given, train_classes, train_where)
        classes = tuple(given)
    else:
        classes = tuple(train_classes)
    check_class_count(classes, train_where, "one folder each in train/")
    if test is not None:
        _check_test_classes(test_classes, classes, walker.shown_name(test))
    label = {name: i for i, name in enumerate(classes)}
    folders = [(0, f"{train}/{name}", label[name]) for name in classes]
    if test is not None:
        ordered = sorted(test_classes, key=label.__getitem__)
        folders += [(1, f"{test}/{name}", label[name]) for name in ordered]
    with Looker(workers if look else 1) as looker:
        parts: list[tuple[int, int, ClassFiles]] = []  # (split, label, files)
        for split, folder, number in folders:
            parts.append((split, number, walker.walk.files(folder)))
            looker.expect(parts[0][2].count * len(folders))  # as many in each: start early
        return walker.listing(classes, parts, has_test=test is not None, looker=looker)


def _check_test_classes(test_classes: list[str], classes: tuple[str, ...], shown: str) -> None:
    known = set(classes)
    only = [name for name in test_classes if name not in known]
    if only:
        folded = {c.casefold(): c for c in classes}
        near = [folded[n.casefold()] for n in only if n.casefold() in folded]
        raise UserError(
            "test/ has classes that train/ does not have",
            location=Location(file=shown),
            expected=f"class folders among {names_text(list(classes))}",
            received=names_text(only),
            hint=f"the names must match exactly, case included ({names_text(near)} in train/)"
            if near
            else "put their pictures in train/ too, or take them out of test/",
        )


class _Walker:
    """Reading one source folder: its real path, the bad files found so far."""

    def __init__(self, source: Path, look: bool) -> None:
        self.shown = str(source)
        self.root = os.path.abspath(source)
        self.root_real = os.path.realpath(source)
        self.look = look
        self.walk = ClassWalk(self.root, self.root_real, self.shown)

    def shown_name(self, rel: str) -> str:
        return os.path.join(self.shown, rel)

    def split_folder(self, name: str, *, required: bool) -> bool:
        """Whether ``name`` (train or test) is a folder in the source: False if it is not
        there and not ``required``; a UserError otherwise."""
        where = Location(file=self.shown_name(name))
        path = os.path.join(self.root, name)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError as exc:
            if os.path.islink(path):
                raise link_error("leads nowhere", where) from exc
            if not required:
                return False
            raise UserError(
                "the data folder has no train/ folder",
                location=Location(file=self.shown),
                expected="train/<class>/<pictures> (and optionally test/<class>/...)",
                received=_contents(self.root),
                hint="put each class's pictures in a folder named after the class, in train/",
            ) from exc
        except OSError as exc:
            raise unreadable(exc, where) from exc
        if not stat.S_ISDIR(mode):
            raise UserError(
                f"{name} is not a folder",
                location=where,
                expected=f"a folder {name}/ holding one folder per class",
                received=kind_text(mode),
            )
        self._check_inside(path, where)
        return True

    def class_folders(self, split: str) -> list[str]:
        """The class folders in ``split``, sorted (plain ``sorted``, as Keras sorts them)."""
        folder = os.path.join(self.root, split)
        where = Location(file=self.shown_name(split))
        names = []
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    if not entry.name.startswith(".") and self._is_dir(entry):
                        names.append(entry.name)
        except OSError as exc:
            raise unreadable(exc, where) from exc
        if not names:
            raise UserError(
                f"{split}/ has no class folders",
                location=where,
                expected=f"one folder per class in {split}/ ({split}/<class>/<pictures>)",
                received=_contents(folder),
                hint="put each class's pictures in a folder named after the class",
            )
        names.sort()
        _check_case(names, where)
        return names

    def _is_dir(self, entry: os.DirEntry[str]) -> bool:
        """Whether a class folder candidate is a folder (a link to one inside the source)."""
        if not entry.is_symlink():
            return entry.is_dir(follow_symlinks=False)
        where = Location(file=self.shown_name(os.path.relpath(entry.path, self.root)))
        try:
            is_dir = entry.is_dir()
        except OSError as exc:
            raise unreadable(exc, where) from exc
        if is_dir:
            self._check_inside(entry.path, where)
        elif not os.path.exists(entry.path):
            _check_loop(entry.path, where)
        return is_dir

    def _check_inside(self, path: str, where: Location) -> None:
        if os.path.islink(path) and not inside(os.path.realpath(path), self.root_real):
            raise link_error("leads out of the data folder", where)

    def listing(
        self,
        classes: tuple[str, ...],
        parts: list[tuple[int, int, ClassFiles]],
        *,
        has_test: bool,
        looker: Looker,
    ) -> Listing:
        """The listing of the class folders' files (``parts``: split, label, files), each
        file stat'ed when looking."""
        stats: Iterator[Stats] | None = None
        if self.look:
            groups = [(folder, names) for _, _, found in parts for folder, _, names in found.groups]
            stats = iter(looker.lstat(groups))
        names: list[str] = []
        sizes: list[int] = []
        mtimes: list[int] = []
        labels: list[int] = []
        splits: list[int] = []
        for split, label, found in parts:
            files = self._class_files(found, stats)
            names.extend(files[0])
            sizes.extend(files[1])
            mtimes.extend(files[2])
            labels.extend([label] * len(files[0]))
            splits.extend([split] * len(files[0]))
        return Listing(
            source=self.shown,
            root=self.root,
            shown=self.shown,
            key_source=self.root,
            classes=classes,
            files=names,
            labels=np.array(labels, np.int32),
            splits=np.array(splits, np.int8) if has_test else None,
            sizes=np.array(sizes, np.int64) if self.look else None,
            mtimes=np.array(mtimes, np.int64) if self.look else None,
            bad=tuple(self.walk.bad),
        )

    def _class_files(
        self, found: ClassFiles, stats: Iterator[Stats] | None
    ) -> tuple[list[str], list[int], list[int]]:
        """One class's names, sizes and times (none without stats), in name order; a file
        that is no longer a regular file is a bad one."""
        names: list[str] = []
        sizes: list[int] = []
        mtimes: list[int] = []
        for _, prefix, group in found.groups:
            if stats is None:
                names.extend([prefix + name for name in group])
                continue
            modes, group_sizes, group_mtimes = next(stats)
            regular = [m & 0o170000 == stat.S_IFREG for m in modes]
            if all(regular):
                names.extend([prefix + name for name in group])
                sizes.extend(group_sizes)
                mtimes.extend(group_mtimes)
                continue
            for i, name in enumerate(group):
                if regular[i]:
                    names.append(prefix + name)
                    sizes.append(group_sizes[i])
                    mtimes.append(group_mtimes[i])
                else:
                    self._changed(prefix + name, modes[i], group_sizes[i])
        for rel, _, size, mtime in found.linked:
            names.append(rel)
            sizes.append(size)
            mtimes.append(mtime)
        if found.in_order:
            return names, sizes, mtimes
        order = sorted(range(len(names)), key=names.__getitem__)
        return (
            [names[i] for i in order],
            [sizes[i] for i in order] if stats is not None else sizes,
            [mtimes[i] for i in order] if stats is not None else mtimes,
        )

    def _changed(self, rel: str, mode: int, size: int) -> None:
        """A file that lstat found not to be a regular file (or not at all) any more."""
        what = (
            f"cannot be read: {os.strerror(size)}"
            if mode == 0
            else (f"not a regular file: {kind_text(mode)} (not opened)")
        )
        self.walk.bad.append(BadFile(self.shown_name(rel), what))


def _check_case(names: list[str], where: Location) -> None:
    """No two class folders whose names differ only in case."""
    folded: dict[str, str] = {}
    for name in names:
        other = folded.setdefault(name.casefold(), name)
        if other != name:
            raise UserError(
                "two class folders differ only in case",
                location=where,
                expected="class folder names that differ in more than case",
                received=f"{visible(other)!r} and {visible(name)!r}",
                hint="rename one: many file systems (macOS, Windows) cannot hold both, "
                "so the data would not mean the same everywhere",
            )


def _check_loop(path: str, where: Location) -> None:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise link_error("loops", where) from exc


def _contents(folder: str) -> str:
    try:
        names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    except OSError as exc:
        return exc_text(exc)
    return names_text(names) if names else "an empty folder"
