"""``mnistctl report``: one self-contained HTML page of runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistctl.cli.app import FindRunsOpt, JsonOpt, app, guard


@app.command()
def report(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Runs (run directories, specs: their latest, or the name of a group of runs "
            "from train --seeds: all its runs)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="The HTML file to write, or a folder for report-<UTC time>.html (default: "
            "RUN/report.html for one run; for several, report-<UTC time>.html in the runs "
            "directory). An existing file is replaced only if it is a report mnistctl wrote.",
            metavar="FILE.html",
        ),
    ] = None,
    runs_dir: FindRunsOpt = None,
    groups: Annotated[
        bool,
        typer.Option(
            "--groups", help="Each RUN stands for its whole group (train --seeds): its spread."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """One self-contained HTML page of runs, to hand in or share: spec, layers, curves,
    results, per-class table, a confusion matrix whose cells show their pictures, mistakes and
    environment; for several runs what differs and the curves overlaid; groups' spread. Opens
    offline (nothing is fetched), prints well; made without TensorFlow."""

    def body() -> None:
        from mnistctl.commands.report import report_runs
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.report_view import render_report, render_report_warnings

        result = report_runs(runs, output=output, runs_dir=runs_dir, whole_groups=groups)
        render_report_warnings(result, stderr_console())
        if json_:
            print_json(result.to_json())
        else:
            render_report(result, stdout_console())

    guard(body, json_=json_)
