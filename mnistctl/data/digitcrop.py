"""Steps 5 to 7 of preparing a digit (see ``digitprep.py``): keep the digit, fit it, centre it.

Connected pieces of ink decide what is the digit and what are specks (``digit_crops``, for
many pictures of one size at once, with one vectorised labelling of all their pieces); the
digit's bounding box is scaled to fit BOX x BOX (thickening hair lines) and pasted into
SIZE x SIZE at its centre of mass.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.imageerrors import no_digit
from mnistctl.data.rowstats import FloatArray

__all__ = ["BOX", "SIZE", "box_size", "centre_into", "digit_crops", "fit_box", "stroke_width"]

BOX = 20  # the digit is scaled to fit BOX x BOX ...
SIZE = 28  # ... and centred in SIZE x SIZE
CENTRE = 14.0  # target centre of mass (row and column, pixel index coordinates)
MAIN_PART = 0.1  # pieces with this share of the biggest piece's ink are part of the digit
SPECK_MASS = 0.05  # smaller pieces are specks if their ink would fill less of a final pixel
NEAR = 0.4  # pieces that are not specks are kept within this fraction of the digit's size
# Stroke width (2 x area / perimeter of the pixels above 0.5, in final pixels) below which the
# strokes of a picture reduced 2x or more are thickened (5% of MNIST digits are thinner) ...
THIN = 1.3
TARGET_WIDTH = 1.9  # ... to this (the median of MNIST digits)
_INDEX = np.arange(SIZE)  # pixel positions, for centres of mass (a patch is at most BOX)
_FEW_RUNS = 64  # runs up to which pieces of ink are found in plain Python (one small picture)


def box_size(mask: npt.NDArray[np.bool_]) -> int:
    """The longer side of the bounding box of ``mask`` (which has a True pixel)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0])) + 1


def digit_crops(inks: FloatArray) -> list[FloatArray | str]:
    """Each picture's digit, specks away, cropped to its bounding box (or, for a picture
    without ink, what ``no_digit`` receives), for pictures of one size (pictures, height,
    width) at once.

    Pieces with at least MAIN_PART of the biggest piece's ink are part of the digit. Smaller
    ones are kept when they are near it (within NEAR of its size) and not specks (their ink,
    at the final scale, would fill at least SPECK_MASS of a pixel).
    """
    count, h, _ = inks.shape
    runs = _Runs.of(inks)
    pieces: list[list[_Component]] = [[] for _ in range(count)]
    for c in runs.components():
        picture = c.top // (h + 1)  # the pictures' runs are one above the other
        c.top -= picture * (h + 1)
        c.bottom -= picture * (h + 1)
        pieces[picture].append(c)
    boxes: list[tuple[int, int, int, int] | None] = []
    chosen: list[int] = []
    for comps in pieces:
        keep = _keep(comps) if len(comps) > 1 else comps  # one piece: the digit
        chosen += [c.label for c in keep]
        boxes.append(_union_box(keep) if keep else None)
    every = len(chosen) == sum(len(comps) for comps in pieces)
    mask = inks > 0.0 if every else runs.mask(chosen)
    kept = np.where(mask, inks, 0.0)
    return [
        kept[i, box[0] : box[2] + 1, box[1] : box[3] + 1]
        if box is not None
        else "no ink left after removing the background"
        for i, box in enumerate(boxes)
    ]


def _keep(comps: list[_Component]) -> list[_Component]:
    """The pieces of one picture that are its digit (see ``digit_crops``)."""
    biggest = max(c.mass for c in comps)
    keep = [c for c in comps if c.mass >= MAIN_PART * biggest]
    top, left, bottom, right = _union_box(keep)
    size = 1 + max(bottom - top, right - left)
    min_mass = SPECK_MASS * (size / BOX) ** 2
    rest = [c for c in comps if min_mass <= c.mass < MAIN_PART * biggest]
    added = True
    while added and rest:
        added = False
        gap = NEAR * (1 + max(bottom - top, right - left))
        for c in list(rest):
            if (
                c.top <= bottom + gap
                and c.bottom >= top - gap
                and c.left <= right + gap
                and c.right >= left - gap
            ):
                keep.append(c)
                rest.remove(c)
                top, left, bottom, right = _union_box(keep)
                added = True
    return keep


