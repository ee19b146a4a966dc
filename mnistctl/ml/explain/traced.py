"""The model's traced functions the methods share, made once per model (and layer).

Every function takes pictures in picture space, ``(N, H, W, C)`` float32, and reshapes them to
what the model's Input takes inside (a flat ``(N, 784)`` for a dense network), so that the
gradients are per pixel. Each is a ``tf.function`` with an unknown batch size (traced once),
called with ``training=False`` (augmentation, dropout and noise layers as at inference).
Inputs go through in chunks of at most CHUNK pictures (memory stays bounded whatever N).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

CHUNK = 1024  # pictures per call (occlusion's covered copies, integrated gradients' steps)
CAM_KINDS = ("hirescam", "gradcam")
CAM = "hirescam"  # measured: bench/explain.py, docs/explain.md

Array = npt.NDArray[np.float32]


class Traced:
    """``probabilities(x)``, ``gradients(x, onehot)`` (of each picture's chosen class's
    probability with respect to its pixels) and ``cam(x)`` (Grad-CAM at ``layer``).

    ``cam_kind``: ``gradcam`` weighs each channel of the layer's output by its gradient's
    mean over the positions (Selvaraju et al., 2017); ``hirescam`` (the one used) multiplies
    each position by its own gradient before summing the channels (Draelos and Carin, 2020:
    the same map for a network that averages its last maps, a faithful one for a network that
    flattens them, as the lesson's CNNs do). Both: the positive part, at the picture's size."""

    def __init__(
        self,
        model: keras.Model,
        picture: tuple[int, int, int],
        layer: str | None,
        cam_kind: str = CAM,
    ) -> None:
        self.model = model
        self.cam_kind = cam_kind
        self.picture = picture
        self.layer = layer
        self._input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        spec = tf.TensorSpec((None, *picture), tf.float32)
        classes = int(model.outputs[0].shape[-1])
        hot = tf.TensorSpec((None, classes), tf.float32)
        self._forward = tf.function(self._probs, input_signature=[spec], autograph=False)
        self._grad = tf.function(self._class_grad, input_signature=[spec, hot], autograph=False)
        self._cam_fn: Any = None
        if layer is not None:
            self._cam_model = keras.Model(
                model.inputs, [model.get_layer(layer).output, model.outputs[0]]
            )
            self._cam_fn = tf.function(self._cam, input_signature=[spec, hot], autograph=False)

    def _to_input(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(x, (-1, *self._input_shape))

    def _probs(self, x: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.model(self._to_input(x), training=False), tf.float32)

    def _class_grad(self, x: tf.Tensor, onehot: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(self._probs(x) * onehot, axis=1)
        return tape.gradient(score, x)

    def _cam(self, x: tf.Tensor, onehot: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            features, probs = self._cam_model(self._to_input(x), training=False)
            features = tf.cast(features, tf.float32)
            score = tf.reduce_sum(tf.cast(probs, tf.float32) * onehot, axis=1)
        grads = tape.gradient(score, features)
        if self.cam_kind == "gradcam":  # one weight per channel: its mean gradient
            grads = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(grads * features, axis=-1, keepdims=True))
        return _placed(cam, self.picture[:2])[..., 0]

    def probabilities(self, x: Array) -> Array:
        return _chunked(lambda part: self._forward(part), x)

    def gradients(self, x: Array, onehot: Array) -> Array:
        return _chunked(lambda part, hot: self._grad(part, hot), x, onehot)

    def cam(self, x: Array, onehot: Array) -> Array:
        assert self._cam_fn is not None
        return _chunked(lambda part, hot: self._cam_fn(part, hot), x, onehot)


def _placed(cam: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """A feature map (N, h, w, 1) at the picture's (H, W): each cell stretched over the
    whole number of pixels it stands for (H // h: a layer after one 2x2 pooling, 2 pixels)
    and the whole placed in the middle, 0 around it, for the border that valid convolutions
    cropped (measured: Grad-CAM at specs/cnn.yaml's pool_1 ranks pixels better so than
    stretched over the whole picture; docs/explain.md)."""
    (height, width), (h, w) = size, (int(cam.shape[1]), int(cam.shape[2]))
    sh, sw = max(1, height // h), max(1, width // w)
    inner = (min(height, h * sh), min(width, w * sw))
    cam = tf.image.resize(cam, inner, method="bilinear")
    top, left = (height - inner[0]) // 2, (width - inner[1]) // 2
    pads = [[0, 0], [top, height - inner[0] - top], [left, width - inner[1] - left], [0, 0]]
    return tf.pad(cam, pads)


def _chunked(fn: Callable[..., Any], *arrays: Array) -> Array:
    n = len(arrays[0])
    parts = [
        np.asarray(fn(*(tf.constant(a[at : at + CHUNK]) for a in arrays)), dtype=np.float32)
        for at in range(0, n, CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros((0,), np.float32)


def onehot(labels: npt.NDArray[np.int64], classes: int) -> Array:
    return np.eye(classes, dtype=np.float32)[labels]
