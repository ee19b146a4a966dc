"""``mnistctl tune SPEC``: a hyperparameter search over the spec's ``search:`` section.

Order of work: the spec, its search and the data are checked, and the storage opened (a wrong
URL is one line within seconds), before any trial; then trials run here (``--workers 1``) or in
K worker processes that share the storage; then the study's files are written beside its
trials: ``best.yaml``, ``study.json`` (this result) and ``plots/``. Returns a ``TuneResult``;
never prints (progress goes to the watcher it is given).
"""

from __future__ import annotations

import dataclasses
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistctl.commands.datasource import load_spec_data
from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_json
from mnistctl.runs.signals import EXIT_INTERRUPTED
from mnistctl.spec import Spec, load_spec
from mnistctl.spec.search import SearchSection
from mnistctl.tune import trials as trial_rows
from mnistctl.tune.names import StudyPaths, check_study_name, default_study_name
from mnistctl.tune.objective import StopFlag, TrialSetup, Watcher
from mnistctl.tune.results import (
    best_row,
    check_study_files,
    every_trial_failed,
    write_best_spec,
)
from mnistctl.tune.storage import OpenedStorage, open_storage
from mnistctl.tune.study import free_memory, open_study, run_here
from mnistctl.tune.trials import TrialRow


@dataclass(frozen=True)
class TuneRequest:
    """The command line of ``tune``."""

    spec: Path
    overrides: tuple[str, ...] = ()
    trials: int | None = None  # the total wanted (default: search.trials)
    study: str | None = None
    storage: str | None = None
    workers: int = 1
    data: Path | None = None
    runs_dir: Path = Path("runs")
    plots: bool = True


@dataclass(frozen=True)
class TuneResult:
    """A study after this command; ``to_json`` is the ``tune --json`` document."""

    study: str
    storage: str  # the journal's path, or the URL with its password masked
    metric: str
    direction: str
    total: int  # trials wanted in the study
    trials: tuple[TrialRow, ...]  # every trial of the study, from every process
    best: TrialRow | None
    best_spec: Path | None
    folder: Path
    ran_here: int  # trials this command ran (its workers included)
    plots: tuple[Path, ...] = ()
    plots_skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    exit_code: int = 0

    @property
    def interrupted(self) -> bool:
        return self.exit_code != 0

    def to_json(self) -> dict[str, Any]:
        best = None
        if self.best is not None:
            best = {
                "number": self.best.number,
                "value": self.best.value,
                "params": self.best.params,
                "spec": str(self.best_spec) if self.best_spec else None,
                "run_dir": self.best.run_dir,
            }
        return {
            "study": self.study,
            "storage": self.storage,
            "metric": self.metric,
            "direction": self.direction,
            "trials_wanted": self.total,
            "best": best,
            "trials": [t.to_json() for t in self.trials],
            "folder": str(self.folder),
            "ran_here": self.ran_here,
            "plots": [str(p) for p in self.plots],
            "plots_skipped": list(self.plots_skipped),
            "interrupted": self.interrupted,
        }


@dataclass
class _Prepared:
    spec: Spec
    section: SearchSection
    name: str
    paths: StudyPaths
    total: int
    opened: OpenedStorage
    notes: list[str] = field(default_factory=list)


def _prepare(request: TuneRequest, *, check_data: bool) -> _Prepared:
    spec = load_spec(request.spec, request.overrides, check_data=check_data, data=request.data)
    if spec.search is None:
        raise UserError(
            "the spec has no search: section, so there is nothing to tune",
            Location(str(request.spec)),
            expected="a search: section with a space of --set paths",
            received="none",
            hint="add e.g. search: {space: {model.layers.hidden.units: {choice: [64, 128]}}}",
        )
    section = spec.search
    total = request.trials if request.trials is not None else section.trials
    notes = []
    if section.sampler == "grid" and total > section.grid_size():
        notes.append(f"the grid holds {section.grid_size()} points: the study stops there")
        total = section.grid_size()
    name = check_study_name(request.study or default_study_name(spec.name))
    paths = StudyPaths(request.runs_dir.resolve(), name)
    if check_data:  # the parent, before any trial: one line now, not N failed trials or a
        check_study_files(paths)  # refusal after them (its own files, written at the end)
        load_spec_data(spec, request.data)
    opened = open_storage(request.storage, paths.journal, workers=request.workers)
    notes += opened.take_notices()
    return _Prepared(spec, section, name, paths, total, opened, notes)


def tune_spec(request: TuneRequest, watcher: Watcher) -> TuneResult:
    """``mnistctl tune SPEC``: run the study to its total here or in worker processes."""
    prep = _prepare(request, check_data=True)
    study = open_study(prep.opened, prep.name, prep.spec, prep.section)
    watcher.configure(
        prep.section.metric, prep.section.direction, [p for p, _ in prep.section.space]
    )
    for text in prep.notes:
        watcher.note(text)
    stop = StopFlag()
    if request.workers > 1:
        ran = _with_workers(request, prep, study, watcher, stop)
    else:
        setup = _setup(request, prep, watcher, stop)
        ran = run_here(study, setup, prep.total, prep.opened)
    result = _finish(request, prep, study, ran, stop)
    failed = every_trial_failed(result.trials, result.study, result.metric, result.folder)
    if failed is not None and not result.interrupted:  # study.json is written: the record
        raise failed
    return result


