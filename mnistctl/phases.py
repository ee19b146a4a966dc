"""Timestamps of a command's start-up phases, for ``bench/startup.py``.

When the environment variable ``MNISTCTL_PHASES_FILE`` names a file, each ``mark(name)``
appends one JSON line ``{"phase": name, "t": <time.time()>, "pid": <pid>}`` to it, so that a
harness that noted the time before it started the process can split the process's wall time
into phases (Python and the CLI, importing TensorFlow, loading data, building, compiling, the
first training step, ...). Without the variable a mark costs one dictionary lookup and writes
nothing. Marks never fail a command: a file that cannot be written is ignored.
"""

from __future__ import annotations

import os
import time

ENV = "MNISTCTL_PHASES_FILE"


def enabled() -> bool:
    """Whether marks are being taken."""
    return bool(os.environ.get(ENV))


def mark(name: str) -> None:
    """Note that the phase ``name`` ended now (only when ``MNISTCTL_PHASES_FILE`` is set)."""
    path = os.environ.get(ENV)
    if not path:
        return
    import json

    line = json.dumps({"phase": name, "t": time.time(), "pid": os.getpid()}) + "\n"
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line)
    except OSError:
        pass
