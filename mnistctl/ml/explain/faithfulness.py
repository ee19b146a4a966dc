"""Whether a map means anything: covering what it ranks highest must lower the predicted
class's probability more than covering pixels at random (``bench/explain.py`` and the tests).

For each picture the ``fraction`` (10 %) of its pixels a map ranks highest are covered (set
to 0, the background), and the drop of the predicted class's probability is compared with
the mean drop over ``draws`` random covers of three kinds:

- ``ink``: ``fraction`` of the digit's own ink pixels (those above 0), as issue 25 states the
  goal for saliency and occlusion (fewer pixels than the map's cover when the ink covers less
  than the whole picture);
- ``ink_same``: as many ink pixels as the map's cover (all of the ink when there is less):
  the stricter test, the same number of pixels, all on the digit;
- ``pixels``: ``fraction`` of all pixels, anywhere: Grad-CAM's goal (it localises, at the
  resolution of its layer, rather than ranking single pixels).

A picture counts for the map (a *win*) when the map's cover lowers the probability more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
BASELINES = ("ink", "ink_same", "pixels")


@dataclass(frozen=True)
class Faithfulness:
    pictures: int
    map_drop: float  # mean drop of the predicted class's probability, map's cover
    random_drop: dict[str, float]  # the same for each random cover (BASELINES)
    wins: dict[str, int]  # pictures where the map's cover lowered it more

    def win_rate(self, baseline: str) -> float:
        return self.wins[baseline] / self.pictures if self.pictures else float("nan")


def cover_top(pictures: Array, maps: Array, fraction: float) -> Array:
    """Each picture with its map's highest ``fraction`` of pixels set to 0 (ties: the first
    in row order)."""
    n, h, w = maps.shape
    k = max(1, round(fraction * h * w))
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")[:, :k]
    keep = np.ones((n, h * w), np.float32)
    np.put_along_axis(keep, order, 0.0, axis=1)
    return pictures * keep.reshape(n, h, w, 1)


def cover_random(
    pictures: Array, baseline: str, fraction: float, rng: np.random.Generator
) -> Array:
    """Each picture with random pixels set to 0, as ``baseline`` says."""
    n, h, w = pictures.shape[:3]
    keep = np.ones((n, h * w), np.float32)
    ink = pictures.reshape(n, h * w, -1).sum(axis=-1) > 0
    for i in range(n):
        pool = np.flatnonzero(ink[i]) if baseline != "pixels" else np.arange(h * w)
        if baseline == "ink":
            count = round(fraction * len(pool))
        else:
            count = min(len(pool), max(1, round(fraction * h * w)))
        keep[i, rng.choice(pool, size=count, replace=False)] = 0.0
    return pictures * keep.reshape(n, h, w, 1)


def measure(
    probabilities: Callable[[Array], Array],
    pictures: Array,
    labels: npt.NDArray[np.int64],
    maps: Array,
    *,
    fraction: float = 0.1,
    draws: int = 5,
    seed: int = 0,
) -> Faithfulness:
    """``probabilities``: pictures (N, H, W, C) -> (N, classes); ``labels``: the predicted
    classes the ``maps`` (N, H, W) explain."""
    rows = np.arange(len(pictures))

    def chosen(x: Array) -> npt.NDArray[np.float64]:
        return np.asarray(probabilities(x), np.float64)[rows, labels]

    base = chosen(pictures)
    map_drop = base - chosen(cover_top(pictures, maps, fraction))
    rng = np.random.default_rng(seed)
    random_drop: dict[str, float] = {}
    wins: dict[str, int] = {}
    for baseline in BASELINES:
        drops = np.mean(
            [base - chosen(cover_random(pictures, baseline, fraction, rng)) for _ in range(draws)],
            axis=0,
        )
        random_drop[baseline] = float(drops.mean())
        wins[baseline] = int((map_drop > drops).sum())
    return Faithfulness(len(pictures), float(map_drop.mean()), random_drop, wins)
