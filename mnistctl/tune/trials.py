"""A study's trials as plain rows, how many count toward the total, and who died.

A trial's own facts live in its user attributes: ``owner`` (the process running it: host, boot,
pid, start time; ``runs/liveness.py``), ``run_dir``, ``epochs`` (finished), ``fail_reason``
(a failed trial's one line) and ``retry_of`` (the failed trial it repeats).

Counted toward ``--trials``: every trial except a failed one that was retried (its retry counts
instead), so a study of N trials ends with N trials that finished or failed for good.

A trial whose process died (SIGKILL, a lost machine) stays RUNNING in the storage. On this
machine the owner tells: before asking for a trial, each process fails the RUNNING trials whose
owner is on this host and gone ("worker died") and queues a retry with the same parameters.
A process killed between Optuna creating its trial and recording the owner (a few
milliseconds) leaves a trial without an owner, and without a heartbeat: one that has stayed so
for ``OWNERLESS_GRACE_S`` is failed and retried the same way, by any process on any host.
Across machines, RDB storages' heartbeats do the same (``storage.py``); Optuna's callback
queues the retry and records what it retries in ``retry_history``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mnistctl.filedata import Shape
from mnistctl.runs import liveness
from mnistctl.runs.liveness import OWNER_SCHEMA, Owner
from mnistctl.spec.search import SearchSection
from mnistctl.tune.space import decoded

WORKER_DIED = "worker died"
INTERRUPTED = "interrupted"
NO_HEARTBEAT = "worker died (no heartbeat)"
# A RUNNING trial still without an owner this long after it started lost its process before the
# process said who it was (it does so at once, before any value is proposed).
OWNERLESS_GRACE_S = 30.0

# A trial's user attributes as tune/objective.py sets them (Optuna keeps them as JSON); one of
# another shape reads as absent, each on its own.
ATTRS_SHAPE = Shape(
    "trial's attributes",
    {
        "type": "object",
        "properties": {
            "owner": OWNER_SCHEMA,
            "run_dir": {"type": "string"},
            "epochs": {"type": "integer", "minimum": 0},
            "fail_reason": {"type": ["string", "null"]},  # null: a retry's, cleared
            "retry_of": {"type": "integer", "minimum": 0},
        },
    },
)


@dataclass(frozen=True)
class TrialRow:
    """One trial of the study, as the table and the JSON show it."""

    number: int
    state: str  # Optuna's: COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    value: float | None
    params: dict[str, Any]
    run_dir: str | None
    reason: str | None  # why a FAIL failed
    epochs: int  # epochs finished (reported to the pruner)
    seconds: float | None
    retry_of: int | None
    retried: bool  # a FAIL that a later trial repeats (not counted toward the total)
    host: str | None  # where it ran (or runs)
    pid: int | None  # the process that ran it

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": self.params,
            "run_dir": self.run_dir,
            "reason": self.reason,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "retry_of": self.retry_of,
            "retried": self.retried,
            "host": self.host,
            "pid": self.pid,
        }


def attrs(trial: Any) -> dict[str, Any]:
    """The user attributes of ``trial`` (an Optuna FrozenTrial) that have their shapes."""
    return ATTRS_SHAPE.valid_part(trial.user_attrs)


def retry_of(trial: Any) -> int | None:
    """The number of the failed trial that ``trial`` (an Optuna FrozenTrial) repeats."""
    history = trial.system_attrs.get("retry_history")  # Optuna's own
    if isinstance(history, list) and history and isinstance(history[-1], int):
        return history[-1]
    return attrs(trial).get("retry_of")


def retried_numbers(trials: Sequence[Any]) -> set[int]:
    return {n for n in (retry_of(t) for t in trials) if n is not None}


def counted(trials: Sequence[Any]) -> int:
    """How many trials count toward the total (every one but a retried failure)."""
    retried = retried_numbers(trials)
    return sum(1 for t in trials if not (t.state.name == "FAIL" and t.number in retried))


def waiting(trials: Sequence[Any]) -> int:
    return sum(1 for t in trials if t.state.name == "WAITING")


def rows(trials: Sequence[Any], section: SearchSection) -> list[TrialRow]:
    retried = retried_numbers(trials)
    return [_row(t, section, t.number in retried) for t in sorted(trials, key=lambda t: t.number)]


def _row(trial: Any, section: SearchSection, retried: bool) -> TrialRow:
    facts, state = attrs(trial), trial.state.name
    queued = state == "WAITING"  # a queued retry may hold its original's owner and run
    value = trial.value if trial.values is not None and len(trial.values) == 1 else None
    if value is not None and not math.isfinite(value):
        value = None
    seconds = None
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        seconds = round((trial.datetime_complete - trial.datetime_start).total_seconds(), 3)
    owner = Owner.from_json(facts.get("owner")) if not queued else None
    return TrialRow(
        number=trial.number,
        state=state,
        value=value,
        params=decoded(section, trial.params or _queued_params(trial)),
        run_dir=facts.get("run_dir") if not queued else None,
        reason=(facts.get("fail_reason") or NO_HEARTBEAT) if state == "FAIL" else None,
        epochs=facts.get("epochs", len(trial.intermediate_values)),
        seconds=seconds,
        retry_of=retry_of(trial),
        retried=retried,
        host=owner.host if owner is not None else None,
        pid=owner.pid if owner is not None else None,
    )


def _queued_params(trial: Any) -> dict[str, Any]:
    """A queued (WAITING) trial's parameters, fixed when it was queued."""
    fixed = trial.system_attrs.get("fixed_params")
    return dict(fixed) if isinstance(fixed, dict) else {}


def fail_dead(study: Any, now: datetime | None = None) -> list[int]:
    """Fail the RUNNING trials whose process on this host is gone, and those left without an
    owner for ``OWNERLESS_GRACE_S`` (``now``: the clock, for tests), each with a retry queued
    (same parameters); the numbers of the trials failed here."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = Owner.from_json(attrs(trial).get("owner"))
        if owner is None:
            if not ownerless_too_long(trial, now):
                continue  # just asked: its owner is on the way
        elif liveness.is_alive(owner) is not False:
            continue  # alive, or on another host
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", WORKER_DIED)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # another process got there first, and queued the retry
        retry(study, trial)
        failed.append(trial.number)
    return failed


def ownerless_too_long(trial: Any, now: datetime | None = None) -> bool:
    """``trial`` (RUNNING, no owner) started ``OWNERLESS_GRACE_S`` or more before ``now``.
    Optuna's start times are naive local times (journal and RDB storages alike)."""
    start = trial.datetime_start
    if start is None:
        return False
    if now is None:
        now = datetime.now(start.tzinfo)
    return float((now - start).total_seconds()) >= OWNERLESS_GRACE_S


def retry(study: Any, trial: Any) -> None:
    """Queue a trial with ``trial``'s parameters (for one that died before it proposed any, a
    retry's fixed ones, or none), noting which trial it repeats."""
    params = dict(trial.params) or _queued_params(trial)
    study.enqueue_trial(params, user_attrs={"retry_of": trial.number})
