"""Where each listed picture goes: its split (train or test) and its row there.

The listing's order is the data's order: by split, class, name. With a test part of its own
(``test/`` folder, CSV ``split`` column) the splits are the listing's; without, ``hold_out``
picks a seeded share of each class for test. The rows of a split keep the listing's order,
bad files left out: so x_train is sorted by class then name, and so is x_test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_TEST_SPLIT", "Layout", "compact", "hold_out"]

DEFAULT_TEST_SPLIT = 0.2
_GATHER_BYTES = 8 * 2**20  # rows gathered at a time when writing the cache


def hold_out(labels: npt.NDArray[np.int32], fraction: float, seed: int) -> npt.NDArray[np.int8]:
    """Each picture's split (0 train, 1 test): of each class of n pictures,
    ``round(n x fraction)`` go to test, at least one when n >= 2 and ``fraction`` > 0, never
    all of them. Which ones: those with the smallest of one random number each, drawn in the
    listing's order from ``seed``; the same listing and seed always give the same split."""
    split = np.zeros(len(labels), np.int8)
    if fraction <= 0 or not len(labels):
        return split
    keys = np.random.default_rng([int(seed < 0), abs(seed)]).random(len(labels))
    order = np.lexsort((keys, labels))  # by class, then by key
    counts = np.bincount(labels)
    start = 0
    for count in counts.tolist():
        wanted = int(count * fraction + 0.5)
        take = min(count - 1, max(1 if count >= 2 else 0, wanted))
        split[order[start : start + take]] = 1
        start += count
    return split


@dataclass(frozen=True)
class Layout:
    """The rows of the good pictures, in the listing's order: ``split[i]`` and ``row[i]`` of
    the i-th good one; ``counts`` per split."""

    split: npt.NDArray[np.int8]
    row: npt.NDArray[np.int64]
    counts: tuple[int, int]

    @classmethod
    def of(cls, splits: npt.NDArray[np.int8], bad: npt.NDArray[np.int64]) -> Layout:
        """The layout of the listing's ``splits`` once the pictures at positions ``bad`` are
        left out."""
        good = np.ones(len(splits), bool)
        good[bad] = False
        split = splits[good]
        row = np.empty(len(split), np.int64)
        counts = []
        for s in (0, 1):
            mine = split == s
            count = int(mine.sum())
            row[mine] = np.arange(count)
            counts.append(count)
        return cls(split, row, (counts[0], counts[1]))

    @property
    def in_order(self) -> bool:
        """Whether the listing's order is train's rows, then test's (no hold-out mixing)."""
        return bool(np.all(self.split[1:] >= self.split[:-1]))

    def scatter(
        self, start: int, pictures: npt.NDArray[np.uint8], xs: tuple[npt.NDArray[np.uint8], ...]
    ) -> None:
        """Put the good pictures ``start``, ``start + 1``, ... into their rows of ``xs``."""
        split = self.split[start : start + len(pictures)]
        row = self.row[start : start + len(pictures)]
        for s, x in enumerate(xs):
            mine = split == s
            if mine.all():
                _put(x, row, pictures)
            elif mine.any():
                _put(x, row[mine], pictures[mine])

    def gather(self, xs: tuple[npt.NDArray[np.uint8], ...]) -> Iterator[npt.NDArray[np.uint8]]:
        """The good pictures in the listing's order, from their rows in ``xs``, a few
        megabytes at a time (the arrays themselves when they are in order)."""
        if self.in_order:
            yield from xs
            return
        per = max(1, int(np.prod(xs[0].shape[1:])))
        step = max(1, _GATHER_BYTES // per)
        for start in range(0, len(self.split), step):
            split = self.split[start : start + step]
            row = self.row[start : start + step]
            part = np.empty((len(split), *xs[0].shape[1:]), np.uint8)
            for s, x in enumerate(xs):
                mine = split == s
                part[mine] = x[row[mine]]
            yield part


def _put(
    x: npt.NDArray[np.uint8], row: npt.NDArray[np.int64], pictures: npt.NDArray[np.uint8]
) -> None:
    first = int(row[0])
    if int(row[-1]) - first == len(row) - 1:  # consecutive rows: a plain copy
        x[first : first + len(row)] = pictures
    else:
        x[row] = pictures


def compact(x: npt.NDArray[np.uint8], bad_rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """``x`` without the rows ``bad_rows`` (rising), moved up in place: a view of its first
    rows (the same aligned start)."""
    if not len(bad_rows):
        return x
    keep = np.ones(len(x), bool)
    keep[bad_rows] = False
    kept = np.flatnonzero(keep)
    # Runs of kept rows, each moved up to where the previous one ended.
    breaks = np.flatnonzero(np.diff(kept) != 1) + 1
    step = max(1, _GATHER_BYTES // max(1, int(np.prod(x.shape[1:]))))
    to = 0
    for run in np.split(kept, breaks):
        if not len(run):
            continue
        first, n = int(run[0]), len(run)
        if first != to:
            # Upwards a block at a time: numpy copies an overlapping block through a
            # temporary, which stays as small as the block.
            for at in range(0, n, step):
                size = min(step, n - at)
                x[to + at : to + at + size] = x[first + at : first + at + size]
        to += n
    return x[:to]
