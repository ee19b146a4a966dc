"""Specs and data in the Python API: ``load_spec``, ``Spec`` (the spec language's resolved
spec, with ``build()`` and ``summary()``), the summary as a rich renderable, ``load_data``."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.jupyter import JupyterMixin
from rich.text import Text

from mnistctl import spec as spec_language
from mnistctl.api.arguments import received, short
from mnistctl.api.common import (
    PathArg,
    Split,
    _data_path,
    _tensorflow,
    _user_errors,
)
from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    import keras

    from mnistctl.spec.model import ModelInfo
    from mnistctl.spec.plan import TrainingPlan

# --- specs -------------------------------------------------------------------------------------


@_user_errors
def load_spec(path: PathArg, overrides: Sequence[str] | Mapping[str, Any] = ()) -> Spec:
    """Load and check a spec, as ``mnistctl validate`` does (never imports TensorFlow).

    ``overrides`` are the CLI's ``--set`` values: ``["train.epochs=2", "data.train_samples=300"]``
    (each value parsed as YAML), or a mapping ``{"train.epochs": 2}``; a bare string is refused
    (a list, even of one). Raises ``Error`` listing every problem found, each with its place.
    """
    return api_spec(spec_language.load_spec(Path(path), _override_list(overrides)))


@dataclasses.dataclass(frozen=True)
class Spec(spec_language.Spec):
    """A resolved spec (every default filled in, every check passed), as ``load_spec`` and
    ``Run.spec`` give it: the spec language's ``Spec`` with what a notebook asks of it; equal to
    the spec language's ``Spec`` of the same fields."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, spec_language.Spec):
            return NotImplemented
        return all(
            getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(self)
        )

    __hash__ = spec_language.Spec.__hash__

    def build(self) -> keras.Model:
        """The spec's Keras functional model, as ``train`` builds it (not compiled).

        Imports TensorFlow on first use (its native log lines kept off the terminal, as the
        CLI keeps them)."""
        from mnistctl.ml.native_log import native_stderr_to_log

        with native_stderr_to_log():
            from mnistctl.ml.builder import build_model

            return build_model(self)

    @_user_errors
    def summary(self, data: PathArg | None = None) -> ModelSummary:
        """Per-layer output shapes and parameter counts, as ``mnistctl summary`` shows them:
        a rich renderable that shows itself in Jupyter (``str()`` is the text table,
        ``to_json()`` the ``summary --json`` document). Never imports TensorFlow.

        Its training plan (images and steps per epoch) counts the data ``train`` would use:
        ``data`` (as ``train``'s), by default ``MNISTCTL_DATA``, else where the spec says."""
        return _summary(self, data)


def _summary(spec: Spec, data: PathArg | None) -> ModelSummary:
    """``Spec.summary``: the plan on the data ``train(spec, data)`` reads, not on the spec's own
    data set when ``MNISTCTL_DATA`` (or ``data``) names another (``plan_for`` knows only the
    spec: a local copy of 5,000 digits was planned as MNIST's 54,000)."""
    from mnistctl.commands.summary import summarize
    from mnistctl.data.sizes import train_size
    from mnistctl.spec.plan import training_plan

    result = summarize(spec)
    given = _data_path(data)
    plan = result.plan
    if given is not None:
        images = train_size(spec.data.dataset, spec.data_path(given), spec.data.test_split)
        plan = training_plan(spec, images) if images else None
    return ModelSummary(result.name, result.info, plan)


def api_spec(spec: spec_language.Spec) -> Spec:
    """``spec`` as the API's ``Spec`` (the same fields)."""
    if isinstance(spec, Spec):
        return spec
    return Spec(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})


