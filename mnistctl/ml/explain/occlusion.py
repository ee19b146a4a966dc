"""Occlusion: how much the predicted class's probability drops when a patch of the picture is
covered (set to 0, MNIST's black background), patch by patch (Zeiler and Fergus, 2014).

The patches are squares of about a seventh of the picture's side (4 pixels for 28x28), placed
every half patch (2 pixels) and always up to the last row and column: 169 covered copies of a
28x28 picture, all through the model in one call (with those of the other pictures, CHUNK at
a time). A pixel's value is the mean drop over the patches that cover it, clipped at 0 (a
cover that raises the probability is no evidence for the class): a probability, 0..1, not
rescaled.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from mnistctl.ml.explain.traced import CHUNK, Array, Traced


def patch_size(height: int, width: int) -> tuple[int, int]:
    """(patch side, stride) for a picture of ``height`` x ``width``."""
    side = max(1, round(min(height, width) / 7))
    return side, max(1, side // 2)


def _starts(length: int, side: int, stride: int) -> list[int]:
    last = max(0, length - side)
    starts = list(range(0, last + 1, stride))
    return starts if starts[-1] == last else [*starts, last]


@functools.lru_cache(maxsize=8)
def masks(height: int, width: int) -> npt.NDArray[np.float32]:
    """(P, H, W): 1 where each patch covers the picture."""
    side, stride = patch_size(height, width)
    out = [
        np.pad(np.ones((min(side, height), min(side, width)), np.float32),
               ((top, max(0, height - top - side)), (left, max(0, width - left - side))))
        for top in _starts(height, side, stride)
        for left in _starts(width, side, stride)
    ]  # fmt: skip
    return np.stack(out)


def occlusion(traced: Traced, x: Array, labels: npt.NDArray[np.int64], base: Array) -> Array:
    """(N, H, W) maps for pictures ``x`` (N, H, W, C), explaining class ``labels`` whose
    probabilities without a cover are ``base`` (N,)."""
    height, width = x.shape[1:3]
    cover = masks(height, width)
    keep = (1.0 - cover)[..., None]  # (P, H, W, 1)
    counts = cover.sum(axis=0)
    per = max(1, CHUNK // len(cover))  # pictures per model call
    maps: list[Array] = []
    for at in range(0, len(x), per):
        pics = x[at : at + per]
        copies = (pics[:, None] * keep[None]).reshape(-1, *x.shape[1:]).astype(np.float32)
        probs = traced.probabilities(copies).reshape(len(pics), len(cover), -1)
        chosen = probs[np.arange(len(pics)), :, labels[at : at + per]]  # (n, P)
        drops = np.maximum(base[at : at + per, None] - chosen, 0.0)
        maps.append(np.tensordot(drops, cover, axes=1) / np.maximum(counts, 1.0))
    if not maps:
        return np.zeros((0, height, width), np.float32)
    return np.concatenate(maps).astype(np.float32)
