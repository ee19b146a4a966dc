"""Fitting a model epoch by epoch into a run directory.

After every epoch, in this order: the checkpoint (model and optimizer), then the run record
(which names that checkpoint), then history.csv, then the TensorBoard points (``tensorboard.py``);
so the record never claims an epoch whose checkpoint is not on disk, and the event files hold no
epoch the record does not. A non-finite metric stops training (the run has diverged); Ctrl-C
stops after the batch in flight (``runs/signals.py``).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf

from mnistctl.data.datasets import Dataset
from mnistctl.ml import callbacks, pipeline, tensorboard
from mnistctl.ml.builder import build_model
from mnistctl.ml.compile import compile_model
from mnistctl.ml.modelfile import load_model, save_model
from mnistctl.ml.precision import Choice, cpu_flags
from mnistctl.phases import mark
from mnistctl.runs.history import write_history
from mnistctl.runs.layout import HISTORY
from mnistctl.runs.record import History, RunRecord
from mnistctl.runs.signals import Stop
from mnistctl.spec import Spec
from mnistctl.version import __version__


class Reporter(Protocol):
    """How training shows progress (``ui/progress.py`` has a live and a plain one)."""

    live: bool  # wants per-batch updates (costs a callback per batch)

    def start(self, first_epoch: int, epochs: int, steps: int) -> None: ...
    def epoch_start(self, epoch: int) -> None: ...
    def batch(self, step: int, logs: Mapping[str, float]) -> None: ...
    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None: ...
    def note(self, text: str) -> None: ...
    def stop(self) -> None: ...


class Interrupted(Exception):
    """Raised from inside fit() after Ctrl-C, at the end of the batch in flight."""


class Diverged(Exception):
    """A metric of a finished epoch is not a finite number."""

    def __init__(self, epoch: int, metric: str) -> None:
        super().__init__(f"{metric} was not a finite number in epoch {epoch}")
        self.epoch, self.metric = epoch, metric


@dataclass
class Job:
    """One training session of a run: a new run from epoch 0, or a resumed one."""

    spec: Spec
    dataset: Dataset
    record: RunRecord
    first_epoch: int = 0
    model: keras.Model | None = None  # the checkpoint's model when resuming
    history: History = field(default_factory=list)  # finished epochs; grows as training goes
    best: dict[str, Any] | None = None  # the best epoch so far (ml/callbacks.BestEpoch)
    callback_state: dict[str, Any] = field(default_factory=dict)  # after the last epoch
    stopped_early: dict[str, Any] | None = None  # set when EarlyStopping ended training
    # Told every finished epoch (1-based, its history row) after it is recorded; a reason
    # returned ends training after that epoch (``mnistctl tune``'s pruner), kept in stop_reason.
    on_epoch: Callable[[int, Mapping[str, float]], str | None] | None = None
    stop_reason: str | None = None
    # A new model's starting weights (``model.init_from``, ml/finetune.py), given the model
    # just built; never called for a model loaded from a checkpoint.
    init: Callable[[keras.Model], None] | None = None


@dataclass(frozen=True)
class Fitted:
    model: keras.Model
    seconds: float
    samples_per_second: float
    precision: Choice


def fit(job: Job, reporter: Reporter, stop: Stop, choice: Choice) -> Fitted:
    """Train ``job`` to the spec's last epoch in the numerics ``choice`` names; the record
    follows every finished epoch."""
    spec = job.spec
    board = tensorboard.callback(spec, job.record.run_dir, job.first_epoch)
    keras.utils.set_random_seed(spec.train.seed + job.first_epoch)
    tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(choice.policy)
    reporter.note(f"precision: {choice.policy} ({choice.reason})")
    model = job.model
    if model is None:
        model = build_model(spec)
        if job.init is not None:
            job.init(model)
        mark("build")
        compile_model(model, spec)
        mark("compile")
    train_ds, val_ds, steps, n_train = _datasets(job)
    mark("pipeline")
    reporter.start(job.first_epoch, spec.train.epochs, steps)
    started = time.monotonic()
    stop.model = model
    own = callbacks.make_callbacks(spec)
    recorder = _recorder(job, reporter, stop, own)
    try:
        model.fit(
            train_ds,
            epochs=spec.train.epochs,
            initial_epoch=job.first_epoch,
            steps_per_epoch=steps,
            validation_data=val_ds,
            verbose=0,
            # The spec's callbacks first, so that the recorder saves their state after they
            # saw the epoch; then the recorder: an epoch it refuses (interrupted, diverged)
            # never reaches the event files, so they hold no epoch that the record does not.
            callbacks=[*own, recorder, board, *callbacks.first_step_marks()],
            shuffle=False,
        )
    finally:
        board.close()
        reporter.stop()
    if stop.requested:
        raise Interrupted
    _note_early_stop(job, own, reporter)
    seconds = max(time.monotonic() - started, 1e-9)
    rate = n_train * max(len(job.history) - job.first_epoch, 0) / seconds
    return Fitted(model, seconds, rate, choice)


def _datasets(job: Job) -> tuple[Any, Any, int, int]:
    spec = job.spec
    parts = pipeline.split(
        job.dataset.x_train,
        job.dataset.y_train,
        train_samples=spec.data.train_samples,
        validation_split=spec.data.validation_split,
        seed=spec.train.seed,
        by_class=job.dataset.by_class,
    )
    batch_size, one_hot = spec.train.batch_size, spec.label_mode == "one_hot"
    train_ds = pipeline.train_dataset(
        parts.x_train,
        parts.y_train,
        batch_size=batch_size,
        input_shape=spec.info.input_shape,
        one_hot=one_hot,
        classes=spec.info.classes,
        shuffle=spec.train.shuffle,
        seed=spec.train.seed,
        first_epoch=job.first_epoch,
        epochs=spec.train.epochs,
    )
    val_ds = None
    if parts.x_val is not None and parts.y_val is not None:
        val_ds = pipeline.eval_dataset(
            parts.x_val,
            parts.y_val,
            batch_size=max(batch_size, 256),
            input_shape=spec.info.input_shape,
            one_hot=one_hot,
            classes=spec.info.classes,
        )
    return train_ds, val_ds, pipeline.steps(len(parts.x_train), batch_size), len(parts.x_train)


def environment(spec: Spec, dataset: Dataset, choice: Choice) -> dict[str, Any]:
    """What env.json records: versions, machine, seed, precision and the data's checksum."""
    return {
        "mnistctl": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_amx_bf16": "amx_bf16" in cpu_flags(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "seed": spec.train.seed,
        "precision": {
            "requested": spec.train.precision,
            "policy": choice.policy,
            "why": choice.reason,
        },
        "data": {
            "dataset": spec.data.dataset,
            "name": dataset.name,
            "source": dataset.source,
            "sha256": dataset.sha256,
            "train_images": len(dataset.x_train),
            "test_images": len(dataset.x_test),
        },
    }


