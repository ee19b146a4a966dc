"""``mnistctl explain``: where the network looked, for image files or test pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mnistctl.cli.app import CheckpointOpt, DataOpt, FindRunsOpt, JsonOpt, RunArg, app, guard
from mnistctl.startup import heavy_imports


@app.command()
def explain(
    run: RunArg,
    images: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Image files, folders or quoted glob patterns, prepared as predict prepares them.",
        ),
    ] = None,
    test: Annotated[
        int | None,
        typer.Option("--test", metavar="N", help="Also explain the first N test pictures."),
    ] = None,
    method: Annotated[
        Literal["gradcam", "saliency", "occlusion", "all"],
        typer.Option("--method", help="Which maps (default: all three)."),
    ] = "all",
    layer: Annotated[
        str | None,
        typer.Option(
            "--layer",
            metavar="NAME",
            help="Grad-CAM's convolutional layer (default: the last still spatial).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", metavar="DIR", help="Where the PNGs go (default: RUN/explain/)."),
    ] = None,
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The prediction for each picture and where the network looked: Grad-CAM, saliency and
    occlusion maps, one PNG per picture."""

    def body() -> None:
        from mnistctl.commands.explain_request import check_request

        check_request(images or [], test)  # at once, before TensorFlow's start-up
        with heavy_imports():
            from mnistctl.commands.explain import explain_run
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.explain_view import render_explain
        from mnistctl.ui.results import render_checkpoint

        result = explain_run(
            run, images or [], test, method, layer, output, checkpoint, data, runs_dir
        )
        render_checkpoint(result.checkpoint, stderr_console())
        if json_:
            print_json(result.to_json())
        else:
            render_explain(result, stdout_console())

    guard(body, json_=json_, tensorflow=True)
