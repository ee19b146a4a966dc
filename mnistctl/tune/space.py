"""A trial's values from a ``SearchSection``: one Optuna ``suggest_*`` per distribution.

Parameters are named by their ``--set`` path. Optuna's categorical values are None, booleans,
numbers and strings; a choice among lists or mappings (``kernel_size: {choice: [[3, 3], [5,
5]]}``) goes through Optuna as each value's JSON text and comes back as the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mnistctl.spec.search import Distribution, SearchSection


def _encoded(dist: Distribution) -> bool:
    """Whether the choice's values travel as JSON text."""
    return dist.kind == "choice" and any(isinstance(v, list | dict) for v in dist.choices)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def suggest(trial: Any, section: SearchSection) -> dict[str, Any]:
    """Ask ``trial`` (an ``optuna.Trial``) for a value of every path: path -> spec value."""
    values: dict[str, Any] = {}
    for path, dist in section.space:
        if dist.kind == "choice":
            if _encoded(dist):
                picked = trial.suggest_categorical(path, [_text(v) for v in dist.choices])
                values[path] = json.loads(picked)
            else:
                values[path] = trial.suggest_categorical(path, list(dist.choices))
        elif dist.kind == "int":
            step = int(dist.step or 1)
            values[path] = trial.suggest_int(
                path, int(dist.low), int(dist.high), step=step, log=dist.log
            )
        else:
            values[path] = trial.suggest_float(
                path, float(dist.low), float(dist.high), step=dist.step, log=dist.log
            )
    return values


def grid(section: SearchSection) -> dict[str, list[Any]]:
    """The grid sampler's search space, in the values Optuna holds."""
    return {
        path: [_text(v) for v in dist.grid()] if _encoded(dist) else dist.grid()
        for path, dist in section.space
    }


def decoded(section: SearchSection, params: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's parameters as spec values (JSON text back to lists and mappings)."""
    kinds = dict(section.space)
    out: dict[str, Any] = {}
    for path, value in params.items():
        dist = kinds.get(path)
        if dist is not None and _encoded(dist) and isinstance(value, str):
            try:
                out[path] = json.loads(value)
                continue
            except ValueError:
                pass
        out[path] = value
    return out
