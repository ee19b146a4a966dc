"""Which layers of a Keras model Grad-CAM may look at, the picture a model takes, its output.

- A *convolutional layer* here is a layer whose output is still a spatial feature map
  (rank 4: batch, height, width, channels) and that a convolution (Conv2D, SeparableConv2D,
  DepthwiseConv2D) computes or feeds, itself or through the layers before it: the
  convolutions themselves, their activations, poolings, normalisations, merges (``Add``,
  ``Concatenate``) of convolved maps. The Input, and layers before the first convolution
  (augmentation, padding), are not: they hold the picture, not features.
- The default layer is the last of them (in the model's order, which is topological) that
  every path from the Input to the output passes through, so that in a graph with branches
  the map is of the whole network's features, not of one branch; when none is (branches that
  join after flattening), the last one.
- The output must be a softmax over the classes: what explain explains is the predicted
  class's probability. Any other output is refused (``check_softmax``).
"""

from __future__ import annotations

import math

import keras

from mnistctl.errors import UserError

CONVOLUTIONS = frozenset({"Conv2D", "SeparableConv2D", "DepthwiseConv2D"})


def parents(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers whose outputs ``layer`` takes (in a functional model)."""
    found: list[keras.layers.Layer] = []
    for node in getattr(layer, "_inbound_nodes", []):
        for parent in node.parent_nodes:
            if parent.operation not in found:
                found.append(parent.operation)
    return found


def _rank(layer: keras.layers.Layer) -> int:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):  # a layer used several times has no single output
        return 0


def conv_layers(model: keras.Model) -> tuple[str, ...]:
    """The names of the model's convolutional layers (see the module's docstring), in order."""
    convolved: set[str] = set()
    names: list[str] = []
    for layer in model.layers:
        fed = type(layer).__name__ in CONVOLUTIONS or any(
            p.name in convolved for p in parents(layer)
        )
        if fed and _rank(layer) == 4:
            convolved.add(layer.name)
            names.append(layer.name)
    return tuple(names)


def _reaches_output(model: keras.Model, without: str) -> bool:
    """Whether the output is reachable from the Input when layer ``without`` is left out."""
    children: dict[str, list[str]] = {}
    for layer in model.layers:
        for parent in parents(layer):
            children.setdefault(parent.name, []).append(layer.name)
    start = [layer.name for layer in model.layers if not parents(layer)]
    output = model.layers[-1].name if not model.outputs else _output_layer(model).name
    seen, todo = set(start), list(start)
    while todo:
        name = todo.pop()
        for child in children.get(name, []):
            if child != without and child not in seen:
                seen.add(child)
                todo.append(child)
    return output in seen


def default_layer(model: keras.Model) -> str | None:
    """The layer Grad-CAM looks at by default, or None when the model has no convolution."""
    names = conv_layers(model)
    for name in reversed(names):
        if not _reaches_output(model, name):
            return name
    return names[-1] if names else None


def choose_layer(model: keras.Model, layer: str | None) -> str | None:
    """``layer`` checked to be a convolutional layer (else one ``UserError`` naming those
    that are), or the default; None when the model has none (and none was asked for)."""
    names = conv_layers(model)
    if layer is None:
        return default_layer(model)
    if layer in names:
        return layer
    known = {item.name for item in model.layers}
    what = "no layer of the model" if layer not in known else "not a convolutional layer"
    raise UserError(
        f"--layer {layer!r}: {what} (Grad-CAM needs a layer whose output is a convolution's "
        "feature map)",
        expected=("one of " + ", ".join(names)) if names else "no --layer: none is convolutional",
        received=repr(layer),
        hint=None if names else "saliency and occlusion explain a model without convolutions",
    )


def _output_layer(model: keras.Model) -> keras.layers.Layer:
    history = getattr(model.outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None)
    return layer if isinstance(layer, keras.layers.Layer) else model.layers[-1]


def check_softmax(model: keras.Model) -> None:
    """Refuse (``UserError``) a model whose output is not a softmax over two or more classes:
    explain explains the predicted class's probability, and only a softmax gives one."""
    layer = _output_layer(model)
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    shape = tuple(model.outputs[0].shape)
    if name == "softmax" and len(shape) == 2 and (shape[1] or 0) >= 2:
        return
    received = f"layer {layer.name!r} ({type(layer).__name__}) with activation {name or 'none'}"
    if len(shape) != 2:
        received += f", output shape {shape}"
    raise UserError(
        "explain needs the model's output to be a softmax over the classes (it explains the "
        "predicted class's probability)",
        expected="activation: softmax on the output layer",
        received=received,
        hint="train a spec whose last layer has 'activation: softmax', one unit per class",
    )


def picture_shape(model: keras.Model) -> tuple[int, int, int]:
    """The picture (height, width, channels) the model's input holds: its own shape for
    (H, W, C) and (H, W) inputs, a square grey picture for a flat one ((784,): 28x28x1)."""
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) == 3 and all(isinstance(d, int) for d in shape):
        return (int(shape[0]), int(shape[1]), int(shape[2]))
    if len(shape) == 2 and all(isinstance(d, int) for d in shape):
        return (int(shape[0]), int(shape[1]), 1)
    if len(shape) == 1 and isinstance(shape[0], int) and math.isqrt(shape[0]) ** 2 == shape[0]:
        side = math.isqrt(shape[0])
        return (side, side, 1)
    raise UserError(
        "explain needs a model that takes pictures",
        expected="an Input shaped (H, W, C), (H, W) or (side * side,)",
        received=f"an Input shaped {shape}",
    )


def is_mixed(model: keras.Model) -> bool:
    return any(_policy(layer).startswith("mixed") for layer in model.layers)


def _policy(layer: keras.layers.Layer) -> str:
    return str(getattr(getattr(layer, "dtype_policy", None), "name", "float32"))


def float32_model(model: keras.Model) -> keras.Model:
    """``model`` itself when it computes in float32; else (a run trained in
    ``mixed_bfloat16`` or ``mixed_float16``) the same graph cloned in float32 with its weights
    (kept in float32 by mixed precision: nothing is lost), so that gradients are not rounded
    to 8 bits of mantissa."""
    if not is_mixed(model):
        return model

    def as_float32(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        config["dtype"] = "float32"
        return type(layer).from_config(config)

    clone = keras.models.clone_model(model, clone_function=as_float32)
    clone.set_weights(model.get_weights())
    return clone
