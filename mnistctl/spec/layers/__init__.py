"""The one source of truth for layer types: their arguments, inputs and shape rules.

Each layer type declares the Keras constructor arguments a spec may use (with a JSON Schema
fragment and Keras's default), the ones it leaves out (with the reason), how many inputs it
takes, and the pure-Python rules that give its output shape, parameter counts and multiply-adds,
written beside it in its family's module: ``core.py`` (Input, Dense, Activation),
``convolution.py``, ``pooling.py``, ``normalization.py``, ``regularization.py`` (dropout and
noise), ``reshaping.py``, ``merging.py`` and ``augmentation.py``. ``layertype.py`` is what they
are written in, ``shapes.py`` the shape arithmetic their rules share.

This module collects the families into ``LAYER_TYPES``. The JSON Schema (``schema.py``), the
validator and summary (``graph.py``) and the builder (``ml/builder.py``) all follow from it;
``tests/test_layers_drift.py`` checks it against ``inspect.signature`` of the Keras classes,
``tests/test_specs.py`` and ``tests/test_layers_new*.py`` against built Keras models.
"""

from __future__ import annotations

import re

from mnistctl.spec.args import Arg
from mnistctl.spec.layers import (
    augmentation,
    convolution,
    core,
    merging,
    normalization,
    pooling,
    regularization,
    reshaping,
)
from mnistctl.spec.layers.layertype import ACTIVATIONS, INITIALIZERS, PADDINGS, LayerType
from mnistctl.spec.layers.shapes import ShapeError

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYER_TYPES",
    "PADDINGS",
    "STRUCTURAL_KEYS",
    "Arg",
    "LayerType",
    "ShapeError",
    "auto_name_stem",
    "snake_case",
]

_FAMILIES = (
    core,
    convolution,
    pooling,
    normalization,
    regularization,
    reshaping,
    merging,
    augmentation,
)

# The order the JSON Schema lists the types in (its enum and its definitions), as published:
# the first types, then those the training recipes added. A type not named here comes after
# these, in the order of _FAMILIES.
_LISTED = (
    "Input",
    "Dense",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Activation",
    "Dropout",
    "BatchNormalization",
    "Reshape",
    "Add",
    "Concatenate",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "SpatialDropout2D",
    "GaussianNoise",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "LayerNormalization",
    "ZeroPadding2D",
)


def _collect() -> dict[str, LayerType]:
    """Every family's types by name, in the schema's order; a name declared twice is a bug."""
    types = [t for family in _FAMILIES for t in family.TYPES]
    place = {name: i for i, name in enumerate(_LISTED)}
    ordered = sorted(types, key=lambda t: place.get(t.name, len(place)))
    by_name = {t.name: t for t in ordered}
    if len(by_name) != len(types):
        twice = sorted({t.name for t in types if sum(u.name == t.name for u in types) > 1})
        raise ValueError(f"layer types declared twice: {', '.join(twice)}")
    return by_name


LAYER_TYPES: dict[str, LayerType] = _collect()

# Keys every layer may have besides its Keras arguments.
STRUCTURAL_KEYS = ("type", "name", "inputs")


def snake_case(name: str) -> str:
    """Keras's automatic layer name stem (its ``to_snake_case``): ``MaxPooling2D`` ->
    ``max_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name_stem(type_name: str) -> str:
    return "input_layer" if type_name == "Input" else snake_case(type_name)
