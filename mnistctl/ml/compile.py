"""Compiling a built model with the spec's loss, optimizer and metrics (from the allowlists)."""

from __future__ import annotations

from collections.abc import Mapping

import keras

from mnistctl.ml import objects
from mnistctl.spec import Spec
from mnistctl.spec.kwargs import keras_kwargs
from mnistctl.spec.options import OPTIMIZERS


def make_optimizer(spec: Spec) -> keras.optimizers.Optimizer:
    """The spec's optimizer: a class named by the allowlist, with the spec's arguments (integers
    as floats where the allowlist says number: Keras refuses ``learning_rate=1``) and its
    learning-rate schedule, if any."""
    cls_name, allowed = OPTIMIZERS[spec.compile.optimizer_type]
    args = keras_kwargs(allowed, spec.compile.optimizer_args)
    if isinstance(args.get("learning_rate"), Mapping):  # {type: CosineDecay, ...}
        args["learning_rate"] = objects.make("schedule", args["learning_rate"])
    return getattr(keras.optimizers, cls_name)(**args)


def compile_model(model: keras.Model, spec: Spec) -> None:
    """Compile, and build the optimizer's variables (Adam's moments, ...) now, eagerly: left to
    Keras, they are made inside the first training step's trace, where the same variables cost
    several times more (docs/performance.md). The same zero-initialised variables either way,
    so training is unchanged."""
    model.compile(
        loss=spec.compile.loss, optimizer=make_optimizer(spec), metrics=list(spec.compile.metrics)
    )
    model.optimizer.build(model.trainable_variables)
