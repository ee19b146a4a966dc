"""The spec's settings sections (``data``, ``compile``, ``train``) as typed, frozen data.

Their defaults live here and nowhere else: the loader fills them in from these classes and the
schema generator (``schema.py``) states them as each key's ``default``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistctl.spec.objects import CALLBACKS
from mnistctl.spec.options import LOSSES


@dataclass(frozen=True)
class DataSection:
    dataset: str = "mnist"
    path: str | None = None  # a local .npz or IDX folder, relative to the spec file
    train_samples: int | None = None  # use only the first N training samples
    validation_split: float = 0.1
    classes: tuple[str, ...] | None = None  # class names in label order (default: from the data)
    test_split: float | None = None  # held-out test fraction, for data without a test part
    prepare: str | None = None  # resize | mnist_style (None: by the source; a run records it)


@dataclass(frozen=True)
class CompileSection:
    loss: str = "categorical_crossentropy"
    optimizer: str | Mapping[str, Any] = "adam"  # a name, or {type: name, argument: value}
    metrics: tuple[str, ...] = ("accuracy",)

    @property
    def optimizer_type(self) -> str:
        return self.optimizer if isinstance(self.optimizer, str) else str(self.optimizer["type"])

    @property
    def optimizer_args(self) -> dict[str, Any]:
        if isinstance(self.optimizer, str):
            return {}
        return {k: v for k, v in self.optimizer.items() if k != "type"}

    @property
    def label_mode(self) -> str:
        """How labels are fed to the loss: ``one_hot`` or ``integer``."""
        return LOSSES[self.loss]


@dataclass(frozen=True)
class TrainSection:
    batch_size: int = 128
    epochs: int = 10
    seed: int = 0
    precision: str = "auto"
    shuffle: bool = True
    tensorboard_histograms: int = 0  # weight histograms every N epochs (histogram_freq); 0: none
    callbacks: tuple[Mapping[str, Any], ...] = ()  # {type: EarlyStopping, ...} (spec/objects.py)

    @property
    def early_stopping(self) -> Mapping[str, Any] | None:
        """The EarlyStopping callback with every argument (Keras's defaults filled in), or
        None; a spec has at most one (``training_checks.py``)."""
        kind = CALLBACKS["EarlyStopping"]
        found = next((c for c in self.callbacks if c["type"] == kind.name), None)
        return None if found is None else {"type": kind.name, **kind.with_defaults(found)}


SECTIONS: dict[str, type[DataSection] | type[CompileSection] | type[TrainSection]] = {
    "data": DataSection,
    "compile": CompileSection,
    "train": TrainSection,
}


def default(section: str, key: str) -> Any:
    """The default of one key, as JSON data (tuples as lists)."""
    for f in dataclasses.fields(SECTIONS[section]):
        if f.name == key:
            return _plain(f.default)
    raise KeyError(f"{section}.{key}")


def from_dict(cls: type[Any], given: Mapping[str, Any]) -> Any:
    """A section from its (schema-checked) mapping; keys it lacks take their defaults.

    Lists become tuples, and integers become floats in float fields (``validation_split: 0``),
    so that each field holds the type it declares."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {k: _typed(v, fields[k].type) for k, v in given.items() if k in fields}
    return cls(**values)


def _typed(value: Any, declared: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and declared in ("float", float):
        return float(value)
    return value


def to_dict(section: DataSection | CompileSection | TrainSection) -> dict[str, Any]:
    """Every key with its value, defaults included, as JSON/YAML data."""
    return {f.name: _plain(getattr(section, f.name)) for f in dataclasses.fields(section)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
