"""The command line: parse arguments, call one command, render its result.

Each command here is a thin adapter: the work happens in ``commands/`` (which return results
as data and never print) and the look in ``ui/``. Nothing here imports TensorFlow, Keras,
matplotlib or Pillow at import time, so ``--help``, ``validate``, ``summary`` and ``schema``
stay instant. Every user-facing failure is one line on stderr and exit code 1; with ``--json``
a JSON error document on stdout too.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer

from mnistctl.errors import UserError, UserErrors

app = typer.Typer(
    name="mnistctl",
    help="Define, train and understand Keras neural networks on MNIST from a YAML spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

T = TypeVar("T")
EXIT_INTERRUPTED = 130

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a spec value by dotted path (value parsed as YAML); repeatable.",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else there.")
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="MNISTCTL_DATA",
        help="Local data: a .npz like Keras's mnist.npz or a folder of IDX files.",
        show_envvar=True,
    ),
]
RunArg = Annotated[
    Path, typer.Argument(help="A run directory, or a spec file meaning its latest run.")
]
FindRunsOpt = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", help="Where to look for a spec's runs (default: runs/).", metavar="DIR"
    ),
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option("--runs-dir", help="Where run directories go (default: runs/).", metavar="DIR"),
]

CheckpointOpt = Annotated[
    Literal["best", "last"] | None,
    typer.Option("--checkpoint", help="best.keras or model.keras (default: the run's final)."),
]


def _guard(action: Callable[[], T], *, json_: bool = False, tensorflow: bool = False) -> T:
    """Run a command; a user-facing error becomes one clean line (and, with ``--json``, a JSON
    error document on stdout) and exit 1; Ctrl-C exits 130.

    ``tensorflow``: the command imports TensorFlow, whose native log lines go to a log file.
    """
    from mnistctl.ml.native_log import native_stderr_to_log
    from mnistctl.ui.console import print_json, stderr_console
    from mnistctl.ui.errors import error_json, render_errors

    try:
        if tensorflow:
            with native_stderr_to_log():
                return action()
        return action()
    except (UserError, UserErrors) as err:
        render_errors(err, stderr_console())
        if json_:
            with contextlib.suppress(UserError):  # stdout itself failed: stderr says so
                print_json(error_json(err))
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        stderr_console().print("interrupted", style="yellow")
        raise typer.Exit(code=EXIT_INTERRUPTED) from None


def _usage_error(message: str) -> typer.Exit:
    from mnistctl.ui.console import stderr_console

    stderr_console().print(f"error: {message}", markup=False)
    return typer.Exit(code=2)


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check specs: YAML, schema, graph, shapes and fit to the data. Never imports TensorFlow."""
    from mnistctl.commands.validate import validate_specs
    from mnistctl.ui.console import plain, print_json, stderr_console
    from mnistctl.ui.errors import render_errors

    console = stderr_console()
    results = validate_specs(specs, set_ or [])
    for result in results:
        if result.errors is not None:
            render_errors(result.errors, console)
        elif not json_:
            console.print(plain(result.message()))
    if json_:
        _guard(lambda: print_json([r.to_json() for r in results]))
    if any(r.errors is not None for r in results):
        raise typer.Exit(code=1)


