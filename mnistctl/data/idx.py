"""Reading IDX files (the format MNIST was published in), plain or gzip-compressed.

A header promising more than the file can hold, or more than MAX_DATA_BYTES, is refused before
anything is allocated; reading never goes past what the header promised plus what a check of
the file's length needs.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import stat
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data import files
from mnistctl.data.arrays import aligned_empty
from mnistctl.data.files import (
    bytes_text,
    exc_text,
    open_data_file,
    too_large,
)
from mnistctl.errors import Location, UserError
from mnistctl.formatting import format_shape

__all__ = [
    "IDX_DTYPES",
    "IDX_NAMES",
    "data_folder",
    "find_idx_files",
    "read_idx",
    "read_idx_header",
]

# The four IDX files of a folder, by the array each one holds; first name found wins.
IDX_NAMES: dict[str, tuple[str, ...]] = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

# IDX type codes (http://yann.lecun.com/exdb/mnist/): the payload is big-endian.
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES_TEXT = "0x08 (unsigned byte), 0x09, 0x0B, 0x0C, 0x0D or 0x0E"

# Deflate cannot compress better than about 1032:1; a header promising more is damaged.
_GZIP_MAX_RATIO = 1100

# What is past the end of the data (or of a truncated gzip stream) is counted up to this many
# bytes, then "more than" is said.
_COUNT_LIMIT = 1 << 26


def data_folder(path: str | os.PathLike[str], expected: str) -> Path:
    """``path`` as a Path, if it is a folder (``expected``: what it should hold, for errors)."""
    p = Path(path).expanduser()
    loc = Location(file=os.fspath(path))
    try:
        st = p.stat()
    except FileNotFoundError as e:
        raise UserError(
            "data folder not found",
            location=loc,
            expected=expected,
            received="no such file or folder",
        ) from e
    except OSError as e:
        raise UserError("cannot read the data folder", location=loc, received=exc_text(e)) from e
    if not stat.S_ISDIR(st.st_mode):
        raise UserError("not a folder", location=loc, expected=expected, received="a file")
    return p


def find_idx_files(
    folder: Path,
    loc: Location,
    names: Mapping[str, tuple[str, ...]] = IDX_NAMES,
    hint: str | None = None,
) -> dict[str, Path]:
    """The IDX files in ``folder`` (each plain or ``.gz``), by the array each holds: ``names``
    gives each array's file names (the first found wins), MNIST's by default."""
    try:
        present = sorted(entry.name for entry in folder.iterdir())
    except OSError as e:
        raise UserError("cannot list the data folder", location=loc, received=exc_text(e)) from e
    files: dict[str, Path] = {}
    missing: list[str] = []
    have = set(present)
    for key, stems in names.items():
        for stem in stems:
            hit = next((n for n in (stem, stem + ".gz") if n in have), None)
            if hit is not None:
                files[key] = folder / hit
                break
        else:
            missing.append(stems[0])
    if missing:
        shown = ", ".join(present[:20]) + (
            f", ... ({len(present) - 20} more)" if present[20:] else ""
        )
        raise UserError(
            "missing IDX file" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
            location=loc,
            expected=", ".join(stems[0] for stems in names.values()) + " (each plain or .gz)",
            received=("files " + shown) if present else "an empty folder",
            hint=hint,
        )
    return files


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """Read one IDX file (plain or gzip-compressed) into an array of the shape its header gives.

    Multi-byte types come back in their big-endian dtype (numpy handles them transparently).
    """
    loc = Location(file=os.fspath(path))
    raw, size = open_data_file(Path(path).expanduser(), loc, "IDX file", "an IDX file")
    gzipped = False
    try:
        with raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if gzipped:
                with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                    return _read_idx_stream(gz, size * _GZIP_MAX_RATIO + (1 << 20), False, loc)
            return _read_idx_stream(raw, size, True, loc)
    except UserError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        if gzipped:
            raise UserError(
                "the gzip file is damaged or truncated",
                location=loc,
                expected="a complete gzip-compressed IDX file",
                received=exc_text(e),
            ) from e
        raise UserError("cannot read the IDX file", location=loc, received=exc_text(e)) from e


def read_idx_header(path: str | os.PathLike[str]) -> tuple[np.dtype[Any], tuple[int, ...]]:
    """The dtype and dimensions an IDX file's header gives (plain or gzip-compressed), read
    without its data."""
    loc = Location(file=os.fspath(path))
    raw, _ = open_data_file(Path(path).expanduser(), loc, "IDX file", "an IDX file")
    try:
        with raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if gzipped:
                with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                    return _read_header(gz, loc)
            return _read_header(raw, loc)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError("cannot read the IDX file", location=loc, received=exc_text(e)) from e


def _read_idx_stream(
    stream: io.BufferedIOBase, limit: int, exact_limit: bool, loc: Location
) -> npt.NDArray[Any]:
    """Parse an IDX stream; ``limit`` bounds the stream's total size (exactly for plain files)."""
    dtype, dims = _read_header(stream, loc)
    header_len = 4 + 4 * len(dims)
    nbytes = math.prod(dims) * dtype.itemsize
    expected = f"{nbytes} bytes of data for shape {format_shape(dims)} ({dtype.name})"
    if header_len + nbytes > limit:
        if exact_limit:
            received = bytes_text(limit - header_len)
        else:
            received = _size_text(0, _count_rest(stream))
        raise UserError("IDX file is truncated", location=loc, expected=expected, received=received)
    if nbytes > files.MAX_DATA_BYTES:  # only gzip gets here: a plain file is not that long
        raise too_large("IDX file", loc, f"a header promising {expected}")
    buf = aligned_empty(nbytes)
    view = buf.data
    got = 0
    while got < nbytes:
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    if got < nbytes:
        raise UserError(
            "IDX file is truncated", location=loc, expected=expected, received=bytes_text(got)
        )
    extra = _count_rest(stream)
    if extra:
        raise UserError(
            "IDX file is longer than its header says",
            location=loc,
            expected=expected,
            received=_size_text(nbytes, extra),
        )
    return buf.view(dtype).reshape(dims)


