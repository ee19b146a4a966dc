"""numpy's statistics of each row of a 2-D array, exactly, without numpy's argument handling.

The digit preparation (``digitink.py``) works on many pictures of one size at once, one picture
per row. ``np.percentile``, ``np.median`` and ``np.histogram`` spend more in handling their
arguments than in the work on one small picture; these give exactly their results (the
"linear" method, the same floating-point steps) on finite arrays, which is what the steps pass.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "BoolArray",
    "FloatArray",
    "median",
    "median_rows",
    "noise",
    "otsu",
    "percentile",
    "percentile_rows",
    "percentiles_where",
    "sorted_percentiles",
    "zero_median",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_BINS = 256  # of the histogram Otsu's threshold is found in
_SORT_ROWS_MAX = 4096  # pixels up to which a percentile of chosen pixels sorts whole rows
_FEW_ROWS = 4  # ... when there are more rows than this


def median(arr: FloatArray) -> float:
    """``float(np.median(arr))``, exactly (``arr`` finite)."""
    flat = arr.ravel()
    n = flat.size
    half = n // 2
    if n % 2:
        return float(np.partition(flat, half)[half])
    part = np.partition(flat, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2)


def median_rows(rows: FloatArray) -> FloatArray:
    """``np.median(rows, axis=1)``, exactly (``rows`` finite, 2-D, not empty)."""
    n = rows.shape[1]
    half = n // 2
    if n % 2:
        odd: FloatArray = np.partition(rows, half, axis=1)[:, half]
        return odd
    part = np.partition(rows, (half - 1, half), axis=1)
    even: FloatArray = (part[:, half - 1] + part[:, half]) / 2
    return even


def percentile(arr: FloatArray, q: float) -> float:
    """``float(np.percentile(arr, q))``, exactly (``arr`` finite)."""
    return float(percentile_rows(arr.reshape(1, -1), q)[0])


def percentile_rows(rows: FloatArray, q: float) -> FloatArray:
    """``np.percentile(rows, q, axis=1)``, exactly (``rows`` finite, 2-D, not empty)."""
    n = rows.shape[1]
    at = (n - 1) * (q / 100)
    if at >= n - 1:  # one value, or q = 100: rare, left to numpy
        last: FloatArray = np.percentile(rows, q, axis=1)
        return last
    lo = math.floor(at)
    return sorted_percentiles(np.partition(rows, (lo, lo + 1), axis=1), q)


def sorted_percentiles(rows: FloatArray, q: float) -> FloatArray:
    """``np.percentile(rows, q, axis=-1)``, exactly, for ``rows`` sorted (or partitioned at
    the two values the percentile lies between) along the last axis: numpy's own
    interpolation."""
    n = rows.shape[-1]
    at = (n - 1) * (q / 100)
    if at >= n - 1:
        last: FloatArray = np.percentile(rows, q, axis=-1)
        return last
    lo = math.floor(at)
    gamma = at - lo
    a, b = rows[..., lo], rows[..., lo + 1]
    diff = b - a
    result: FloatArray = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return result


def percentiles_where(rows: FloatArray, where: BoolArray, q: float) -> FloatArray:
    """``percentile(row[chosen], q)`` of each row and its chosen values (``where``), exactly
    (NaN for a row without any): the chosen values sorted to the end of each row, where each
    row's percentile is read at its own place, with numpy's interpolation."""
    n = rows.shape[1]
    chosen = where.sum(axis=1)
    result = np.full(len(rows), np.nan)
    many = chosen > 1
    if n > _SORT_ROWS_MAX or len(rows) <= _FEW_ROWS:
        # Sorting whole rows costs more than picking out each one's values (large pictures),
        # or than numpy's calls for each of a few rows.
        for i in np.flatnonzero(chosen).tolist():
            result[i] = percentile(rows[i][where[i]], q)
        return result
    if many.any():
        ordered = np.where(where[many], rows[many], -np.inf)
        ordered.sort(axis=1)
        at = (chosen[many] - 1) * (q / 100)
        lo = np.floor(at)
        gamma = at - lo
        first = n - chosen[many] + lo.astype(np.intp)  # where each row's chosen values start
        picked = np.arange(len(ordered))
        a, b = ordered[picked, first], ordered[picked, first + 1]
        diff = b - a
        result[many] = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    for i in np.flatnonzero(chosen == 1).tolist():  # one value: numpy's own answer
        result[i] = percentile(rows[i][where[i]], q)
    return result


def noise(rows: FloatArray, med: FloatArray | None = None) -> FloatArray:
    """Robust standard deviation of each row's (mostly background) pixels (``med``: their
    medians, when already known)."""
    if med is None:
        sigma = np.zeros(len(rows))
        busy = ~zero_median(rows)  # the others: median 0, and that of deviations from it
        if busy.any():
            sigma[busy] = noise(rows[busy], median_rows(rows[busy]))
        return sigma
    deviations: FloatArray = 1.4826 * median_rows(np.abs(rows - med[:, np.newaxis]))
    return deviations


def zero_median(rows: FloatArray, *, nonnegative: bool = False) -> BoolArray:
    """Which rows are more than half 0 and nowhere below (``nonnegative``: known): their
    median is 0.0 (as ``median_rows`` says), found by counting instead of sorting. Pictures
    of a digit on a clean background are mostly 0 once the background is taken away."""
    mostly: BoolArray = (rows == 0.0).sum(axis=1) > rows.shape[1] // 2
    if not nonnegative and mostly.any():
        mostly &= rows.min(axis=1) >= 0.0
    return mostly


def otsu(rows: FloatArray) -> FloatArray:
    """Otsu's threshold between background and ink, of each row (rows of values >= 0; 0.0 for
    one without any above 0)."""
    hi = rows.max(axis=1)
    thresholds = np.zeros(len(rows))
    inked = hi > 0.0
    if not inked.all():
        if not inked.any():
            return thresholds
        rows, hi = rows[inked], hi[inked]
    hist, edges = histograms(rows, _BINS, hi)
    centres = (edges[:, :-1] + edges[:, 1:]) / 2
    w0 = hist.cumsum(axis=1)
    w1 = w0[:, -1:] - w0
    s0 = (hist * centres).cumsum(axis=1)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[:, -1:] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    best = between[:, :-1].argmax(axis=1)
    thresholds[inked] = centres[np.arange(len(best)), best]
    return thresholds


def histograms(
    rows: FloatArray, bins: int, hi: FloatArray
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """``np.histogram(row, bins, range=(0.0, top))`` of each row and its ``top`` in ``hi``
    (values in [0, top], top > 0), exactly: numpy's own steps for equal bins, without its
    argument handling. Zeros (most of an ink image) are counted into the first bin, where
    those steps put them, without the steps."""
    edges = np.arange(bins + 1, dtype=np.float64) * (hi / bins)[:, np.newaxis]
    edges[:, -1] = hi  # np.linspace's own steps
    flat = rows.ravel()
    at = (flat > 0.0).nonzero()[0]
    row = at // rows.shape[1]
    values = flat[at]
    # numpy's steps: the bin by arithmetic (the last one closed), then one down or up where
    # that is a rounding error off the edges (as masks added, not masked assignments)
    index = np.minimum((values / hi[row] * bins).astype(np.intp), bins - 1)
    first = row * (bins + 1)  # each value's row of edges
    edge = edges.ravel()
    index -= values < edge[first + index]
    index += (values >= edge[first + index + 1]) & (index != bins - 1)
    hist = np.bincount(row * bins + index, minlength=len(rows) * bins).reshape(len(rows), bins)
    hist[:, 0] += rows.shape[1] - np.bincount(row, minlength=len(rows))
    return hist, edges
