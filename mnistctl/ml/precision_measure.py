"""Timing real training steps of a spec's model in each candidate precision.

The model is the one ``train`` builds (``build_model`` + ``compile_model``), fed one synthetic
batch of the spec's batch size, input shape and label form. Per precision: build, compile, one
untimed step (it traces the step function) and a short untimed estimate of the step time. A
precision whose estimate is ``CLEARLY_SLOWER`` times float32's cannot win and is not timed
further (its estimate stands: bf16 emulated on a CPU without bf16 instructions is 5-8x slower,
and would otherwise eat the budget). The others take timed windows of a few steps in turns,
window by window, so that a change in the machine's load hits them alike; the result per
precision is the median over its windows. The timed part is budgeted (``BUDGET_S`` for all
precisions together: fewer steps for slower models); building, tracing and the estimates are
reported apart. ``precision.py`` decides.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnistctl.spec import Spec

BUDGET_S = 2.5  # timed steps, all precisions together; building and tracing come on top
WINDOWS = 5  # timed windows per precision (the median is taken over them)
MIN_WINDOWS = 3  # a slow model gets fewer windows of one step, never fewer than this
MAX_STEPS_PER_WINDOW = 8  # 5 x 8 = 40 steps: enough for a stable median of a fast model
ESTIMATE_S = 0.1  # the untimed estimate: steps until this long (at most ESTIMATE_STEPS)
ESTIMATE_STEPS = 5
CLEARLY_SLOWER = 2.0  # an estimate this many times float32's: out of the running


@dataclass(frozen=True)
class Measurement:
    ms_per_step: dict[str, float]  # median over the windows, per precision
    dropped: dict[str, str] = field(default_factory=dict)  # precision -> why it is unusable
    seconds: float = 0.0  # running steps (estimates and timed windows), all precisions
    trace_seconds: float = 0.0  # building, compiling and the first (tracing) steps
    steps: int = 0  # timed steps per precision in the windows (0: float32 ran alone)


class MeasureFailed(Exception):
    """A precision could not train this model here (it would fail in ``fit`` too)."""

    def __init__(self, policy: str, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
        super().__init__(f"{policy}: {detail}")
        self.policy = policy


def measure(
    spec: Spec,
    policies: Sequence[str],
    *,
    budget_s: float | None = None,
    windows: int | None = None,
    max_steps: int | None = None,
) -> Measurement:
    """Milliseconds per training step of ``spec``'s model in each of ``policies``; raises
    ``MeasureFailed`` naming the precision that could not run. Keras's global precision policy
    is left as it was. The limits default to ``BUDGET_S``, ``WINDOWS``, ``MAX_STEPS_PER_WINDOW``."""
    import keras
    import tensorflow as tf

    budget_s = BUDGET_S if budget_s is None else budget_s
    windows = WINDOWS if windows is None else windows
    max_steps = MAX_STEPS_PER_WINDOW if max_steps is None else max_steps

    tf.config.experimental.enable_op_determinism()  # as fit() trains
    saved = keras.mixed_precision.global_policy()
    models: dict[str, Any] = {}
    try:
        batch = _synthetic_batch(spec)
        prepared = {p: _prepare(spec, p, batch, models) for p in policies}
        estimates = {p: (step_s, loss) for p, (_, step_s, _, loss) in prepared.items()}
        limit = estimates.get("float32", (math.inf, 0.0))[0] * CLEARLY_SLOWER
        racing = [p for p in policies if p == "float32" or estimates[p][0] < limit]
        started = time.monotonic()
        step_s = sum(estimates[p][0] for p in racing)  # one step of each
        plan = _plan(step_s, budget_s, windows, max_steps) if len(racing) > 1 else (0, 0)
        times, losses = _race(models, batch, racing, *plan)
        timed = time.monotonic() - started
    finally:
        keras.mixed_precision.set_global_policy(saved)
        models.clear()
        gc.collect()
    for p, (seconds, loss) in estimates.items():  # out of the race: the estimate stands
        times.setdefault(p, [seconds])
        losses.setdefault(p, loss)
    return Measurement(
        ms_per_step={p: statistics.median(times[p]) * 1000 for p in policies},
        dropped={p: "the loss was not finite" for p in policies if not math.isfinite(losses[p])},
        seconds=timed + sum(run_s for _, _, run_s, _ in prepared.values()),
        trace_seconds=sum(trace_s for trace_s, _, _, _ in prepared.values()),
        steps=plan[0] * plan[1],
    )


def _race(
    models: dict[str, Any], batch: tuple[Any, Any], racing: Sequence[str], windows: int, steps: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """``windows`` timed windows of ``steps`` steps of each ``racing`` precision, in turns:
    seconds per step of each window, and the last loss."""
    times: dict[str, list[float]] = {}
    losses: dict[str, float] = {}
    for w in range(windows):
        for p in [*racing[w % len(racing) :], *racing[: w % len(racing)]]:
            seconds, losses[p] = _window(models[p], batch, steps, p)
            times.setdefault(p, []).append(seconds / steps)
    return times, losses


def _plan(step_s: float, budget_s: float, windows: int, max_steps: int) -> tuple[int, int]:
    """(windows, steps per window) for one step of every precision taking ``step_s``."""
    affordable = int(budget_s / max(step_s, 1e-6))
    if affordable < windows:
        return max(MIN_WINDOWS, min(windows, affordable)), 1
    return windows, max(1, min(max_steps, affordable // windows))


def _synthetic_batch(spec: Spec) -> tuple[Any, Any]:
    """One batch shaped as ``train`` feeds it: float32 images in [0, 1], labels one-hot or
    integer as the loss wants them."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    n = spec.train.batch_size
    x = rng.random((n, *spec.info.input_shape), dtype=np.float32)
    classes = spec.info.classes
    labels = rng.integers(0, classes, size=n)
    if spec.label_mode == "one_hot":
        y = np.eye(classes, dtype=np.float32)[labels]
    else:
        y = labels.astype(np.int32)
    return tf.constant(x), tf.constant(y)


def _prepare(
    spec: Spec, policy: str, batch: tuple[Any, Any], models: dict[str, Any]
) -> tuple[float, float, float, float]:
    """Build and compile in ``policy``, trace, and estimate the step time: (seconds building
    and tracing, seconds per step, seconds of the estimate, the last loss)."""
    import keras

    from mnistctl.ml.builder import build_model
    from mnistctl.ml.compile import compile_model

    try:
        started = time.monotonic()
        keras.mixed_precision.set_global_policy(policy)
        model = build_model(spec)
        compile_model(model, spec)
        _step(model, batch)  # traces
        traced = time.monotonic()
        n = 0
        while n < ESTIMATE_STEPS and (n == 0 or time.monotonic() - traced < ESTIMATE_S):
            loss = _step(model, batch)
            n += 1
        seconds = time.monotonic() - traced
    except Exception as exc:
        raise MeasureFailed(policy, exc) from exc
    models[policy] = model
    return traced - started, seconds / n, seconds, loss


def _window(model: Any, batch: tuple[Any, Any], steps: int, policy: str) -> tuple[float, float]:
    """Seconds for ``steps`` training steps, and the last loss."""
    loss = math.nan
    try:
        started = time.monotonic()
        for _ in range(steps):
            loss = _step(model, batch)
        return time.monotonic() - started, loss
    except Exception as exc:
        raise MeasureFailed(policy, exc) from exc


def _step(model: Any, batch: tuple[Any, Any]) -> float:
    """One training step; waits for it (the loss comes back as a number)."""
    logs = model.train_on_batch(batch[0], batch[1], return_dict=True)
    return float(logs["loss"])
