"""Whether a ``search:`` section can only propose valid specs, checked before any trial.

Each path must name a place ``--set`` can set, and each value a distribution may propose must
leave a spec that passes every check (schema, graph and shapes, training objects): a choice's
every value, an int range's every value (or its ends and middle when it is long), a float
range's ends and middle, then all the low ends together and all the high ends together (a
``units`` range whose low end breaks a later shape is found here, located at the range). The
metric must be one the trials will log.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mnistctl.errors import Location, PathPart, UserError, UserErrors, format_path
from mnistctl.spec.overrides import set_path
from mnistctl.spec.search import Distribution, SearchSection, parse_search
from mnistctl.spec.training_checks import available_metrics
from mnistctl.spec.wording import did_you_mean

if TYPE_CHECKING:
    from mnistctl.spec.loader import Spec

Locate = Callable[..., Location]
Check = Callable[[dict[str, Any], Locate], list[UserError]]  # a spec's data -> its problems

# Paths a search may not set: what names the study's runs, and the search itself.
_FIXED = ("name", "description", "search")


def check_search(
    data: dict[str, Any], spec: Spec, locate: Locate, check: Check
) -> tuple[SearchSection | None, list[UserError]]:
    """The search section of ``data`` (whose spec, ``spec``, passed), or its problems."""
    search, errors = parse_search(data["search"], locate)
    errors += _metric_errors(search, spec, locate)
    base = {k: v for k, v in data.items() if k != "search"}
    for path, dist in search.space:
        errors += _path_errors(base, path, dist, locate, check)
    if not errors:
        errors += _together_errors(base, search, locate, check)
    return (None if errors else search), errors


def _metric_errors(search: SearchSection, spec: Spec, locate: Locate) -> list[UserError]:
    names = available_metrics(spec.compile, spec.data)
    if search.metric in names:
        return []
    needs_validation = search.metric.startswith("val_") and spec.data.validation_split == 0
    return [
        UserError(
            f"no trial will log the metric {search.metric!r}",
            locate(("search", "metric")),
            expected=f"one of {', '.join(names)}",
            received=search.metric,
            hint="set data.validation_split above 0, or search on a training metric"
            if needs_validation
            else did_you_mean(search.metric, names),
        )
    ]


def _path_errors(
    base: dict[str, Any], path: str, dist: Distribution, locate: Locate, check: Check
) -> list[UserError]:
    where = locate(("search", "space", path), key=True)
    head = path.split(".", 1)[0]
    if head in _FIXED:
        return [
            UserError(
                f"{head} cannot be searched",
                where,
                expected="a path under data, model, compile or train",
                received=path,
            )
        ]
    try:
        set_path(copy.deepcopy(base), path, dist.probes()[0][0], where)
    except UserError as err:
        return [
            UserError(
                f"no such place to set: {err.message}",
                where,
                expected=err.expected,
                received=err.received,
                hint=err.hint or "give a --set path, e.g. model.layers.hidden.units",
            )
        ]
    for value, role in dist.probes():
        problem = _probe(base, [(path, value)], where, check)
        if problem is not None:
            return [_worded(problem, f"{value!r} ({role})", where)]
    return []


def _together_errors(
    base: dict[str, Any], search: SearchSection, locate: Locate, check: Check
) -> list[UserError]:
    """All the ranges' low ends at once, then all the high ends (one at a time passed)."""
    ranges = [(p, d) for p, d in search.space if d.kind != "choice"]
    if len(ranges) < 2:
        return []
    for end, pick in (("low", 0), ("high", -1)):
        values = [(p, d.probes()[pick][0]) for p, d in ranges]
        where = locate(("search", "space"), key=True)
        problem = _probe(base, values, where, check)
        if problem is not None:
            shown = ", ".join(f"{p}={v!r}" for p, v in values)
            return [_worded(problem, f"every range at its {end} end ({shown})", where)]
    return []


def _probe(
    base: dict[str, Any], values: list[tuple[str, Any]], where: Location, check: Check
) -> UserError | None:
    """The first problem of the spec with ``values`` set, or None when it passes."""
    data = copy.deepcopy(base)
    try:
        for path, value in values:
            set_path(data, path, value, where)
    except UserError as err:
        return err
    except UserErrors as errs:  # pragma: no cover - set_path raises one
        return errs.errors[0]
    problems = check(data, lambda p, key=False: Location(where.file, where.line, where.col, p))
    return problems[0] if problems else None


def _worded(problem: UserError, with_: str, where: Location) -> UserError:
    inner = problem.message
    at = problem.location.path
    place = format_path(at)
    return UserError(
        f"with {with_} the spec is invalid: {place + ': ' if place else ''}{inner}",
        where,
        expected=problem.expected,
        received=problem.received,
        hint=problem.hint or "narrow the range, or drop the value that breaks the spec",
    )


__all__ = ["PathPart", "check_search"]
