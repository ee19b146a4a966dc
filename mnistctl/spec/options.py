"""Allowlists for everything in a spec that is not a layer: losses, optimizers, metrics,
data sets and numeric precisions. Like the layer table (``layers/``), one place; the schema and
the builder follow from it. A spec names these by string: nothing is deserialized generically.
"""

from __future__ import annotations

from typing import Any

DATASETS = (
    "mnist",
    "fashion_mnist",
    "mnist_sample",
    "kmnist",
    "emnist_letters",
    "emnist_balanced",
    "emnist_digits",
)
PREPARE_MODES = ("resize", "mnist_style")

# loss name -> how labels are fed to it
LOSSES: dict[str, str] = {
    "categorical_crossentropy": "one_hot",
    "sparse_categorical_crossentropy": "integer",
    "mean_squared_error": "one_hot",
    "mean_absolute_error": "one_hot",
    "categorical_hinge": "one_hot",
    "kl_divergence": "one_hot",
}

METRICS = ("accuracy",)

# A metric whose name holds one of these is better when lower (losses, errors); any other
# (accuracy, precision, AUC, ...) when higher: the run record's best epochs and the curves'
# markers both follow this.
LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy", "hinge")


def lower_is_better(metric: str) -> bool:
    return any(token in metric.lower() for token in LOWER_IS_BETTER)


PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

# a number, or a learning-rate schedule {type: CosineDecay, ...} (spec/objects.py)
_LR = {
    "type": ["number", "object"],
    "exclusiveMinimum": 0,
    "maximum": 10,
    "if": {"type": "object"},
    "then": {"$ref": "#/$defs/schedule"},
    "description": "step size: a number, or a schedule {type: CosineDecay, ...}",
}
_UNIT = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
_EPS = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_NONNEG = {"type": "number", "minimum": 0, "maximum": 1000}
_COMMON: dict[str, Any] = {
    "learning_rate": _LR,
    "weight_decay": {**_NONNEG, "description": "decoupled weight decay"},
    "clipnorm": {**_NONNEG, "exclusiveMinimum": 0, "description": "clip each gradient's norm"},
}

# optimizer name (as in the spec) -> (keras.optimizers class name, arguments a spec may set)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {**_COMMON, "momentum": _UNIT, "nesterov": {"type": "boolean"}}),
    "adam": (
        "Adam",
        {
            **_COMMON,
            "beta_1": _UNIT,
            "beta_2": _UNIT,
            "epsilon": _EPS,
            "amsgrad": {"type": "boolean"},
        },
    ),
    "adamw": (
        "AdamW",
        {
            **_COMMON,
            "beta_1": _UNIT,
            "beta_2": _UNIT,
            "epsilon": _EPS,
            "amsgrad": {"type": "boolean"},
        },
    ),
    "nadam": ("Nadam", {**_COMMON, "beta_1": _UNIT, "beta_2": _UNIT, "epsilon": _EPS}),
    "adamax": ("Adamax", {**_COMMON, "beta_1": _UNIT, "beta_2": _UNIT, "epsilon": _EPS}),
    "rmsprop": (
        "RMSprop",
        {
            **_COMMON,
            "rho": _UNIT,
            "momentum": _UNIT,
            "epsilon": _EPS,
            "centered": {"type": "boolean"},
        },
    ),
    "adagrad": ("Adagrad", {**_COMMON, "initial_accumulator_value": _NONNEG, "epsilon": _EPS}),
    "adadelta": ("Adadelta", {**_COMMON, "rho": _UNIT, "epsilon": _EPS}),
}
