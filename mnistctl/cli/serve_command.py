"""``mnistctl serve RUN``: the draw-a-digit page and JSON API, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from mnistctl.cli.app import CheckpointOpt, FindRunsOpt, RunArg, app, guard

EXIT_TERMINATED = 128 + 15  # SIGTERM, as `train` exits on it


@app.command()
def serve(
    run: RunArg,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="HOST",
            help="Address to listen on; other than loopback, other machines can reach it.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, metavar="PORT", help="Port to listen on (0: any free one)."
        ),
    ] = 8000,
    checkpoint: CheckpointOpt = None,
    runs_dir: FindRunsOpt = None,
) -> None:
    """A local web page to draw a digit and watch the model read it, and a JSON API."""

    def body() -> None:
        from mnistctl.serve.command import open_serving
        from mnistctl.serve.server import Terminated
        from mnistctl.ui.console import stderr_console
        from mnistctl.ui.serve_view import render_serving

        serving = open_serving(run, runs_dir=runs_dir, checkpoint=checkpoint, host=host, port=port)
        render_serving(serving, stderr_console())
        try:
            serving.serve()
        except Terminated:
            raise typer.Exit(code=EXIT_TERMINATED) from None

    guard(body, tensorflow=True)
