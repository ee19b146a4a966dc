"""Opening data files: the kind and size of the file actually opened are checked before a read.

A path can name a FIFO (opening it for reading waits for a writer), a device (``/dev/zero``
never ends) or a huge sparse file; none of them is read. Also the short texts that error
messages share (an exception, a byte count, a kind of file).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from mnistctl.errors import Location, UserError

T = TypeVar("T")

__all__ = [
    "MAX_DATA_BYTES",
    "bytes_text",
    "exc_text",
    "kind_text",
    "numbered_names",
    "open_data_file",
    "read_small_text",
    "too_large",
]

MAX_DATA_BYTES: int = 1 << 32
"""Largest data file, and largest array in one, that is read (4 GiB; data sets are read whole
into memory: MNIST's four arrays are 55 MB)."""

# Opening without blocking: a FIFO with no writer would otherwise block in open().
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)


def open_data_file(
    p: Path, loc: Location, what: str, expected: str
) -> tuple[io.BufferedReader, int]:
    """Open ``p`` if it is a non-empty regular file of at most MAX_DATA_BYTES; return it and
    its size. ``what`` names it in messages ("data file"), ``expected`` is what it should be.

    The path is checked first (for the message), then the file opened (without blocking, so a
    FIFO put there meanwhile does not hang) is checked again: what is checked is what is read.
    """
    try:
        _check_data_file(p.stat(), loc, what, expected)
        fd = os.open(p, os.O_RDONLY | _O_NONBLOCK)
    except FileNotFoundError as e:
        raise UserError(
            f"{what} not found", location=loc, expected=expected, received="no such file"
        ) from e
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket, or a device without its driver
            raise UserError(
                f"{what} is not a regular file",
                location=loc,
                expected=expected,
                received="a socket or a device",
            ) from e
        raise UserError(f"cannot read the {what}", location=loc, received=exc_text(e)) from e
    try:
        size = _check_data_file(os.fstat(fd), loc, what, expected)
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), size
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def _check_data_file(st: os.stat_result, loc: Location, what: str, expected: str) -> int:
    """Refuse anything but a non-empty regular file of at most MAX_DATA_BYTES; return its size."""
    if stat.S_ISDIR(st.st_mode):
        raise UserError(
            f"{what} is a directory", location=loc, expected=expected, received="a directory"
        )
    if not stat.S_ISREG(st.st_mode):
        raise UserError(
            f"{what} is not a regular file",
            location=loc,
            expected=expected,
            received=kind_text(st.st_mode),
            hint="copy the data into a file first",
        )
    if st.st_size == 0:
        raise UserError(f"{what} is empty", location=loc, expected=expected, received="0 bytes")
    if st.st_size > MAX_DATA_BYTES:
        raise too_large(what, loc, bytes_text(st.st_size))
    return st.st_size


SMALL_TEXT_BYTES = 1 << 16
"""The most a small text file beside a data set may hold (a class map, a mapping file)."""


def read_small_text(
    p: Path, loc: Location, what: str, expected: str, *, encoding: str, about: str
) -> str:
    """The text of a small file (``what``: "class map", ...; ``expected``: what it should be;
    ``about``: why a real one is small), decoded; one UserError for a missing, unreadable,
    undecodable or too long file."""
    f, _ = open_data_file(p, loc, what, expected)
    try:
        with f:
            raw = f.read(SMALL_TEXT_BYTES + 1)
        text = raw.decode(encoding)
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read the {what}", location=loc, received=exc_text(e)) from e
    if len(raw) > SMALL_TEXT_BYTES:
        raise UserError(
            f"the {what} is too long",
            location=loc,
            expected=f"at most {SMALL_TEXT_BYTES} bytes ({about})",
            received="more",
        )
    return text


def numbered_names(
    rows: Iterable[tuple[int, T]],
    parse: Callable[[T, Location], tuple[int, str]],
    shown: str,
    *,
    key: str,
    twice: str,
) -> dict[int, str]:
    """The names a small table file gives by number: each ``(line, row)`` parsed into
    ``(number, name)``; a number given twice is a UserError at its line (``key``: what a
    number is called, "label"; ``twice``: the message's "{key} {number} is mapped twice")."""
    names: dict[int, str] = {}
    for line, row in rows:
        where = Location(file=shown, line=line)
        number, name = parse(row, where)
        if number in names:
            raise UserError(
                twice.format(number=number),
                location=where,
                expected=f"each {key} once",
                received=f"{key} {number} again",
            )
        names[number] = name
    return names


def too_large(what: str, loc: Location, received: str) -> UserError:
    return UserError(
        f"{what} is too large",
        location=loc,
        expected=f"at most {MAX_DATA_BYTES:,} bytes (data sets are read whole into memory)",
        received=received,
    )


def kind_text(mode: int) -> str:
    """What kind of file ``mode`` (an ``st_mode``) is, for messages: "a FIFO (named pipe)"."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((text for test, text in kinds if test(mode)), "a special file")


def exc_text(e: BaseException) -> str:
    """An exception in at most 200 characters on one line (an OSError's reason only)."""
    text = str(e) or type(e).__name__
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def bytes_text(n: int) -> str:
    return f"{n} byte" + ("" if n == 1 else "s")
