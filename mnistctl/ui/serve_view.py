"""``mnistctl serve`` on the terminal: where the page is, which model it serves, and a warning
when it can be reached from other machines."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from mnistctl.serve.command import Serving
from mnistctl.ui.console import plain
from mnistctl.ui.results import checkpoint_line
from mnistctl.ui.runs_view import percent


def render_serving(serving: Serving, out: Console) -> None:
    """One line (two when exposed): the run, its model, its test accuracy and the URL."""
    if not serving.bound.loopback:
        out.print(
            Text("warning: ", style="bold yellow")
            + plain(
                f"listening on {serving.bound.host}: other machines can reach the page and "
                "API, which have no password (the default, --host 127.0.0.1, is this machine "
                "only)"
            ),
            soft_wrap=True,
        )
    info = serving.model.info
    out.print(
        plain(
            f"serving {info.name} ({checkpoint_line(info.checkpoint)}; test accuracy "
            f"{percent(info.test_accuracy)}) at {serving.url} (Ctrl-C stops)"
        ),
        soft_wrap=True,
    )