@app.command()
def summary(
    spec: Annotated[Path, typer.Argument(help="The spec file.")],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Per-layer output shapes and parameter counts, like Keras's model.summary()."""
    from mnistctl.spec import load_spec
    from mnistctl.ui.console import print_json, stdout_console
    from mnistctl.ui.tables import render_summary

    def run() -> None:
        loaded = load_spec(spec, set_ or [])
        summary = loaded.summary()
        if json_:
            print_json(summary.to_json())
        else:
            render_summary(loaded.name, loaded.info, stdout_console(), summary.plan)

    _guard(run, json_=json_)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec."""
    from mnistctl.spec.schema import schema_text
    from mnistctl.ui.console import stdout

    _guard(lambda: stdout().write(schema_text()))


@app.command()
def train(
    spec: Annotated[Path | None, typer.Argument(help="The spec file.")] = None,
    set_: SetOpt = None,
    data: DataOpt = None,
    runs_dir: RunsDirOpt = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue an interrupted or killed run.", metavar="RUN"),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Build, compile and fit a model; writes a run directory and shows live progress."""
    if (spec is None) == (resume is None):
        raise _usage_error("give a SPEC to train, or --resume RUN to continue a run (not both)")
    if resume is not None and set_:
        raise _usage_error("--set cannot change a run being resumed")

    def run() -> int:
        from mnistctl.commands.train import resume_run, train_spec
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.progress import make_reporter
        from mnistctl.ui.results import render_train, render_train_notes

        err = stderr_console()
        reporter = make_reporter(err, plain=json_)
        if resume is not None:
            result = resume_run(resume, runs_dir=runs_dir, data=data, reporter=reporter)
        else:
            assert spec is not None
            result = train_spec(
                spec, set_ or [], data=data, runs_dir=runs_dir or Path("runs"), reporter=reporter
            )
        render_train_notes(result, err)
        if json_:
            print_json(result.to_json())
        else:
            render_train(result, stdout_console())
        return result.exit_code

    raise typer.Exit(code=_guard(run, json_=json_, tensorflow=True))


@app.command()
def evaluate(
    run: RunArg,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    checkpoint: CheckpointOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Test-set loss, accuracy, per-class metrics and the confusion matrix of a run."""

    def body() -> None:
        from mnistctl.commands.evaluate import evaluate_run, save_evaluation
        from mnistctl.ui.console import plain, print_json, stdout_console
        from mnistctl.ui.results import render_evaluate

        result = evaluate_run(run, data=data, runs_dir=runs_dir, checkpoint=checkpoint)
        if json_:
            print_json(result.to_json())
        else:
            render_evaluate(result, stdout_console())
        saved = save_evaluation(result)  # shown first: a read-only run loses only this file
        if not json_:
            stdout_console().print(plain(f"saved: {saved}"), soft_wrap=True)

    _guard(body, json_=json_, tensorflow=True)


@app.command()
def plot(
    run: RunArg,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    checkpoint: CheckpointOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Learning curves, confusion matrix, misclassified digits and the model graph as PNGs."""

    def body() -> None:
        from mnistctl.commands.plot import plot_run
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.results import render_plot

        result = plot_run(run, data=data, runs_dir=runs_dir, checkpoint=checkpoint)
        if json_:
            print_json(result.to_json())
        else:
            render_plot(result, stdout_console(), stderr_console())

    _guard(body, json_=json_, tensorflow=True)


@app.command()
def predict(
    run: RunArg,
    images: Annotated[
        list[Path],
        typer.Argument(
            help="Image files (PNG, JPEG, ...), folders (their image files, in name order) or "
            "quoted glob patterns such as 'digits/*.png' (their matches, in name order); "
            "thousands are prepared in parallel and read by the model in batches.",
        ),
    ],
    runs_dir: FindRunsOpt = None,
    checkpoint: CheckpointOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The digit in each image, with probabilities; every bad file is reported, one line each."""

    def body() -> None:
        from mnistctl.commands.predict import predict_images
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.results import render_checkpoint, render_predict

        result = predict_images(run, images, runs_dir=runs_dir, checkpoint=checkpoint)
        render_checkpoint(result.checkpoint, stderr_console())  # --json: a list, as before
        if json_:
            print_json(result.to_json())
        else:
            render_predict(result, stdout_console())

    _guard(body, json_=json_, tensorflow=True)


@app.command("runs")
def runs_(
    where: Annotated[
        Path | None,
        typer.Argument(help="A spec (its runs) or a folder of runs (default: the runs directory)."),
    ] = None,
    runs_dir: FindRunsOpt = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only runs with this status (completed, training, ...)."),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="started (newest first), name, status, epochs, best_val_accuracy, "
            "test_accuracy, params or seconds.",
        ),
    ] = "started",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N runs.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The runs found: status, epochs, best validation and test accuracy, parameters, time."""

    def body() -> None:
        from mnistctl.commands.runs_list import list_runs
        from mnistctl.ui.console import print_json, stdout_console
        from mnistctl.ui.runs_view import render_runs

        listing = list_runs(where, runs_dir=runs_dir, status=status, sort=sort, limit=limit)
        if json_:
            print_json(listing.to_json())
        else:
            render_runs(listing, stdout_console())

    _guard(body, json_=json_)


@app.command()
def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Two or more runs (run directories, or specs: their latest)."),
    ],
    runs_dir: FindRunsOpt = None,
    data: DataOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", help="Where to write the learning-curves figure (PNG).", metavar="PNG"
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also show the spec values that are the same.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Runs side by side: what differs in their specs, metrics, per-class F1, learning curves."""

    def body() -> None:
        from mnistctl.commands.compare import compare_runs
        from mnistctl.ui.compare_view import render_compare
        from mnistctl.ui.console import plain, print_json, stderr_console, stdout_console

        result = compare_runs(runs, runs_dir=runs_dir, data=data, output=output, show_all=all_)
        for warning in result.warnings:
            stderr_console().print(plain(f"warning: {warning}"))
        if json_:
            print_json(result.to_json())
        else:
            render_compare(result, stdout_console())

    _guard(body, json_=json_, tensorflow=True)


def main() -> None:
    """The console script: run the app; leave at once after an interrupted run was closed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    code: Any = 0
    try:
        app()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except SystemExit as exc:
        code = exc.code
    if code in (EXIT_INTERRUPTED, 128 + 15):
        # The run's record and checkpoint are on disk; skip TensorFlow's slow teardown.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(int(code))
    sys.exit(code)


if __name__ == "__main__":
    main()
