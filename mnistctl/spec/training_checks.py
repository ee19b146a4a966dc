"""Checks of the training objects that the JSON Schema cannot state, because they span keys or
sections: a callback must watch a metric the run will have, ReduceLROnPlateau cannot steer a
scheduled rate, a piecewise schedule's lists must fit. Each problem is a located ``UserError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mnistctl.errors import Location, PathPart, UserError
from mnistctl.spec.objects import CALLBACKS
from mnistctl.spec.sections import CompileSection, DataSection, TrainSection
from mnistctl.spec.wording import did_you_mean

Locate = Callable[..., Location]
_LR_PATH: tuple[PathPart, ...] = ("compile", "optimizer", "learning_rate")


def available_metrics(compile_: CompileSection, data: DataSection) -> list[str]:
    """The names a callback may monitor: Keras's logs of this run."""
    names = ["loss", *compile_.metrics]
    if data.validation_split > 0:
        names += [f"val_{n}" for n in names]
    return names


def check_training(
    compile_: CompileSection, train: TrainSection, data: DataSection, locate: Locate
) -> list[UserError]:
    errors = _check_schedule(compile_, locate)
    errors += _check_callbacks(compile_, train, data, locate)
    return errors


def _check_schedule(compile_: CompileSection, locate: Locate) -> list[UserError]:
    schedule = compile_.optimizer_args.get("learning_rate")
    if not isinstance(schedule, Mapping):
        return []
    kind = schedule["type"]
    if kind == "PiecewiseConstantDecay":
        return _check_piecewise(schedule, locate)
    no_warmup = not schedule.get("warmup_target")
    if kind == "CosineDecay" and schedule["initial_learning_rate"] == 0 and no_warmup:
        return [
            UserError(
                "a CosineDecay from 0 without warmup never trains",
                locate((*_LR_PATH, "initial_learning_rate")),
                expected="initial_learning_rate > 0, or a warmup_target to warm up to",
                received="0",
                hint="add warmup_target: 0.001 and warmup_steps: 500",
            )
        ]
    return []


def _check_piecewise(schedule: Mapping[str, Any], locate: Locate) -> list[UserError]:
    boundaries, values = list(schedule["boundaries"]), list(schedule["values"])
    errors = []
    if len(values) != len(boundaries) + 1:
        errors.append(
            UserError(
                "PiecewiseConstantDecay needs one more value than boundaries",
                locate((*_LR_PATH, "values")),
                expected=f"{len(boundaries) + 1} values for {len(boundaries)} boundaries",
                received=f"{len(values)} values",
                hint="values[0] applies up to boundaries[0], the last value after the last",
            )
        )
    for i in range(1, len(boundaries)):
        if boundaries[i] <= boundaries[i - 1]:
            errors.append(
                UserError(
                    "PiecewiseConstantDecay's boundaries must increase",
                    locate((*_LR_PATH, "boundaries", i)),
                    expected=f"a step after {boundaries[i - 1]}",
                    received=str(boundaries[i]),
                )
            )
            break
    return errors


def _check_callbacks(
    compile_: CompileSection, train: TrainSection, data: DataSection, locate: Locate
) -> list[UserError]:
    errors: list[UserError] = []
    metrics = available_metrics(compile_, data)
    seen: set[str] = set()
    for i, callback in enumerate(train.callbacks):
        kind = str(callback["type"])
        where: tuple[PathPart, ...] = ("train", "callbacks", i)
        if kind in seen:
            errors.append(
                UserError(
                    f"a second {kind}",
                    locate(where),
                    expected=f"at most one {kind} callback",
                    received=f"{kind} again",
                    hint="keep one: the run records one state per callback type",
                )
            )
        seen.add(kind)
        monitor = CALLBACKS[kind].with_defaults(callback)["monitor"]
        if monitor not in metrics:
            errors.append(_bad_monitor(kind, monitor, metrics, callback, where, locate))
        if kind == "ReduceLROnPlateau" and isinstance(
            compile_.optimizer_args.get("learning_rate"), Mapping
        ):
            errors.append(
                UserError(
                    "ReduceLROnPlateau cannot change a learning rate that a schedule sets",
                    locate(where),
                    expected="a number as compile.optimizer.learning_rate",
                    received="a learning-rate schedule",
                    hint="keep either the schedule or ReduceLROnPlateau",
                )
            )
    return errors


def _bad_monitor(
    kind: str,
    monitor: str,
    metrics: list[str],
    callback: Mapping[str, Any],
    where: tuple[PathPart, ...],
    locate: Locate,
) -> UserError:
    hint = did_you_mean(monitor, metrics)
    if monitor.startswith("val_") and not any(m.startswith("val_") for m in metrics):
        hint = f"val_ metrics need data.validation_split > 0; or monitor {monitor[4:]!r}"
    given = "monitor" in callback
    return UserError(
        f"{kind} monitors {monitor!r}, which this run will not have"
        + ("" if given else " (Keras's default)"),
        locate((*where, "monitor") if given else where),
        expected="one of " + ", ".join(metrics),
        received=repr(monitor),
        hint=hint,
    )
