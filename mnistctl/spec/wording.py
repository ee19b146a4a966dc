"""How problems are worded: "did you mean ...?" hints and short descriptions of values.

One place, so that every error of the spec language (schema, overrides, graph) reads alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

# what people coming from other tools write, and what a spec spells instead
ALIASES = {
    "lr": "learning_rate",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "acc": "accuracy",
    "kld": "kl_divergence",
    "n_units": "units",
    "size": "units",
    "kernel": "kernel_size",
    "pool": "pool_size",
    "dropout": "rate",
    "shape": "target_shape",
    "input_shape": "shape",
    "batch": "batch_size",
    "epoch": "epochs",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = [c for c in choices if isinstance(c, str)]
    if ALIASES.get(word.lower()) in choices:
        return f"did you mean {ALIASES[word.lower()]!r}?"
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean {lowered[word.lower()]!r}?"
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match:
        match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return f"did you mean {match[0]!r}?" if match else None


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value!r} (a number)"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
