"""The spec's settings sections: typed, frozen, their defaults stated once (and in the schema)."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import ROOT

from mnistctl.spec import load_spec, sections
from mnistctl.spec.schema import build_schema

SPECS_DIR = ROOT / "specs"

ALL_FIELDS = [
    (name, f.name) for name, cls in sections.SECTIONS.items() for f in dataclasses.fields(cls)
]


@pytest.mark.parametrize(("section", "key"), ALL_FIELDS, ids=[f"{s}.{k}" for s, k in ALL_FIELDS])
def test_every_key_is_in_the_schema_with_the_same_default(section: str, key: str) -> None:
    props = build_schema()["properties"][section]["properties"]
    assert key in props, f"{section}.{key} is not in the schema"
    value = sections.default(section, key)
    if value is None:
        assert "default" not in props[key]  # "not given" is not a value to state
    else:
        assert props[key]["default"] == value


@pytest.mark.parametrize("section", list(sections.SECTIONS))
def test_every_schema_key_is_a_field(section: str) -> None:
    props = build_schema()["properties"][section]["properties"]
    names = {f.name for f in dataclasses.fields(sections.SECTIONS[section])}
    assert set(props) == names


def test_sections_are_frozen_and_typed() -> None:
    spec = load_spec(SPECS_DIR / "cnn.yaml", ["train.epochs=3", "data.train_samples=2000"])
    assert isinstance(spec.train, sections.TrainSection)
    assert (spec.train.epochs, spec.data.train_samples) == (3, 2000)
    assert spec.compile.metrics == ("accuracy",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.train.epochs = 5  # type: ignore[misc]


def test_defaults_fill_what_the_spec_leaves_out(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bare.yaml"
    path.write_text(
        "model:\n  layers:\n    - {type: Input, shape: [784]}\n"
        "    - {type: Dense, units: 10, activation: softmax}\n"
    )
    spec = load_spec(path)
    assert spec.train == sections.TrainSection()
    assert spec.data == sections.DataSection()
    resolved = spec.resolved_dict()
    assert resolved["train"] == {
        f.name: sections.default("train", f.name) for f in dataclasses.fields(sections.TrainSection)
    }
    assert resolved["compile"]["metrics"] == ["accuracy"]


def test_optimizer_type_and_args() -> None:
    named = sections.CompileSection(optimizer="sgd")
    assert (named.optimizer_type, named.optimizer_args) == ("sgd", {})
    full = sections.CompileSection(optimizer={"type": "adam", "learning_rate": 0.01})
    assert (full.optimizer_type, full.optimizer_args) == ("adam", {"learning_rate": 0.01})
