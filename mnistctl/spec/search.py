"""The spec's ``search:`` section: what ``mnistctl tune`` searches, as plain typed data.

``space`` maps ``--set`` paths (layer names allowed, as in ``--set``) to one of Optuna's
distributions, written ``{choice: [...]}``, ``{int: [lo, hi], step, log}`` or ``{float: [lo,
hi], step, log}``. Its schema is here (``search_schema``), its meaning checks (a range's ends in
order, a log range above 0, ...) are ``distribution_errors``, and whether every value a
distribution can take leaves a valid spec is ``search_checks.py``. Never imports Optuna.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.wording import describe

Locate = Callable[..., Location]

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("maximize", "minimize")
KINDS = ("choice", "int", "float")
MAX_CHOICES = 256
MAX_CHECKED_INTS = 64  # an int range with at most this many values has each one checked
_MINIMIZED = ("loss", "error", "mse", "mae")


@dataclass(frozen=True)
class Distribution:
    """One searched value: ``choice`` among ``choices``, or an ``int``/``float`` in [lo, hi]."""

    kind: str  # choice | int | float
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choice": list(self.choices)}
        out: dict[str, Any] = {self.kind: [self.low, self.high]}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out

    @property
    def finite(self) -> bool:
        """Whether a grid can hold it: a choice, an int range, or a float range with a step."""
        return self.kind != "float" or self.step is not None

    def grid(self) -> list[Any]:
        """Every value, for the grid sampler (``finite`` only)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        assert self.step is not None
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]

    def probes(self) -> list[tuple[Any, str]]:
        """The values whose specs are checked before searching, each with how to name it: a
        choice's every value; an int range's every value when there are few, else its ends and
        middle; a float range's ends and middle."""
        if self.kind == "choice":
            n = len(self.choices)
            return [(v, f"choice {i + 1} of {n}") for i, v in enumerate(self.choices)]
        if self.kind == "int":
            values = self.grid()
            if len(values) <= MAX_CHECKED_INTS:
                return [(v, _int_role(v, values)) for v in values]
            middle = values[len(values) // 2]
            return [(values[0], "the range's low end"), (middle, "the range's middle"),
                    (values[-1], "the range's high end")]  # fmt: skip
        low, high = float(self.low), float(self.high)  # Optuna proposes floats: 8.0, not 8
        middle = math.sqrt(low * high) if self.log else (low + high) / 2
        return [(low, "the range's low end"), (middle, "the range's middle"),
                (high, "the range's high end")]  # fmt: skip


def _int_role(value: int, values: list[int]) -> str:
    if value == values[0]:
        return "the range's low end"
    if value == values[-1]:
        return "the range's high end"
    return "a value in the range"


@dataclass(frozen=True)
class SearchSection:
    metric: str
    direction: str
    trials: int
    sampler: str
    pruner: str
    seed: int | None  # the sampler's seed (None: the spec's train.seed)
    space: tuple[tuple[str, Distribution], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "direction": self.direction,
            "trials": self.trials,
            "sampler": self.sampler,
            "pruner": self.pruner,
            "seed": self.seed,
            "space": {path: dist.to_json() for path, dist in self.space},
        }

    def grid_size(self) -> int:
        return math.prod(len(dist.grid()) for _, dist in self.space)


def inferred_direction(metric: str) -> str:
    """A loss (or error) is minimized, anything else (accuracy, ...) maximized."""
    return "minimize" if any(word in metric for word in _MINIMIZED) else "maximize"


def search_schema() -> dict[str, Any]:
    number = {"type": "number"}
    dist = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": (
            "{choice: [...]}, {int: [lo, hi], step, log} or {float: [lo, hi], step, log}"
        ),
        "properties": {
            "choice": {"type": "array", "minItems": 1, "maxItems": MAX_CHOICES},
            "int": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            "float": {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
            "step": {"type": "number", "exclusiveMinimum": 0},
            "log": {"type": "boolean", "default": False},
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["space"],
        "description": "what `mnistctl tune` searches (train ignores it)",
        "properties": {
            "metric": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "default": "val_accuracy",
                "description": "a history metric, e.g. val_accuracy or val_loss",
            },
            "direction": {
                "enum": list(DIRECTIONS),
                "description": "default: minimize for a loss, maximize for anything else",
            },
            "trials": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 20},
            "sampler": {"enum": list(SAMPLERS), "default": "tpe"},
            "pruner": {"enum": list(PRUNERS), "default": "median"},
            "seed": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**31 - 1,
                "description": "the sampler's seed (default: train.seed)",
            },
            "space": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 64,
                "propertyNames": {"pattern": r"^[^\s=]+$"},
                "additionalProperties": dist,
                "description": "--set paths (layer names allowed) to distributions",
            },
        },
    }


