"""Training: a spec (or an interrupted run) in, a complete run directory out.

Order of work, so that a failure leaves nothing misleading behind: check the spec and load the
data before any run directory exists; then write spec.yaml, summary.json, env.json and
metrics.json (status "running"); after every epoch, atomically, a checkpoint (model and
optimizer) with state.json, history.csv and metrics.json; at the end model.keras, the test-set
result and the learning curves, and metrics.json says "completed". Ctrl-C stops after the batch
in flight, keeps every finished epoch, marks the run "interrupted" and exits 130; a second Ctrl-C
exits at once (every file is renamed into place whole, so none is half-written).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import yaml

from mnistctl import __version__
from mnistctl.errors import Location, UserError
from mnistctl.ml import pipeline
from mnistctl.runs import files as runs

if TYPE_CHECKING:
    import keras

    from mnistctl.data.datasets import Dataset
    from mnistctl.spec import Spec
    from mnistctl.ui.progress import Reporter

EXIT_INTERRUPTED = 130


class _Interrupted(Exception):
    """Raised from inside fit() after Ctrl-C, at the end of the batch in flight."""


@dataclass
class _Stop:
    requested: bool = False
    signum: int = 0
    presses: int = 0
    model: Any = None  # the model in training, told to stop after the batch in flight


@contextlib.contextmanager
def _interrupts(stop: _Stop, reporter: Reporter) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): stop after this batch. Second: exit at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.presses += 1
        if stop.presses > 1:
            os._exit(EXIT_INTERRUPTED)
        stop.requested, stop.signum = True, signum
        if stop.model is not None:  # Keras checks this after every batch
            stop.model.stop_training = True
        reporter.note(
            "stopping after this batch, keeping finished epochs (Ctrl-C again to quit at once)"
        )

    if sys.platform == "win32" or not _main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# --- entry points ----------------------------------------------------------------------------


def train_spec(
    spec_path: Path,
    overrides: Sequence[str],
    *,
    data: Path | None,
    runs_dir: Path,
    json_output: bool,
) -> int:
    from mnistctl.data.datasets import load_dataset
    from mnistctl.spec import load_spec

    spec = load_spec(spec_path, overrides)
    data_path = spec.data_path(data)
    dataset = load_dataset(spec.data.dataset, data_path)
    _check_samples(spec, dataset, spec_path)
    run = runs.new_run_dir(runs_dir, spec.name)
    resolved = spec.resolved_dict()
    resolved["data"]["path"] = str(Path(data_path).expanduser().resolve()) if data_path else None
    header = "# The resolved spec of this run: overrides applied, defaults filled in.\n"
    if spec.overrides:
        header += "# Overrides: " + " ".join(f"--set {o}" for o in spec.overrides) + "\n"
    runs.write_text(run / "spec.yaml", header + yaml.safe_dump(resolved, sort_keys=False))
    runs.write_json(run / "summary.json", spec.model_info.to_json(spec.name))
    return _fit(_Job(run, spec, dataset, json_output, first_epoch=0, model=None, history=[]))


def resume_run(run_arg: Path, *, json_output: bool, runs_dir: Path | None = None) -> int:
    from mnistctl.data.datasets import load_dataset
    from mnistctl.ui.render import print_json, stderr_console

    run = runs.find_run(run_arg, runs_dir)
    spec = runs.load_run_spec(run)
    metrics = runs.read_json(run / "metrics.json") if (run / "metrics.json").exists() else {}
    if not isinstance(metrics, dict):
        raise UserError(
            "damaged JSON file",
            Location(str(run / "metrics.json")),
            expected="an object",
            received=type(metrics).__name__,
        )
    epochs = int(spec.train.epochs)
    done, checkpoint, state_history = _read_state(run, epochs)
    # A run killed after its last epoch's checkpoint but before it was closed (model.keras,
    # test result) has every epoch done and is not completed: resuming closes it.
    if metrics.get("status") == "completed":
        finished = metrics.get("epochs_completed", epochs)
        stderr_console().print(
            f"{run}: already finished ({finished}/{epochs} epochs); nothing to do"
        )
        if json_output:
            print_json(
                {
                    "run_dir": str(run),
                    "epochs_run": 0,
                    "status": "completed",
                    "history": runs.history_columns(runs.read_history(run / "history.csv")),
                }
            )
        return 0
    pid = metrics.get("pid")
    if metrics.get("status") == "running" and isinstance(pid, int) and _alive(pid):
        raise UserError(
            "the run is still training",
            Location(str(run)),
            expected="an interrupted or killed run",
            received=f"a run whose process {pid} is alive",
        )
    dataset = load_dataset(spec.data.dataset, spec.data_path())
    env = runs.read_json(run / "env.json") if (run / "env.json").exists() else {}
    env_data = env.get("data") if isinstance(env, dict) else None
    recorded = env_data.get("sha256") if isinstance(env_data, dict) else None
    if recorded and recorded != dataset.sha256:
        raise UserError(
            "the run's data has changed since it started",
            Location(str(run / "spec.yaml")),
            expected=f"data with checksum {recorded[:12]}…",
            received=f"{dataset.sha256[:12]}… from {dataset.source}",
        )
    model = None
    history: list[dict[str, float]] = []
    if done:
        from mnistctl.ml.modelfile import load_model

        saved = run / checkpoint
        if not saved.exists() and (run / "model.keras").exists():
            saved = run / "model.keras"  # the last epoch's checkpoint, already moved into place
        model = load_model(saved)
        history = state_history
    return _fit(_Job(run, spec, dataset, json_output, done, model, history))


def _read_state(run: Path, epochs: int) -> tuple[int, str, list[dict[str, float]]]:
    """state.json, checked: (epochs completed, checkpoint file name, history of those epochs)."""
    path = run / runs.STATE
    if not path.exists():
        return 0, "", []
    state = runs.read_json(path)
    done = state.get("epochs_completed") if isinstance(state, dict) else None
    checkpoint = state.get("checkpoint") if isinstance(state, dict) else None
    rows = state.get("history") if isinstance(state, dict) else None
    if not (
        isinstance(done, int)
        and not isinstance(done, bool)
        and 0 <= done <= epochs
        and (done == 0 or checkpoint == f"checkpoint-{done}.keras")
        and isinstance(rows, list)
        and len(rows) >= done
        and all(
            isinstance(row, dict)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row.values())
            for row in rows[:done]
        )
    ):
        raise UserError(
            "damaged run state",
            Location(str(path)),
            expected=(
                f"epochs_completed 0..{epochs}, checkpoint 'checkpoint-N.keras' and the "
                "history of those epochs, as 'mnistctl train' writes"
            ),
            received=f"{json.dumps(state)[:120]}",
        )
    return done, str(checkpoint or ""), [dict(row) for row in rows[:done]]


def _check_samples(spec: Spec, dataset: Dataset, spec_path: Path) -> None:
    n = len(dataset.x_train)
    wanted = spec.data.train_samples
    available = min(n, wanted) if wanted else n
    if available * (1 - spec.data.validation_split) < 1 or (
        spec.data.validation_split > 0 and available < 2
    ):
        raise UserError(
            "too few training samples for this validation_split",
            Location(str(spec_path), None, None, ("data", "train_samples")),
            expected="at least one training and one validation sample",
            received=f"{available} samples",
        )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- fitting ---------------------------------------------------------------------------------


def _env(spec: Spec, dataset: Dataset, policy: str, reason: str) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    from mnistctl.ml.precision import cpu_flags

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
        "precision": {"requested": spec.train.precision, "policy": policy, "why": reason},
        "data": {
            "dataset": spec.data.dataset,
            "name": dataset.name,
            "source": dataset.source,
            "sha256": dataset.sha256,
            "train_images": len(dataset.x_train),
            "test_images": len(dataset.x_test),
        },
    }


@dataclass
class _Job:
    """One training session of a run: a new run from epoch 0, or a resumed one."""

    run: Path
    spec: Spec
    dataset: Dataset
    json_output: bool
    first_epoch: int
    model: keras.Model | None  # the checkpoint's model when resuming
    history: list[dict[str, float]]  # finished epochs; grows as training goes


def _fit(job: _Job) -> int:
    from mnistctl.ui.progress import make_reporter
    from mnistctl.ui.render import stderr_console

    run, spec, history = job.run, job.spec, job.history
    console = stderr_console()
    reporter = make_reporter(console, plain=job.json_output)
    stop = _Stop()
    metrics: dict[str, Any] = {
        "status": "running",
        "pid": os.getpid(),
        "epochs": spec.train.epochs,
        "epochs_completed": job.first_epoch,
        "started": runs.timestamp(),
    }
    runs.write_json(run / "metrics.json", metrics)
    # The handler stays in place while an interrupted or failed run is being closed, so
    # that a second Ctrl-C there exits at once too (every file is renamed into place whole).
    with _interrupts(stop, reporter):
        try:
            return _fit_inner(job, reporter, stop, metrics)
        except (KeyboardInterrupt, _Interrupted):
            reporter.stop()
            _finish_interrupted(run, metrics, history)
            console.print(
                f"interrupted: {len(history)} epoch(s) kept in {run}; continue with "
                f"'mnistctl train --resume {run}'",
                markup=False,
            )
            return EXIT_INTERRUPTED if stop.signum != signal.SIGTERM else 128 + signal.SIGTERM
        except BaseException as exc:
            reporter.stop()
            metrics.update(
                status="failed",
                error=f"{type(exc).__name__}: {exc}"[:500],
                epochs_completed=len(history),
                ended=runs.timestamp(),
            )
            metrics.pop("pid", None)
            runs.write_json(run / "metrics.json", metrics)
            raise


def _finish_interrupted(
    run: Path, metrics: dict[str, Any], history: list[dict[str, float]]
) -> None:
    state_path = run / runs.STATE
    if history and state_path.exists():
        state = runs.read_json(state_path)
        checkpoint = run / str(state["checkpoint"])
        if checkpoint.exists():  # the last finished epoch, usable by evaluate/predict/plot
            import shutil

            def copy(tmp: Path) -> None:
                shutil.copyfile(checkpoint, tmp)

            runs.write_with(run / "model.keras", copy, suffix=".keras")
    metrics.update(status="interrupted", epochs_completed=len(history), ended=runs.timestamp())
    if history:
        metrics["final"] = history[-1]
    metrics.pop("pid", None)
    runs.write_json(run / "metrics.json", metrics)


def _fit_inner(job: _Job, reporter: Reporter, stop: _Stop, metrics: dict[str, Any]) -> int:
    import keras
    import tensorflow as tf

    from mnistctl.ml.builder import build_model
    from mnistctl.ml.precision import choose

    run, spec, dataset, history = job.run, job.spec, job.dataset, job.history
    first_epoch, model = job.first_epoch, job.model
    seed = int(spec.train.seed)
    keras.utils.set_random_seed(seed + first_epoch)
    tf.config.experimental.enable_op_determinism()
    choice = choose(spec.train.precision, spec.model_info.macs)
    keras.mixed_precision.set_global_policy(choice.policy)
    if first_epoch == 0 or not (run / "env.json").exists():
        runs.write_json(run / "env.json", _env(spec, dataset, choice.policy, choice.reason))
    reporter.note(f"precision: {choice.policy} ({choice.reason})")
    if model is None:
        model = build_model(spec)
        from mnistctl.ml.compile import compile_model

        compile_model(model, spec)
    input_shape = spec.model_info.layers[0].output_shape
    one_hot = spec.label_mode == "one_hot"
    parts = pipeline.split(
        dataset.x_train,
        dataset.y_train,
        train_samples=spec.data.train_samples,
        validation_split=float(spec.data.validation_split),
        seed=seed,
    )
    batch_size = int(spec.train.batch_size)
    epochs = int(spec.train.epochs)
    steps = pipeline.steps(len(parts.x_train), batch_size)
    train_ds = pipeline.train_dataset(
        parts.x_train,
        parts.y_train,
        batch_size=batch_size,
        input_shape=input_shape,
        one_hot=one_hot,
        shuffle=bool(spec.train.shuffle),
        seed=seed,
        first_epoch=first_epoch,
        epochs=epochs,
    )
    val_ds = None
    if parts.x_val is not None and parts.y_val is not None:
        val_ds = pipeline.eval_dataset(
            parts.x_val,
            parts.y_val,
            batch_size=max(batch_size, 256),
            input_shape=input_shape,
            one_hot=one_hot,
        )
    callback = _recorder(run, history, reporter, stop, metrics, seed)
    reporter.start(first_epoch, epochs, steps)
    started = time.monotonic()
    stop.model = model
    try:
        model.fit(
            train_ds,
            epochs=epochs,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            validation_data=val_ds,
            verbose=0,
            callbacks=[callback],
            shuffle=False,
        )
    finally:
        reporter.stop()
    if stop.requested:
        raise _Interrupted
    seconds = time.monotonic() - started

    # the end: final model, test result, curves
    last = run / f"checkpoint-{len(history)}.keras"
    if last.exists():  # the last epoch's checkpoint is the final model: move, don't rewrite
        os.replace(last, run / "model.keras")
    else:
        from mnistctl.ml.modelfile import save_model

        save_model(model, run / "model.keras")
    test_ds = pipeline.eval_dataset(
        dataset.x_test, dataset.y_test, batch_size=1024, input_shape=input_shape, one_hot=one_hot
    )
    test = model.evaluate(test_ds, verbose=0, return_dict=True)
    test = {k: float(v) for k, v in test.items()}
    metrics.update(
        status="completed",
        epochs_completed=len(history),
        ended=runs.timestamp(),
        train_seconds=round(seconds, 3),
        samples_per_second=round(len(parts.x_train) * (epochs - first_epoch) / seconds, 1),
        final=history[-1] if history else {},
        test=test,
        precision=choice.policy,
    )
    metrics.pop("pid", None)
    runs.write_json(run / "metrics.json", metrics)
    _cleanup_checkpoints(run)
    if stop.requested:  # Ctrl-C while closing a finished run: it is complete, skip the rest
        reporter.note(f"interrupted after the last epoch; the run is complete: {run}")
        return EXIT_INTERRUPTED
    curves = _plot_curves(run, history, spec.name)
    return _report(run, spec, history, test, metrics, first_epoch, job.json_output, curves)


def _cleanup_checkpoints(run: Path) -> None:
    for path in run.glob("checkpoint-*.keras"):
        path.unlink(missing_ok=True)
    (run / runs.STATE).unlink(missing_ok=True)


def _plot_curves(run: Path, history: list[dict[str, float]], name: str) -> Path | None:
    from mnistctl.ui.plots import plot_learning_curves

    try:
        return plot_learning_curves(
            runs.history_columns(history), run / "plots" / "learning_curves.png", title=name
        )
    except (OSError, ValueError):
        return None


def _report(
    run: Path,
    spec: Spec,
    history: list[dict[str, float]],
    test: Mapping[str, float],
    metrics: Mapping[str, Any],
    first_epoch: int,
    json_output: bool,
    curves: Path | None,
) -> int:
    from mnistctl.ui.render import metrics_table, print_json, stdout_console

    if json_output:
        print_json(
            {
                "run_dir": str(run),
                "epochs_run": len(history) - first_epoch,
                "epochs_completed": len(history),
                "status": "completed",
                "precision": metrics.get("precision"),
                "history": runs.history_columns(history),
                "test": dict(test),
                "train_seconds": metrics.get("train_seconds"),
            }
        )
        return 0
    out = stdout_console()
    final = dict(history[-1]) if history else {}
    final.pop("epoch", None)
    rows = {**final, **{f"test_{k}": v for k, v in test.items()}}
    out.print(metrics_table(f"{spec.name}: {len(history)} epochs", rows))
    out.print(f"run directory: {run}", markup=False, soft_wrap=True)
    if curves:
        out.print(f"learning curves: {curves}", markup=False, soft_wrap=True)
    return 0


def _reseed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Set the random state of every layer that draws random numbers (Dropout, noise) from
    (seed, epoch, layer): Keras does not save that state in a .keras file, so without this a
    resumed run would drop other units than the same run uninterrupted."""
    import numpy as np

    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for i, state in enumerate(states):
        value = (seed * 1_000_003 + epoch * 1_009 + i) % 2**31
        state.assign(np.array([value, 0], dtype=state.dtype))