def _note_early_stop(job: Job, own: list[keras.callbacks.Callback], reporter: Reporter) -> None:
    stopper = callbacks.early_stopping(own)
    if stopper is None or not stopper.stopped_epoch or len(job.history) >= job.spec.train.epochs:
        return
    best = job.best or {}
    job.stopped_early = {
        "epoch": len(job.history),
        "monitor": stopper.monitor,
        "best_epoch": best.get("epoch"),
        "restored_best": bool(stopper.restore_best_weights and stopper.best_weights is not None),
    }
    reporter.note(
        f"EarlyStopping ended training after epoch {len(job.history)} of "
        f"{job.spec.train.epochs}: {stopper.monitor} did not improve for "
        f"{stopper.patience} epoch(s)"
        + (f"; best epoch {best['epoch']}" if best.get("epoch") else "")
    )


def _reseed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Set the random state of every layer that draws random numbers (Dropout, noise) from
    (seed, epoch, layer): Keras does not save that state in a .keras file, so without this a
    resumed run would drop other units than the same run uninterrupted."""
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for i, state in enumerate(states):
        value = (seed * 1_000_003 + epoch * 1_009 + i) % 2**31
        state.assign(np.array([value, 0], dtype=state.dtype))


class _Recorder(keras.callbacks.Callback):  # type: ignore[misc]
    """Per epoch: checkpoint, record (state.json, metrics.json), history.csv, report."""

    async_safe = True  # no batch hook here; _LiveRecorder's is safe to run async

    def __init__(
        self, job: Job, reporter: Reporter, stop: Stop, own: list[keras.callbacks.Callback]
    ) -> None:
        super().__init__()
        self.job, self.reporter, self.stop, self.own = job, reporter, stop, own
        self.best = callbacks.BestEpoch.for_spec(job.spec, job.best)
        self.t0 = time.monotonic()

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """A resumed run: the spec's callbacks go on from their saved state (they reset it in
        their own on_train_begin, which ran just before this)."""
        best = self.job.best
        if self.job.callback_state:
            callbacks.restore(self.own, self.job.callback_state, self._weights_of(best))

    def _weights_of(self, best: dict[str, Any] | None) -> Callable[[], list[Any]] | None:
        if best is None:
            return None
        path = self.job.record.run_dir / best["checkpoint"]

        def weights() -> list[Any]:
            self.job.record.verify(path.name)
            return load_model(path, compile=False).get_weights()  # type: ignore[no-any-return]

        return weights

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.stop.requested:  # Ctrl-C before training started
            raise Interrupted
        self.t0 = time.monotonic()
        _reseed_layers(self.model, self.job.spec.train.seed, epoch)
        self.reporter.epoch_start(epoch)

    def on_test_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if self.stop.requested:  # no validation of a partial epoch
            raise Interrupted

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.stop.requested:  # Keras ends a stopped epoch early: it is not a finished epoch
            raise Interrupted
        row: dict[str, float] = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        for key, value in row.items():
            if not math.isfinite(value):
                raise Diverged(epoch + 1, key)
        run, history = self.job.record.run_dir, [*self.job.history, row]
        name = f"checkpoint-{epoch + 1}.keras"
        save_model(self.model, run / name)
        if self.best is not None:
            self.best.update(epoch, row, callbacks.early_stopping(self.own))
        best = self.best.best if self.best is not None else None
        state = callbacks.state_of(self.own)
        self.job.record.epoch_finished(history, name, best=best, callbacks=state)
        self.job.history.append(row)
        self.job.best, self.job.callback_state = best, state
        keep = {name, best["checkpoint"] if best else name}
        for old in run.glob("checkpoint-*.keras"):
            if old.name not in keep:
                old.unlink(missing_ok=True)
        write_history(run / HISTORY, history)
        self.reporter.epoch_end(epoch, row, time.monotonic() - self.t0)
        if self.job.on_epoch is not None:
            reason = self.job.on_epoch(epoch + 1, row)
            if reason:  # Keras ends fit after this epoch's callbacks
                self.job.stop_reason = reason
                self.model.stop_training = True


class _LiveRecorder(_Recorder):
    """Also feeds the live batch bar. The hook runs on Keras's callback thread (async_safe),
    so training never waits for the display; stopping is by model.stop_training, set by the
    signal handler."""

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.reporter.batch(batch, {k: float(v) for k, v in (logs or {}).items()})


def _recorder(
    job: Job, reporter: Reporter, stop: Stop, own: list[keras.callbacks.Callback]
) -> keras.callbacks.Callback:
    cls = _LiveRecorder if reporter.live else _Recorder
    return cls(job, reporter, stop, own)
