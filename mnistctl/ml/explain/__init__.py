"""Where a network looked: Grad-CAM, saliency and occlusion maps of a Keras model's answer.

The public surface (stable; ``mnistctl explain``, the served page and ``Run.explain`` use it):

- ``explain(model, x, *, methods=METHODS, layer=None) -> list[Explanation]``: each picture of
  ``x`` explained. ``x``: float32 pictures 0..1 as the model takes them ((N, H, W, C), or
  (N, 784) for a flat Input; one picture without the batch axis too). The model is a Keras
  model whose output is a softmax over the classes (else a ``UserError``); a mixed-precision
  model is explained through a float32 copy. Its ``Explainer`` is made on the first call and
  kept with the model (``explainer_for``): later calls reuse its traced functions.
- ``Explanation``: ``probabilities`` (classes,) float64; ``label`` (the predicted class, the
  one the maps explain); ``maps``: ``{"gradcam", "saliency", "occlusion"}`` (those asked) ->
  (H, W) float32 at the Input's height and width, finite, >= 0, larger = more important;
  Grad-CAM and saliency scaled to a largest value of 1 per picture, occlusion in probability
  drops (0..1, not rescaled); None where the model cannot have the map (Grad-CAM without a
  convolution), with ``reasons[method]`` saying why; ``layer``: Grad-CAM's layer or None.
- ``Explainer(model, *, layer=None)``: ``.explain(x, methods)``, ``.layer``,
  ``.conv_layers`` (the layers ``layer`` may name), ``.picture`` (H, W, C), ``.pictures(x)``.
- ``conv_layers(model)``, ``default_layer(model)``, ``check_softmax(model)``,
  ``picture_shape(model)``, ``float32_model(model)``: the checks, for callers that show them.
- ``METHODS``; ``SALIENCY`` (the saliency method used, chosen by measurement).

Grad-CAM is taken at a convolutional layer's output (default: the last one whose output is
still a spatial map and that every path to the output passes through; ``layers.py``), in its
HiResCAM form (``traced.py``: each position weighed by its own gradient; chosen by
measurement, ``CAM``), saliency in ``saliency.py``, occlusion in ``occlusion.py``; whether the
maps mean anything is measured in ``faithfulness.py``.
"""

from __future__ import annotations

from mnistctl.ml.explain.explainer import (
    METHODS,
    NO_CONVOLUTION,
    Explainer,
    Explanation,
    explain,
    explainer_for,
)
from mnistctl.ml.explain.layers import (
    check_softmax,
    conv_layers,
    default_layer,
    float32_model,
    picture_shape,
)
from mnistctl.ml.explain.saliency import SALIENCY

__all__ = [
    "METHODS",
    "NO_CONVOLUTION",
    "SALIENCY",
    "Explainer",
    "Explanation",
    "check_softmax",
    "conv_layers",
    "default_layer",
    "explain",
    "explainer_for",
    "float32_model",
    "picture_shape",
]
