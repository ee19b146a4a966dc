"""Importing TensorFlow with Python's garbage collector held off, for the CLI's commands.

Importing TensorFlow, Keras and mnistctl's model code makes hundreds of thousands of objects
that live as long as the process, and CPython's cyclic collector runs hundreds of times
meanwhile, a few of them over everything: a real share of the import's time
(docs/performance.md). Next to none of it is garbage, so the collector is held off while those
modules import, and what exists then is frozen (``gc.freeze``: moved where collections never
look again); afterwards it runs as usual over what the command itself allocates. Peak memory is
unchanged. Only in the console script's own process (``console_process()``: not in a notebook
using the Python API, whose objects it would freeze too), and only at its first import of
TensorFlow.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from mnistctl.phases import mark

_console = False


def console_process() -> None:
    """This process is the ``mnistctl`` command (called by the console script first thing)."""
    global _console
    _console = True


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Around the imports that bring TensorFlow in; marks the ``imports`` phase at the end."""
    hold = _console and gc.isenabled() and "tensorflow" not in sys.modules
    if hold:
        gc.disable()
    try:
        yield
    finally:
        if hold:
            gc.freeze()
            gc.enable()
        mark("imports")
