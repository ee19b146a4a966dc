"""Specs and data in the Python API: ``load_spec``, the summary as a rich renderable,
``load_data``."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.jupyter import JupyterMixin
from rich.text import Text

from mnistctl.spec import Spec
from mnistctl.spec import load_spec as _load_spec

if TYPE_CHECKING:
    from mnistctl.spec.model import ModelInfo
    from mnistctl.spec.plan import TrainingPlan

from mnistctl.api.common import (
    PathArg,
    Split,
    _data_path,
    _tensorflow,
    _user_errors,
)

# --- specs -------------------------------------------------------------------------------------


@_user_errors
def load_spec(path: PathArg, overrides: Sequence[str] | Mapping[str, Any] = ()) -> Spec:
    """Load and check a spec, as ``mnistctl validate`` does (never imports TensorFlow).

    ``overrides`` are the CLI's ``--set`` values: ``["train.epochs=2", "data.train_samples=300"]``
    (each value parsed as YAML), or a mapping ``{"train.epochs": 2}``. Raises ``Error`` listing
    every problem found, each with its place.
    """
    return _load_spec(Path(path), _override_list(overrides))


def _override_list(overrides: Sequence[str] | Mapping[str, Any]) -> list[str]:
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        # JSON is YAML: the value reads back as the Python value it was.
        return [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    return [str(item) for item in overrides]


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
        "training"}``."""
        return {
            **self.info.to_json(self.name),
            "training": self.plan.to_json() if self.plan else None,
        }

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
def load_data(data: PathArg | None = None, dataset: str = "mnist") -> tuple[Split, Split]:
    """``(x_train, y_train), (x_test, y_test)`` as ``keras.datasets.mnist.load_data()`` gives
    them (uint8 images N x 28 x 28, labels 0-9), loaded and checked as ``train`` loads them:
    ``data`` (a ``.npz`` or a folder of IDX files; by default ``MNISTCTL_DATA``), else
    ``dataset`` (``mnist``, ``fashion_mnist`` or ``mnist_sample``) from Keras's cache."""
    with _tensorflow():
        from mnistctl.data.datasets import load_dataset

        loaded = load_dataset(dataset, _data_path(data))
    return (loaded.x_train, loaded.y_train), (loaded.x_test, loaded.y_test)
