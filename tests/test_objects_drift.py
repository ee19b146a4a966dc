"""The table of schedules, callbacks and regularizers (``spec/objects.py``) against Keras: every
argument a spec may set is a real constructor argument with Keras's default, every Keras
argument the table leaves out says why, and every type builds with its defaults."""

from __future__ import annotations

import inspect
from typing import Any

import keras
import pytest

from mnistctl.ml import objects as ml_objects
from mnistctl.spec.args import REQUIRED
from mnistctl.spec.objects import FAMILIES, ObjectType

MODULES: dict[str, Any] = {
    "schedule": keras.optimizers.schedules,
    "callback": keras.callbacks,
    "regularizer": keras.regularizers,
}
CASES = [(family, t) for family, f in FAMILIES.items() for t in f.types.values()]
# the least arguments each type needs to build
MINIMAL: dict[str, dict[str, Any]] = {
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
    "PiecewiseConstantDecay": {"boundaries": [10], "values": [0.1, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10},
}


def _signature(family: str, t: ObjectType) -> inspect.Signature:
    return inspect.signature(getattr(MODULES[family], t.name))


@pytest.mark.parametrize(("family", "t"), CASES, ids=[t.name for _, t in CASES])
def test_arguments_are_keras_arguments_with_keras_defaults(family: str, t: ObjectType) -> None:
    params = _signature(family, t).parameters
    for arg in t.args:
        assert arg.name in params, f"{t.name}: Keras has no argument {arg.name!r}"
        keras_default = params[arg.name].default
        if arg.default is REQUIRED:
            assert keras_default is inspect.Parameter.empty, f"{t.name}.{arg.name} has a default"
        else:
            assert arg.default == keras_default, f"{t.name}.{arg.name}"


@pytest.mark.parametrize(("family", "t"), CASES, ids=[t.name for _, t in CASES])
def test_every_keras_argument_is_in_the_table_or_left_out_with_a_reason(
    family: str, t: ObjectType
) -> None:
    params = _signature(family, t).parameters
    missing = set(params) - {a.name for a in t.args} - set(t.excluded)
    assert not missing, f"{t.name}: Keras arguments neither in the table nor excluded: {missing}"
    assert all(reason for reason in t.excluded.values())
    assert set(t.excluded) <= set(params), f"{t.name}: excluded names Keras does not have"


@pytest.mark.parametrize(("family", "t"), CASES, ids=[t.name for _, t in CASES])
def test_every_type_builds_from_the_table(family: str, t: ObjectType) -> None:
    value = {"type": t.name, **MINIMAL.get(t.name, {})}
    built = ml_objects.make(family, value)
    assert type(built).__name__ == t.name
    if family != "callback":  # schedules and regularizers say what they were made with
        config = built.get_config()
        for key, given in value.items():
            if key != "type":
                assert config[key] == pytest.approx(given), (t.name, key)


def test_integers_become_floats_where_keras_wants_them() -> None:
    schedule = ml_objects.make(
        "schedule", {"type": "CosineDecay", "initial_learning_rate": 1, "decay_steps": 5}
    )
    assert isinstance(schedule.get_config()["initial_learning_rate"], float)
    assert isinstance(schedule.get_config()["decay_steps"], int)
