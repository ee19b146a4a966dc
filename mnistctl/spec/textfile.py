"""Reading a spec file: a regular file of bounded size, as UTF-8 text, with clean errors.

Its kind and size are checked before it is opened, and at most ``MAX_FILE_BYTES + 1`` bytes are
read: a FIFO would block the open until a writer comes, ``/dev/zero`` never ends, a sparse file
claims gigabytes it does not hold, and opening some devices acts. None is opened or read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mnistctl.errors import Location, UserError

MAX_FILE_BYTES = 1_000_000

_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO swapped in after the check won't wait


def read_text(path: Path, display: str | None = None) -> str:
    """Read a spec file as UTF-8 text, with bounded size and clean errors."""
    file = display if display is not None else str(path)
    raw = _read_bounded(path, Location(file))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise UserError(
            "the file is not valid UTF-8",
            Location(file, line, col),
            expected="UTF-8 text",
            received=f"byte 0x{raw[exc.start]:02x}",
            hint="save the file as UTF-8",
        ) from None


def _read_bounded(path: Path, where: Location) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file, its kind and size checked first."""
    try:
        _check_file(os.stat(path), where)  # before opening: no FIFO or device is opened
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            _check_file(os.fstat(f.fileno()), where)  # the file opened is the file checked
            if _NONBLOCK:
                os.set_blocking(f.fileno(), True)
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UserError("no such file", where, hint="check the path") from None
    except OSError as exc:
        raise UserError(f"cannot read the file: {exc.strerror}", where) from exc
    if len(raw) > MAX_FILE_BYTES:  # it grew since its size was checked
        raise _too_large(where, f"more than {MAX_FILE_BYTES:,} bytes")
    return raw


def _check_file(st: os.stat_result, where: Location) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise UserError("is a directory, not a spec file", where)
    if not stat.S_ISREG(st.st_mode):
        kind = next((what for test, what in _NOT_REGULAR if test(st.st_mode)), "something else")
        raise UserError(
            "not a regular file",
            where,
            expected="a spec file",
            received=kind,
            hint="save the spec to a file first",
        )
    if st.st_size > MAX_FILE_BYTES:
        raise _too_large(where, f"{st.st_size:,} bytes")


def _too_large(where: Location, received: str) -> UserError:
    return UserError(
        "file too large for a spec",
        where,
        expected=f"at most {MAX_FILE_BYTES:,} bytes",
        received=received,
    )
