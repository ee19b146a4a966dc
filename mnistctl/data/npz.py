"""Reading the four arrays of a ``.npz`` archive (Keras's ``mnist.npz`` layout), safely.

Never unpickles (object arrays are refused), and checks each member's size and ``.npy`` header
before reading it: an array is allocated only when the archive really holds its bytes.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any
from zipfile import BadZipFile

import numpy as np
import numpy.typing as npt

from mnistctl.data import files
from mnistctl.data.files import (
    bytes_text,
    exc_text,
    open_data_file,
    too_large,
)
from mnistctl.data.idx import IDX_DTYPES
from mnistctl.errors import Location, UserError

__all__ = ["ARRAY_KEYS", "read_npz"]

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")

_NPZ_HINT = "save one with np.savez(PATH, x_train=..., y_train=..., x_test=..., y_test=...)"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def read_npz(path: str | os.PathLike[str]) -> tuple[dict[str, npt.NDArray[Any]], Location]:
    """The arrays ``x_train, y_train, x_test, y_test`` of the ``.npz`` at ``path``, and the
    location to name in later errors about them."""
    loc = Location(file=os.fspath(path))
    f, _ = open_data_file(Path(path).expanduser(), loc, "data file", "a .npz file")
    with f:
        try:
            head = f.read(16)
            f.seek(0)
        except OSError as e:
            raise UserError("cannot read the file", location=loc, received=exc_text(e)) from e
        if not head.startswith(_ZIP_MAGICS):
            received, hint = _describe_non_zip(head)
            raise UserError(
                "not a .npz file (not a zip archive)",
                location=loc,
                expected="a .npz archive with arrays " + ", ".join(ARRAY_KEYS),
                received=received,
                hint=hint,
            )
        try:
            with zipfile.ZipFile(f) as archive:
                members = _members(archive, loc)
                return {k: _read_member(archive, members[k], k, loc) for k in ARRAY_KEYS}, loc
        except UserError:
            raise
        except (OSError, ValueError, EOFError, NotImplementedError, BadZipFile, zlib.error) as e:
            raise _damaged(loc, exc_text(e)) from e


def _members(archive: zipfile.ZipFile, loc: Location) -> dict[str, zipfile.ZipInfo]:
    """The members holding ARRAY_KEYS, found as ``np.load`` does (``key``, else ``key.npy``)."""
    infos = {info.filename: info for info in archive.infolist()}
    found = [name.removesuffix(".npy") for name in infos]
    missing = [k for k in ARRAY_KEYS if k not in found]
    if missing:
        raise UserError(
            "missing array" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
            location=loc,
            expected="arrays " + ", ".join(ARRAY_KEYS),
            received=("arrays " + ", ".join(found)) if found else "no arrays",
            hint=_NPZ_HINT,
        )
    return {k: infos.get(k) or infos[k + ".npy"] for k in ARRAY_KEYS}


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, loc: Location
) -> npt.NDArray[Any]:
    """One array, after checking that its header is sane and the member holds its bytes."""
    if info.file_size > files.MAX_DATA_BYTES:
        raise too_large(f"array '{key}'", loc, bytes_text(info.file_size))
    with archive.open(info) as member:
        nbytes = _read_header(member, key, loc)
        header_len = member.tell()
    if nbytes > files.MAX_DATA_BYTES:
        raise too_large(f"array '{key}'", loc, bytes_text(nbytes))
    if header_len + nbytes != info.file_size:
        raise _damaged(
            loc,
            f"array '{key}' needs {bytes_text(nbytes)} of data, "
            f"the archive holds {bytes_text(info.file_size - header_len)}",
        )
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_header(member: IO[bytes], key: str, loc: Location) -> int:
    """The size of the data of a ``.npy`` member, from its header (read, checked)."""
    try:
        version = np.lib.format.read_magic(member)
    except ValueError as e:
        raise UserError(
            f"'{key}' is not an array",
            location=loc,
            expected="a .npy array (as np.savez writes)",
            received="other data",
            hint=_NPZ_HINT,
        ) from e
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:  # 3.0 is only written for structured dtypes with non-Latin-1 field names
        raise UserError(
            f"array '{key}' has an unsupported format",
            location=loc,
            expected="a numeric array",
            received=f".npy format version {version[0]}.{version[1]}",
        )
    if dtype.hasobject:
        raise UserError(
            f"array '{key}' holds Python objects, which are never loaded (unsafe)",
            location=loc,
            expected="a numeric array",
            received="an array of dtype object",
            hint="save plain numeric arrays, e.g. np.asarray(x, dtype=np.uint8)",
        )
    return math.prod(shape) * dtype.itemsize


def _damaged(loc: Location, received: str) -> UserError:
    return UserError(
        "the .npz file is damaged or truncated",
        location=loc,
        expected="a complete .npz (zip) archive",
        received=received,
        hint="download or save it again",
    )


def _describe_non_zip(head: bytes) -> tuple[str, str | None]:
    """What a file that is not a zip archive looks like, and a hint for it."""
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array", _NPZ_HINT
    if head.startswith(b"\x1f\x8b"):
        return "gzip data", "for gzipped IDX files, pass the folder that holds all four"
    if len(head) >= 4 and head[:2] == b"\0\0" and head[2] in IDX_DTYPES:
        return "an IDX file", "pass the folder that holds the four IDX files, not one of them"
    if head.startswith(b"\x80"):
        return "pickled Python data", _NPZ_HINT
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text", None
    return "a file starting with bytes " + (head[:8].hex(" ") or "(none)"), None
