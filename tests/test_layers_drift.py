"""The layer and option tables against Keras itself, and the committed schema against the tables.

The layer table (``spec/layers/``) and ``options.py`` restate a few facts about Keras (argument
names and defaults, activation, initializer, optimizer and loss names); these tests fail as soon
as a Keras upgrade makes one of them untrue.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mnistctl.spec.layers import ACTIVATIONS, INITIALIZERS, LAYER_TYPES
from mnistctl.spec.options import LOSSES, OPTIMIZERS
from mnistctl.spec.schema import build_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/spec.schema.json"

# Arguments a spec must give although Keras has a default: an MNIST model needs its input shape.
REQUIRED_HERE = {("Input", "shape")}
# Keyword arguments every Keras layer takes through ``Layer.__init__(**kwargs)``.
BASE_LAYER_ARGS = {"trainable"}


def _keras_callable(type_name: str) -> Any:
    import keras

    return keras.Input if type_name == "Input" else getattr(keras.layers, type_name)


def _normalise(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("type_name", list(LAYER_TYPES))
def test_layer_arguments_match_keras_signature(type_name: str) -> None:
    import keras

    kind = LAYER_TYPES[type_name]
    params = inspect.signature(_keras_callable(type_name)).parameters
    base = inspect.signature(keras.layers.Layer.__init__).parameters
    for arg in kind.args:
        if arg.name in BASE_LAYER_ARGS and arg.name not in params:
            assert arg.name in base, f"{arg.name} is not a keras.layers.Layer argument"
            assert _normalise(arg.default) == base[arg.name].default, arg.name
            continue
        assert arg.name in params, f"{type_name}({arg.name}=...) is not a Keras argument"
        keras_default = params[arg.name].default
        if arg.required:
            assert keras_default is inspect.Parameter.empty or (
                (type_name, arg.name) in REQUIRED_HERE
            ), f"{type_name}.{arg.name}: Keras has a default ({keras_default!r}), we require it"
        else:
            assert keras_default is not inspect.Parameter.empty, (
                f"{type_name}.{arg.name}: Keras requires it, we default it to {arg.default!r}"
            )
            ours, theirs = _normalise(arg.default), _normalise(keras_default)
            assert ours == theirs and type(ours) is type(theirs), (
                f"{type_name}.{arg.name}: our default {arg.default!r} != Keras {keras_default!r}"
            )


@pytest.mark.parametrize("type_name", list(LAYER_TYPES))
def test_every_keras_required_argument_is_required_here(type_name: str) -> None:
    params = inspect.signature(_keras_callable(type_name)).parameters
    required = {
        name
        for name, p in params.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and name != "self"
    }
    ours = {arg.name for arg in LAYER_TYPES[type_name].args if arg.required}
    assert required <= ours


# A valid value for each argument Keras requires, to construct each type.
REQUIRED_EXAMPLES: dict[str, dict[str, Any]] = {
    "Dense": {"units": 3},
    "Conv2D": {"filters": 2, "kernel_size": 1},
    "AveragePooling2D": {"pool_size": 2},
    "Activation": {"activation": "relu"},
    "Dropout": {"rate": 0.5},
    "Reshape": {"target_shape": (4,)},
    "RandomRotation": {"factor": 0.1},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomZoom": {"height_factor": 0.1},
    "SpatialDropout2D": {"rate": 0.5},
    "GaussianNoise": {"stddev": 0.1},
    "DepthwiseConv2D": {"kernel_size": 3},
    "SeparableConv2D": {"filters": 2, "kernel_size": 3},
}


def _has_var_keyword(type_name: str) -> bool:
    params = inspect.signature(_keras_callable(type_name)).parameters.values()
    return any(p.kind is p.VAR_KEYWORD for p in params)


@pytest.mark.parametrize("type_name", [t for t in LAYER_TYPES if t != "Input"])
def test_trainable_false_is_accepted_by_keras(type_name: str) -> None:
    kind = LAYER_TYPES[type_name]
    if "trainable" not in kind.arg_names:
        # only a class that cannot take it: no trainable=, no **kwargs (SpatialDropout2D)
        params = inspect.signature(_keras_callable(type_name)).parameters
        assert "trainable" not in params and not _has_var_keyword(type_name), type_name
        return
    required = REQUIRED_EXAMPLES.get(type_name, {})
    layer = _keras_callable(type_name)(trainable=False, **required)
    assert layer.trainable is False


@pytest.mark.parametrize("type_name", list(LAYER_TYPES))
def test_every_keras_argument_is_offered_or_left_out_with_a_reason(type_name: str) -> None:
    """A Keras argument the table lacks is a decision, not an oversight: ``excluded`` names
    it with the reason. ``name`` is the spec's own key; ``**kwargs`` are Layer's (see
    ``BASE_LAYER_ARGS``)."""
    kind = LAYER_TYPES[type_name]
    params = inspect.signature(_keras_callable(type_name)).parameters
    named = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {
        "self",
        "name",
    }
    missing = named - set(kind.arg_names) - set(kind.excluded)
    assert not missing, f"{type_name}: Keras arguments neither offered nor left out: {missing}"
    assert not set(kind.excluded) & set(kind.arg_names), "both offered and left out"
    assert set(kind.excluded) <= set(params), f"{type_name}: stale exclusions"
    assert all(isinstance(r, str) and len(r) > 10 for r in kind.excluded.values()), type_name


@pytest.mark.parametrize("type_name", [t for t in LAYER_TYPES if t != "Input"])
def test_every_type_constructs_with_its_table_defaults(type_name: str) -> None:
    """Keras accepts every default of the table at once (no default conflicts with another)."""
    kind = LAYER_TYPES[type_name]
    args = {a.name: a.default for a in kind.args if not a.required}
    args = {k: v for k, v in args.items() if not (k == "trainable" and v is True)}
    layer = _keras_callable(type_name)(**REQUIRED_EXAMPLES.get(type_name, {}), **args)
    assert type(layer).__name__ == type_name


def test_regularizer_arguments_are_the_keras_regularizer_arguments() -> None:
    """Every ``*_regularizer`` a Keras weight layer takes is offered, as a regularizer object
    (``{type: L1|L2|L1L2, ...}``), default None; BatchNormalization's are left out on purpose."""
    for type_name, kind in LAYER_TYPES.items():
        params = inspect.signature(_keras_callable(type_name)).parameters
        keras_regs = {n for n in params if n.endswith("_regularizer")}
        ours = set(kind.regularizer_args)
        assert {n for n in kind.arg_names if n.endswith("_regularizer")} == ours, type_name
        assert ours <= keras_regs, type_name
        assert keras_regs - ours <= set(kind.excluded), type_name
        for name in ours:
            assert dict(zip(kind.arg_names, kind.args, strict=True))[name].default is None
    assert set(LAYER_TYPES["Dense"].regularizer_args) == {
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
    }
    assert set(LAYER_TYPES["SeparableConv2D"].regularizer_args) == {
        "depthwise_regularizer",
        "pointwise_regularizer",
        "bias_regularizer",
        "activity_regularizer",
    }


