"""The cache of decoded, prepared pictures: a second load of the same files decodes nothing.

Where: ``$MNISTCTL_CACHE_DIR/pictures`` if that is set, else
``$XDG_CACHE_HOME/mnistctl/pictures``, else ``~/.cache/mnistctl/pictures``.

One file per key, ``<source id>-<key>.npz``: the key is a SHA-256 over FORMAT, the source's
absolute path, every picture file's name (relative to the source), size, modification time
(ns), class number and split, the target shape (or ``auto``) and the preparation mode; a
changed, added or removed file changes it (the seed of a held-out test share does not: the
pictures are kept in the listing's order, and split when read). The file is a zip of
uncompressed members: ``x0.npy`` and ``x1.npy``, the prepared pictures of the good files of
the source's train and test parts (a source without a test part of its own: all of them in
``x0.npy``), each padded to start aligned so that reading maps them instead of copying, and
``header.json``: the key, the shape, the bad files (by position, with what is wrong), the
sizes and modes found, and each member's rows and CRC-32. It is written to a temporary file
and renamed into place (readers never see half a file); writing one removes the source's
other keys, so each source keeps one. Reading checks the header and the checksums: a damaged,
truncated or foreign file is deleted and the pictures are decoded again, never an error. A
cache folder that cannot be written, or a disk without room, just means no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import mmap
import os
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.data.arrays import ALIGNMENT, aligned, aligned_empty
from mnistctl.data.pictures.found import Listing
from mnistctl.data.pictures.prepare import PictureShape

__all__ = [
    "FORMAT",
    "Header",
    "cache_dir",
    "cache_file",
    "cache_key",
    "read_cache",
    "write_cache",
]

FORMAT = 1  # raise when what is cached, or how pictures are prepared, changes
FREE_MARGIN = 2**30  # bytes left free on the disk after writing a cache file
STALE_TEMP_S = 3600  # a temporary file older than this was left by a process that died
_HEADER = "header.json"
_HEADER_MAX = 64 * 2**20
_LOCAL = struct.Struct("<4s22xHH")  # a zip member's local header: signature ... name, extra
_LOCAL_FIXED = _LOCAL.size  # its fixed part, 30 bytes
_PADDING_ID = 0xD935  # the extra field that pads a member (as Android's zipalign writes it)


@dataclass(frozen=True)
class Header:
    """What a cache file says about its pictures."""

    key: str
    shape: PictureShape
    count: int  # files listed
    bad: list[tuple[int, str]]  # (position in the listing, what is wrong), positions rising
    sizes: dict[str, int]
    modes: dict[str, int]
    greys: int  # pictures that are grey
    rows: list[int]  # per member: the listing's train, then test (or all of it)
    crcs: list[int]  # per member: CRC-32 of its pictures' bytes (set when written)


def cache_dir() -> Path | None:
    """Where cache files live (not created here); None when there is no home to find it."""
    given = os.environ.get("MNISTCTL_CACHE_DIR")
    if given:
        return Path(given).expanduser() / "pictures"
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    except RuntimeError:  # no home folder
        return None
    return base / "mnistctl" / "pictures"


def cache_key(listing: Listing, shape: PictureShape | None, mode: str) -> str:
    """The key of ``listing``'s pictures prepared to ``shape`` (None: the common size) in
    ``mode``; the listing must have looked at every file."""
    if listing.sizes is None or listing.mtimes is None:
        raise ValueError("the files were listed without their sizes and times")
    about = {
        "format": FORMAT,
        "source": listing.key_source,
        "count": len(listing.files),
        "shape": "auto" if shape is None else shape.text,
        "mode": mode,
    }
    digest = hashlib.sha256(json.dumps(about, sort_keys=True).encode())
    digest.update("\0".join(listing.files).encode("utf-8", "surrogateescape"))
    for numbers in (listing.sizes, listing.mtimes, listing.labels):
        digest.update(np.ascontiguousarray(numbers, "<i8").tobytes())
    digest.update(b"-" if listing.splits is None else listing.splits.astype("i1").tobytes())
    return digest.hexdigest()


def cache_file(listing: Listing, key: str) -> Path | None:
    """The cache file of ``key`` for ``listing``'s source (None: no cache folder)."""
    folder = cache_dir()
    if folder is None:
        return None
    return folder / f"{_source_id(listing.key_source)}-{key[:40]}.npz"


