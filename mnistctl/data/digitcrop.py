"""Steps 5 to 7 of preparing a digit (see ``images.py``): keep the digit, fit it, centre it.

Connected pieces of ink decide what is the digit and what are specks; the digit's bounding box
is scaled to fit BOX x BOX (thickening hair lines) and pasted into SIZE x SIZE at its centre of
mass.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitprep import FloatArray, no_digit

__all__ = ["BOX", "box_size", "centre", "crop_to_ink", "fit_box", "keep_digit", "stroke_width"]

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


def box_size(mask: npt.NDArray[np.bool_]) -> int:
    """The longer side of the bounding box of ``mask`` (which has a True pixel)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0])) + 1


def crop_to_ink(ink: FloatArray) -> FloatArray:
    """The bounding box of the ink (which has some)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def keep_digit(ink: FloatArray) -> FloatArray:
    """Zero specks away from the digit; keep the main strokes and pieces close to them.

    Pieces with at least MAIN_PART of the biggest piece's ink are part of the digit. Smaller
    ones are kept when they are near it (within NEAR of its size) and not specks (their ink,
    at the final scale, would fill at least SPECK_MASS of a pixel).
    """
    runs = _Runs.of(ink > 0.0, ink)
    comps = runs.components()
    if not comps:
        raise no_digit("no ink left after removing the background")
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
    mask = ink > 0.0 if len(keep) == len(comps) else runs.mask([c.label for c in keep])
    result: FloatArray = np.where(mask, ink, 0.0)
    return result


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
    """The runs of a mask, row by row (row-major order): where each starts and ends
    (exclusive), its ink, and (after ``components``) the component it belongs to."""

    shape: tuple[int, int]
    rows: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    ends: npt.NDArray[np.intp]
    masses: FloatArray
    labels: npt.NDArray[np.intp] = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.intp)
    )

    @classmethod
    def of(cls, mask: npt.NDArray[np.bool_], weight: FloatArray) -> _Runs:
        h, w = mask.shape
        padded = np.zeros((h, w + 2), dtype=np.int8)
        padded[:, 1:-1] = mask
        edges = np.diff(padded, axis=1)
        cums = np.concatenate([np.zeros((h, 1)), np.cumsum(weight, axis=1)], axis=1)
        rows, starts = np.nonzero(edges == 1)
        ends = np.nonzero(edges == -1)[1]
        return cls((h, w), rows, starts, ends, cums[rows, ends] - cums[rows, starts])

    def components(self) -> list[_Component]:
        """8-connected components, in the order of their first run; each one's ink summed
        run by run in that order."""
        n = len(self.rows)
        if n == 0:
            return []
        roots = _connect(n, *self._touching())
        number: dict[int, int] = {}  # components numbered in the order of their first run
        self.labels = np.array([number.setdefault(r, len(number)) for r in roots], np.intp)
        count = len(number)
        mass = np.bincount(self.labels, weights=self.masses, minlength=count)
        beyond = sum(self.shape)
        top, left = np.full(count, beyond), np.full(count, beyond)
        bottom, right = np.full(count, -1), np.full(count, -1)
        np.minimum.at(top, self.labels, self.rows)
        np.minimum.at(left, self.labels, self.starts)
        np.maximum.at(bottom, self.labels, self.rows)
        np.maximum.at(right, self.labels, self.ends - 1)
        return [
            _Component(i, m, t, lft, b, r)
            for i, (m, t, lft, b, r) in enumerate(
                zip(
                    mass.tolist(),
                    top.tolist(),
                    left.tolist(),
                    bottom.tolist(),
                    right.tolist(),
                    strict=True,
                )
            )
        ]

    def _touching(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Pairs (run, run in the row above) that touch, diagonals included."""
        width = self.shape[1] + 2
        above_starts = self.rows * width + self.starts  # sorted: runs are in row-major order
        above_ends = self.rows * width + self.ends
        base = (self.rows - 1) * width
        lo = np.searchsorted(above_ends, base + self.starts, side="left")
        hi = np.searchsorted(above_starts, base + self.ends, side="right")
        count = np.maximum(hi - lo, 0)
        below = np.repeat(np.arange(len(self.rows)), count)
        offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        return below, np.repeat(lo, count) + offsets

    def mask(self, labels: list[int]) -> npt.NDArray[np.bool_]:
        """The pixels of the runs of the components ``labels``."""
        chosen = np.isin(self.labels, labels)
        h, w = self.shape
        change = np.zeros((h, w + 1), dtype=np.intp)
        np.add.at(change, (self.rows[chosen], self.starts[chosen]), 1)
        np.add.at(change, (self.rows[chosen], self.ends[chosen]), -1)
        mask: npt.NDArray[np.bool_] = np.cumsum(change, axis=1)[:, :w] > 0
        return mask


def _connect(n: int, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]) -> list[int]:
    """Union-find over ``n`` nodes and the edges ``a``-``b``: each node's root."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
    return [find(i) for i in range(n)]


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


def centre(patch: FloatArray) -> FloatArray:
    """Paste into SIZE x SIZE with the centre of mass at (CENTRE, CENTRE), whole-pixel shift."""
    h, w = patch.shape
    total = float(patch.sum())
    if total <= 0.0:
        raise no_digit("no ink left after scaling")
    cy = float((patch.sum(axis=1) * np.arange(h)).sum()) / total
    cx = float((patch.sum(axis=0) * np.arange(w)).sum()) / total
    top = min(max(math.floor(CENTRE - cy + 0.5), 0), SIZE - h)
    left = min(max(math.floor(CENTRE - cx + 0.5), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE))
    out[top : top + h, left : left + w] = patch
    return out
