"""The files of one class folder (``folders.py``): every file in it and in its sub-folders,
hidden ones and those clearly not pictures by name skipped, links followed inside the source
(a link out of it, or to nothing, is a bad file; one that loops, a UserError), pipes, sockets
and devices never opened (bad files).

Only the folders are read here (one ``scandir`` each); the files themselves are looked at
afterwards, all of them at once (``stats.py``).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from operator import attrgetter

from mnistctl.data.files import exc_text, kind_text
from mnistctl.data.pictures.found import BadFile, inside, not_a_picture_name
from mnistctl.errors import Location, UserError

__all__ = ["ClassFiles", "ClassWalk", "link_error", "unreadable"]

_name = attrgetter("name")
_COMMON = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".PNG", ".JPG")
_O_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)

_Stack = list[tuple[str, str, frozenset[str]]]  # folders to read: (rel, real path, holders)


@dataclass
class ClassFiles:
    """A class folder's files: ``groups`` of (folder's absolute path, its name relative to the
    source + "/", file names in it, sorted), the files reached through links, stat'ed already
    (name relative to the source, mode, size, mtime), and whether the groups and links as
    listed are in name order."""

    groups: list[tuple[str, str, list[str]]] = field(default_factory=list)
    linked: list[tuple[str, int, int, int]] = field(default_factory=list)
    in_order: bool = True

    @property
    def count(self) -> int:
        return sum(len(names) for _, _, names in self.groups) + len(self.linked)


class ClassWalk:
    """Reading the class folders of one source; ``bad`` gathers the bad files met."""

    def __init__(self, root: str, root_real: str, shown: str) -> None:
        self.root, self.root_real, self.shown = root, root_real, shown
        self.bad: list[BadFile] = []

    def shown_name(self, rel: str) -> str:
        return os.path.join(self.shown, rel)

    def files(self, rel: str) -> ClassFiles:
        """The files of the class folder ``rel`` (relative to the source); a UserError when
        it has none."""
        found = ClassFiles()
        real = os.path.realpath(os.path.join(self.root, rel))
        holders = {self.root_real, os.path.dirname(real), real}  # the source, train/ or test/
        stack: _Stack = [(rel, real, frozenset(holders))]
        skipped = 0
        while stack:
            folder, real_folder, ancestors = stack.pop()
            skipped += self._folder(folder, real_folder, ancestors, found, stack)
            found.in_order = found.in_order and not stack
        if not found.count:
            what = "files that are not pictures" if skipped else "nothing"
            raise UserError(
                "the class folder has no pictures",
                location=Location(file=self.shown_name(rel)),
                expected="picture files (.png, .jpg, ...) in each class folder",
                received=f"{what} (hidden files, .txt, .json, ... are skipped)"
                if skipped
                else "an empty folder",
                hint="put pictures in it, or remove it",
            )
        return found

    def _folder(
        self, rel: str, real: str, ancestors: frozenset[str], found: ClassFiles, stack: _Stack
    ) -> int:
        """One folder's entries: its files a group of ``found``, links and specials looked
        at, sub-folders onto ``stack``; how many files were skipped."""
        path = os.path.join(self.root, rel)
        prefix = rel + "/"
        try:
            fd = os.open(path, _O_DIRECTORY)
        except OSError as exc:
            raise unreadable(exc, Location(file=self.shown_name(rel))) from exc
        try:
            with os.scandir(fd) as scan:
                entries = sorted(scan, key=_name)
        except OSError as exc:
            raise unreadable(exc, Location(file=self.shown_name(rel))) from exc
        finally:
            os.close(fd)
        # The usual entries, regular files with a picture's name, in comprehensions: a
        # hundred thousand of them are listed on every load, cached or not.
        plain = [e.name for e in entries if e.is_file(follow_symlinks=False)]
        kept = [name for name in plain if name.endswith(_COMMON) and name[0] != "."]
        if len(kept) != len(plain):
            kept = [name for name in plain if not not_a_picture_name(name)]
        if kept:
            found.groups.append((path, prefix, kept))
        skipped = len(plain) - len(kept)
        if len(plain) == len(entries):
            return skipped
        for entry in entries:
            name = entry.name
            if entry.is_file(follow_symlinks=False):
                continue  # above
            if name[0] == ".":
                skipped += 1
            elif entry.is_dir(follow_symlinks=False):
                child = os.path.join(real, name)
                stack.append((prefix + name, child, ancestors | {child}))
            elif not_a_picture_name(name):
                skipped += 1
            else:
                self._other(entry, os.path.join(path, name), prefix + name, ancestors, found, stack)
        return skipped

    def _other(
        self,
        entry: os.DirEntry[str],
        path: str,
        rel: str,
        ancestors: frozenset[str],
        found: ClassFiles,
        stack: _Stack,
    ) -> None:
        """A link, pipe, socket or device in a class folder."""
        shown = self.shown_name(rel)
        try:
            st = os.stat(path)  # follows a link
        except FileNotFoundError:
            self.bad.append(BadFile(shown, "a symbolic link that leads nowhere"))
            return
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise link_error("loops", Location(file=shown)) from exc
            self.bad.append(BadFile(shown, f"cannot be read: {exc_text(exc)}"))
            return
        if entry.is_symlink():
            target = os.path.realpath(path)
            if not inside(target, self.root_real):
                self.bad.append(
                    BadFile(shown, "a symbolic link out of the data folder (not followed)")
                )
                return
            if stat.S_ISDIR(st.st_mode):
                if target in ancestors:
                    raise link_error(
                        "loops (it leads to a folder that holds it)", Location(file=shown)
                    )
                stack.append((rel, target, ancestors | {target}))
                return
        if stat.S_ISREG(st.st_mode):
            found.linked.append((rel, st.st_mode, st.st_size, st.st_mtime_ns))
            found.in_order = False
            return
        self.bad.append(BadFile(shown, f"not a regular file: {kind_text(st.st_mode)} (not opened)"))


def link_error(what: str, where: Location) -> UserError:
    return UserError(
        f"a symbolic link {what}",
        location=where,
        expected="links to files or folders inside the data folder",
        received="a link that " + what.split(" (")[0],
        hint="links are followed only inside the data folder: copy the pictures in, or "
        "point the link at a folder inside it",
    )


def unreadable(exc: OSError, where: Location) -> UserError:
    if exc.errno == errno.ELOOP:
        return link_error("loops", where)
    return UserError(
        "cannot read the folder",
        location=where,
        expected="a readable folder",
        received=exc_text(exc),
        hint="check the folder's permissions",
    )
