"""Graph and shape checks of a resolved spec, in pure Python.

Walks the layers in order: names, edges, then each layer's output shape and parameter counts by
the rules in ``layers.py``; then whether the model fits the data (28x28 images, 10 classes) and
the loss. Every problem is returned, each pointing at the layer or argument at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.layers import LAYER_TYPES, Shape, ShapeError

if TYPE_CHECKING:
    from mnistctl.spec import LayerSpec, Spec

NUM_CLASSES = 10
INPUT_SHAPES: tuple[Shape, ...] = ((784,), (28, 28), (28, 28, 1))
MAX_PARAMS = 100_000_000

Where = Callable[..., Location]


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: Shape
    trainable: int
    non_trainable: int
    macs: int = 0  # multiply-adds per sample

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def keras_shape(self) -> list[int | None]:
        return [None, *self.output_shape]


@dataclass(frozen=True)
class ModelInfo:
    layers: list[LayerInfo]
    outputs: list[str]

    @property
    def trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def non_trainable(self) -> int:
        return sum(layer.non_trainable for layer in self.layers)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def macs(self) -> int:
        """Multiply-adds of one sample's forward pass (matrix work only)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def branches(self) -> bool:
        """True when the graph is not a simple chain (the summary then shows connections)."""
        previous = None
        for layer in self.layers:
            if previous is not None and layer.inputs != (previous,):
                return True
            previous = layer.name
        return False

    def to_json(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "layers": [
                {
                    "name": layer.name,
                    "type": layer.type,
                    "output_shape": layer.keras_shape(),
                    "params": layer.params,
                    "trainable_params": layer.trainable,
                    "non_trainable_params": layer.non_trainable,
                    "inputs": list(layer.inputs),
                }
                for layer in self.layers
            ],
            "outputs": self.outputs,
            "total_params": self.total,
            "trainable_params": self.trainable,
            "non_trainable_params": self.non_trainable,
        }


def _layer_path(layer: LayerSpec, *rest: PathPart) -> tuple[PathPart, ...]:
    return ("model", "layers", layer.index, *rest)


def analyze(spec: Spec, where: Where) -> tuple[ModelInfo | None, list[UserError]]:
    errors: list[UserError] = []

    def err(path: tuple[PathPart, ...], message: str, *, key: bool = False, **kw: Any) -> None:
        errors.append(UserError(message, where(path, key=key), **kw))

    # names and edges
    position: dict[str, int] = {}
    for layer in spec.layers:
        if layer.name in position:
            first = spec.layers[position[layer.name]]
            err(
                _layer_path(layer, "name"),
                f"duplicate layer name {layer.name!r}",
                expected="unique layer names",
                received=f"{layer.name!r} again (first: layer {first.index + 1})",
            )
        else:
            position[layer.name] = layer.index
    first = spec.layers[0]
    if first.type != "Input":
        err(
            _layer_path(first),
            "the first layer must be an Input",
            expected="{type: Input, shape: [28, 28, 1]} (or [784], [28, 28])",
            received=first.type,
        )
    for layer in spec.layers[1:]:
        if layer.type == "Input":
            err(
                _layer_path(layer, "type"),
                "only one Input is allowed, and it comes first",
                expected="one Input: an MNIST model has one image input",
                received=f"another Input at layer {layer.index + 1}",
            )
    valid_edges = True
    for layer in spec.layers:
        kind = LAYER_TYPES[layer.type]
        for i, source in enumerate(layer.inputs):
            at = _layer_path(layer, "inputs", i) if layer.explicit_inputs else _layer_path(layer)
            if source not in position:
                valid_edges = False
                near = _near(source, position)
                err(
                    at,
                    f"inputs names an unknown layer {source!r}",
                    expected="the name of an earlier layer",
                    received=repr(source),
                    hint=near,
                )
            elif position[source] >= layer.index:
                valid_edges = False
                err(
                    at,
                    f"inputs may only name earlier layers: {source!r} is "
                    + ("this layer" if source == layer.name else "defined later")
                    + " (no cycles)",
                    expected="a layer above this one",
                    received=repr(source),
                )
        n = len(layer.inputs)
        if layer.type != "Input" and n < kind.min_inputs:
            valid_edges = False
            if layer.index == 0:
                continue  # reported above: the first layer must be an Input
            err(
                _layer_path(layer),
                f"{layer.type} needs at least {kind.min_inputs} inputs",
                expected=f"inputs: [a, b] naming {kind.min_inputs} or more layers",
                received=f"{n} input" + ("s" if n != 1 else ""),
                hint="name the layers to join with 'inputs:'",
            )
    for i, out in enumerate(spec.outputs):
        if out not in position:
            valid_edges = False
            err(
                ("model", "outputs", i),
                f"outputs names an unknown layer {out!r}",
                expected="the name of a layer",
                received=repr(out),
                hint=_near(out, position),
            )
    if errors and not valid_edges:
        return None, errors

    # shapes, in order
    shapes: dict[str, Shape] = {}
    infos: list[LayerInfo] = []
    for layer in spec.layers:
        if any(source not in shapes for source in layer.inputs):
            continue  # an earlier layer failed: don't pile up errors downstream
        kind = LAYER_TYPES[layer.type]
        args = kind.with_defaults(layer.args)
        ins = [shapes[s] for s in layer.inputs]
        try:
            shape = kind.output_shape(ins, args)
            trainable, fixed = kind.params(ins, args)
        except ShapeError as exc:
            at = (
                _layer_path(layer, exc.arg)
                if exc.arg
                and (exc.arg in layer.args or (exc.arg == "inputs" and layer.explicit_inputs))
                else _layer_path(layer)
            )
            err(
                at,
                f"layer {layer.name!r} ({layer.type}): {exc.message}",
                expected=exc.expected,
                received=exc.received,
            )
            continue
        shapes[layer.name] = shape
        macs = kind.macs(ins, args, shape)
        infos.append(LayerInfo(layer.name, layer.type, layer.inputs, shape, trainable, fixed, macs))
    if errors:
        return None, errors
    info = ModelInfo(infos, list(spec.outputs))
    _check_connected(spec, err)
    _check_fit(spec, info, err)
    if info.total > MAX_PARAMS:
        err(
            ("model",),
            "the model is too large to train here",
            expected=f"at most {MAX_PARAMS:,} parameters",
            received=f"{info.total:,}",
            hint="fewer units or filters, or pool before Flatten",
        )
    return (None if errors else info), errors


