"""What a model computes inside: the outputs of its named layers, for the pictures given.

One Keras model over the trained one whose outputs are the named layers' (``activation_model``):
``plot``'s feature maps and its projection of the last hidden layer, and the served page's
tiles, all read the network through it. Which layers those are comes from the spec (plain
data): its convolutions (``conv_layers``) and what each of them outputs after its activation
(``conv_outputs``), the last hidden layer (``last_hidden``), the layers worth showing on the
page (``shown_layers``), and the first convolution's filters as a ``(height, width, input
channels, filters)`` array (``first_conv_filters``).

Specs write an activation either inside a layer (``Conv2D ... activation: relu``) or as the
next layer (``Conv2D``, then ``Activation: relu``, as ``specs/cnn.yaml``): both read the same
here, the activation's output being what the layer passes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import keras

    from mnistctl.spec import Spec

Floats = npt.NDArray[np.float32]

CONV_TYPES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
# Layers that, in a trained model's prediction, pass their input on unchanged or only reordered:
# nothing new to show on the page.
PASS_THROUGH = ("Input", "Dropout", "SpatialDropout2D", "GaussianNoise", "Flatten", "Reshape",
                "RandomRotation", "RandomTranslation", "RandomZoom")  # fmt: skip


def conv_layers(spec: Spec) -> list[str]:
    """The names of the spec's convolutions, in the spec's order."""
    return [layer.name for layer in spec.layers if layer.type in CONV_TYPES]


def _activated(spec: Spec, name: str) -> str:
    """``name``, or the Activation layer that alone reads it (its output is what ``name``
    passes on), following a chain of them."""
    while True:
        readers = [layer for layer in spec.layers if name in layer.inputs]
        if len(readers) != 1 or readers[0].type != "Activation":
            return name
        name = readers[0].name


def conv_outputs(spec: Spec) -> list[tuple[str, str]]:
    """Each convolution's (label, layer whose output to show): its own output, or that of
    the Activation layer right after it (labelled ``Conv1 → relu_1``)."""
    shown = []
    for name in conv_layers(spec):
        after = _activated(spec, name)
        shown.append((name if after == name else f"{name} → {after}", after))
    return shown


def last_hidden(spec: Spec) -> str:
    """The last hidden layer, after its activation: what the output layer reads. The output
    layer is the one that makes the classes (a Dense), found from the model's output back
    through Activation layers and layers that pass their input on (a softmax written as its
    own layer, a Dropout)."""
    by_name = {layer.name: layer for layer in spec.layers}
    layer = by_name[spec.outputs[0]]
    while layer.inputs and (layer.type == "Activation" or layer.type in PASS_THROUGH):
        layer = by_name[layer.inputs[0]]
    return layer.inputs[0] if layer.inputs else layer.name


def shown_layers(spec: Spec) -> list[tuple[str, str]]:
    """What the page shows, in order: each layer whose output is new (not the Input, not a
    layer that passes its input on), as (label, layer) like ``conv_outputs``: a layer with
    an Activation layer after it is shown once, after the activation."""
    shown: list[tuple[str, str]] = []
    taken: set[str] = set()
    for layer in spec.layers:
        if layer.type in PASS_THROUGH or layer.name in taken:
            continue
        after = _activated(spec, layer.name)
        chain = after
        while chain != layer.name:  # the Activation layers shown with this one
            taken.add(chain)
            chain = next(s.inputs[0] for s in spec.layers if s.name == chain)
        shown.append((layer.name if after == layer.name else f"{layer.name} → {after}", after))
    return shown


def strongest(maps: npt.NDArray[Any], most: int) -> list[int]:
    """The channels of one picture's ``(height, width, channels)`` maps worth showing: all of
    them, or the ``most`` with the largest mean activation, in channel order."""
    channels = maps.shape[-1]
    if channels <= most:
        return list(range(channels))
    strength = np.nan_to_num(np.asarray(maps, np.float64).reshape(-1, channels).mean(axis=0))
    return sorted(int(c) for c in np.argsort(-strength, kind="stable")[:most])


def model_inputs(images: npt.NDArray[Any], input_shape: Sequence[int]) -> Floats:
    """Stored pictures (uint8, 0..255) as the model reads them: float32 in 0..1, shaped to
    the Input (what training's pipeline does per batch)."""
    x = np.asarray(images, dtype=np.float32) * np.float32(1.0 / 255.0)
    return x.reshape((len(x), *input_shape))


def activation_model(model: keras.Model, names: Sequence[str]) -> keras.Model:
    """A model over ``model``'s input whose outputs are the named layers' outputs, in order
    (the same weights: nothing is copied)."""
    import keras

    outputs = [model.get_layer(name).output for name in names]
    single = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs=single, outputs=outputs, name=f"{model.name}_inside")


def activations(
    model: keras.Model, names: Sequence[str], x: Floats, *, batch_size: int = 256
) -> dict[str, Floats]:
    """The named layers' outputs for the prepared inputs ``x`` (float32, whatever precision
    the model computes in), one array per layer with the batch axis first."""
    if not names:
        return {}
    inside = activation_model(model, names)
    parts: list[list[Floats]] = [[] for _ in names]
    for start in range(0, len(x), batch_size):
        got = inside(x[start : start + batch_size], training=False)
        got = got if isinstance(got, list | tuple) else [got]
        for k, tensor in enumerate(got):
            parts[k].append(np.asarray(tensor, dtype=np.float32))
    return {name: np.concatenate(parts[k]) for k, name in enumerate(names)}


@dataclass(frozen=True)
class Filters:
    """The first convolution's kernels, one ``(height, width, channels)`` stack per filter."""

    layer: str
    type: str
    kernels: Floats  # (height, width, input channels, filters)


def first_conv_filters(model: keras.Model, spec: Spec) -> Filters | None:
    """The first convolution's filters (None without one). A depthwise (or separable) one has
    one single-channel filter per input channel and multiplier: shown as such."""
    names = conv_layers(spec)
    if not names:
        return None
    layer = model.get_layer(names[0])
    kind = next(s.type for s in spec.layers if s.name == names[0])
    kernel = np.asarray(layer.weights[0].numpy(), dtype=np.float32)  # the kernel comes first
    if kind != "Conv2D":  # (h, w, channels, multiplier): each channel's own filters
        kh, kw = kernel.shape[:2]
        kernel = kernel.reshape(kh, kw, 1, -1)
    return Filters(names[0], kind, kernel)
