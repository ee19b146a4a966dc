"""``mnistctl tune SPEC``: a hyperparameter search over the spec's ``search:`` section."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from mnistctl.cli.app import DataOpt, JsonOpt, RunsDirOpt, SetOpt, app, guard, usage_error


@app.command()
def tune(
    spec: Annotated[Path, typer.Argument(help="The spec file, with a search: section.")],
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            help="Trials wanted in the study in all, finished ones included (default: "
            "search.trials); the same command again continues up to it.",
            metavar="N",
        ),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option(
            "--study", help="The study's name (default: <spec name>-tune).", metavar="NAME"
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Where the study lives: postgresql://USER@HOST/DB shares it between machines "
            "(default: a journal file in the runs directory).",
            metavar="URL",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Worker processes on this machine: at most 2 per usable core, and 1 per GiB "
            "of memory.",
            metavar="K",
        ),
    ] = 1,
    data: DataOpt = None,
    runs_dir: RunsDirOpt = None,
    set_: SetOpt = None,
    json_: JsonOpt = False,
    worker: Annotated[int | None, typer.Option("--worker", hidden=True)] = None,
) -> None:
    """Search the spec's search: section with Optuna; each trial is a run directory."""
    _check_counts(trials, workers, worker)

    def run() -> int:
        from mnistctl.tune.command import TuneRequest, tune_spec, tune_worker
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.tune_view import QuietWatcher, TuneView, render_tune

        request = TuneRequest(
            spec=spec,
            overrides=tuple(set_ or ()),
            trials=trials,
            study=study,
            storage=storage,
            workers=workers,
            data=data,
            runs_dir=runs_dir or Path("runs"),
        )
        err = stderr_console()
        if worker is not None:
            return tune_worker(request, worker, QuietWatcher(err))
        view = TuneView(err, live=not json_)
        try:
            result = tune_spec(request, view)
        finally:
            view.stop()
        if json_:
            print_json(result.to_json())
            render_tune(result, err, table=False)
        else:
            render_tune(result, stdout_console(), table=not view.was_live)
        _interrupts_end_at_once()
        return result.exit_code

    raise typer.Exit(code=guard(run, json_=json_, tensorflow=True))


def _check_counts(trials: int | None, workers: int, worker: int | None) -> None:
    """Usage errors (exit 2): a count out of its range, ``--workers`` beyond this machine."""
    if trials is not None and trials < 1:
        raise usage_error(f"--trials must be at least 1 (the study's total); received {trials}")
    if workers < 1:
        raise usage_error(f"--workers must be at least 1; received {workers}")
    if workers > 1:
        from mnistctl.tune.workers import max_workers

        bound = max_workers()
        if workers > bound.most:
            raise usage_error(
                f"--workers must be at most {bound.most} on this machine ({bound.why}); "
                f"received {workers}"
            )
    if worker is not None and worker < 0:
        raise usage_error("--worker is set by tune itself")


def _interrupts_end_at_once() -> None:
    """After the result is written and shown: Ctrl-C (or SIGTERM) until the process ends
    exits 130 (143) at once, as every file is whole; during Python's own teardown, where it
    would kill the process by the signal or print a traceback, it is ignored."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(128 + signum)

    def teardown() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    from mnistctl import startup

    # the console script only: a process that calls the CLI in itself (tests) keeps its own
    console = bool(getattr(startup, "_console", False))
    if console and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        atexit.register(teardown)
