"""Writing files atomically: to a temporary name in the same folder, then renamed into place.

A reader (or a crash) never sees half a file, and a failed write leaves the old file as it was.
Every file mnistctl writes goes through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mnistctl import filedata, jsondata
from mnistctl.errors import Location, UserError


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it into place if the block succeeds."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent
        )
    except OSError as exc:
        raise write_error(target, exc) from None
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise write_error(target, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: Path, value: Any) -> None:
    """Strict JSON (non-finite numbers as null), written atomically."""
    write_text(target, jsondata.dumps(value) + "\n")


def write_error(target: Path, exc: OSError) -> UserError:
    """A failed write as a one-line error: the file, and why (disk full, read-only, ...)."""
    return UserError(
        "cannot write the file",
        Location(str(target)),
        received=exc.strerror or type(exc).__name__,
        hint="check free disk space and that the folder is writable"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
        else None,
    )


def write_with(target: Path, writer: Callable[[Path], None], suffix: str = "") -> None:
    """Atomically write ``target`` with a function that writes to a given path."""
    with atomic_path(target, suffix) as tmp:
        tmp.unlink()  # some writers (Keras) refuse to overwrite
        writer(tmp)


def read_json(path: Path) -> Any:
    """A JSON file of mnistctl's (``filedata.read``: NaN read as null, one-line errors)."""
    return filedata.read(path)