def test_schema_defaults_are_the_table_defaults() -> None:
    defs = build_schema()["$defs"]
    for name, kind in LAYER_TYPES.items():
        props = defs[name]["properties"]
        for arg in kind.args:
            if arg.required or arg.default is None:
                assert "default" not in props[arg.name], (name, arg.name)
            else:
                assert _normalise(props[arg.name]["default"]) == _normalise(arg.default)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_names_resolve(name: str) -> None:
    import keras

    assert callable(keras.activations.get(name))


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_names_resolve(name: str) -> None:
    import keras

    assert isinstance(keras.initializers.get(name), keras.initializers.Initializer)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_exist_with_their_arguments(name: str) -> None:
    import keras

    class_name, args = OPTIMIZERS[name]
    cls = getattr(keras.optimizers, class_name)
    params = inspect.signature(cls).parameters
    for arg in args:
        assert arg in params, f"keras.optimizers.{class_name} has no argument {arg!r}"
    assert keras.optimizers.get(name).__class__ is cls


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_resolve(name: str) -> None:
    import keras

    assert callable(keras.losses.get(name))


def test_label_modes_are_known() -> None:
    assert set(LOSSES.values()) <= {"one_hot", "integer"}
    assert LOSSES["sparse_categorical_crossentropy"] == "integer"


# --- the committed schema and the example specs -------------------------------------------


def test_committed_schema_is_generated_output() -> None:
    committed = (ROOT / "schemas" / "spec.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "schemas/spec.schema.json is stale: run `mnistctl schema > schemas/spec.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json.loads(schema_text()))


def test_schema_command_prints_exactly_the_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mnistctl", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout == schema_text()


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_example_spec_points_editors_at_the_schema(path: Path) -> None:
    first, *rest = path.read_text(encoding="utf-8").splitlines()
    assert first == SCHEMA_LINE
    assert any(line.startswith("name: ") for line in rest)
    assert any(line.startswith("description: ") for line in rest)
