"""``mnistctl data SOURCE``: a data set's classes, counts, sizes, bad files and a preview."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistctl.cli.app import JsonOpt, app, guard


@app.command()
def data(
    source: Annotated[
        str,
        typer.Argument(
            help=(
                "A spec, a folder of class folders, a CSV, a .npz, a folder of IDX files, or "
                "a data set's name (mnist, fashion_mnist, mnist_sample)."
            )
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="PNG", help="The preview (default: NAME-preview.png here)."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="Read a folder as this set's official files: kmnist, emnist_letters, ...",
        ),
    ] = None,
    no_preview: Annotated[
        bool, typer.Option("--no-preview", help="Write no preview picture.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """A data set's classes with their train and test counts, picture sizes and modes,
    every bad file, and a preview of a few pictures per class (fills train's cache)."""
    from mnistctl.commands.data import describe_data
    from mnistctl.ui.console import print_json, stderr_console, stdout_console
    from mnistctl.ui.data_view import render_bad_files, render_data

    def run() -> None:
        report = describe_data(source, dataset=dataset, output=output, preview=not no_preview)
        render_bad_files(report, stderr_console())
        if json_:
            print_json(report.to_json())
        else:
            render_data(report, stdout_console())

    guard(run, json_=json_)