def parse_search(raw: Mapping[str, Any], locate: Locate) -> tuple[SearchSection, list[UserError]]:
    """The (schema-checked) section as data, and the problems of its distributions (the
    section then holds the distributions that have none, to be checked further)."""
    errors: list[UserError] = []
    space: list[tuple[str, Distribution]] = []
    for path, given in raw["space"].items():
        dist, problems = _distribution(given, locate(("search", "space", path)), path)
        errors += problems
        if dist is not None:
            space.append((path, dist))
    metric = str(raw.get("metric", "val_accuracy"))
    section = SearchSection(
        metric=metric,
        direction=str(raw.get("direction") or inferred_direction(metric)),
        trials=int(raw.get("trials", 20)),
        sampler=str(raw.get("sampler", "tpe")),
        pruner=str(raw.get("pruner", "median")),
        seed=raw.get("seed"),
        space=tuple(space),
    )
    if section.sampler == "grid":
        errors += _grid_errors(section, locate)
    return section, errors


def _distribution(
    given: Mapping[str, Any], where: Location, path: str
) -> tuple[Distribution | None, list[UserError]]:
    kinds = [k for k in KINDS if k in given]

    def fail(message: str, expected: str, received: str, hint: str | None = None) -> UserError:
        return UserError(message, where, expected=expected,
                         received=received, hint=hint)  # fmt: skip

    if len(kinds) != 1:
        return None, [
            fail(
                "needs exactly one distribution",
                "one of choice, int, float",
                ", ".join(kinds) if kinds else f"only {', '.join(sorted(given))}",
                "e.g. {int: [16, 64], step: 16} or {choice: [64, 128]}",
            )
        ]
    kind = kinds[0]
    step, log = given.get("step"), bool(given.get("log", False))
    if kind == "choice":
        extra = [k for k in ("step", "log") if k in given]
        if extra:
            return None, [fail(f"{extra[0]} applies to a range, not a choice", "{choice: [...]}",
                               f"{extra[0]}: {given[extra[0]]!r}")]  # fmt: skip
        choices = tuple(given["choice"])
        kinds_of = {_kind_of(v) for v in choices}
        if len(kinds_of) > 1:
            return None, [fail("mixes kinds of values", "choices of one kind (all numbers, all "
                               "strings, ...)", ", ".join(sorted(kinds_of)),
                               "a key takes one kind of value")]  # fmt: skip
        if len({repr(v) for v in choices}) != len(choices):
            return None, [fail("lists a choice twice", "different choices", repr(list(choices)))]
        return Distribution("choice", choices=choices), []
    low, high = given[kind]
    errors = []
    if low > high:
        errors.append(fail("the range's ends are reversed", "[lo, hi] with lo <= hi",
                           f"[{low}, {high}]", f"write [{high}, {low}]"))  # fmt: skip
    if log and low <= 0:
        errors.append(fail("a log range must stay above 0", "lo > 0 with log: true",
                           f"lo = {low}", "start the range above 0, or drop log"))  # fmt: skip
    if log and step is not None and kind == "float":
        errors.append(fail("step and log cannot be combined (Optuna)", "step or log",
                           "both"))  # fmt: skip
    if kind == "int" and step is not None and (not _is_int(step)):
        errors.append(fail("an int range's step must be a whole number", "step: 1, 2, ...",
                           describe(step)))  # fmt: skip
    if kind == "int" and log and step not in (None, 1):
        errors.append(fail("a log int range takes no step (Optuna)", "step: 1 or none",
                           f"step: {step}"))  # fmt: skip
    if errors:
        return None, errors
    return Distribution(kind, low=low, high=high, step=step, log=log), []


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int | float):
        return "numbers"
    if isinstance(value, str):
        return "strings"
    if value is None:
        return "nulls"
    if isinstance(value, list):
        return "lists"
    return "mappings"


def _grid_errors(section: SearchSection, locate: Locate) -> list[UserError]:
    errors = []
    for path, dist in section.space:
        if not dist.finite:
            errors.append(
                UserError(
                    "the grid sampler needs a finite set of values",
                    locate(("search", "space", path)),
                    expected="a choice, an int range, or a float range with a step",
                    received="a float range without step",
                    hint="add a step, or use sampler: tpe",
                )
            )
    return errors


SEARCH_PATH: tuple[PathPart, ...] = ("search",)
