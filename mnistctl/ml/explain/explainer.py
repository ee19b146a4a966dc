"""``Explainer``: one model's explanations, its traced functions made once and kept."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import numpy.typing as npt

from mnistctl.errors import UserError
from mnistctl.ml.explain.layers import (
    check_softmax,
    choose_layer,
    conv_layers,
    float32_model,
    picture_shape,
)
from mnistctl.ml.explain.occlusion import occlusion
from mnistctl.ml.explain.saliency import SALIENCY, SALIENCY_METHODS
from mnistctl.ml.explain.traced import CAM, Array, Traced, onehot

METHODS = ("gradcam", "saliency", "occlusion")
NO_CONVOLUTION = (
    "the model has no convolutional layer: Grad-CAM needs a convolution's feature maps "
    "(saliency and occlusion do not)"
)


@dataclass(frozen=True)
class Explanation:
    """One picture explained.

    ``probabilities``: (classes,) float64, the model's answer; ``label``: the predicted class
    (the one every map explains); ``maps``: method -> (H, W) float32 at the Input's height and
    width, every value finite and >= 0, larger = more important (Grad-CAM and saliency scaled
    so that the picture's largest is 1, occlusion in probability drops, 0..1, not rescaled),
    or None where the model cannot have that map; ``reasons``: method -> why it is None;
    ``layer``: Grad-CAM's layer (None without one)."""

    probabilities: npt.NDArray[np.float64]
    label: int
    maps: dict[str, npt.NDArray[np.float32] | None]
    reasons: dict[str, str] = field(default_factory=dict)
    layer: str | None = None


class Explainer:
    """Explanations by one model (a Keras model with a softmax output; a mixed-precision one
    is explained through a float32 copy). ``layer``: Grad-CAM's (checked: ``UserError``
    naming the convolutional layers when it is not one), None for the default."""

    def __init__(
        self,
        model: keras.Model,
        *,
        layer: str | None = None,
        saliency: str = SALIENCY,
        cam: str = CAM,
    ) -> None:
        check_softmax(model)
        self.picture = picture_shape(model)
        self.layer = choose_layer(model, layer)
        self.conv_layers = conv_layers(model)
        self.classes = int(model.outputs[0].shape[-1])
        self.saliency = SALIENCY_METHODS[saliency]
        self.traced = Traced(float32_model(model), self.picture, self.layer, cam)

    def pictures(self, x: npt.ArrayLike) -> Array:
        """``x`` as (N, H, W, C) float32 pictures: given so, or as the model's Input takes
        them (a flat (N, 784) too), or one picture without the batch axis."""
        arr = np.asarray(x, dtype=np.float32)
        size = int(np.prod(self.picture))
        if arr.size % size or arr.ndim < 1:
            raise UserError(
                "pictures that are not the model's input",
                expected=f"pictures of {self.picture[0]}x{self.picture[1]}x{self.picture[2]}",
                received=f"an array shaped {arr.shape}",
            )
        return arr.reshape(-1, *self.picture)

    def explain(self, x: npt.ArrayLike, methods: Sequence[str] = METHODS) -> list[Explanation]:
        """Each picture of ``x`` (see ``pictures``), explained by ``methods`` (in METHODS)."""
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise UserError(
                f"unknown explanation method {unknown[0]!r}",
                expected=", ".join(METHODS),
                received=repr(unknown[0]),
            )
        pics = self.pictures(x)
        probs = self.traced.probabilities(pics).astype(np.float64)
        labels = probs.argmax(axis=1) if len(pics) else np.zeros(0, np.int64)
        hot = onehot(labels, self.classes)
        found: dict[str, Array | None] = {}
        reasons: dict[str, str] = {}
        for method in methods:
            if method == "gradcam" and self.layer is None:
                found[method], reasons[method] = None, NO_CONVOLUTION
            elif method == "gradcam":
                found[method] = _scaled(self.traced.cam(pics, hot))
            elif method == "saliency":
                found[method] = _scaled(self.saliency(self.traced, pics, hot))
            else:
                base = probs[np.arange(len(pics)), labels].astype(np.float32)
                found[method] = _finite(occlusion(self.traced, pics, labels, base))
        return [
            Explanation(
                probabilities=probs[i],
                label=int(labels[i]),
                maps={m: None if found[m] is None else found[m][i] for m in methods},  # type: ignore[index]
                reasons=dict(reasons),
                layer=self.layer,
            )
            for i in range(len(pics))
        ]


def _finite(maps: Array) -> Array:
    out: Array = np.maximum(np.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    return out.astype(np.float32)


def _scaled(maps: Array) -> Array:
    """Each map >= 0, divided by its largest value (an all-zero map stays zero)."""
    maps = _finite(maps)
    top = maps.reshape(len(maps), -1).max(axis=1, initial=0.0).reshape(-1, 1, 1)
    out: Array = np.where(top > 0, maps / np.where(top > 0, top, 1.0), 0.0).astype(np.float32)
    return out


_CACHE: weakref.WeakKeyDictionary[keras.Model, dict[str | None, Explainer]] = (
    weakref.WeakKeyDictionary()
)


def explainer_for(model: keras.Model, layer: str | None = None) -> Explainer:
    """The model's ``Explainer`` for ``layer``, made once and kept as long as the model is."""
    per_model = _CACHE.setdefault(model, {})
    if layer not in per_model:
        per_model[layer] = Explainer(model, layer=layer)
    return per_model[layer]


def explain(
    model: keras.Model,
    x: npt.ArrayLike,
    *,
    methods: Sequence[str] = METHODS,
    layer: str | None = None,
) -> list[Explanation]:
    """Each picture of ``x`` explained by ``model`` (``Explainer.explain``), through the
    model's cached ``Explainer``."""
    return explainer_for(model, layer).explain(x, methods)
