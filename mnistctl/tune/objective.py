"""One trial: the trial's values set in the spec, trained into a run directory of its own.

The concrete spec is the spec as written (``--set`` applied) without ``search:``, with each
searched path set to the trial's value, checked as any spec (``resolve``; the static search
checks make a failure here rare, but one is the trial's failure, not the study's). It trains
through the normal code (``commands/train.py``), into ``RUNS/<study>/<stamp>/``, the record
noting the study, the trial and its values. After each epoch the metric goes to the pruner;
when the pruner says so, training ends after that epoch: the run is complete ("pruned at epoch
k") and the trial PRUNED. The trial's value is the best epoch's metric. Whatever goes wrong (a
diverged loss, a value that runs out of memory, any error) fails this trial only, with a
one-line reason in its ``fail_reason`` attribute.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

from mnistctl.errors import Location, UserError, UserErrors
from mnistctl.runs import liveness
from mnistctl.spec import Spec
from mnistctl.spec.loader import resolve
from mnistctl.spec.overrides import set_path
from mnistctl.spec.search import SearchSection
from mnistctl.tune.space import suggest
from mnistctl.tune.trials import INTERRUPTED


class Watcher(Protocol):
    """What shows a study's progress (``ui/tune_view.py``)."""

    def configure(self, metric: str, direction: str, paths: Sequence[str]) -> None: ...
    def started(self, number: int, params: Mapping[str, Any]) -> None: ...
    def epoch(self, number: int, epoch: int, epochs: int, value: float | None) -> None: ...
    def finished(self, rows: list[Any]) -> None: ...  # the study's TrialRows after a trial
    def note(self, text: str) -> None: ...


class TrialFailed(Exception):
    """A trial that failed; its reason is in its ``fail_reason`` attribute."""


@dataclass
class StopFlag:
    """Set by Ctrl-C (or SIGTERM): no new trial starts; a trial in training stops."""

    requested: bool = False
    signum: int = 0


@dataclass
class TrialSetup:
    """What every trial of this process shares."""

    spec: Spec  # the spec as written, --set applied; its search section is ``section``
    section: SearchSection
    data: Path | None
    runs_dir: Path
    study: str
    storage: str  # as shown to people
    watcher: Watcher
    stop: StopFlag = field(default_factory=StopFlag)
    after: Callable[[], None] | None = None  # after each trial (free the model's memory)


def concrete_spec(base: Spec, values: Mapping[str, Any]) -> Spec:
    """``base`` with ``values`` (path -> value) set, without ``search:``, checked."""
    data = copy.deepcopy(base.raw)
    data.pop("search", None)
    for path, value in values.items():
        set_path(data, path, value, Location(base.file, None, None, ("search", "space", path)))

    def locate(path: tuple[Any, ...], key: bool = False) -> Location:
        return Location(base.file, None, None, path)

    spec, errors = resolve(data, locate, Path(base.file))
    if errors or spec is None:
        raise UserErrors(errors or [UserError("invalid spec", Location(base.file))])
    shown = tuple(f"{path}={json.dumps(value)}" for path, value in values.items())
    return dataclasses.replace(spec, overrides=(*base.overrides, *shown))


def run_trial(trial: Any, setup: TrialSetup) -> float:
    """Optuna's objective: train the trial's spec; its value, or TrialPruned / TrialFailed."""
    from optuna.exceptions import TrialPruned

    from mnistctl.commands.train import Hooks, train_loaded

    trial.set_user_attr("owner", liveness.current().to_json())
    if trial.user_attrs.get("fail_reason") is not None:  # a retry copies its original's
        trial.set_user_attr("fail_reason", None)
    values = suggest(trial, setup.section)
    setup.watcher.started(trial.number, values)
    try:
        spec = concrete_spec(setup.spec, values)
    except (UserError, UserErrors) as err:
        _fail(trial, _reason(err))
    metric, epochs = setup.section.metric, spec.train.epochs

    def on_epoch(epoch: int, row: Mapping[str, float]) -> str | None:
        value = row.get(metric)
        setup.watcher.epoch(trial.number, epoch, epochs, value)
        if value is None or not math.isfinite(value):
            return None
        trial.report(float(value), epoch)
        if epoch < epochs and trial.should_prune():
            return f"pruned at epoch {epoch} of {epochs}"
        return None

    hooks = Hooks(
        folder=setup.study,
        about={
            "tune": {
                "study": setup.study,
                "trial": trial.number,
                "params": values,
                "storage": setup.storage,
            }
        },
        started=lambda run: trial.set_user_attr("run_dir", str(run)),
        on_epoch=on_epoch,
        curves=False,
    )
    reporter = _TrialReporter(setup)
    try:
        result = train_loaded(
            spec, data=setup.data, runs_dir=setup.runs_dir, reporter=reporter, hooks=hooks
        )
    except (UserError, UserErrors) as err:
        _fail(trial, _reason(err))
    except Exception as exc:  # out of memory, or anything else: this trial fails, not the study
        text = str(exc).strip().splitlines()
        _fail(trial, f"{type(exc).__name__}: {text[0] if text else ''}"[:300])
    finally:
        if setup.after is not None:
            setup.after()
    trial.set_user_attr("epochs", result.epochs_completed)
    if result.status != "completed":
        setup.stop.requested = True
        setup.stop.signum = result.exit_code - 128 if result.exit_code > 128 else 2
        _fail(trial, INTERRUPTED)
    if result.note and result.note.startswith("pruned"):
        raise TrialPruned(result.note)
    history = [v for v in result.history.get(metric, []) if math.isfinite(v)]
    if not history:
        _fail(trial, f"no epoch logged {metric}")
    return max(history) if setup.section.direction == "maximize" else min(history)


def _fail(trial: Any, reason: str) -> NoReturn:
    trial.set_user_attr("fail_reason", reason)
    raise TrialFailed(reason)


def _reason(err: UserError | UserErrors) -> str:
    first = err.first if isinstance(err, UserErrors) else err
    text = first.message
    if first.location.path:
        from mnistctl.errors import format_path

        text = f"{format_path(first.location.path)}: {text}"
    if first.received is not None:
        text += f" ({first.received})"
    return text[:300]


class _TrialReporter:
    """Training's reporter inside a trial: quiet; its warnings go to the watcher once; a stop
    requested before training began (Ctrl-C while the data loaded) stops it at once."""

    live = False

    def __init__(self, setup: TrialSetup) -> None:
        self.setup = setup

    def start(self, first_epoch: int, epochs: int, steps: int) -> None:
        if self.setup.stop.requested:
            raise KeyboardInterrupt  # train marks the run interrupted

    def epoch_start(self, epoch: int) -> None:
        pass

    def batch(self, step: int, logs: Mapping[str, float]) -> None:
        pass

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        pass

    def note(self, text: str) -> None:
        if text.startswith("warning:") or text.startswith("stopping"):
            self.setup.watcher.note(text)

    def stop(self) -> None:
        pass
