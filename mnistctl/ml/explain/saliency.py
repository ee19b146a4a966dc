"""Saliency: where the predicted class's probability is most sensitive to the picture, by a
gradient method.

Four methods are here; ``SALIENCY`` is the one ``explain`` uses, chosen by measurement
(``bench/explain.py``: covering the 10 % of pixels each method ranks highest, against 10 % of
the digit's ink at random; docs/explain.md has the table):

- ``gradient``: |d p / d x|, the largest over channels (Simonyan et al., 2014). On MNIST it
  lights the black background around the strokes, where a pixel turned on would change the
  answer: not what covering a pixel does.
- ``gradient_x_input``: the positive part of (d p / d x) * x summed over channels: how much
  each pixel's ink adds to the probability, to first order (zero where there is no ink).
- ``smoothgrad``: |d p / d x| averaged over SMOOTH_SAMPLES noisy copies (sigma SMOOTH_SIGMA).
- ``integrated_gradients``: the positive part of x * the mean gradient along the straight
  path from a black picture to x (IG_STEPS midpoints; Sundararajan et al., 2017): each
  pixel's share of the probability's change from black, summed over channels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mnistctl.ml.explain.traced import Array, Traced

IG_STEPS = 16
SMOOTH_SAMPLES = 16
SMOOTH_SIGMA = 0.15  # of the pixel range 0..1
SMOOTH_SEED = 0


def gradient(traced: Traced, x: Array, onehot: Array) -> Array:
    result: Array = np.abs(traced.gradients(x, onehot)).max(axis=-1)
    return result


def gradient_x_input(traced: Traced, x: Array, onehot: Array) -> Array:
    result: Array = np.maximum((traced.gradients(x, onehot) * x).sum(axis=-1), 0.0)
    return result


def _path_mean(traced: Traced, copies: Array, onehot: Array, per: int) -> Array:
    """The gradients of ``per`` copies of each picture (``copies``: picture by picture),
    averaged per picture."""
    grads = traced.gradients(copies, np.repeat(onehot, per, axis=0))
    result: Array = grads.reshape(-1, per, *grads.shape[1:]).mean(axis=1)
    return result


def _by_pictures(x: Array, per: int, work: Callable[[slice], Array]) -> Array:
    """``work`` over slices of the pictures small enough that their copies fit one chunk."""
    step = max(1, 2048 // per)
    parts = [work(slice(at, at + step)) for at in range(0, len(x), step)]
    return np.concatenate(parts) if parts else np.zeros((0, *x.shape[1:3]), np.float32)


def smoothgrad(traced: Traced, x: Array, onehot: Array) -> Array:
    rng = np.random.default_rng(SMOOTH_SEED)

    def work(part: slice) -> Array:
        pics = np.repeat(x[part], SMOOTH_SAMPLES, axis=0)
        noisy = (pics + rng.normal(0.0, SMOOTH_SIGMA, pics.shape)).astype(np.float32)
        result: Array = np.abs(_path_mean(traced, noisy, onehot[part], SMOOTH_SAMPLES)).max(-1)
        return result

    return _by_pictures(x, SMOOTH_SAMPLES, work)


def integrated_gradients(traced: Traced, x: Array, onehot: Array) -> Array:
    alphas = ((np.arange(IG_STEPS, dtype=np.float32) + 0.5) / IG_STEPS).reshape(-1, 1, 1, 1)

    def work(part: slice) -> Array:
        pics = x[part]
        path = (pics[:, None] * alphas[None]).reshape(-1, *pics.shape[1:]).astype(np.float32)
        mean = _path_mean(traced, path, onehot[part], IG_STEPS)
        result: Array = np.maximum((mean * pics).sum(axis=-1), 0.0)
        return result

    return _by_pictures(x, IG_STEPS, work)


SaliencyMethod = Callable[[Traced, Array, Array], Array]

SALIENCY_METHODS: dict[str, SaliencyMethod] = {
    "gradient": gradient,
    "gradient_x_input": gradient_x_input,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
}
SALIENCY = "integrated_gradients"  # measured: bench/explain.py, docs/explain.md
