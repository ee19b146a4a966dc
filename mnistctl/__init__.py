"""mnistctl: define, train and understand Keras neural networks on MNIST from a YAML spec.

The Python API (``mnistctl/api/``), for notebooks and scripts::

    import mnistctl
    spec = mnistctl.load_spec("specs/cnn.yaml", overrides=["train.epochs=2"])
    run = mnistctl.train(spec)
    run.evaluate().accuracy

Its names are loaded on first use, so ``import mnistctl`` stays light: no TensorFlow, no
matplotlib, not even the spec language until a name is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mnistctl.version import __version__

if TYPE_CHECKING:
    from mnistctl.api import (
        Error,
        ModelSummary,
        Probabilities,
        Run,
        RunGroup,
        Spec,
        load_data,
        load_spec,
        open_run,
        report,
        resume,
        train,
    )
    from mnistctl.errors import UserError, UserErrors

_LAZY = {
    "Error": "mnistctl.api",
    "ModelSummary": "mnistctl.api",
    "Probabilities": "mnistctl.api",
    "Run": "mnistctl.api",
    "RunGroup": "mnistctl.api",
    "Spec": "mnistctl.api",
    "load_data": "mnistctl.api",
    "load_spec": "mnistctl.api",
    "open_run": "mnistctl.api",
    "report": "mnistctl.api",
    "resume": "mnistctl.api",
    "train": "mnistctl.api",
    "UserError": "mnistctl.errors",
    "UserErrors": "mnistctl.errors",
}

__all__ = [
    "Error",
    "ModelSummary",
    "Probabilities",
    "Run",
    "RunGroup",
    "Spec",
    "UserError",
    "UserErrors",
    "__version__",
    "load_data",
    "load_spec",
    "open_run",
    "report",
    "resume",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mnistctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
