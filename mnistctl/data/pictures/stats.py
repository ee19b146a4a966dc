"""Looking at many files: each one's kind, size and modification time (``lstat``: the cache's
key is made of them), a hundred thousand at a time.

It costs a few microseconds a file, nearly all of it the system call, and threads do not help
(each call takes the interpreter's lock back). So with PARALLEL_MIN files or more and two
usable CPUs or more, a worker process (``mnistctl.procs``) takes chunks of them from the front
while this process takes chunks from the back, until they meet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from mnistctl.procs import usable_cpus
from mnistctl.procs.pool import Pool

__all__ = ["PARALLEL_MIN", "Group", "Looker", "Stats", "lstat_group", "lstat_groups"]

PARALLEL_MIN = 20_000  # fewer files than this are looked at here: a worker costs more
CHUNK = 2_500  # files per chunk

Group = tuple[str, list[str]]
"""A folder (absolute path) and names of files in it."""

Stats = tuple[list[int], list[int], list[int]]
"""The files' ``st_mode``, ``st_size``, ``st_mtime_ns``, in order; a mode of 0 means lstat
failed, and the size is then its errno."""

_O_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def lstat_groups(groups: Sequence[Group], *, workers: int | None = None) -> list[Stats]:
    """``lstat`` of every file of ``groups``, by group, in order (see the module's
    docstring); ``workers`` > 1 (default: the usable CPUs) allows the worker process."""
    with Looker(workers) as looker:
        return looker.lstat(groups)


class Looker:
    """``lstat`` of many files, with a worker process when they are many: ``expect`` starts
    it early (it gets ready while this process still lists folders). Use it in a ``with``
    block: leaving it stops the worker."""

    def __init__(self, workers: int | None = None) -> None:
        self._cpus = usable_cpus() if workers is None else workers
        self._pool: Pool | None = None

    def __enter__(self) -> Looker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def expect(self, files: int) -> None:
        """About ``files`` files will be looked at: start the worker if they are many."""
        if self._pool is None and files >= PARALLEL_MIN and self._cpus >= 2:
            self._pool = Pool(_setup, workers=1, in_flight=2)

    def lstat(self, groups: Sequence[Group]) -> list[Stats]:
        """``lstat`` of every file of ``groups``, by group, in order."""
        pieces = [
            (folder, names[at : at + CHUNK])
            for folder, names in groups
            for at in range(0, max(1, len(names)), CHUNK)
        ]
        self.expect(sum(len(names) for _, names in groups))
        if self._pool is None:
            done = [lstat_group(piece) for piece in pieces]
        else:
            done = _shared(pieces, self._pool)
        results: list[Stats] = []
        at = 0
        for _, names in groups:
            stats: Stats = ([], [], [])
            for _ in range(0, max(1, len(names)), CHUNK):
                for mine, theirs in zip(stats, done[at], strict=True):
                    mine.extend(theirs)
                at += 1
            results.append(stats)
        return results


def _shared(pieces: list[Group], pool: Pool) -> list[Stats]:
    """The pieces, the worker taking them from the front and this process from the back."""
    done: list[Stats | None] = [None] * len(pieces)
    futures = [pool.submit(piece) for piece in pieces]
    for i in reversed(range(len(pieces))):
        if not futures[i].cancel():  # the worker has it (or has failed): they met
            break
        done[i] = lstat_group(pieces[i])
    for i, piece in enumerate(pieces):
        if done[i] is None:
            try:
                done[i] = futures[i].result()
            except Exception:  # no worker, or it died: here instead
                done[i] = lstat_group(piece)
    return [stats for stats in done if stats is not None]


def lstat_group(group: Group) -> Stats:
    """``lstat`` of the files of one group (relative to the folder, opened once)."""
    folder, names = group
    try:
        fd = os.open(folder, _O_DIRECTORY)
    except OSError as exc:
        failed = exc.errno or 0
        return [0] * len(names), [failed] * len(names), [0] * len(names)
    try:
        stat = os.stat
        try:
            found = [stat(name, dir_fd=fd, follow_symlinks=False) for name in names]
        except OSError:  # one of them: each on its own
            return _one_by_one(fd, names)
    finally:
        os.close(fd)
    return (
        [st.st_mode for st in found],
        [st.st_size for st in found],
        [st.st_mtime_ns for st in found],
    )


def _one_by_one(fd: int, names: list[str]) -> Stats:
    stats: Stats = ([], [], [])
    for name in names:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            values = (0, exc.errno or 0, 0)
        else:
            values = (st.st_mode, st.st_size, st.st_mtime_ns)
        for column, value in zip(stats, values, strict=True):
            column.append(value)
    return stats


# --- in the worker -----------------------------------------------------------------------------


def _setup() -> Callable[[Group], Stats]:
    """The worker's setup (``mnistctl.procs``): what it runs on each piece."""
    return lstat_group