def _read_header(stream: io.BufferedIOBase, loc: Location) -> tuple[np.dtype[Any], tuple[int, ...]]:
    """The dtype and dimensions an IDX header gives."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise UserError(
            "IDX file is too short to hold a header",
            location=loc,
            expected="at least 4 bytes",
            received=bytes_text(len(head)),
        )
    if head[0] != 0 or head[1] != 0:
        raise UserError(
            "not an IDX file (bad magic number)",
            location=loc,
            expected="a magic number 0x0000TTDD (2 zero bytes, type code, dimension count)",
            received="0x" + head.hex(),
        )
    code, ndim = head[2], head[3]
    dtype = IDX_DTYPES.get(code)
    if dtype is None:
        raise UserError(
            "unknown IDX data type code",
            location=loc,
            expected=_IDX_CODES_TEXT,
            received=f"0x{code:02X}",
        )
    if ndim == 0:
        raise UserError(
            "IDX header gives no dimensions", location=loc, expected="at least 1", received="0"
        )
    dims_raw = _read_exactly(stream, 4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise UserError(
            "IDX file is truncated in its header",
            location=loc,
            expected=f"{4 + 4 * ndim} header bytes for {ndim} dimensions",
            received=bytes_text(4 + len(dims_raw)),
        )
    return dtype, tuple(int.from_bytes(dims_raw[i : i + 4], "big") for i in range(0, 4 * ndim, 4))


def _read_exactly(stream: io.BufferedIOBase, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _count_rest(stream: io.BufferedIOBase) -> int:
    """The bytes left in ``stream``, read (not kept) up to _COUNT_LIMIT + 1."""
    rest = 0
    while rest <= _COUNT_LIMIT and (chunk := stream.read(min(1 << 20, _COUNT_LIMIT + 1 - rest))):
        rest += len(chunk)
    return rest


def _size_text(before: int, rest: int) -> str:
    """``before + rest`` bytes, or "more than" when counting ``rest`` stopped at its limit."""
    if rest > _COUNT_LIMIT:
        return f"more than {bytes_text(before + _COUNT_LIMIT)}"
    return bytes_text(before + rest)