def _source_id(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:16]


# --- reading -------------------------------------------------------------------------------------


def read_cache(
    path: Path, key: str, count: int
) -> tuple[Header, list[npt.NDArray[np.uint8]]] | None:
    """The cache file at ``path`` if it is there, says ``key`` over ``count`` files and its
    checksums hold: its header and its pictures, one array per member (the good files of the
    listing's train, then test; or of all of it when the source has no split of its own).

    The arrays map the file (copy on write: changing them never changes the file), so that
    nothing is read twice and fresh memory is not touched page by page; each starts aligned
    (the writer pads the members). A file that is not a good cache file is deleted.
    """
    try:
        fp = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError:
        return None
    with fp:
        try:
            header, members = _read_members(fp, key, count)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, struct.error):
            _delete(path)
            return None
        data = _contents(fp)
    if data is None:
        return None
    per = int(np.prod(header.shape.dims))
    views = [memoryview(data)[offset : offset + rows * per] for offset, rows in members]
    intact = all(zlib.crc32(v) == crc for v, crc in zip(views, header.crcs, strict=True))
    for view in views:
        view.release()
    if not intact:
        if isinstance(data, mmap.mmap):
            data.close()
        _delete(path)
        return None
    arrays = []
    for offset, rows in members:
        array = np.frombuffer(data, np.uint8, rows * per, offset).reshape(rows, *header.shape.dims)
        arrays.append(array if offset % ALIGNMENT == 0 else aligned(array))
    return header, arrays


def _contents(fp: io.FileIO) -> mmap.mmap | memoryview | None:
    """The whole file, mapped (copy on write), or read into memory where it cannot be mapped;
    None if it cannot be read."""
    try:
        size = os.fstat(fp.fileno()).st_size
        try:
            return mmap.mmap(fp.fileno(), size, access=mmap.ACCESS_COPY)
        except (OSError, ValueError):  # a file system that cannot map files
            data = aligned_empty(size).data
            fp.seek(0)
            if fp.readinto(data) != size:
                return None
            return data
    except OSError:
        return None


def _delete(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _read_members(fp: io.FileIO, key: str, count: int) -> tuple[Header, list[tuple[int, int]]]:
    """The header, checked, and where each member's pictures start and how many rows."""
    with zipfile.ZipFile(fp) as zf:
        about = zf.getinfo(_HEADER)
        if about.file_size > _HEADER_MAX:
            raise ValueError("header too large")
        header = _header(json.loads(zf.read(about)), key, count)
        infos = [zf.getinfo(_member(i)) for i in range(len(header.rows))]
    members = []
    for info, rows in zip(infos, header.rows, strict=True):
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError("compressed pictures")
        fp.seek(info.header_offset)
        signature, name_len, extra_len = _LOCAL.unpack(fp.read(_LOCAL.size))
        if signature != b"PK\x03\x04":
            raise ValueError("not a zip member")
        start = info.header_offset + _LOCAL.size + name_len + extra_len
        fp.seek(start)
        version = np.lib.format.read_magic(fp)
        read = np.lib.format.read_array_header_1_0
        if version != (1, 0):
            read = np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fp)
        expected = (rows, *header.shape.dims)
        if shape != expected or fortran or dtype != np.uint8:
            raise ValueError("pictures of another shape")
        offset = fp.tell()
        if offset - start + int(np.prod(expected)) != info.file_size:
            raise ValueError("pictures of another size")
        members.append((offset, rows))
    return header, members


