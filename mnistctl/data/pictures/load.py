"""A source of pictures as arrays: ``load_pictures`` (listing, cache, decoding, split).

1. The source is listed (``listing.py``): its classes and every picture file, each stat'ed;
   the structural problems are UserErrors.
2. The split: the source's own (``test/``, CSV ``split``), else a seeded, stratified
   hold-out of ``test_split`` (default 0.2) of each class (``layout.hold_out``).
3. The cache (``cache.py``): the files' names, sizes and times (and the target) make a key;
   a cache file of that key gives the pictures without decoding one.
4. Otherwise every file is decoded and prepared (``decode.py``, in worker processes when they
   are many) straight into its row of the train or test array; bad files are collected, left
   out (their rows closed up in place) and reported; the result is written to the cache.

``shape=None`` prepares the pictures to the most common native size found (ties: the larger
area) and to 1 channel when most pictures are grey (grey modes, or a palette of greys), else
3: the size of a sample of headers is the guess, and when decoding shows the guess wrong the
pictures are prepared again to the right one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.arrays import aligned, aligned_empty
from mnistctl.data.pictures.cache import Header, cache_file, cache_key, read_cache, write_cache
from mnistctl.data.pictures.decode import decode_chunks, peek
from mnistctl.data.pictures.found import BadFile, Listing
from mnistctl.data.pictures.layout import DEFAULT_TEST_SPLIT, Layout, compact, hold_out
from mnistctl.data.pictures.listing import list_source
from mnistctl.data.pictures.prepare import PREPARE_MODES, PictureShape
from mnistctl.errors import Location, UserError

__all__ = ["DEFAULT_TEST_SPLIT", "PictureSet", "common_shape", "load_pictures"]

GUESS_SAMPLE = 64  # headers read to guess the common size before decoding
FALLBACK_SHAPE = PictureShape(28, 28, 1)  # when no picture can be read at all
_SCATTER_BYTES = 8 * 2**20  # pictures put into train and test at a time

Xs = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


@dataclass(frozen=True, eq=False)
class PictureSet:
    """A source's pictures, prepared: uint8 images (N, H, W) or (N, H, W, 3) and labels
    (uint8, uint16 above 256 classes), each split sorted by class then file name; the class
    names in label order; the bad files (left out); what the pictures were made to; the
    native sizes ("WxH") and Pillow modes found, by count; whether the cache served them."""

    source: str
    x_train: npt.NDArray[np.uint8] = field(repr=False)
    y_train: npt.NDArray[Any] = field(repr=False)
    x_test: npt.NDArray[np.uint8] = field(repr=False)
    y_test: npt.NDArray[Any] = field(repr=False)
    classes: tuple[str, ...]
    bad: tuple[BadFile, ...]
    shape: PictureShape
    sizes: dict[str, int]
    modes: dict[str, int]
    cached: bool


@dataclass
class _Made:
    """Pictures decoded: the arrays, their layout and what was found."""

    xs: Xs
    layout: Layout
    header: Header


def load_pictures(
    path: Path,
    *,
    classes: Sequence[str] | None = None,
    shape: PictureShape | None = None,
    mode: str = "resize",
    test_split: float | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> PictureSet:
    """The pictures of the folder or CSV file at ``path`` (see the module's docstring).

    ``classes``: ``data.classes`` (names in label order); ``shape``: what the pictures are
    made to (None: the most common size and mode); ``mode``: ``resize`` or ``mnist_style``;
    ``test_split``: the share held out for test when the source has no test part (default
    0.2); ``seed``: which pictures it is; ``workers``: processes decoding (default: the
    usable CPUs). Raises ``UserError`` for the structural problems; bad pictures are in
    ``bad``.
    """
    if mode not in PREPARE_MODES:
        raise ValueError(f"mode must be one of {', '.join(PREPARE_MODES)}; received {mode!r}")
    fraction = _fraction(test_split)
    listing = list_source(Path(path), classes, workers=workers)
    splits = listing.splits
    if splits is None:
        splits = hold_out(listing.labels, fraction, seed)
    key = cache_key(listing, shape, mode)
    file = cache_file(listing, key)
    if file is not None:
        found = _from_cache(file, key, listing, splits)
        if found is not None:
            return found
    made = _decoded(listing, splits, shape, mode, workers)
    if file is not None:
        if listing.splits is not None:
            members: list[Iterable[npt.NDArray[np.uint8]]] = [[made.xs[0]], [made.xs[1]]]
            rows = [len(made.xs[0]), len(made.xs[1])]
        else:
            members, rows = [made.layout.gather(made.xs)], [len(made.layout.split)]
        header = dataclasses.replace(made.header, key=key, rows=rows)
        write_cache(file, header, members, listing.key_source)
    return _picture_set(listing, made.xs, made.layout, made.header, cached=False)


def _fraction(test_split: float | None) -> float:
    if test_split is None:
        return DEFAULT_TEST_SPLIT
    if not 0.0 <= test_split < 1.0:
        raise UserError(
            "test_split is out of range",
            location=Location(path=("data", "test_split")),
            expected="a share of the pictures from 0 up to (not including) 1, such as 0.2",
            received=repr(test_split),
        )
    return float(test_split)


def _from_cache(
    file: Path, key: str, listing: Listing, splits: npt.NDArray[np.int8]
) -> PictureSet | None:
    found = read_cache(file, key, len(listing.files))
    if found is None:
        return None
    header, members = found
    layout = Layout.of(splits, np.array([pos for pos, _ in header.bad], np.int64))
    if listing.splits is not None:  # the members are train and test as they are
        if tuple(len(m) for m in members) != layout.counts:
            return None
        xs: Xs = (members[0], members[1])
    else:  # all of them in the listing's order: the held-out ones go to test
        xs = _allocate(layout.counts, header.shape)
        step = max(1, _SCATTER_BYTES // int(np.prod(header.shape.dims)))
        for start in range(0, len(members[0]), step):
            layout.scatter(start, members[0][start : start + step], xs)
    return _picture_set(listing, xs, layout, header, cached=True)


def _decoded(
    listing: Listing,
    splits: npt.NDArray[np.int8],
    shape: PictureShape | None,
    mode: str,
    workers: int | None,
) -> _Made:
    """The pictures decoded and prepared to ``shape`` (None: the common one, see
    ``common_shape``)."""
    target = shape if shape is not None else _guess(listing)
    made = _decode_into(listing, splits, target, mode, workers)
    if shape is None:
        common = common_shape(made.header.sizes, made.header.greys)
        if common is not None and common != target:  # the guess was wrong: again, right
            del made
            return _decode_into(listing, splits, common, mode, workers)
    return made


def _decode_into(
    listing: Listing,
    splits: npt.NDArray[np.int8],
    shape: PictureShape,
    mode: str,
    workers: int | None,
) -> _Made:
    full = Layout.of(splits, np.empty(0, np.int64))
    xs = _allocate(full.counts, shape)
    bad: list[tuple[int, str]] = []
    sizes: dict[str, int] = {}
    modes: dict[str, int] = {}
    greys = 0
    for start, done in decode_chunks(listing.root, listing.files, shape, mode, workers=workers):
        full.scatter(start, done.pictures, xs)  # bad ones too: their rows are closed up below
        bad.extend((start + k, text) for k, text in done.bad)
        _add(sizes, done.sizes)
        _add(modes, done.modes)
        greys += done.greys
    bad.sort()
    positions = np.array([pos for pos, _ in bad], np.int64)
    bad_split, bad_row = splits[positions], full.row[positions]
    x_train, x_test = (compact(x, bad_row[bad_split == s]) for s, x in enumerate(xs))
    header = Header(
        key="",
        shape=shape,
        count=len(listing.files),
        bad=bad,
        sizes=sizes,
        modes=modes,
        greys=greys,
        rows=[],
        crcs=[],
    )
    return _Made((x_train, x_test), Layout.of(splits, positions), header)


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for name, count in more.items():
        total[name] = total.get(name, 0) + count


def _allocate(counts: tuple[int, int], shape: PictureShape) -> Xs:
    per = int(np.prod(shape.dims))
    try:
        return (
            aligned_empty(counts[0] * per).reshape(counts[0], *shape.dims),
            aligned_empty(counts[1] * per).reshape(counts[1], *shape.dims),
        )
    except MemoryError as exc:
        total = (counts[0] + counts[1]) * per
        raise UserError(
            "the pictures do not fit in memory",
            expected=f"{total:,} bytes of memory for {counts[0] + counts[1]:,} pictures of "
            f"{shape.text}",
            received="not enough memory",
            hint="use a smaller Input shape, or fewer pictures",
        ) from exc


def _guess(listing: Listing) -> PictureShape:
    """The common shape among a sample of the pictures' headers (before decoding)."""
    count = len(listing.files)
    picks = np.unique(np.linspace(0, count - 1, min(count, GUESS_SAMPLE)).astype(np.int64))
    sizes: dict[str, int] = {}
    greys = 0
    for i in picks.tolist():
        seen = peek(os.path.join(listing.root, listing.files[i]))
        if seen is not None:
            width, height, grey = seen
            _add(sizes, {f"{width}x{height}": 1})
            greys += grey
    return common_shape(sizes, greys) or FALLBACK_SHAPE


def common_shape(sizes: Mapping[str, int], greys: int) -> PictureShape | None:
    """The most common size ("WxH" -> count; ties: the larger area, then the name), 1 channel
    when more than half of the pictures are grey, else 3; None when there is none."""
    total = sum(sizes.values())
    if not total:
        return None

    def rank(item: tuple[str, int]) -> tuple[int, int, str]:
        width, height = (int(v) for v in item[0].split("x"))
        return item[1], width * height, item[0]

    best = max(sizes.items(), key=rank)[0]
    width, height = (int(v) for v in best.split("x"))
    return PictureShape(height, width, 1 if 2 * greys > total else 3)


def _picture_set(
    listing: Listing, xs: Xs, layout: Layout, header: Header, *, cached: bool
) -> PictureSet:
    good = np.ones(len(listing.files), bool)
    good[[pos for pos, _ in header.bad]] = False
    labels = listing.labels[good]
    dtype = np.uint8 if len(listing.classes) <= 256 else np.uint16
    ys = [aligned(labels[layout.split == s].astype(dtype)) for s in (0, 1)]
    bad = [*listing.bad, *(BadFile(listing.shown_name(listing.files[p]), t) for p, t in header.bad)]
    return PictureSet(
        source=listing.source,
        x_train=xs[0],
        y_train=ys[0],
        x_test=xs[1],
        y_test=ys[1],
        classes=listing.classes,
        bad=tuple(sorted(bad, key=lambda b: b.file)),
        shape=header.shape,
        sizes=_by_count(header.sizes),
        modes=_by_count(header.modes),
        cached=cached,
    )


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
