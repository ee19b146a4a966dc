"""The command line's shared parts: the Typer app, the options several commands take, the
error guard and the console script.

Each command here is a thin adapter: the work happens in ``commands/`` (which return results
as data and never print) and the look in ``ui/``. Nothing here imports TensorFlow, Keras,
matplotlib or Pillow at import time, so ``--help``, ``validate``, ``summary`` and ``schema``
stay instant. Every user-facing failure is one line on stderr and exit code 1; with ``--json``
a JSON error document on stdout too.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from mnistctl.errors import UserError, UserErrors
from mnistctl.phases import mark
from mnistctl.startup import console_process


class _FlagsTakeNoValue:
    """Typer's rich help (0.29) shows every option's type, a flag's too: ``--json <bool>``, as
    if the flag took a value. A flag (``--json``, ``--all``, ``--help``) gets an empty metavar,
    which that column shows instead."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsTakeNoValue, TyperCommand):
    """Each command's class (``finish``)."""


class Group(_FlagsTakeNoValue, TyperGroup):
    """The app's class. When the shell asks for completions, ``completion.prepare`` first gives
    the parameters their answers (cli/completion.py)."""

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: str | None = None
    ) -> None:
        from mnistctl.cli import completion

        if completion.asked(prog_name, complete_var):
            completion.prepare(self)
        super()._main_shell_completion(ctx_args, prog_name, complete_var)


app = typer.Typer(
    name="mnistctl",
    cls=Group,
    help="Define, train and understand Keras neural networks on MNIST from a YAML spec.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

T = TypeVar("T")
EXIT_INTERRUPTED = 130
EXIT_SOME_FAILED = 3  # predict: the pictures that could be read were, some could not

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
        metavar="PATH",
        help=(
            "Local data: a folder of class folders (train/<class>/), a CSV (image, label),"
            " a .npz like Keras's mnist.npz or a folder of IDX files."
        ),
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


def finish() -> None:
    """After every command module added its commands: each command's class is ``Command``,
    and its help is its docstring with each paragraph's line breaks made spaces, so that help
    wraps at the terminal's width, never at the source's (rich help keeps single line breaks:
    a docstring's lines would break a sentence in the middle of the terminal)."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = Command
        doc = info.help if info.help is not None else (info.callback and info.callback.__doc__)
        if doc:
            paragraphs = inspect.cleandoc(doc).split("\n\n")
            info.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)


def guard(action: Callable[[], T], *, json_: bool = False, tensorflow: bool = False) -> T:
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


def usage_error(message: str) -> typer.Exit:
    from mnistctl.ui.console import stderr_console

    stderr_console().print(f"error: {message}", markup=False)
    return typer.Exit(code=2)


def main() -> None:
    """The console script: run the app; leave at once after an interrupted run was closed, and
    after any command that loaded TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    console_process()
    code: Any = 0
    try:
        app()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except SystemExit as exc:
        code = exc.code
    # The command has ended and its code is known: a Ctrl-C while the process leaves (exit
    # handlers, the interpreter's teardown) must not turn into a traceback or a death by the
    # signal, so it is ignored from here on.
    with contextlib.suppress(ValueError):  # not the main thread (a test calling main)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    mark("done")
    if isinstance(code, int) and (
        code in (EXIT_INTERRUPTED, 128 + 15) or "tensorflow" in sys.modules
    ):
        # Every file the command wrote is closed (written whole and renamed into place); skip
        # the interpreter's teardown with TensorFlow loaded (seconds: docs/performance.md).
        # The exit handlers still run (quick: AutoGraph's, for one, deletes its temporary
        # files), then logging's, then the streams are flushed.
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)
