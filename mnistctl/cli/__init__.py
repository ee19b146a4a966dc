"""The command line: parse arguments, call one command, render its result.

Each command is a thin adapter: the work happens in ``commands/`` (which return results as data
and never print) and the look in ``ui/``. Nothing here imports TensorFlow, Keras, matplotlib or
Pillow at import time, so ``--help``, ``validate``, ``summary`` and ``schema`` stay instant.
Every user-facing failure is one line on stderr and exit code 1; with ``--json`` a JSON error
document on stdout too.

``app.py`` holds the Typer app, the shared options and the error guard; each module in
COMMAND_MODULES adds its commands to the app when imported, in the order ``--help`` lists them.
"""

import importlib

from mnistctl.cli.app import app, finish, main

COMMAND_MODULES = (
    "new_command",
    "spec_commands",
    "data_command",
    "tune_command",
    "run_commands",
    "report_command",
    "explain_command",
    "export_command",
    "serve_command",
)

for _module in COMMAND_MODULES:
    importlib.import_module(f"mnistctl.cli.{_module}")
finish()

__all__ = ["app", "main"]