def _near(name: str, names: dict[str, int]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else None


def _check_connected(spec: Spec, err: Callable[..., None]) -> None:
    """Keras silently drops layers that do not lead to the output: we say so instead."""
    by_name = {layer.name: layer for layer in spec.layers}
    used: set[str] = set()
    stack = list(spec.outputs)
    while stack:
        name = stack.pop()
        if name in used:
            continue
        used.add(name)
        stack.extend(by_name[name].inputs)
    for layer in spec.layers:
        if layer.name not in used:
            err(
                _layer_path(layer),
                f"layer {layer.name!r} does not lead to the output {spec.outputs[0]!r}",
                expected="every layer on a path from the Input to the output",
                received="a dead end",
                hint="use it in a later layer's 'inputs:', or remove it",
            )


def _check_fit(spec: Spec, info: ModelInfo, err: Callable[..., None]) -> None:
    """MNIST: 28x28 images, 10 classes; the output must suit the loss."""
    by_name = {layer.name: layer for layer in info.layers}
    first = spec.layers[0]
    shape = by_name[first.name].output_shape
    if first.type == "Input" and shape not in INPUT_SHAPES:
        err(
            _layer_path(first, "shape"),
            "the Input does not fit 28x28 images",
            expected="shape [784], [28, 28] or [28, 28, 1]",
            received=str(list(shape)),
        )
    out_spec = next(layer for layer in spec.layers if layer.name == spec.outputs[0])
    out = by_name[out_spec.name].output_shape
    if out != (NUM_CLASSES,):
        err(
            _layer_path(out_spec),
            f"the output layer {out_spec.name!r} does not fit 10 classes",
            expected="an output shaped (None, 10), e.g. Dense with units: 10",
            received="(None, " + ", ".join(map(str, out)) + ")",
            hint="add Flatten before the last Dense" if len(out) > 1 else None,
        )
    if "crossentropy" in spec.compile["loss"]:
        activation = out_spec.args.get("activation")
        if activation != "softmax":
            err(
                _layer_path(out_spec, "activation")
                if "activation" in out_spec.args
                else _layer_path(out_spec),
                f"{spec.compile['loss']} needs probabilities from the output layer",
                expected="activation: softmax on the output layer",
                received=f"activation {activation or 'none (linear)'}",
                hint="add 'activation: softmax' to the last layer",
            )
