"""The one source of truth for the Keras objects a spec may create besides layers: learning-rate
schedules, callbacks and regularizers.

A spec writes each as ``{type: KerasClassName, ...its arguments}``, Keras-spelled. Like the layer
table (``layers/``), each type declares the constructor arguments a spec may set, with a JSON
Schema fragment and Keras's default; the schema (``schema.py``), the checks that span sections
(``training_checks.py``) and the builder (``ml/objects.py``) follow from it, and
``tests/test_objects_drift.py`` checks it against ``inspect.signature`` of the Keras classes.
Nothing is deserialized generically: a type must be in this table to be built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnistctl.errors import PathPart
from mnistctl.spec.args import Arg

__all__ = ["FAMILIES", "Family", "ObjectType", "family_at", "ref"]


@dataclass(frozen=True)
class ObjectType:
    name: str  # the Keras class name, as the spec's ``type``
    doc: str
    args: tuple[Arg, ...]
    # Keras arguments a spec may not set, with the reason (the drift test reads these)
    excluded: Mapping[str, str] = field(default_factory=dict)

    @property
    def arg_schemas(self) -> dict[str, Mapping[str, Any]]:
        return {a.name: a.schema for a in self.args}

    def with_defaults(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments Keras will use: the given ones over the table's defaults."""
        out = {a.name: a.default for a in self.args if not a.required}
        out.update({k: v for k, v in given.items() if k != "type"})
        return out


@dataclass(frozen=True)
class Family:
    key: str  # the $defs name and the builder's key
    noun: str  # in messages: "unknown learning-rate schedule type"
    module: str  # where Keras keeps the classes (documentation and the drift test)
    types: Mapping[str, ObjectType]


def _num(lo: float | None, hi: float | None, doc: str, *, open_lo: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number", "description": doc}
    if lo is not None:
        out["exclusiveMinimum" if open_lo else "minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def _int(lo: int, hi: int, doc: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi, "description": doc}


_BOOL = {"type": "boolean"}
_STEPS = _int(1, 1_000_000_000, "optimizer steps (batches), as Keras counts them")
_LR0 = _num(0, 10, "the learning rate at step 0", open_lo=True)
_NAME = "the tool names its objects"

SCHEDULES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "ExponentialDecay",
            "lr = initial_learning_rate * decay_rate ** (step / decay_steps)",
            (
                Arg("initial_learning_rate", _LR0),
                Arg("decay_steps", _STEPS),
                Arg("decay_rate", _num(0, 1, "factor per decay_steps (< 1 decays)", open_lo=True)),
                Arg("staircase", {**_BOOL, "description": "decay in whole steps"}, False),
            ),
            {"name": _NAME},
        ),
        ObjectType(
            "PiecewiseConstantDecay",
            "values[i] until boundaries[i]: len(values) = len(boundaries) + 1",
            (
                Arg(
                    "boundaries",
                    {
                        "type": "array",
                        "items": _STEPS,
                        "minItems": 1,
                        "maxItems": 1000,
                        "description": "the steps at which the rate changes, increasing",
                    },
                ),
                Arg(
                    "values",
                    {
                        "type": "array",
                        "items": _num(0, 10, "a learning rate", open_lo=True),
                        "minItems": 2,
                        "maxItems": 1001,
                        "description": "the rate before, between and after the boundaries",
                    },
                ),
            ),
            {"name": _NAME},
        ),
        ObjectType(
            "PolynomialDecay",
            "from initial_learning_rate to end_learning_rate over decay_steps, as (1 - t)^power",
            (
                Arg("initial_learning_rate", _LR0),
                Arg("decay_steps", _STEPS),
                Arg("end_learning_rate", _num(0, 10, "the rate after decay_steps"), 0.0001),
                Arg("power", _num(0, 100, "the polynomial's power", open_lo=True), 1.0),
                Arg("cycle", {**_BOOL, "description": "start over after decay_steps"}, False),
            ),
            {"name": _NAME},
        ),
        ObjectType(
            "InverseTimeDecay",
            "lr = initial_learning_rate / (1 + decay_rate * step / decay_steps)",
            (
                Arg("initial_learning_rate", _LR0),
                Arg("decay_steps", _STEPS),
                Arg("decay_rate", _num(0, 1000, "how fast the rate falls", open_lo=True)),
                Arg("staircase", {**_BOOL, "description": "decay in whole steps"}, False),
            ),
            {"name": _NAME},
        ),
        ObjectType(
            "CosineDecay",
            "an optional linear warmup to warmup_target, then a half cosine down to "
            "alpha * the peak over decay_steps",
            (
                Arg(
                    "initial_learning_rate",
                    _num(0, 10, "the rate at step 0 (0 with a warmup is usual)"),
                ),
                Arg("decay_steps", _STEPS),
                Arg("alpha", _num(0, 1, "the final rate as a fraction of the peak"), 0.0),
                Arg(
                    "warmup_target",
                    {
                        **_num(
                            0, 10, "the rate the warmup reaches (null: no warmup)", open_lo=True
                        ),
                        "type": ["number", "null"],
                    },
                    None,
                ),
                Arg("warmup_steps", _int(0, 1_000_000_000, "steps of linear warmup"), 0),
            ),
            {"name": _NAME},
        ),
        ObjectType(
            "CosineDecayRestarts",
            "cosine decay that restarts: periods grow by t_mul, peaks shrink by m_mul",
            (
                Arg("initial_learning_rate", _LR0),
                Arg("first_decay_steps", _STEPS),
                Arg(
                    "t_mul", _num(0, 100, "each period's length over the last's", open_lo=True), 2.0
                ),
                Arg("m_mul", _num(0, 10, "each restart's peak over the last's", open_lo=True), 1.0),
                Arg("alpha", _num(0, 1, "the lowest rate as a fraction of the peak"), 0.0),
            ),
            {"name": _NAME},
        ),
    )
}

