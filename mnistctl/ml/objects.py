"""The spec's ``{type: KerasClassName, ...}`` objects as Keras objects, through the one table
(``spec/objects.py``): only the classes it names are looked up, with the arguments it allows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from mnistctl.spec.kwargs import keras_kwargs
from mnistctl.spec.objects import FAMILIES

_MODULES: dict[str, Any] = {
    "schedule": keras.optimizers.schedules,
    "callback": keras.callbacks,
    "regularizer": keras.regularizers,
}


def make(family: str, value: Mapping[str, Any]) -> Any:
    """One object of ``family`` from its (schema-checked) spec mapping."""
    kind = FAMILIES[family].types[str(value["type"])]
    args = {k: v for k, v in value.items() if k != "type"}
    return getattr(_MODULES[family], kind.name)(**keras_kwargs(kind.arg_schemas, args))


def regularizer(value: Mapping[str, Any] | None) -> Any:
    """A layer's ``*_regularizer`` argument: None, or a Keras regularizer."""
    return None if value is None else make("regularizer", value)
