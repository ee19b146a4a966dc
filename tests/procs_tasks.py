"""Worker setups for the tests of ``mnistctl.procs``: imported by the worker processes too
(the tests put this folder on their PYTHONPATH), so nothing heavy is imported here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from mnistctl.errors import Location, UserError


def echo(prefix: str = "") -> Callable[[Any], Any]:
    """Answers each task with ``(prefix, task, pid)``; a task ``"refuse"`` raises a UserError,
    ``"bug"`` a ValueError, ``("sleep", s)`` sleeps first, ``("exit", code)`` ends the
    worker without an answer."""

    def run(task: Any) -> Any:
        if task == "refuse":
            raise UserError("refused", location=Location(file="task"), hint="a hint")
        if task == "bug":
            raise ValueError("a bug")
        if isinstance(task, tuple) and task[0] == "sleep":
            time.sleep(task[1])
        if isinstance(task, tuple) and task[0] == "exit":
            os._exit(task[1])
        return (prefix, task, os.getpid())

    return run


def exits(code: int = 3) -> Callable[[Any], Any]:
    """Ends the worker on its first task, without an answer."""

    def run(task: Any) -> Any:
        os._exit(code)

    return run


def cannot_start() -> Callable[[Any], Any]:
    raise RuntimeError("no start here")
