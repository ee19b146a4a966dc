"""Keeping TensorFlow's native log lines off the user's terminal, without clobbering anything.

TensorFlow 2.21 writes INFO lines (oneDNN, CUDA probing, tf.data attributes) to file descriptor
2 from C++ before its log level is read, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them. For the
commands that import TensorFlow, descriptor 2 points at a private log file of this process
(created exclusively in the temp folder: a planted file or symlink is never followed or
truncated) and Python's ``sys.stderr`` (rich, warnings, errors) keeps the real stderr.
``train`` moves the log into its run directory (``RUN/tensorflow.log``); other commands delete
it when they end. ``MNISTCTL_TF_LOG=show`` turns all this off.

A process killed with SIGKILL cannot delete its log; its name says whose it was
(``mnistctl-tf-PID.START-XXXXXXXX.log``: the pid and the process's start time), so the next
command deletes the logs whose process is gone (``clean_stale``) and never one still in use.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mnistctl.runs import liveness

_current: Path | None = None  # this process's log file, while redirected


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    global _current
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    clean_stale()
    try:
        real_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        real_fd = -1
    if os.environ.get("MNISTCTL_TF_LOG") == "show" or _current is not None:
        yield  # asked to show everything, or nested
        return
    if real_fd != 2:
        # Not the process's own stderr: a test runner's capture, or Jupyter, where Python's
        # stderr goes to the cell and descriptor 2 (TensorFlow's) is a pipe the kernel also
        # shows there. In Jupyter, redirect the descriptor only.
        with _descriptor_only() if "ipykernel" in sys.modules else contextlib.nullcontext():
            yield
        return
    private = _private_log()
    if private is None:
        yield
        return
    log_fd, name = private
    sys.stderr.flush()
    saved = os.dup(2)
    old_stderr = sys.stderr
    os.dup2(log_fd, 2)
    os.close(log_fd)
    _current = Path(name)
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
        if _current is not None and _current.parent == Path(tempfile.gettempdir()):
            _current.unlink(missing_ok=True)  # not moved into a run: nobody will look for it
        _current = None


def move_into(target: Path) -> None:
    """Continue this process's native log in ``target`` (a run's tensorflow.log), with what
    was logged so far. Never follows a symlink there; a failure leaves the log where it was."""
    global _current
    if _current is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except OSError:
        return
    try:
        with open(_current, "rb") as src, os.fdopen(os.dup(fd), "ab") as dst:
            shutil.copyfileobj(src, dst)
        os.dup2(fd, 2)
    except OSError:
        return
    finally:
        os.close(fd)
    _current.unlink(missing_ok=True)
    _current = target


@contextlib.contextmanager
def _descriptor_only() -> Iterator[None]:
    """Descriptor 2 to a private log file (deleted afterwards), Python's sys.stderr untouched."""
    private = _private_log()
    if private is None:
        yield
        return
    log_fd, name = private
    saved = os.dup(2)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        Path(name).unlink(missing_ok=True)


def _private_log() -> tuple[int, str] | None:
    """A new log file of this process, created exclusively in the temp folder (a planted file
    or symlink is never followed or truncated); None where none can be made."""
    me = liveness.current()
    try:
        return tempfile.mkstemp(prefix=f"mnistctl-tf-{me.pid}.{me.start or 0}-", suffix=".log")
    except OSError:
        return None


# mnistctl-tf-PID.START-XXXXXXXX.log; before the start time was added, mnistctl-tf-PID-X...
_LOG_NAME = re.compile(r"mnistctl-tf-(\d+)(?:\.(\d+))?-[a-z0-9_]{8}\.log")


def clean_stale(folder: Path | None = None) -> list[Path]:
    """Delete the native logs in ``folder`` (the temp folder) that this user's killed
    commands left: regular files of this user whose process is gone. A log whose process
    still runs (or may: a pid another user's process holds) is kept. Returns those deleted."""
    where = Path(folder if folder is not None else tempfile.gettempdir())
    me = liveness.current()
    deleted: list[Path] = []
    try:
        entries = [e for e in os.scandir(where) if e.name.startswith("mnistctl-tf-")]
    except OSError:
        return deleted
    for entry in entries:
        match = _LOG_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            continue  # a link or someone else's: never ours to delete
        pid, start = int(match[1]), (int(match[2]) if match[2] else 0) or None
        owner = liveness.Owner(pid, me.host, None, start)
        if pid == me.pid and start in (None, me.start):
            continue  # this process's own
        if liveness.is_alive(owner) is not False:
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            deleted.append(Path(entry.path))
    return deleted
