"""``mnistctl export RUN --format saved_model|onnx|litert``: the adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mnistctl.cli.app import CheckpointOpt, DataOpt, FindRunsOpt, JsonOpt, RunArg, app, guard
from mnistctl.startup import heavy_imports


@app.command()
def export(
    run: RunArg,
    format_: Annotated[
        Literal["saved_model", "onnx", "litert"],
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="saved_model (a TensorFlow SavedModel folder), onnx (model.onnx) or litert "
            "(model.tflite, for phones and microcontrollers).",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="DIR",
            help="The export folder (default: RUN/export/FORMAT for the model the run ends "
            "with, RUN/export/FORMAT-best or -last for the other); an earlier export there is "
            "replaced only once the new one passed its check, and refused when it holds files "
            "export did not write.",
        ),
    ] = None,
    checkpoint: CheckpointOpt = None,
    check_samples: Annotated[
        int | None,
        typer.Option(
            "--check-samples",
            min=1,
            metavar="N",
            help="Check on the first N test images (default: the whole test set).",
        ),
    ] = None,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The run's model as a SavedModel, ONNX or LiteRT file, checked in its own runtime against
    Keras on the test set (same class for every image, probabilities within 1e-4) before it is
    put in place, with export.json beside it."""

    def body() -> None:
        with heavy_imports():
            from mnistctl.commands.export import export_run
        from mnistctl.ui.console import print_json, stdout_console
        from mnistctl.ui.export_view import render_export

        result = export_run(
            run,
            fmt=format_,
            output=output,
            checkpoint=checkpoint,
            check_samples=check_samples,
            data=data,
            runs_dir=runs_dir,
        )
        if json_:
            print_json(result.to_json())
        else:
            render_export(result, stdout_console())

    guard(body, json_=json_, tensorflow=True)
