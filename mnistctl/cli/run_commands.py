"""The commands on trained runs: evaluate, plot, predict, runs and compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    """Learning curves, confusion matrix, misclassified digits and the model graph as PNGs."""

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
        int | None, typer.Option("--limit", min=1, metavar="N", help="At most N runs.")
    ] = None,
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

    guard(body, json_=json_)


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

    guard(body, json_=json_, tensorflow=True)
