"""Training recipes across an interruption: a learning-rate schedule, ReduceLROnPlateau and
EarlyStopping go on exactly where they were, so that a resumed run's history, best epoch and
final model equal those of the same run uninterrupted; best.keras is the best epoch.

An interruption is made in-process, deterministically: a reporter that presses Ctrl-C (raises
KeyboardInterrupt) when a given epoch has been recorded. 500 real digits, a small dense model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_npz, read_json, write_spec

from mnistctl.commands.train import TrainResult, resume_run, train_loaded
from mnistctl.runs import history as run_history
from mnistctl.spec import load_spec

pytestmark = pytest.mark.slow

SPEC = """\
name: recipe
data: {dataset: mnist, train_samples: 500, validation_split: 0.2}
model:
  layers:
    - {type: Input, shape: [28, 28, 1]}
    - {type: Flatten}
    - {type: Dropout, rate: 0.2}
    - {type: Dense, units: 24, activation: relu, kernel_regularizer: {type: L2, l2: 0.0005}}
    - {type: Dense, units: 10, activation: softmax}
compile:
  optimizer: {type: adam, learning_rate: LR}
train:
  epochs: 9
  batch_size: 50
  precision: float32
  callbacks: CALLBACKS
"""

PLATEAU = """
    - {type: EarlyStopping, monitor: val_loss, patience: 3, restore_best_weights: true}
    - {type: ReduceLROnPlateau, monitor: val_loss, patience: 1, factor: 0.3, min_delta: 0.01}"""
SCHEDULE = "{type: CosineDecay, initial_learning_rate: 0.0, warmup_target: 0.05, warmup_steps: 16, decay_steps: 40}"  # noqa: E501
EARLY = """
    - {type: EarlyStopping, monitor: val_accuracy, patience: 2, min_delta: 0.005}"""


class _Reporter:
    """Silent; with ``cut``, raises KeyboardInterrupt (as Ctrl-C does) after the first epoch
    whose recorded callback state ``cut`` accepts: a moment when the counters matter."""

    live = False

    def __init__(self, run_dirs: Path | None = None, cut: Any = None) -> None:
        self.run_dirs, self.cut, self.cut_at = run_dirs, cut, None  # type: Path | None, Any, int | None
        self.notes: list[str] = []

    def start(self, first_epoch: int, epochs: int, steps: int) -> None: ...
    def epoch_start(self, epoch: int) -> None: ...
    def batch(self, step: int, logs: Mapping[str, float]) -> None: ...

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        if self.cut is None or self.run_dirs is None:
            return
        state = read_json(next(self.run_dirs.glob("*/*/state.json")))
        if epoch >= 1 and self.cut(state["callbacks"]):
            self.cut_at = epoch + 1
            raise KeyboardInterrupt

    def note(self, text: str) -> None:
        self.notes.append(text)

    def stop(self) -> None: ...


def _waiting(callbacks: Mapping[str, Any]) -> bool:
    """A callback is counting: EarlyStopping or ReduceLROnPlateau has seen an epoch without
    improvement, or ReduceLROnPlateau is cooling down after lowering the rate."""
    counters = [callbacks["EarlyStopping"]["wait"]]
    if "ReduceLROnPlateau" in callbacks:
        plateau = callbacks["ReduceLROnPlateau"]
        counters += [plateau["wait"], plateau["cooldown_counter"]]
    return any(c > 0 for c in counters)


def _spec(folder: Path, lr: str, callbacks: str) -> Path:
    return write_spec(folder, SPEC.replace("LR", lr).replace("CALLBACKS", callbacks))


def _train(spec: Path, data: Path, runs: Path, cut: Any = None) -> TrainResult:
    return train_loaded(load_spec(spec), data=data, runs_dir=runs, reporter=_Reporter(runs, cut))


def _weights(path: Path) -> list[np.ndarray]:
    from mnistctl.ml.modelfile import load_model

    return [np.asarray(w) for w in load_model(path, compile=False).get_weights()]


@pytest.mark.parametrize(
    ("lr", "callbacks"), [("0.05", PLATEAU), (SCHEDULE, EARLY)], ids=["plateau", "schedule"]
)
def test_resumed_run_equals_uninterrupted(tmp_path: Path, lr: str, callbacks: str) -> None:
    data = make_npz(tmp_path / "d.npz", 500, 200)
    spec = _spec(tmp_path, lr, callbacks)
    straight = _train(spec, data, tmp_path / "a")
    cut = _train(spec, data, tmp_path / "b", _waiting)
    # interrupted while the callbacks were counting: their state decides what comes next
    assert cut.status == "interrupted", "the callbacks never waited: make the test harder"
    run = cut.run_dir
    assert _waiting(read_json(run / "state.json")["callbacks"])
    resumed = resume_run(run, runs_dir=None, data=None, reporter=_Reporter())
    assert resumed.status == "completed"
    assert resumed.history == straight.history
    assert resumed.stopped_early == straight.stopped_early
    assert resumed.best_checkpoint is not None and straight.best_checkpoint is not None
    assert resumed.best_checkpoint["epoch"] == straight.best_checkpoint["epoch"]
    assert resumed.test == straight.test
    for name in ("model.keras", "best.keras"):
        for a, b in zip(_weights(run / name), _weights(straight.run_dir / name), strict=True):
            np.testing.assert_array_equal(a, b)


def test_plateau_lowers_the_rate_and_early_stopping_restores_the_best(tmp_path: Path) -> None:
    data = make_npz(tmp_path / "d.npz", 500, 200)
    spec = _spec(tmp_path, "0.05", PLATEAU)
    result = _train(spec, data, tmp_path / "runs")
    run = result.run_dir
    metrics: dict[str, Any] = read_json(run / "metrics.json")
    best = metrics["best_checkpoint"]
    rows = run_history.read_history(run / "history.csv")
    losses = [r["val_loss"] for r in rows]
    assert best["epoch"] == 1 + int(np.argmin(losses)) and best["monitor"] == "val_loss"
    assert best["value"] == pytest.approx(min(losses))
    assert metrics["final_checkpoint"] == "best"  # restore_best_weights: Keras ends on the best
    assert not list(run.glob("checkpoint-*.keras")) and "best.keras" in metrics["files"]
    if result.stopped_early:
        assert result.stopped_early["epoch"] == len(rows) < 9
        assert result.stopped_early["best_epoch"] == best["epoch"]
    # the test result is of the best weights (EarlyStopping restored them)
    from mnistctl.data.datasets import load_dataset
    from mnistctl.ml.evaluation import on_test_set
    from mnistctl.ml.modelfile import load_model

    spec_loaded = load_spec(run / "spec.yaml")
    dataset = load_dataset("mnist", data)
    evaluated = on_test_set(load_model(run / "best.keras"), spec_loaded, dataset)
    assert evaluated.accuracy == pytest.approx(result.test["accuracy"])


@pytest.mark.parametrize("recipe", ["mnist_best", "fashion_best"])
def test_the_recipes_train(tmp_path: Path, recipe: str) -> None:
    """Each recipe as shipped, for a few steps on a few hundred real digits: it builds,
    trains through its schedule and callbacks, and its run is complete."""
    from helpers import ROOT, cli

    data = make_npz(tmp_path / "d.npz", 400, 200)
    result = cli(
        "train", ROOT / "specs" / f"{recipe}.yaml", "--data", data,
        "--set", "train.epochs=2", "--set", "train.batch_size=100",
        "--runs-dir", tmp_path / "runs", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "completed" and out["epochs_completed"] == 2
    assert 0 <= out["test"]["accuracy"] <= 1
    # the schedule was planned on the real data: warned about, as its steps are the full run's
    assert "optimizer steps per epoch" in result.stderr
    assert "warning: the CosineDecay warmup (" in result.stderr
    run = Path(out["run_dir"])
    assert (run / "best.keras").is_file() == (recipe == "fashion_best")  # it validates