def _override_list(overrides: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """The overrides as ``--set`` values (a bare string was refused by the argument check:
    ``overrides=["train.epochs=2"]``, not ``"train.epochs=2"``)."""
    if isinstance(overrides, Mapping):
        return [_mapped_override(key, value) for key, value in overrides.items()]
    for index, item in enumerate(overrides):
        if not isinstance(item, str):
            raise UserError(
                "not an override",
                Location(f"overrides[{index}]"),
                expected="a string KEY=VALUE, as --set takes (train.epochs=2)",
                received=received(item),
            )
    return list(overrides)


def _mapped_override(key: object, value: object) -> str:
    """``{"train.epochs": 2}``'s item as ``train.epochs=2``: JSON is YAML, so the value reads
    back as the Python value it was."""
    if not isinstance(key, str):
        raise UserError(
            "not an override key",
            Location(f"overrides[{short(key)}]"),
            expected="a string, the dotted path of a spec setting (train.epochs)",
            received=received(key),
        )
    try:
        return f"{key}={json.dumps(value)}"
    except (TypeError, ValueError):
        raise UserError(
            "not an override value",
            Location(f"overrides[{short(key)}]"),
            expected="a number, string, boolean, None, or a list or dict of them",
            received=received(value),
        ) from None


class _Collector(Console):
    """A console that keeps what it is asked to print as renderables, unprinted."""

    def __init__(self) -> None:
        super().__init__(file=io.StringIO())
        self.items: list[RenderableType] = []

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.items.extend(Text(o) if isinstance(o, str) else o for o in objects)


class ModelSummary(JupyterMixin):
    """A spec's per-layer output shapes and parameter counts: what ``mnistctl summary`` shows.

    Shows itself in Jupyter (rich's ``_repr_mimebundle_``: HTML and text) and in rich
    consoles; ``str()`` is the table as text; ``to_json()`` is ``mnistctl summary --json``.
    """

    def __init__(self, name: str, info: ModelInfo, plan: TrainingPlan | None = None) -> None:
        self.name = name
        self.info = info
        self.plan = plan  # steps per epoch and the schedule, when the data's size is known

    @property
    def total_params(self) -> int:
        return self.info.total

    def to_json(self) -> dict[str, Any]:
        """``{"name", "layers": [{"name", "type", "output_shape", "params"}], "total_params",
        "training"}``: the ``summary --json`` document."""
        from mnistctl.commands.summary import SummaryResult

        return SummaryResult(self.name, self.info, self.plan).to_json()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from mnistctl.ui.tables import render_summary

        collected = _Collector()
        render_summary(self.name, self.info, collected, self.plan)  # the CLI's one way
        yield from collected.items

    def __str__(self) -> str:
        console = Console(file=io.StringIO(), width=120, color_system=None, highlight=False)
        with console.capture() as captured:
            console.print(self)
        return captured.get()

    def __repr__(self) -> str:
        return (
            f"<ModelSummary {self.name!r}: {len(self.info.layers)} layers, "
            f"{self.info.total:,} parameters>"
        )


# --- data --------------------------------------------------------------------------------------


@_user_errors
def load_data(
    data: spec_language.Spec | PathArg | None = None, dataset: str | None = None
) -> tuple[Split, Split]:
    """``(x_train, y_train), (x_test, y_test)`` as ``keras.datasets.mnist.load_data()`` gives
    them (uint8 images N x 28 x 28, labels 0-9), loaded and checked as ``train`` loads them.

    ``data`` is a loaded ``Spec``: the data it trains on (its ``data.dataset`` and
    ``data.path``, overrides applied; ``MNISTCTL_DATA`` over them, as ``train``), its pictures
    made to its Input. Or a local data set (a ``.npz``, a folder of IDX files, class folders,
    a CSV); by default ``MNISTCTL_DATA``, else ``dataset`` by name (``mnist``, the default,
    downloaded once through Keras; ``fashion_mnist``; ``mnist_sample``, bundled, offline).
    ``train_samples`` and the validation split are training's: all the images are returned."""
    if isinstance(data, spec_language.Spec):
        if dataset is not None:
            raise UserError(
                "a spec names its own data set",
                Location("dataset"),
                expected="a spec, or a data set's name, not both",
                received=repr(dataset),
                hint=f'load_spec(..., overrides=["data.dataset={dataset}"]), then load_data(spec)',
            )
        with _tensorflow():
            from mnistctl.commands.datasource import load_spec_data

            loaded = load_spec_data(data, _data_path(None))
    else:
        with _tensorflow():
            from mnistctl.data.datasets import load_dataset

            loaded = load_dataset(dataset or "mnist", _data_path(data))
    return (loaded.x_train, loaded.y_train), (loaded.x_test, loaded.y_test)