_MONITOR = {
    "type": "string",
    "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
    "description": "a metric of this run: loss, accuracy, val_loss, val_accuracy",
}
_MODE = {
    "type": "string",
    "enum": ["auto", "min", "max"],
    "description": "auto: lower is better for losses, higher for the rest",
}
_VERBOSE = "the tool shows progress itself (stdout stays JSON with --json)"

CALLBACKS: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "EarlyStopping",
            "stops training when the monitored metric has not improved for `patience` epochs",
            (
                Arg("monitor", _MONITOR, "val_loss"),
                Arg("min_delta", _num(0, 1e6, "the least change that counts as better"), 0),
                Arg("patience", _int(0, 100_000, "epochs without improvement before stopping"), 0),
                Arg("mode", _MODE, "auto"),
                Arg(
                    "baseline",
                    {"type": ["number", "null"], "description": "a value the metric must beat"},
                    None,
                ),
                Arg(
                    "restore_best_weights",
                    {**_BOOL, "description": "end with the best epoch's weights (best.keras)"},
                    False,
                ),
                Arg("start_from_epoch", _int(0, 100_000, "epochs to wait before watching"), 0),
            ),
            {"verbose": _VERBOSE},
        ),
        ObjectType(
            "ReduceLROnPlateau",
            "multiplies the learning rate by `factor` when the monitored metric stalls",
            (
                Arg("monitor", _MONITOR, "val_loss"),
                Arg(
                    "factor",
                    {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "exclusiveMaximum": 1,
                        "description": "new rate = rate * factor, 0 < factor < 1",
                    },
                    0.1,
                ),
                Arg("patience", _int(0, 100_000, "epochs without improvement before reducing"), 10),
                Arg("mode", _MODE, "auto"),
                Arg("min_delta", _num(0, 1e6, "the least change that counts as better"), 0.0001),
                Arg("cooldown", _int(0, 100_000, "epochs to wait after a reduction"), 0),
                Arg("min_lr", _num(0, 10, "the rate never goes below this"), 0.0),
            ),
            {"verbose": _VERBOSE, "kwargs": "only Keras's deprecated epsilon"},
        ),
    )
}

_PENALTY = "penalty factor"
_L1 = Arg("l1", _num(0, 10, _PENALTY), 0.01)
_L2 = Arg("l2", _num(0, 10, _PENALTY), 0.01)
REGULARIZERS: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType("L1", "adds l1 * sum(|w|) to the loss", (_L1,)),
        ObjectType("L2", "adds l2 * sum(w^2) to the loss", (_L2,)),
        ObjectType(
            "L1L2",
            "adds l1 * sum(|w|) + l2 * sum(w^2) to the loss",
            (Arg("l1", _num(0, 10, _PENALTY), 0.0), Arg("l2", _num(0, 10, _PENALTY), 0.0)),
        ),
    )
}

FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        Family("schedule", "learning-rate schedule", "keras.optimizers.schedules", SCHEDULES),
        Family("callback", "callback", "keras.callbacks", CALLBACKS),
        Family("regularizer", "regularizer", "keras.regularizers", REGULARIZERS),
    )
}


def ref(family: str, doc: str = "") -> dict[str, Any]:
    """The schema fragment of an argument that takes one object of ``family``."""
    names = ", ".join(FAMILIES[family].types)
    return {"$ref": f"#/$defs/{family}", "description": doc or f"{{type: one of {names}, ...}}"}


def family_at(path: tuple[PathPart, ...]) -> tuple[Family, int] | None:
    """The family of the object at or above a spec path, with the object's path length:
    ``compile.optimizer.learning_rate`` holds a schedule, ``train.callbacks[i]`` a callback,
    ``model.layers[i].kernel_regularizer`` a regularizer."""
    if path[:3] == ("compile", "optimizer", "learning_rate"):
        return FAMILIES["schedule"], 3
    if path[:2] == ("train", "callbacks") and len(path) >= 3:
        return FAMILIES["callback"], 3
    if (
        path[:2] == ("model", "layers")
        and len(path) >= 4
        and isinstance(path[3], str)
        and path[3].endswith("_regularizer")
    ):
        return FAMILIES["regularizer"], 4
    return None