def _recorder(
    run: Path,
    history: list[dict[str, float]],
    reporter: Reporter,
    stop: _Stop,
    metrics: dict[str, Any],
    seed: int,
) -> keras.callbacks.Callback:
    import keras

    from mnistctl.ml.modelfile import save_model
    from mnistctl.ui.progress import RichReporter

    live = isinstance(reporter, RichReporter)

    class RunRecorder(keras.callbacks.Callback):  # type: ignore[misc]
        """Per epoch: checkpoint + state, history.csv, metrics.json (in that order)."""

        async_safe = True  # no batch hook here; LiveRunRecorder's is safe to run async

        def __init__(self) -> None:
            super().__init__()
            self.t0 = time.monotonic()

        def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if stop.requested:  # Ctrl-C before training started
                raise _Interrupted
            self.t0 = time.monotonic()
            _reseed_layers(self.model, seed, epoch)
            reporter.epoch_start(epoch)

        def on_test_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            if stop.requested:  # no validation of a partial epoch
                raise _Interrupted

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if stop.requested:  # Keras ends a stopped epoch early: it is not a finished epoch
                raise _Interrupted
            row: dict[str, float] = {"epoch": epoch + 1}
            row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
            history.append(row)
            name = f"checkpoint-{epoch + 1}.keras"
            save_model(self.model, run / name)
            runs.write_json(
                run / runs.STATE,
                {"epochs_completed": epoch + 1, "checkpoint": name, "history": history},
            )
            for old in run.glob("checkpoint-*.keras"):
                if old.name != name:
                    old.unlink(missing_ok=True)
            runs.write_history(run / "history.csv", history)
            metrics.update(epochs_completed=epoch + 1, final=row)
            runs.write_json(run / "metrics.json", metrics)
            reporter.epoch_end(epoch, row, time.monotonic() - self.t0)

    class LiveRunRecorder(RunRecorder):  # type: ignore[misc]
        """Also feeds the live batch bar. The hook runs on Keras's callback thread
        (async_safe), so training never waits for the display; stopping is by
        model.stop_training, set by the signal handler."""

        def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            reporter.batch(batch, {k: float(v) for k, v in (logs or {}).items()})

    return LiveRunRecorder() if live else RunRecorder()
