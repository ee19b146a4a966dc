"""Learning-rate schedules in pure Python: the rate a Keras schedule gives at an optimizer step,
and what a schedule does over a run of known length.

Steps are optimizer steps (batches), as Keras counts them; the optimizer asks for the rate at
step 0 for its first batch. ``summary`` and ``train`` use this to say how many steps an epoch has
and where the schedule is when training ends, without TensorFlow; ``tests/test_schedules.py``
checks the formulas against Keras's own classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistctl.spec.objects import SCHEDULES


def rate(schedule: Mapping[str, Any], step: int) -> float:
    """The learning rate ``schedule`` (a spec mapping) gives at optimizer ``step``."""
    kind = str(schedule["type"])
    a = SCHEDULES[kind].with_defaults(schedule)
    return float(_RATES[kind](a, float(step)))


def _exponential(a: Mapping[str, Any], step: float) -> float:
    p = step / a["decay_steps"]
    p = math.floor(p) if a["staircase"] else p
    return float(a["initial_learning_rate"] * a["decay_rate"] ** p)


def _inverse_time(a: Mapping[str, Any], step: float) -> float:
    p = step / a["decay_steps"]
    p = math.floor(p) if a["staircase"] else p
    return float(a["initial_learning_rate"] / (1 + a["decay_rate"] * p))


def _piecewise(a: Mapping[str, Any], step: float) -> float:
    for boundary, value in zip(a["boundaries"], a["values"], strict=False):
        if step <= boundary:  # Keras: values[i] up to and including boundaries[i]
            return float(value)
    return float(a["values"][-1])


def _polynomial(a: Mapping[str, Any], step: float) -> float:
    decay_steps = float(a["decay_steps"])
    if a["cycle"]:
        decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
    else:
        step = min(step, decay_steps)
    p = step / decay_steps
    lr0, lr1 = a["initial_learning_rate"], a["end_learning_rate"]
    return float((lr0 - lr1) * (1 - p) ** a["power"] + lr1)


def _cosine_part(step: float, decay_steps: float, peak: float, alpha: float) -> float:
    done = min(step, decay_steps) / decay_steps
    return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * done)) + alpha)


def _cosine(a: Mapping[str, Any], step: float) -> float:
    lr0, target, warmup = a["initial_learning_rate"], a["warmup_target"], a["warmup_steps"]
    if target is None:
        return _cosine_part(step, a["decay_steps"], lr0, a["alpha"])
    if step < warmup:
        return float(lr0 + (target - lr0) * step / warmup)
    return _cosine_part(step - warmup, a["decay_steps"], target, a["alpha"])


def _cosine_restarts(a: Mapping[str, Any], step: float) -> float:
    t_mul, m_mul, alpha = a["t_mul"], a["m_mul"], a["alpha"]
    done = step / a["first_decay_steps"]
    if t_mul == 1.0:
        restart = math.floor(done)
        done -= restart
    else:
        restart = math.floor(math.log(1.0 - done * (1.0 - t_mul)) / math.log(t_mul))
        total = (1.0 - t_mul**restart) / (1.0 - t_mul)
        done = (done - total) / t_mul**restart
    cosine = m_mul**restart * 0.5 * (1 + math.cos(math.pi * done))  # alpha is not scaled
    return float(a["initial_learning_rate"] * ((1 - alpha) * cosine + alpha))


_RATES = {
    "ExponentialDecay": _exponential,
    "InverseTimeDecay": _inverse_time,
    "PiecewiseConstantDecay": _piecewise,
    "PolynomialDecay": _polynomial,
    "CosineDecay": _cosine,
    "CosineDecayRestarts": _cosine_restarts,
}


def epoch_steps(
    images: int, *, train_samples: int | None, validation_split: float, batch_size: int
) -> tuple[int, int]:
    """(training images, optimizer steps per epoch) for ``images`` in the data set, split as
    ``ml/pipeline.split`` does."""
    n = min(images, train_samples) if train_samples else images
    if validation_split > 0 and n > 1:
        n -= min(max(round(n * validation_split), 1), n - 1)
    return n, max(1, math.ceil(n / batch_size))


def settles_at(schedule: Mapping[str, Any]) -> int | None:
    """The step after which the rate no longer changes; None for a schedule that changes for
    ever (exponential, inverse-time, restarting or cycling decay)."""
    kind = str(schedule["type"])
    a = SCHEDULES[kind].with_defaults(schedule)
    if kind == "PiecewiseConstantDecay":
        return int(a["boundaries"][-1]) + 1
    if kind == "PolynomialDecay" and not a["cycle"]:
        return int(a["decay_steps"])
    if kind == "CosineDecay":
        return int(a["decay_steps"]) + (int(a["warmup_steps"]) if a["warmup_target"] else 0)
    return None


@dataclass(frozen=True)
class Plan:
    """A schedule over one run: what ``summary`` and ``train`` say about it."""

    steps_per_epoch: int
    total_steps: int
    start: float  # the rate of the first step
    end: float  # the rate of the last step
    settles: int | None  # see settles_at
    warnings: tuple[str, ...]

    def describe(self) -> str:
        last = self.total_steps - 1
        text = f"learning rate {self.start:.4g} at step 0 → {self.end:.4g} at step {last:,}"
        if self.settles is not None and self.settles < self.total_steps:
            epoch = self.settles / self.steps_per_epoch
            text += f", constant from step {self.settles:,} (epoch {epoch:.1f})"
        return text


def plan(schedule: Mapping[str, Any], steps_per_epoch: int, epochs: int) -> Plan:
    """Where the schedule is over ``epochs`` of ``steps_per_epoch``; warnings when it stops
    decaying long before training ends, or hardly decays within it."""
    total = steps_per_epoch * epochs
    last = max(total - 1, 0)
    start, end = rate(schedule, 0), rate(schedule, last)
    peak = max(rate(schedule, s) for s in range(0, total, max(1, total // 200)))
    settles = settles_at(schedule)
    kind = schedule["type"]
    warnings: list[str] = []
    a = SCHEDULES[str(kind)].with_defaults(schedule)
    if kind == "CosineDecay" and a["warmup_target"] and a["warmup_steps"] >= total:
        warnings.append(
            f"the CosineDecay warmup ({a['warmup_steps']:,} steps) does not end within "
            f"training ({total:,} steps = {epochs} epochs of {steps_per_epoch:,}): the rate "
            f"never reaches warmup_target; set warmup_steps below {total:,}"
        )
    elif settles is not None and settles < total / 2:
        warnings.append(
            f"the {kind} schedule ends at step {settles:,} (epoch {settles / steps_per_epoch:.1f} "
            f"of {epochs}); the rest of training runs at {rate(schedule, settles):.3g}: "
            f"set its steps nearer the {total:,} steps of this run"
        )
    elif peak > 0 and end > 0.9 * peak and kind != "CosineDecayRestarts":
        warnings.append(
            f"the {kind} schedule hardly decays within training: {start:.3g} at step 0, "
            f"{end:.3g} at the last step ({total:,} steps = {epochs} epochs of "
            f"{steps_per_epoch:,}); set its steps nearer {total:,}"
        )
    return Plan(steps_per_epoch, total, start, end, settles, tuple(warnings))
