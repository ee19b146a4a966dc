"""A study: opened (or created) in a storage, checked against the spec, and its trials run
here, one after another, until the study holds the total wanted.

Every process of a study runs this loop (a lone ``tune``, each ``--workers`` process, each
machine on a shared database). Before each trial it fails the trials whose process died on
this machine (``trials.fail_dead``), then asks for a trial only while a retry waits or the
trials that count (``trials.counted``) are fewer than the total: each process checks just
before asking, so K processes overshoot by at most a trial each, and Optuna numbers the trials
(none twice). Ctrl-C or SIGTERM stops the trial in training (its run "interrupted", the trial
FAIL "interrupted" and queued again for the next ``tune``) and starts no other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import sys
import zlib
from collections.abc import Iterator
from types import FrameType
from typing import Any

from mnistctl import jsondata
from mnistctl.errors import Location, UserError
from mnistctl.runs.signals import stop_signals
from mnistctl.spec import Spec
from mnistctl.spec.search import SearchSection
from mnistctl.tune import space
from mnistctl.tune.objective import StopFlag, TrialFailed, TrialSetup, run_trial
from mnistctl.tune.storage import OpenedStorage
from mnistctl.tune.trials import INTERRUPTED, counted, fail_dead, retry, rows, waiting

SEARCH_ATTR = "mnistctl.search"  # the study's search (metric, direction, space)
BASE_ATTR = "mnistctl.base"  # a hash of the spec it searches around (without search and name)
MEDIAN_STARTUP_TRIALS = 3  # the median pruner prunes nothing before this many trials finished


def quiet_optuna() -> None:
    """Optuna's own log lines off: the trials table says what happened."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.logging.disable_default_handler()


def identity(spec: Spec, section: SearchSection) -> tuple[dict[str, Any], str]:
    """What a study must keep: its search, and the spec around it (as a hash)."""
    search = {k: v for k, v in section.to_json().items() if k in ("metric", "direction", "space")}
    base = spec.resolved_dict()
    base.pop("name", None)
    base.pop("description", None)
    text = json.dumps(jsondata.plain(base), sort_keys=True, default=str)
    return search, hashlib.sha256(text.encode()).hexdigest()


def open_study(
    opened: OpenedStorage,
    name: str,
    spec: Spec,
    section: SearchSection,
    *,
    worker: int = 0,
) -> Any:
    """The study ``name`` (created when new), with this process's sampler and pruner; refused
    when it searches another space or around another spec."""
    import optuna

    quiet_optuna()
    try:
        study = optuna.create_study(
            storage=opened.storage,
            study_name=name,
            direction=section.direction,
            load_if_exists=True,
        )
        _check_same(study, name, spec, section, opened)
        existing = len(study.get_trials(deepcopy=False))
        seed = _process_seed(spec, section, existing, worker, opened)
        return optuna.load_study(
            study_name=name,
            storage=opened.storage,
            sampler=_sampler(section, seed),
            pruner=_pruner(section, spec.train.epochs),
        )
    except UserError:
        raise
    except Exception as exc:  # the storage failed under us
        raise storage_error(opened, exc) from None


def storage_error(opened: OpenedStorage, exc: BaseException) -> UserError:
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return UserError(
        "the study storage failed",
        Location(opened.shown),
        received=opened.scrub(f"{type(inner).__name__}: {lines[0] if lines else ''}")[:300],
        hint="run the same command again to continue the study",
    )


def _check_same(
    study: Any, name: str, spec: Spec, section: SearchSection, opened: OpenedStorage
) -> None:
    search, base = identity(spec, section)
    attrs = study.user_attrs
    if SEARCH_ATTR not in attrs:
        study.set_user_attr(SEARCH_ATTR, search)
        study.set_user_attr(BASE_ATTR, base)
        return
    differs = None
    if attrs.get(SEARCH_ATTR) != json.loads(json.dumps(search)):
        differs = "a different search: section (metric, direction or space)"
    elif attrs.get(BASE_ATTR) != base:
        differs = "the same search around a different spec (another layer, value or --set)"
    if differs is None and study.direction.name.lower() != section.direction:
        differs = f"direction {section.direction}"
    if differs is not None:
        raise UserError(
            f"study {name} searches a different space",
            Location(spec.file),
            expected=f"the spec study {name} was started with ({opened.shown})",
            received=differs,
            hint="give the study a new name: --study NEW",
        )


def _process_seed(
    spec: Spec, section: SearchSection, existing: int, worker: int, opened: OpenedStorage
) -> int:
    """The sampler's seed here: the spec's, moved on by the trials the study already has (a
    continued study proposes new values) and by the worker's index (workers do not propose the
    same values); on a shared database also by this host and process."""
    base = section.seed if section.seed is not None else spec.train.seed
    seed = base + existing + 100_003 * worker
    if opened.heartbeats:
        seed += zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
    return seed % 2**31


def _sampler(section: SearchSection, seed: int) -> Any:
    import optuna

    if section.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if section.sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(section), seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(section: SearchSection, epochs: int) -> Any:
    import optuna

    if section.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=1)
    if section.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(epochs, 1), reduction_factor=3
        )
    return optuna.pruners.NopPruner()


def run_here(study: Any, setup: TrialSetup, total: int, opened: OpenedStorage) -> int:
    """Run trials in this process until the study holds ``total`` (or Ctrl-C); how many ran."""
    ran = 0
    # Each trial builds a new model, so TensorFlow's "N calls triggered tf.function retracing"
    # warning is true of every study and says nothing: off in the processes that run trials.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    def after_trial(study: Any, trial: Any) -> None:
        if trial.state.name == "FAIL" and trial.user_attrs.get("fail_reason") == INTERRUPTED:
            retry(study, trial)

    def objective(trial: Any) -> float:
        return run_trial(trial, setup)

    with _stopping(setup.stop), _storage_errors(opened):
        while not setup.stop.requested:
            fail_dead(study)
            trials = study.get_trials(deepcopy=False)
            if not waiting(trials) and counted(trials) >= total:
                break
            study.optimize(objective, n_trials=1, catch=(TrialFailed,), callbacks=[after_trial])
            ran += 1
            for text in opened.take_notices():  # the journal's tail, cut off meanwhile
                setup.watcher.note(text)
            setup.watcher.finished(rows(study.get_trials(deepcopy=False), setup.section))
    return ran


@contextlib.contextmanager
def _storage_errors(opened: OpenedStorage) -> Iterator[None]:
    try:
        yield
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:
        from optuna.exceptions import OptunaError

        module = type(exc).__module__
        if isinstance(exc, OptunaError | OSError) or module.startswith("sqlalchemy"):
            raise storage_error(opened, exc) from None
        raise


@contextlib.contextmanager
def _stopping(stop: StopFlag) -> Iterator[None]:
    """Between trials, Ctrl-C and SIGTERM ask the loop to stop (training has its own handler
    while a run trains); a second one exits at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested, stop.signum = True, signum

    with stop_signals(handler):
        yield


def free_memory() -> None:
    """Between trials: Keras's global state (names, graphs) dropped, and the C heap's free
    pages handed back to the system (glibc's ``malloc_trim``), so that memory grows as little as
    it can over many trials in one process (``bench/tune_overhead.py`` measures it). Without a
    full garbage collection: with TensorFlow loaded it is slow and frees nothing more. What stays
    is TensorFlow's: each model trained in graph mode keeps some memory, as plain Keras and
    TensorFlow do (docs/tuning.md, "Tuning measured")."""
    import keras

    keras.backend.clear_session(free_memory=False)
    _trim_heap()


def _trim_heap() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
