"""The commands on trained runs: evaluate, plot, predict, runs and compare."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mnistctl.cli.app import (
    EXIT_SOME_FAILED,
    CheckpointOpt,
    DataOpt,
    FindRunsOpt,
    JsonOpt,
    RunArg,
    app,
    guard,
)
from mnistctl.startup import heavy_imports

if TYPE_CHECKING:
    from mnistctl.commands.seeds import GroupResult


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
        with heavy_imports():
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

    guard(body, json_=json_, tensorflow=True)


@app.command()
def plot(
    run: RunArg,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    checkpoint: CheckpointOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Learning curves, confusion matrix, misclassified digits, the model graph, and inside the
    network: the first convolution's filters, feature maps, a PCA of the last hidden layer
    (PNGs)."""

    def body() -> None:
        with heavy_imports():
            from mnistctl.commands.plot import plot_run
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.results import render_plot

        result = plot_run(run, data=data, runs_dir=runs_dir, checkpoint=checkpoint)
        if json_:
            print_json(result.to_json())
        else:
            render_plot(result, stdout_console(), stderr_console())

    guard(body, json_=json_, tensorflow=True)


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
    """The digit in each image, with probabilities; every bad file is reported in its place,
    one line each (exit 3 when some were, 1 when no picture could be read)."""

    def body() -> None:
        from mnistctl.commands.predict import predict_images
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.results import render_checkpoint, render_predict, render_predict_failures

        result = predict_images(run, images, runs_dir=runs_dir, checkpoint=checkpoint, partial=True)
        render_checkpoint(result.checkpoint, stderr_console())  # --json: a list, as before
        if json_:
            print_json(result.to_json())
        else:
            render_predict(result, stdout_console())
        if result.failures:
            render_predict_failures(result, stderr_console())
            raise typer.Exit(code=EXIT_SOME_FAILED)

    guard(body, json_=json_, tensorflow=True)


@app.command("runs")
def runs_(
    where: Annotated[
        Path | None,
        typer.Argument(help="A spec (its runs) or a folder of runs (default: the runs directory)."),
    ] = None,
    runs_dir: FindRunsOpt = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only runs with this status (completed, training, ...).",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="started (newest first), name, status, epochs, best_val_accuracy, "
            "test_accuracy, params or seconds.",
        ),
    ] = "started",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, metavar="N", help="At most N rows.")
    ] = None,
    each: Annotated[
        bool,
        typer.Option(
            "--each", help="Every run on its own row (by default a group of seeds is one row)."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """The runs found: status, epochs, best validation and test accuracy, parameters, time; a
    group of seeds (train --seeds) as one row, mean ± sd. --json: one row per run."""

    def body() -> None:
        from mnistctl.commands.runs_list import list_runs
        from mnistctl.ui.console import print_json, stdout_console
        from mnistctl.ui.runs_view import render_runs

        listing = list_runs(
            where, runs_dir=runs_dir, status=status, sort=sort, limit=limit, each=each
        )
        if json_:
            print_json(listing.to_json())
        else:
            render_runs(listing, stdout_console())

    guard(body, json_=json_)


@app.command()
def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more runs (run directories, specs: their latest, or the name of a "
            "group of runs from train --seeds: all its runs)."
        ),
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
    groups: Annotated[
        bool,
        typer.Option(
            "--groups",
            help="Each RUN stands for its whole group (train --seeds): groups compared by mean "
            "± sd, and whether each difference is larger than the seeds' spread.",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Runs side by side: what differs in their specs, metrics, per-class F1, learning curves;
    groups of runs (train --seeds) by mean ± sd."""

    def body() -> None:
        from mnistctl.commands.compare import compare_runs
        from mnistctl.ui.compare_view import render_compare
        from mnistctl.ui.console import plain, print_json, stderr_console, stdout_console

        result = compare_runs(
            runs, runs_dir=runs_dir, data=data, output=output, show_all=all_, whole_groups=groups
        )
        for warning in result.warnings:
            stderr_console().print(plain(f"warning: {warning}"))
        if json_:
            print_json(result.to_json())
        else:
            render_compare(result, stdout_console())

    guard(body, json_=json_, tensorflow=True)


# --- train --seeds (the train command itself: cli/spec_commands.py) ----------------------------


def train_group_command(
    spec: Path | None,
    overrides: list[str],
    seeds: list[int],
    data: Path | None,
    runs_dir: Path | None,
    json_: bool,
) -> int:
    """``train SPEC --seeds N...``: the seeds and overrides checked before TensorFlow loads."""

    def run() -> int:
        from mnistctl.runs.groups import check_seed_overrides, check_seeds

        check_seeds(seeds)
        check_seed_overrides(overrides)
        with heavy_imports():
            from mnistctl.commands.seeds import train_group
        from mnistctl.ui.console import stderr_console
        from mnistctl.ui.progress import make_reporter

        assert spec is not None
        reporter = make_reporter(stderr_console(), plain=json_)
        result = train_group(
            spec, overrides, seeds, data=data, runs_dir=runs_dir or Path("runs"), reporter=reporter
        )
        return _show_group(result, json_)

    return guard(run, json_=json_, tensorflow=True)


def resume_group_command(
    run: Path, runs_dir: Path | None, data: Path | None, json_: bool, reporter: Any
) -> int | None:
    """``train --resume RUN`` on a run of a group: the whole group finished; None when RUN is
    not a run of a group (inside train's guard, TensorFlow loaded)."""
    from mnistctl.commands.seeds import resume_group

    result = resume_group(run, runs_dir=runs_dir, data=data, reporter=reporter)
    return None if result is None else _show_group(result, json_)


def _show_group(result: GroupResult, json_: bool) -> int:
    from mnistctl.ui.console import plain, print_json, stderr_console, stdout_console
    from mnistctl.ui.results import render_train_notes
    from mnistctl.ui.runs_view import render_group_train

    err = stderr_console()
    for _, one in result.trained:
        render_train_notes(one, err)
    for note in result.notes:
        err.print(plain(note), soft_wrap=True)
    if json_:
        print_json(result.to_json())
    else:
        render_group_train(result, stdout_console())
    return result.exit_code