def tune_worker(request: TuneRequest, index: int, watcher: Watcher) -> int:
    """One of ``--workers K``'s processes (the hidden ``--worker I``): the loop, no results."""
    from mnistctl.tune.workers import configure_threads, storage_from_env

    request = dataclasses.replace(request, storage=storage_from_env() or request.storage)
    configure_threads()
    prep = _prepare(request, check_data=False)
    study = open_study(prep.opened, prep.name, prep.spec, prep.section, worker=index)
    watcher.configure(
        prep.section.metric, prep.section.direction, [p for p, _ in prep.section.space]
    )
    stop = StopFlag()
    run_here(study, _setup(request, prep, watcher, stop), prep.total, prep.opened)
    return _exit_code(stop)


def _setup(request: TuneRequest, prep: _Prepared, watcher: Watcher, stop: StopFlag) -> TrialSetup:
    data = request.data.expanduser().resolve() if request.data is not None else None
    return TrialSetup(
        spec=prep.spec,
        section=prep.section,
        data=data,
        runs_dir=prep.paths.runs_dir,
        study=prep.name,
        storage=prep.opened.shown,
        watcher=watcher,
        stop=stop,
        after=free_memory,
    )


def _exit_code(stop: StopFlag) -> int:
    if not stop.requested:
        return 0
    return 128 + signal.SIGTERM if stop.signum == signal.SIGTERM else EXIT_INTERRUPTED


def _with_workers(
    request: TuneRequest, prep: _Prepared, study: Any, watcher: Watcher, stop: StopFlag
) -> int:
    from mnistctl.tune import workers

    trials = study.get_trials(deepcopy=False)
    needed = trial_rows.waiting(trials) + max(0, prep.total - trial_rows.counted(trials))
    count = min(request.workers, needed)
    if count == 0:
        return 0
    threads = workers.split(count)
    watcher.note(threads.line())
    args = _worker_args(request, prep)
    commands = [workers.worker_command(request.spec.resolve(), i, args) for i in range(count)]
    logs = [prep.paths.worker_log(i) for i in range(count)]
    before = {t.number for t in trials}
    poller = _Poller(study, prep.section, watcher)

    def stopped(signum: int) -> None:
        stop.requested, stop.signum = True, signum
        watcher.note("stopping: each worker ends its trial in training (Ctrl-C again: at once)")

    exits = workers.run_workers(
        commands, logs, threads, storage=prep.opened.url, poll=poller.poll, stopped=stopped
    )
    ran = sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.number not in before and t.state.name != "WAITING"
    )
    failed = [e for e in exits if not e.stopped]
    after = study.get_trials(deepcopy=False)  # a dead worker's trial still RUNNING: not done
    done = trial_rows.counted(after) >= prep.total and not any(
        t.state.name in ("RUNNING", "WAITING") for t in after
    )
    if failed and not stop.requested and not done:
        which = ", ".join(str(e.index) for e in failed)
        raise UserError(
            f"worker{'s' if len(failed) > 1 else ''} {which} stopped before the study's end",
            Location(str(prep.paths.folder / "workers")),
            expected="workers that run the study to its end",
            received=workers.died(failed),
            hint="run the same command again to continue the study (its trials are kept)",
        )
    for e in failed:
        watcher.note(f"warning: worker {e.index} {e.how()} (log {e.log})")
    return ran


def _worker_args(request: TuneRequest, prep: _Prepared) -> list[str]:
    args = ["--trials", str(prep.total), "--study", prep.name, "--runs-dir"]
    args.append(str(prep.paths.runs_dir))
    if request.data is not None:
        args += ["--data", str(request.data.expanduser().resolve())]
    for override in request.overrides:
        args += ["--set", override]
    return args


class _Poller:
    """The parent's view of its workers' trials: the storage, read every half second."""

    def __init__(self, study: Any, section: SearchSection, watcher: Watcher) -> None:
        self.study, self.section, self.watcher = study, section, watcher
        self.seen: dict[int, str] = {}

    def poll(self) -> None:
        rows = trial_rows.rows(self.study.get_trials(deepcopy=False), self.section)
        changed = False
        for row in rows:
            if self.seen.get(row.number) == row.state:
                continue
            if row.state == "RUNNING":
                self.watcher.started(row.number, row.params)
            elif row.state != "WAITING":
                changed = True
            self.seen[row.number] = row.state
        if changed:
            self.watcher.finished(rows)


def _finish(
    request: TuneRequest, prep: _Prepared, study: Any, ran: int, stop: StopFlag
) -> TuneResult:
    """The study's files beside its trials, and the result (also as study.json)."""
    from mnistctl.tune.plots import write_plots

    rows = trial_rows.rows(study.get_trials(deepcopy=False), prep.section)
    best = best_row(rows, prep.section.direction)
    best_spec = None
    if best is not None:
        best_spec = write_best_spec(
            prep.spec,
            best,
            prep.paths.best_spec,
            study=prep.name,
            metric=prep.section.metric,
            data=request.data,
        )
    result = TuneResult(
        study=prep.name,
        storage=prep.opened.shown,
        metric=prep.section.metric,
        direction=prep.section.direction,
        total=prep.total,
        trials=tuple(rows),
        best=best,
        best_spec=best_spec,
        folder=prep.paths.folder,
        ran_here=ran,
        notes=tuple(prep.notes),
        exit_code=_exit_code(stop),
    )
    if request.plots and not stop.requested and rows:
        drawn = write_plots(study, prep.paths.plots, prep.section.metric)
        result = dataclasses.replace(result, plots=drawn.written, plots_skipped=drawn.skipped)
    write_json(prep.paths.result, result.to_json())
    return result
