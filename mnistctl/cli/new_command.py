"""``mnistctl new NAME [--from TEMPLATE|SPEC] [--output PATH]``: a starter spec."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from mnistctl.cli.app import JsonOpt, app, guard
from mnistctl.cli.completion import complete_source


@app.command()
def new(
    name: Annotated[
        str, typer.Argument(help="The new spec's name: it writes NAME.yaml, runs go to runs/NAME.")
    ],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="TEMPLATE|SPEC",
            help="An example spec by name (cnn, dnn, lenet5, ...; default: cnn) or any spec file.",
            autocompletion=complete_source,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", metavar="PATH", help="The new file, or a folder (default: NAME.yaml here)."
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Write a starter spec, a copy of an example spec (the CNN by default) or of your own, whose
    first line points editors at the installed schema. Never overwrites a file."""
    from mnistctl.commands.new import new_spec
    from mnistctl.ui.console import plain, print_json, stderr_console, stdout_console
    from mnistctl.ui.runs_view import short_path

    def run() -> None:
        result = new_spec(name, from_, output)
        for note in result.notes:
            stderr_console().print(plain(f"note: {note}", style="yellow"), soft_wrap=True)
        if json_:
            print_json(result.to_json())
            return
        shown = short_path(result.file)
        what = f"the {result.template} template" if result.template else short_path(result.source)
        out = stdout_console()
        out.print(plain(f"wrote {shown}, a copy of {what}"), soft_wrap=True)
        arg = shlex.quote(shown)
        out.print(
            plain(f"next: mnistctl validate {arg}, then mnistctl train {arg}"), soft_wrap=True
        )

    guard(run, json_=json_)