@dataclasses.dataclass
class _Component:
    label: int  # its index in the list of components
    mass: float
    top: int
    left: int
    bottom: int
    right: int


def _union_box(comps: list[_Component]) -> tuple[int, int, int, int]:
    return (
        min(c.top for c in comps),
        min(c.left for c in comps),
        max(c.bottom for c in comps),
        max(c.right for c in comps),
    )


@dataclasses.dataclass
class _Runs:
    """The runs of ink (pixels above 0) of pictures of one size, row by row, the pictures one
    above the other with an empty row between them: where each run starts and ends
    (exclusive), its ink, and (after ``components``) the component it belongs to.

    Positions are flat indices into that stack with one more column (``width``, the
    pictures' width + 1): a run ends at most there, and a run of the row above touches one
    of this row when it starts at most one past this one's end and ends at least one before
    its start (diagonals count), both one ``width`` earlier.
    """

    shape: tuple[int, int, int]  # the pictures'
    starts: npt.NDArray[np.intp]  # row-major, so sorted
    ends: npt.NDArray[np.intp]
    masses: FloatArray
    labels: list[int] = dataclasses.field(default_factory=list)

    @property
    def width(self) -> int:
        return self.shape[2] + 1

    @classmethod
    def of(cls, inks: FloatArray) -> _Runs:
        count, h, w = inks.shape
        padded = np.zeros((count, h + 1, w + 2), dtype=np.int8)
        padded[:, :h, 1:-1] = inks > 0.0
        # Every row's changes alternate start, end, start, end, ...: one pass finds both.
        changes = np.flatnonzero(padded[..., 1:] != padded[..., :-1])
        cums = np.zeros((count, h + 1, w + 1))  # each row's running sum of ink, from 0
        np.cumsum(inks, axis=2, out=cums[:, :h, 1:])
        starts, ends = changes[0::2], changes[1::2]
        flat = cums.ravel()
        return cls((count, h, w), starts, ends, flat[ends] - flat[starts])

    def components(self) -> list[_Component]:
        """8-connected components, in the order of their first run (rows in the stack);
        each one's ink summed run by run in that order (as ``np.bincount`` does)."""
        n = len(self.starts)
        if n == 0:
            return []
        width = self.width
        # The runs of the row above that touch each run: those from ``lo`` to ``hi``.
        lo = np.searchsorted(self.ends, self.starts - width, side="left")
        hi = np.searchsorted(self.starts, self.ends - width, side="right")
        if n <= _FEW_RUNS:
            roots = _connect_few(lo.tolist(), hi.tolist())
        else:
            roots = _connect(n, *_pairs(lo, hi))
        # A component's root is its first run: numbering roots in order numbers components
        # in the order of their first run.
        first = roots == np.arange(n)
        firsts = np.flatnonzero(first)
        labels = (np.cumsum(first) - 1)[roots]
        self.labels = labels.tolist()
        count = len(firsts)
        rows = self.starts // width
        mass = np.bincount(labels, weights=self.masses, minlength=count)
        left = np.full(count, width)
        bottom, right = np.full(count, -1), np.full(count, -1)
        np.minimum.at(left, labels, self.starts - rows * width)
        np.maximum.at(bottom, labels, rows)
        np.maximum.at(right, labels, self.ends - rows * width - 1)
        return [
            _Component(i, m, t, lft, b, r)
            for i, (m, t, lft, b, r) in enumerate(
                zip(
                    mass.tolist(),
                    rows[firsts].tolist(),
                    left.tolist(),
                    bottom.tolist(),
                    right.tolist(),
                    strict=True,
                )
            )
        ]

    def mask(self, labels: list[int]) -> npt.NDArray[np.bool_]:
        """The pixels of the runs of the components ``labels`` (pictures, height, width)."""
        count, h, w = self.shape
        chosen = np.isin(self.labels, labels)
        change = np.zeros(count * (h + 1) * (w + 1), dtype=np.intp)
        np.add.at(change, self.starts[chosen], 1)
        np.add.at(change, self.ends[chosen], -1)
        inside = np.cumsum(change.reshape(count * (h + 1), w + 1), axis=1)[:, :w] > 0
        mask: npt.NDArray[np.bool_] = inside.reshape(count, h + 1, w)[:, :h]
        return mask


