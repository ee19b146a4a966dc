"""The pure-Python learning rates of ``spec/schedules.py`` against Keras's own schedules, step by
step; steps per epoch against the training pipeline's split; and what ``plan`` warns about."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mnistctl.ml import objects as ml_objects
from mnistctl.ml.pipeline import split
from mnistctl.spec.schedules import epoch_steps, plan, rate, settles_at

SCHEDULES: list[dict[str, Any]] = [
    {"type": "ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5},
    {
        "type": "ExponentialDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 7,
        "decay_rate": 0.5,
        "staircase": True,
    },
    {"type": "PiecewiseConstantDecay", "boundaries": [5, 20, 21], "values": [1, 0.5, 0.1, 0.01]},
    {"type": "PolynomialDecay", "initial_learning_rate": 0.1, "decay_steps": 30},
    {
        "type": "PolynomialDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 13,
        "end_learning_rate": 0.01,
        "power": 2.5,
        "cycle": True,
    },
    {"type": "InverseTimeDecay", "initial_learning_rate": 0.2, "decay_steps": 4, "decay_rate": 3},
    {
        "type": "InverseTimeDecay",
        "initial_learning_rate": 0.2,
        "decay_steps": 4,
        "decay_rate": 3,
        "staircase": True,
    },
    {"type": "CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 25, "alpha": 0.1},
    {
        "type": "CosineDecay",
        "initial_learning_rate": 0,
        "decay_steps": 20,
        "warmup_target": 0.3,
        "warmup_steps": 9,
    },
    {"type": "CosineDecayRestarts", "initial_learning_rate": 0.1, "first_decay_steps": 6},
    {
        "type": "CosineDecayRestarts",
        "initial_learning_rate": 0.1,
        "first_decay_steps": 5,
        "t_mul": 1.0,
        "m_mul": 0.5,
        "alpha": 0.2,
    },
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s["type"])
def test_rates_equal_keras(schedule: dict[str, Any]) -> None:
    keras_schedule = ml_objects.make("schedule", schedule)
    for step in range(0, 60):
        expected = float(np.asarray(keras_schedule(step)))
        assert rate(schedule, step) == pytest.approx(expected, rel=1e-5, abs=1e-9), step


@pytest.mark.parametrize(
    ("n", "samples", "split_", "batch"),
    [(5000, None, 0.1, 128), (5000, 300, 0.2, 64), (60000, None, 0.0, 128), (7, None, 0.5, 2)],
)
def test_epoch_steps_follow_the_pipeline(
    n: int, samples: int | None, split_: float, batch: int
) -> None:
    x, y = np.zeros((n, 2), np.uint8), np.zeros(n, np.uint8)
    parts = split(x, y, train_samples=samples, validation_split=split_, seed=0)
    images, steps = epoch_steps(n, train_samples=samples, validation_split=split_, batch_size=batch)
    assert images == len(parts.x_train)
    assert steps == -(-len(parts.x_train) // batch)


def test_a_schedule_that_ends_early_is_warned_about() -> None:
    cosine = {"type": "CosineDecay", "initial_learning_rate": 0.01, "decay_steps": 100}
    p = plan(cosine, steps_per_epoch=50, epochs=10)
    assert settles_at(cosine) == 100
    assert len(p.warnings) == 1 and "ends at step 100 (epoch 2.0 of 10)" in p.warnings[0]
    assert "constant from step 100" in p.describe()


def test_a_schedule_that_hardly_decays_is_warned_about() -> None:
    slow = {
        "type": "ExponentialDecay",
        "initial_learning_rate": 0.01,
        "decay_steps": 100_000,
        "decay_rate": 0.9,
    }
    p = plan(slow, steps_per_epoch=50, epochs=10)
    assert p.end > 0.99 * p.start
    assert len(p.warnings) == 1 and "hardly decays" in p.warnings[0]


def test_a_warmup_longer_than_training_is_warned_about() -> None:
    warm = {
        "type": "CosineDecay",
        "initial_learning_rate": 0.0,
        "decay_steps": 1000,
        "warmup_target": 0.01,
        "warmup_steps": 600,
    }
    p = plan(warm, steps_per_epoch=50, epochs=10)
    assert len(p.warnings) == 1 and "warmup" in p.warnings[0]


def test_a_schedule_that_fits_the_run_is_not_warned_about() -> None:
    fits = {"type": "CosineDecay", "initial_learning_rate": 0.01, "decay_steps": 500}
    p = plan(fits, steps_per_epoch=50, epochs=10)
    assert p.warnings == ()
    assert p.start == pytest.approx(0.01) and p.end < 0.0001
    restarts = {
        "type": "CosineDecayRestarts",
        "initial_learning_rate": 0.01,
        "first_decay_steps": 9,
    }
    assert plan(restarts, steps_per_epoch=50, epochs=10).warnings == ()
