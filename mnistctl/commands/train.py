"""``mnistctl train``: a spec (or an interrupted run) in, a complete run directory out.

Order of work, so that a failure leaves nothing misleading behind: check the spec and load the
data before any run directory exists; then write spec.yaml, summary.json and the run record;
train (``ml/training.py`` checkpoints every epoch); at the end model.keras, the test-set result
and the learning curves, and the record says "completed". Ctrl-C keeps every finished epoch and
marks the run "interrupted". Returns a ``TrainResult``; never prints (progress goes through the
reporter it is given).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mnistctl.commands.datasource import load_spec_data
from mnistctl.commands.train_files import keep_last_epoch, publish_best, restores_best
from mnistctl.data.datasets import Dataset
from mnistctl.errors import Location, UserError
from mnistctl.ml import finetune, native_log, tensorboard
from mnistctl.ml.evaluation import on_test_set
from mnistctl.ml.modelfile import check_matches, load_model, save_model
from mnistctl.ml.precision import Choice, choose
from mnistctl.ml.training import Diverged, Fitted, Interrupted, Job, Reporter, environment, fit
from mnistctl.phases import mark
from mnistctl.runs import layout
from mnistctl.runs.atomic import read_json, write_json, write_text
from mnistctl.runs.history import history_columns, read_history
from mnistctl.runs.record import STATE, RunRecord, Status
from mnistctl.runs.signals import Stop, interrupts
from mnistctl.runs.testset import save_test_predictions
from mnistctl.spec import Spec, load_spec
from mnistctl.spec.options import PRECISIONS
from mnistctl.spec.plan import training_plan


@dataclass(frozen=True)
class TrainResult:
    """What a training session did; ``to_json`` is the ``train --json`` document."""

    run_dir: Path  # absolute
    name: str
    status: str  # completed | interrupted
    epochs: int  # the spec's
    epochs_run: int  # in this session
    epochs_completed: int  # in the run, all sessions
    history: dict[str, list[float]]
    test: dict[str, float]
    precision: str | None
    train_seconds: float | None
    learning_curves: Path | None
    exit_code: int = 0
    note: str | None = None  # e.g. "already finished"
    stopped_early: dict[str, Any] | None = None  # EarlyStopping ended training before epochs
    best_checkpoint: dict[str, Any] | None = None  # best.keras: {"file", "epoch", ...}
    final_checkpoint: str = "last"  # which model the run ends with: "best" or "last"
    init_from: dict[str, Any] | None = None  # the run whose weights it started from (finetune)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "name": self.name,
            "status": self.status,
            "epochs": self.epochs,
            "epochs_run": self.epochs_run,
            "epochs_completed": self.epochs_completed,
            "history": self.history,
            "test": self.test,
            "precision": self.precision,
            "train_seconds": self.train_seconds,
            "learning_curves": str(self.learning_curves) if self.learning_curves else None,
            "stopped_early": self.stopped_early,
            "best_checkpoint": self.best_checkpoint,
            "final_checkpoint": self.final_checkpoint,
            "init_from": self.init_from,
        }


@dataclass(frozen=True)
class Hooks:
    """What a caller that trains many runs (``mnistctl tune``) adds to one training session."""

    folder: str | None = None  # runs_dir/<folder>/<stamp> instead of runs_dir/<spec name>/...
    about: Mapping[str, Any] = field(default_factory=dict)  # noted in the run's record
    started: Callable[[Path], None] | None = None  # told the run directory once it exists
    # told each finished epoch (1-based) and its history row; a reason returned ends training
    # after that epoch, and the completed run notes it
    on_epoch: Callable[[int, Mapping[str, float]], str | None] | None = None
    curves: bool = True  # plot the learning curves at the end
    # facts for the record that depend on the new run's directory (train --seeds: the group)
    about_run: Callable[[Path], Mapping[str, Any]] | None = None


def train_spec(
    spec_path: Path,
    overrides: Sequence[str],
    *,
    data: Path | None,
    runs_dir: Path,
    reporter: Reporter,
) -> TrainResult:
    """``mnistctl train SPEC``: load and check the spec, then ``train_loaded``."""
    spec = load_spec(spec_path, overrides, check_data=True, data=data)
    mark("spec")
    if spec.search is not None:
        reporter.note(
            "note: train ignores the spec's search: section and trains the values in it as "
            f"written; to search them: mnistctl tune {spec_path}"
        )
    return train_loaded(spec, data=data, runs_dir=runs_dir, reporter=reporter)


def train_loaded(
    spec: Spec,
    *,
    data: Path | None,
    runs_dir: Path,
    reporter: Reporter,
    hooks: Hooks | None = None,
) -> TrainResult:
    """Train a checked spec into a new run directory under ``runs_dir``."""
    hooks = hooks or Hooks()
    tensorboard.check(spec)  # before anything is written
    init = finetune.prepare(spec, runs_dir)  # model.init_from: that run checked, layers matched
    if init is not None:
        reporter.note(init.line())
    data_path = spec.data_path(data)
    dataset = load_spec_data(spec, data)
    mark("data")
    for bad in dataset.bad:  # every one, before training; left out of the data
        reporter.note(f"warning: {bad.file}: {bad.error} (left out)")
    warnings = _check_samples(spec, dataset, Path(spec.file)) + _class_gaps(dataset)
    if dataset.bad:
        warnings.append(f"{len(dataset.bad):,} unreadable pictures left out of the data")
    plan = training_plan(spec, len(dataset.x_train))
    for line in plan.lines():
        reporter.note(line)
    warnings += plan.warnings
    for text in warnings:
        reporter.note(f"warning: {text}")
    run = layout.new_run_dir(runs_dir, hooks.folder or spec.name).resolve()
    resolved = spec.resolved_dict()
    about = {**hooks.about, **(hooks.about_run(run) if hooks.about_run else {})}
    if init is not None:  # the very run (a spec path meant its latest run) and model file
        resolved["model"]["init_from"] = init.spec_value()
        about["init_from"] = init.to_json()
    resolved["data"]["path"] = str(Path(data_path).expanduser().resolve()) if data_path else None
    resolved["data"]["classes"] = list(dataset.classes)  # the run's classes travel with it
    resolved["data"]["prepare"] = dataset.prepare
    header = "# The resolved spec of this run: overrides applied, defaults filled in.\n"
    if spec.overrides:
        header += "# Overrides: " + " ".join(f"--set {o}" for o in spec.overrides) + "\n"
    write_text(run / layout.SPEC, header + yaml.safe_dump(resolved, sort_keys=False))
    write_json(run / layout.SUMMARY, {**spec.info.to_json(spec.name), "training": plan.to_json()})
    record = RunRecord.create(
        run, epochs=spec.train.epochs, files=[layout.SPEC], warnings=warnings, about=about
    )
    if hooks.started is not None:
        hooks.started(run)
    native_log.move_into(run / layout.NATIVE_LOG)
    mark("run_dir")
    job = Job(spec, dataset, record, on_epoch=hooks.on_epoch, init=init.apply if init else None)
    return _train(job, reporter, curves=hooks.curves)


def resume_run(
    run_arg: Path, *, runs_dir: Path | None, data: Path | None, reporter: Reporter
) -> TrainResult:
    run = layout.find_run(run_arg, runs_dir).resolve()
    record = RunRecord.load(run)
    spec = layout.load_run_spec(run, record)
    if record.status is Status.COMPLETED:
        return _already_finished(run, spec, record)
    _check_resumable(record)
    tensorboard.check(spec)
    state = record.resume_state(spec.train.epochs)
    dataset = _resume_data(spec, run, data)
    model = None
    if state.epochs_completed:
        saved = run / state.checkpoint
        if not saved.exists() and (run / layout.MODEL).exists():
            saved = run / layout.MODEL  # the last epoch's checkpoint, already moved into place
        record.verify(saved.name)
        model = load_model(saved)
        check_matches(model, spec, saved)
    init = None if model is not None else finetune.prepare(spec, runs_dir)  # no epoch done yet
    if init is not None:
        reporter.note(init.line())
    native_log.move_into(run / layout.NATIVE_LOG)
    job = Job(spec, dataset, record, state.epochs_completed, model, list(state.history))
    job.init = init.apply if init else None
    job.best, job.callback_state = state.best, dict(state.callbacks)
    return _train(job, reporter)


def _check_resumable(record: RunRecord) -> None:
    """Refuse to resume a run that is training elsewhere, or that diverged."""
    run, live = record.run_dir, record.is_live()
    if live or live is None:
        owner = record.owner
        assert owner is not None
        raise UserError(
            "the run is still training",
            Location(str(run)),
            expected="an interrupted or killed run",
            received=f"a run whose process {owner.pid} on {owner.host} is alive"
            if live
            else f"a run training on another machine ({owner.host}, process {owner.pid})",
            hint=None if live else f"resume it on {owner.host} once that process has ended",
        )
    if record.status is Status.DIVERGED:
        raise UserError(
            "a diverged run cannot be resumed",
            Location(str(run / "metrics.json")),
            expected="an interrupted or killed run",
            received=f"a run that diverged: {record.get('error')}",
            hint="train a new run with a lower learning rate",
        )


def _already_finished(run: Path, spec: Spec, record: RunRecord) -> TrainResult:
    history = read_history(run / layout.HISTORY)
    test = record.get("test")
    return TrainResult(
        run_dir=run,
        name=spec.name,
        status=Status.COMPLETED.value,
        epochs=spec.train.epochs,
        epochs_run=0,
        epochs_completed=record.epochs_completed,
        history=history_columns(history),
        test=dict(test) if isinstance(test, dict) else {},
        precision=record.get("precision"),
        train_seconds=record.get("train_seconds"),
        learning_curves=None,
        stopped_early=record.get("stopped_early"),
        best_checkpoint=record.best_checkpoint,
        final_checkpoint=record.final_checkpoint,
        init_from=record.get("init_from"),
        note=f"already finished ({record.epochs_completed}/{spec.train.epochs} epochs); "
        "nothing to do",
    )


def _resume_data(spec: Spec, run: Path, given: Path | None) -> Dataset:
    """The run's data: where its spec says, or ``given`` (--data) if its checksum is the one
    the run recorded (the data may have moved since)."""
    dataset = load_spec_data(spec, given)
    env = read_json(run / layout.ENV) if (run / layout.ENV).exists() else {}
    env_data = env.get("data") if isinstance(env, dict) else None
    recorded = env_data.get("sha256") if isinstance(env_data, dict) else None
    if recorded and recorded != dataset.sha256:
        raise UserError(
            "the data is not the data this run was trained on"
            if given is not None
            else "the run's data has changed since it started",
            Location(str(given) if given is not None else str(run / layout.SPEC)),
            expected=f"data with checksum {recorded[:12]}…",
            received=f"{dataset.sha256[:12]}… from {dataset.source}",
        )
    return dataset


def _class_gaps(dataset: Dataset) -> list[str]:
    """Classes without a training or a test picture (a class only in train/, or whose pictures
    were all unreadable): allowed, said."""
    gaps = []
    for split, labels in (("training", dataset.y_train), ("test", dataset.y_test)):
        counts = np.bincount(labels.astype(np.int64), minlength=len(dataset.classes))
        empty = [dataset.classes[k] for k in np.flatnonzero(counts == 0).tolist()]
        if empty:
            shown = ", ".join(repr(name) for name in empty[:5])
            more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
            gaps.append(f"no {split} pictures of class {shown}{more}")
    return gaps


def _check_samples(spec: Spec, dataset: Dataset, spec_path: Path) -> list[str]:
    """Enough samples to train (and validate); warnings for what the data cannot give."""
    n = len(dataset.x_train)
    wanted = spec.data.train_samples
    available = min(n, wanted) if wanted else n
    split = spec.data.validation_split
    if available * (1 - split) < 1 or (split > 0 and available < 2):
        raise UserError(
            "too few training samples for this validation_split",
            Location(str(spec_path), None, None, ("data", "train_samples")),
            expected="at least one training and one validation sample",
            received=f"{available} samples",
        )
    if wanted and wanted > n:
        return [f"data.train_samples is {wanted:,} but the data has {n:,}: training on {n:,}"]
    return []


# --- one training session ---------------------------------------------------------------------


def _train(job: Job, reporter: Reporter, *, curves: bool = True) -> TrainResult:
    stop = Stop()
    record, run = job.record, job.record.run_dir
    # The handler stays in place while an interrupted or failed run is being closed, so that a
    # second Ctrl-C there exits at once too (every file is renamed into place whole).
    with interrupts(stop, reporter.note):
        try:
            choice = _resumed_precision(job) or choose(
                job.spec.train.precision,
                job.spec,
                images=len(job.dataset.x_train),
                announce=reporter.note,
            )
            mark("precision")
            record.start_training(job.first_epoch)
            if job.first_epoch == 0 or not (run / layout.ENV).exists():
                write_json(run / layout.ENV, environment(job.spec, job.dataset, choice))
            fitted = fit(job, reporter, stop, choice)
            return _close(job, fitted, stop, reporter, curves=curves)
        except (KeyboardInterrupt, Interrupted):
            reporter.stop()
            keep_last_epoch(job)
            record.interrupted(job.history)
            return _interrupted(job, stop)
        except Diverged as exc:
            reporter.stop()
            keep_last_epoch(job)
            record.diverged(exc.epoch, exc.metric, job.history)
            raise UserError(
                f"training diverged: {exc}",
                Location(str(run)),
                expected="finite losses and metrics",
                received=f"{exc.metric} NaN or infinite; the run is marked diverged",
                hint="lower the learning rate: compile.optimizer.learning_rate",
            ) from None
        except UserError as exc:
            reporter.stop()
            record.failed(exc.one_line(), job.history)
            raise
        except BaseException as exc:
            reporter.stop()
            record.failed(f"{type(exc).__name__}: {exc}", job.history)
            raise


def _resumed_precision(job: Job) -> Choice | None:
    """A resumed run keeps the precision its checkpoint was trained in (env.json), so that
    another machine or a new measurement cannot change the numerics mid-run."""
    env_path = job.record.run_dir / layout.ENV
    if job.first_epoch == 0 or not env_path.exists():
        return None
    env = read_json(env_path)
    precision = env.get("precision") if isinstance(env, dict) else None
    policy = precision.get("policy") if isinstance(precision, dict) else None
    if policy not in PRECISIONS or policy == "auto":
        return None
    return Choice(str(policy), "as this run was trained (env.json)", how="remembered")


def _interrupted(job: Job, stop: Stop) -> TrainResult:
    return _result(job, Status.INTERRUPTED, {}, None, None, stop.exit_code)


def _close(
    job: Job, fitted: Fitted, stop: Stop, reporter: Reporter, *, curves: bool = True
) -> TrainResult:
    """The end of a finished run: final model, test result, record, curves."""
    run, record, history = job.record.run_dir, job.record, job.history
    publish_best(job, keep=False)
    if job.best and restores_best(job.spec):
        record.set_final_checkpoint("best")  # Keras ends fit with the best epoch's weights
    last = f"checkpoint-{len(history)}.keras"
    if (run / last).exists():  # the last epoch's checkpoint is the final model: move it
        os.replace(run / last, run / layout.MODEL)
        record.file_moved(last, layout.MODEL)
    else:
        save_model(fitted.model, run / layout.MODEL)
        record.file_written(layout.MODEL)
    result = on_test_set(fitted.model, job.spec, job.dataset)
    save_test_predictions(record, result, job.dataset)  # for mnistctl report
    test = {"loss": result.loss, "accuracy": result.accuracy}
    record.completed(
        history,
        stopped_early=job.stopped_early,
        train_seconds=round(fitted.seconds, 3),
        samples_per_second=round(fitted.samples_per_second, 1),
        test=test,
        precision=fitted.precision.policy,
        **({"note": job.stop_reason} if job.stop_reason else {}),
    )
    for path in run.glob("checkpoint-*.keras"):
        path.unlink(missing_ok=True)
    (run / STATE).unlink(missing_ok=True)
    record.forget_checkpoints()
    if stop.requested:  # Ctrl-C while closing a finished run: it is complete, skip the rest
        reporter.note(f"interrupted after the last epoch; the run is complete: {run}")
        return _result(job, Status.COMPLETED, test, fitted, None, stop.exit_code)
    plotted = _plot_curves(job, reporter) if curves else None
    return _result(job, Status.COMPLETED, test, fitted, plotted, 0)


def _result(
    job: Job,
    status: Status,
    test: dict[str, float],
    fitted: Fitted | None,
    curves: Path | None,
    exit_code: int,
) -> TrainResult:
    return TrainResult(
        run_dir=job.record.run_dir,
        name=job.spec.name,
        status=status.value,
        epochs=job.spec.train.epochs,
        epochs_run=len(job.history) - job.first_epoch,
        epochs_completed=len(job.history),
        history=history_columns(job.history),
        test=test,
        precision=fitted.precision.policy if fitted else None,
        train_seconds=round(fitted.seconds, 3) if fitted else None,
        learning_curves=curves,
        exit_code=exit_code,
        stopped_early=job.stopped_early,
        best_checkpoint=job.record.best_checkpoint,
        final_checkpoint=job.record.final_checkpoint,
        note=job.stop_reason,
        init_from=job.record.get("init_from"),
    )


def _plot_curves(job: Job, reporter: Reporter) -> Path | None:
    """The learning curves of a finished run; the run is complete without them (a warning)."""
    from mnistctl.plots import plot_learning_curves

    try:
        return plot_learning_curves(
            history_columns(job.history),
            job.record.run_dir / layout.PLOTS / "learning_curves.png",
            title=job.spec.name,
        )
    except (OSError, ValueError, UserError) as exc:
        reporter.note(f"warning: learning curves not written: {exc}")
        return None