def _pairs(
    lo: npt.NDArray[np.intp], hi: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The pairs (run ``i``, run ``j``) for ``j`` from ``lo[i]`` to ``hi[i]`` (exclusive)."""
    count = np.maximum(hi - lo, 0)
    below = np.repeat(np.arange(len(lo)), count)
    offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return below, np.repeat(lo, count) + offsets


def _connect(n: int, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Each of ``n`` nodes' root, joined by the edges ``a``-``b``: the smallest node of its
    component. Vectorised union-find: every tree's root is hooked under the smallest root it
    has an edge to, then every node points straight at its root, until no edge joins two
    trees (a few rounds: each at least halves the trees that can still merge)."""
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        apart = pa != pb
        if not apart.any():
            return parent
        np.minimum.at(parent, np.maximum(pa, pb)[apart], np.minimum(pa, pb)[apart])
        while True:  # pointer jumping: parents only point to smaller nodes, so this ends
            up = parent[parent]
            if (up == parent).all():
                break
            parent = up


def _connect_few(lo: list[int], hi: list[int]) -> npt.NDArray[np.intp]:
    """``_connect`` for a few runs (those of one small picture), where plain Python costs
    less than numpy's calls: run ``i`` is joined to the runs ``lo[i]`` to ``hi[i]`` (above
    it), and every tree's root is its smallest node, as there."""
    parent = list(range(len(lo)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (start, end) in enumerate(zip(lo, hi, strict=True)):
        for j in range(start, end):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(len(lo))], dtype=np.intp)


# ---------------------------------------------------------------------------------------------
# Scaling and centring


def fit_box(crop: FloatArray) -> FloatArray:
    """Scale to fit BOX x BOX keeping the aspect ratio; thicken hair lines of big pictures."""
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # (width, height)
    if size == (w, h):
        return crop
    plain = _resize(crop, size)
    if scale > 0.5 or stroke_width(plain) >= THIN:
        return plain
    # Thin strokes shrunk a lot: dilate at 4x the final size until they are MNIST-like.
    mid = _resize(crop, (size[0] * 4, size[1] * 4))
    out = plain
    for radius in range(1, 9):
        out = _resize(_dilate(mid, radius), size)
        if stroke_width(out) >= TARGET_WIDTH:
            break
    return out


def _resize(arr: FloatArray, size: tuple[int, int]) -> FloatArray:
    """Lanczos resize of an ink image, clipped, with the strongest ink back at 1."""
    from PIL import Image

    img = Image.fromarray(arr.astype(np.float32), mode="F")
    out = np.clip(np.asarray(img.resize(size, Image.Resampling.LANCZOS), dtype=np.float64), 0, 1)
    peak = float(out.max())
    return out / peak if peak > 0 else out


def stroke_width(crop: FloatArray) -> float:
    """Mean stroke width in pixels: 2 x area / perimeter of the ink (above half intensity)."""
    mask = np.pad(crop > 0.5, 1)
    area = int(mask.sum())
    perimeter = int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
    return 2.0 * area / perimeter if perimeter else 0.0


def _dilate(arr: FloatArray, radius: int) -> FloatArray:
    """Grey dilation with a disc."""
    if radius <= 0:
        return arr
    h, w = arr.shape
    padded = np.pad(arr, radius)
    out = arr.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius + radius:
                window = padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
                np.maximum(out, window, out=out)
    return out


def centre_into(patch: FloatArray, out: npt.NDArray[np.floating[Any]]) -> None:
    """Paste into ``out`` (SIZE x SIZE, zeros) with the centre of mass at (CENTRE, CENTRE),
    whole-pixel shift."""
    h, w = patch.shape
    total = float(patch.sum())
    if total <= 0.0:
        raise no_digit("no ink left after scaling")
    cy = float((patch.sum(axis=1) * _INDEX[:h]).sum()) / total
    cx = float((patch.sum(axis=0) * _INDEX[:w]).sum()) / total
    top = min(max(math.floor(CENTRE - cy + 0.5), 0), SIZE - h)
    left = min(max(math.floor(CENTRE - cx + 0.5), 0), SIZE - w)
    out[top : top + h, left : left + w] = patch