def _header(raw: Any, key: str, count: int) -> Header:
    """The JSON header, checked field by field (ValueError, KeyError, TypeError if not)."""
    if raw["format"] != FORMAT or raw["key"] != key or raw["count"] != count:
        raise ValueError("another key")
    height, width, channels = (int(v) for v in raw["shape"])
    bad = [(int(pos), str(text)) for pos, text in raw["bad"]]
    positions = [pos for pos, _ in bad]
    if positions != sorted(set(positions)) or not all(0 <= pos < count for pos in positions):
        raise ValueError("bad positions out of order")
    members = raw["members"]
    rows = [int(m["rows"]) for m in members]
    if not 1 <= len(rows) <= 2 or min(rows) < 0 or sum(rows) != count - len(bad):
        raise ValueError("rows that do not add up")
    return Header(
        key=key,
        shape=PictureShape(height, width, channels),
        count=count,
        bad=bad,
        sizes={str(k): int(v) for k, v in raw["sizes"].items()},
        modes={str(k): int(v) for k, v in raw["modes"].items()},
        greys=int(raw["greys"]),
        rows=rows,
        crcs=[int(m["crc32"]) for m in members],
    )


# --- writing -------------------------------------------------------------------------------------


def write_cache(
    path: Path,
    header: Header,
    members: Sequence[Iterable[npt.NDArray[np.uint8]]],
    source: str,
) -> bool:
    """Write ``members`` (each the parts of one member, ``header.rows`` rows of
    ``header.shape`` each) as the cache file ``path``, atomically, and remove the source's
    other cache files; False if it could not be written (never an error)."""
    folder = path.parent
    per = int(np.prod(header.shape.dims))
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if shutil.disk_usage(folder).free < sum(header.rows) * per + FREE_MARGIN:
            return False
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fp:
            _write_zip(fp, header, members)
        os.replace(temp, path)
    except (OSError, ValueError):
        _delete(Path(temp))
        return False
    _tidy(folder, path, source)
    return True


def _write_zip(
    fp: io.BufferedWriter, header: Header, members: Sequence[Iterable[npt.NDArray[np.uint8]]]
) -> None:
    """The zip: each member's pictures (its data aligned), then the header with their
    checksums. ValueError if the parts do not add up to the header's rows."""
    crcs = []
    with zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for i, (parts, rows) in enumerate(zip(members, header.rows, strict=True)):
            crcs.append(_write_member(zf, fp.tell(), _member(i), parts, (rows, *header.shape.dims)))
        about = {
            "format": FORMAT,
            "key": header.key,
            "count": header.count,
            "shape": [header.shape.height, header.shape.width, header.shape.channels],
            "bad": [[pos, text] for pos, text in header.bad],
            "sizes": header.sizes,
            "modes": header.modes,
            "greys": header.greys,
            "members": [{"rows": r, "crc32": c} for r, c in zip(header.rows, crcs, strict=True)],
        }
        zf.writestr(_HEADER, json.dumps(about))


def _write_member(
    zf: zipfile.ZipFile,
    at: int,
    name: str,
    parts: Iterable[npt.NDArray[np.uint8]],
    shape: tuple[int, ...],
) -> int:
    """One member at file offset ``at``, padded (an extra field) so that its pictures start
    ALIGNMENT-aligned in the file; their CRC-32."""
    head = _npy_header({"descr": "|u1", "fortran_order": False, "shape": shape})
    nbytes = int(np.prod(shape))
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(head) + nbytes
    zip64 = info.file_size >= 2**31
    before = at + _LOCAL_FIXED + len(name) + (20 if zip64 else 0) + 4 + len(head)
    info.extra = struct.pack("<HH", _PADDING_ID, (-before) % ALIGNMENT) + bytes(
        (-before) % ALIGNMENT
    )
    crc = 0
    written = 0
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(head)
        for part in parts:
            if not part.nbytes:
                continue
            view = np.ascontiguousarray(part).data.cast("B")
            crc = zlib.crc32(view, crc)
            out.write(view)
            written += len(view)
    if written != nbytes:
        raise ValueError("the pictures are not as many as the header says")
    return crc


def _member(i: int) -> str:
    return f"x{i}.npy"


def _npy_header(description: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, description)
    return buffer.getvalue()


def _tidy(folder: Path, kept: Path, source: str) -> None:
    """Remove the source's other cache files, and temporary files left by dead processes."""
    prefix = _source_id(source) + "-"
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as scan:
        for entry in scan:
            name = entry.name
            other = name.startswith(prefix) and name.endswith(".npz") and name != kept.name
            with contextlib.suppress(OSError):
                if other or (
                    name.startswith(".tmp-") and now - entry.stat().st_mtime > STALE_TEMP_S
                ):
                    os.unlink(entry.path)
