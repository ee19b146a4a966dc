"""Reading the arrays of a ``.npz`` archive (Keras's ``mnist.npz`` layout, KMNIST's ``arr_0``).

Never unpickles (object arrays are refused), and checks each member's size and ``.npy`` header
before reading it: an array is allocated only when the archive really holds its bytes.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Sequence
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

__all__ = ["ARRAY_KEYS", "npz_header", "read_npz"]

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")

_NPZ_HINT = "save one with np.savez(PATH, x_train=..., y_train=..., x_test=..., y_test=...)"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def read_npz(
    path: str | os.PathLike[str],
    keys: Sequence[str] = ARRAY_KEYS,
    *,
    hint: str | None = _NPZ_HINT,
) -> tuple[dict[str, npt.NDArray[Any]], Location]:
    """The arrays ``keys`` (by default ``x_train, y_train, x_test, y_test``) of the ``.npz`` at
    ``path``, and the location to name in later errors about them; only those members are
    read. ``hint`` tells how to make a good file."""
    loc = Location(file=os.fspath(path))
    with _open_npz(path, keys, loc, hint) as f:
        try:
            with zipfile.ZipFile(f) as archive:
                members = _members(archive, loc, keys, hint)
                return {k: _read_member(archive, members[k], k, loc) for k in keys}, loc
        except UserError:
            raise
        except (OSError, ValueError, EOFError, NotImplementedError, BadZipFile, zlib.error) as e:
            raise _damaged(loc, exc_text(e)) from e


def npz_header(
    path: str | os.PathLike[str], key: str, *, hint: str | None = _NPZ_HINT
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype of the array ``key`` of a ``.npz``, from its ``.npy`` header alone
    (checked as ``read_npz`` checks it: a header its member cannot hold is a UserError)."""
    loc = Location(file=os.fspath(path))
    with _open_npz(path, (key,), loc, hint) as f:
        try:
            with zipfile.ZipFile(f) as archive:
                return _checked_header(archive, _members(archive, loc, (key,), hint)[key], key, loc)
        except UserError:
            raise
        except (OSError, ValueError, EOFError, NotImplementedError, BadZipFile, zlib.error) as e:
            raise _damaged(loc, exc_text(e)) from e


def _open_npz(
    path: str | os.PathLike[str], keys: Sequence[str], loc: Location, hint: str | None
) -> IO[bytes]:
    """The file at ``path``, opened, if it is a zip archive."""
    f, _ = open_data_file(Path(path).expanduser(), loc, "data file", "a .npz file")
    try:
        head = f.read(16)
        f.seek(0)
    except OSError as e:
        f.close()
        raise UserError("cannot read the file", location=loc, received=exc_text(e)) from e
    if not head.startswith(_ZIP_MAGICS):
        f.close()
        received, non_zip_hint = _describe_non_zip(head)
        raise UserError(
            "not a .npz file (not a zip archive)",
            location=loc,
            expected="a .npz archive with " + _arrays_text(keys),
            received=received,
            hint=hint if non_zip_hint == _NPZ_HINT else non_zip_hint,
        )
    return f


def _arrays_text(keys: Sequence[str]) -> str:
    return ("arrays " if len(keys) > 1 else "array ") + ", ".join(keys)


def _members(
    archive: zipfile.ZipFile, loc: Location, keys: Sequence[str], hint: str | None
) -> dict[str, zipfile.ZipInfo]:
    """The members holding ``keys``, found as ``np.load`` does (``key``, else ``key.npy``)."""
    infos = {info.filename: info for info in archive.infolist()}
    found = [name.removesuffix(".npy") for name in infos]
    missing = [k for k in keys if k not in found]
    if missing:
        raise UserError(
            "missing array" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
            location=loc,
            expected=_arrays_text(keys),
            received=("arrays " + ", ".join(found)) if found else "no arrays",
            hint=hint,
        )
    return {k: infos.get(k) or infos[k + ".npy"] for k in keys}


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, loc: Location
) -> npt.NDArray[Any]:
    """One array, after checking that its header is sane and the member holds its bytes."""
    _checked_header(archive, info, key, loc)
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _checked_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, loc: Location
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype of a member's array, once the member is known to hold its bytes."""
    if info.file_size > files.MAX_DATA_BYTES:
        raise too_large(f"array '{key}'", loc, bytes_text(info.file_size))
    with archive.open(info) as member:
        shape, dtype = _read_header(member, key, loc)
        header_len = member.tell()
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > files.MAX_DATA_BYTES:
        raise too_large(f"array '{key}'", loc, bytes_text(nbytes))
    if header_len + nbytes != info.file_size:
        raise _damaged(
            loc,
            f"array '{key}' needs {bytes_text(nbytes)} of data, "
            f"the archive holds {bytes_text(info.file_size - header_len)}",
        )
    return shape, dtype


def _read_header(
    member: IO[bytes], key: str, loc: Location
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype of a ``.npy`` member, from its header (read, checked)."""
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
    return tuple(int(d) for d in shape), dtype


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
