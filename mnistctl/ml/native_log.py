"""Keeping TensorFlow's native log lines off the user's terminal.

TensorFlow 2.21 writes INFO lines (oneDNN, CUDA probing, tf.data attributes) to file descriptor
2 from C++ before its log level is read, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them. For the
commands that import TensorFlow we point descriptor 2 at a log file and give Python's
``sys.stderr`` (rich, warnings, errors) a duplicate of the real stderr. ``MNISTCTL_TF_LOG=show``
turns this off.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def native_log_path() -> Path:
    return (
        Path(tempfile.gettempdir())
        / f"mnistctl-tf-{os.getuid() if hasattr(os, 'getuid') else 0}.log"
    )


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        real_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        real_fd = -1
    if real_fd != 2 or os.environ.get("MNISTCTL_TF_LOG") == "show":
        yield  # not a real process stderr (tests) or asked to show everything
        return
    sys.stderr.flush()
    saved = os.dup(2)
    old_stderr = sys.stderr
    try:
        log_fd = os.open(native_log_path(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        os.close(saved)
        yield
        return
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stderr = io.TextIOWrapper(
        os.fdopen(saved, "wb", buffering=0, closefd=False),
        encoding=old_stderr.encoding or "utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        sys.stderr = old_stderr
        os.dup2(saved, 2)
        os.close(saved)
