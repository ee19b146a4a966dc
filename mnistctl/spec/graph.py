"""Graph and shape checks of a resolved spec, in pure Python.

Walks the layers in order: names, edges, then each layer's output shape and parameter counts by
the rules in ``layers/``; then whether the model fits the data (``fit.py``) and
the loss. Every problem is returned, each pointing at the layer or argument at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.fit import MNIST_FIT, DataFit, check_fit
from mnistctl.spec.layers import LAYER_TYPES, ShapeError
from mnistctl.spec.model import LayerInfo, LayerSpec, ModelInfo, Shape
from mnistctl.spec.wording import did_you_mean

MAX_PARAMS = 100_000_000

Where = Callable[..., Location]  # (spec path, key=False) -> where that is in the file
Report = Callable[..., None]  # (spec path, message, key=False, **UserError fields)


def _layer_path(layer: LayerSpec, *rest: PathPart) -> tuple[PathPart, ...]:
    return ("model", "layers", layer.index, *rest)


def analyze(
    layers: Sequence[LayerSpec],
    outputs: Sequence[str],
    loss: str,
    where: Where,
    fit: DataFit = MNIST_FIT,
) -> tuple[ModelInfo | None, list[UserError]]:
    """Every graph, shape and fit problem of a model; its ModelInfo when there is none.
    ``fit``: what the spec says of its data (MNIST's by default)."""
    errors: list[UserError] = []

    def err(path: tuple[PathPart, ...], message: str, *, key: bool = False, **kw: Any) -> None:
        errors.append(UserError(message, where(path, key=key), **kw))

    position = _check_names(layers, err)
    valid_edges = _check_edges(layers, outputs, position, err)
    if errors and not valid_edges:
        return None, errors
    infos = _shapes(layers, err)
    if errors:
        return None, errors
    info = ModelInfo(tuple(infos), tuple(outputs))
    _check_connected(layers, outputs, err)
    check_fit(layers, outputs, loss, info, fit, err)
    if info.total > MAX_PARAMS:
        err(
            ("model",),
            "the model is too large to train here",
            expected=f"at most {MAX_PARAMS:,} parameters",
            received=f"{info.total:,}",
            hint="fewer units or filters, or pool before Flatten",
        )
    return (None if errors else info), errors


def _check_names(layers: Sequence[LayerSpec], err: Report) -> dict[str, int]:
    """Unique names, one Input and first; returns each name's position."""
    position: dict[str, int] = {}
    for layer in layers:
        if layer.name in position:
            first = layers[position[layer.name]]
            err(
                _layer_path(layer, "name"),
                f"duplicate layer name {layer.name!r}",
                expected="unique layer names",
                received=f"{layer.name!r} again (first: layer {first.index + 1})",
            )
        else:
            position[layer.name] = layer.index
    if layers[0].type != "Input":
        err(
            _layer_path(layers[0]),
            "the first layer must be an Input",
            expected="{type: Input, shape: [28, 28, 1]} (or [784], [28, 28])",
            received=layers[0].type,
        )
    for layer in layers[1:]:
        if layer.type == "Input":
            err(
                _layer_path(layer, "type"),
                "only one Input is allowed, and it comes first",
                expected="one Input: an MNIST model has one image input",
                received=f"another Input at layer {layer.index + 1}",
            )
    return position


def _check_edges(
    layers: Sequence[LayerSpec], outputs: Sequence[str], position: dict[str, int], err: Report
) -> bool:
    """Inputs name earlier layers, in the number each type takes; outputs name layers."""
    valid = True
    for layer in layers:
        for i, source in enumerate(layer.inputs):
            at = _layer_path(layer, "inputs", i) if layer.explicit_inputs else _layer_path(layer)
            if source not in position:
                valid = False
                err(
                    at,
                    f"inputs names an unknown layer {source!r}",
                    expected="the name of an earlier layer",
                    received=repr(source),
                    hint=did_you_mean(source, position),
                )
            elif position[source] >= layer.index:
                valid = False
                err(
                    at,
                    f"inputs may only name earlier layers: {source!r} is "
                    + ("this layer" if source == layer.name else "defined later")
                    + " (no cycles)",
                    expected="a layer above this one",
                    received=repr(source),
                )
        valid = _check_arity(layer, err) and valid
    for i, out in enumerate(outputs):
        if out not in position:
            valid = False
            err(
                ("model", "outputs", i),
                f"outputs names an unknown layer {out!r}",
                expected="the name of a layer",
                received=repr(out),
                hint=did_you_mean(out, position),
            )
    return valid


def _check_arity(layer: LayerSpec, err: Report) -> bool:
    kind = LAYER_TYPES[layer.type]
    n = len(layer.inputs)
    if layer.type == "Input" or n >= kind.min_inputs:
        return True
    if layer.index > 0:  # the first layer is reported above: it must be an Input
        err(
            _layer_path(layer),
            f"{layer.type} needs at least {kind.min_inputs} inputs",
            expected=f"inputs: [a, b] naming {kind.min_inputs} or more layers",
            received=f"{n} input" + ("s" if n != 1 else ""),
            hint="name the layers to join with 'inputs:'",
        )
    return False


def _shapes(layers: Sequence[LayerSpec], err: Report) -> list[LayerInfo]:
    """Each layer's output shape and parameters, in order, by the layer table's rules."""
    shapes: dict[str, Shape] = {}
    infos: list[LayerInfo] = []
    for layer in layers:
        if any(source not in shapes for source in layer.inputs):
            continue  # an earlier layer failed: don't pile up errors downstream
        kind = LAYER_TYPES[layer.type]
        args = kind.with_defaults(layer.args)
        ins = [shapes[s] for s in layer.inputs]
        try:
            shape = kind.output_shape(ins, args)
            trainable, fixed = kind.params(ins, args)
        except ShapeError as exc:
            named = exc.arg in layer.args or (exc.arg == "inputs" and layer.explicit_inputs)
            err(
                _layer_path(layer, exc.arg) if exc.arg and named else _layer_path(layer),
                f"layer {layer.name!r} ({layer.type}): {exc.message}",
                expected=exc.expected,
                received=exc.received,
            )
            continue
        shapes[layer.name] = shape
        macs = kind.macs(ins, args, shape)
        infos.append(LayerInfo(layer.name, layer.type, layer.inputs, shape, trainable, fixed, macs))
    return infos


def _check_connected(layers: Sequence[LayerSpec], outputs: Sequence[str], err: Report) -> None:
    """Keras silently drops layers that do not lead to the output: we say so instead."""
    by_name = {layer.name: layer for layer in layers}
    used: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name in used:
            continue
        used.add(name)
        stack.extend(by_name[name].inputs)
    for layer in layers:
        if layer.name not in used:
            err(
                _layer_path(layer),
                f"layer {layer.name!r} does not lead to the output {outputs[0]!r}",
                expected="every layer on a path from the Input to the output",
                received="a dead end",
                hint="use it in a later layer's 'inputs:', or remove it",
            )
