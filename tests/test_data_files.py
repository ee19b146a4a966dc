"""Data set paths that are not ordinary data files: FIFOs, devices, huge or lying files.

None of them may hang or make the loader read or allocate without bound: the kind and size of
the file are checked before it is read, and a header's promises before memory is allocated.
Every call runs under a watchdog so that a hang fails the test instead of blocking the run.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import within_watchdog

from mnistctl.data import files, idx
from mnistctl.data.datasets import load_dataset, load_npz, read_idx
from mnistctl.errors import UserError

GiB = 1 << 30


def expect_error(fn: Callable[[], object], *fragments: str) -> UserError:
    result = within_watchdog(fn)
    assert type(result) is UserError, f"expected a UserError, got {result!r}"
    line = result.one_line()
    assert "\n" not in line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return result


def idx_header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (all zeros after ``head``)."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


# --------------------------------------------------------------------------------------------
# Kinds of file


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
@pytest.mark.parametrize(
    ("load", "what"),
    [
        (lambda p: load_dataset("mnist", p), "data file"),
        (load_npz, "data file"),
        (read_idx, "IDX file"),
    ],
    ids=["load_dataset", "load_npz", "read_idx"],
)
def test_fifo_is_refused_without_waiting_for_a_writer(
    tmp_path: Path, load: Callable[[Path], object], what: str
) -> None:
    fifo = tmp_path / "mnist.npz"
    os.mkfifo(fifo)
    err = expect_error(
        lambda: load(fifo), f"{what} is not a regular file", "received a FIFO (named pipe)"
    )
    assert err.hint == "copy the data into a file first"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_fifo_in_an_idx_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (folder / name).write_bytes(idx_header(0x08, 2, 28, 28) + bytes(2 * 784))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_header(0x08, 2) + bytes(2))
    os.mkfifo(folder / "t10k-labels-idx1-ubyte")
    expect_error(
        lambda: load_dataset("mnist", folder),
        f"{folder / 't10k-labels-idx1-ubyte'}: IDX file is not a regular file",
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_character_device_is_refused(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    expect_error(
        lambda: load_dataset("mnist", device),
        f"{device}: data file is not a regular file",
        "received a character device",
    )
    expect_error(lambda: read_idx(device), "IDX file is not a regular file")


# --------------------------------------------------------------------------------------------
# Sizes


def test_huge_sparse_npz_is_refused_before_reading(tmp_path: Path) -> None:
    path = sparse_file(tmp_path / "huge.npz", files.MAX_DATA_BYTES + 1, b"PK\x03\x04")
    expect_error(
        lambda: load_dataset("mnist", path),
        "data file is too large",
        f"expected at most {files.MAX_DATA_BYTES:,} bytes",
        f"received {files.MAX_DATA_BYTES + 1} bytes",
    )


def test_huge_sparse_idx_is_refused_before_reading(tmp_path: Path) -> None:
    """A valid header for 5 GB of pixels, and the 5 GB (of zeros, sparse): never read."""
    n = 5 * GiB // 784
    path = tmp_path / "train-images-idx3-ubyte"
    sparse_file(path, 16 + n * 784, idx_header(0x08, n, 28, 28))
    expect_error(lambda: read_idx(path), "IDX file is too large")


def test_gzip_idx_promising_too_much_is_refused_before_allocating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 5_000)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, 12, 28, 28) + bytes(12 * 784)))
    expect_error(
        lambda: read_idx(path),
        "IDX file is too large",
        "received a header promising 9408 bytes of data for shape (12, 28, 28)",
    )


def test_gzip_idx_trailing_data_is_counted_up_to_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idx, "_COUNT_LIMIT", 1000)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, 5) + bytes(5) + bytes(1 << 20)))
    expect_error(
        lambda: read_idx(path),
        "IDX file is longer than its header says",
        "received more than 1005 bytes",
    )


def npz_with_member(member: bytes, name: str = "x_train.npy") -> bytes:
    """A zip archive with one member ``name`` holding ``member`` (stored, not compressed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, member)
        for key in ("y_train", "x_test", "y_test"):
            buf = io.BytesIO()
            np.save(buf, np.zeros(1, np.uint8))
            archive.writestr(key + ".npy", buf.getvalue())
    return out.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "|u1") -> bytes:
    """A version 1.0 .npy header for ``shape``, without any data."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def test_npz_member_promising_a_terabyte_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "lie.npz"
    path.write_bytes(npz_with_member(npy_header((10**12,)) + bytes(100)))
    expect_error(
        lambda: load_npz(path), "array 'x_train' is too large", "received 1000000000000 bytes"
    )


def test_npz_member_promising_more_than_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "lie.npz"
    path.write_bytes(npz_with_member(npy_header((1000, 28, 28)) + bytes(784)))
    expect_error(
        lambda: load_npz(path),
        "the .npz file is damaged or truncated",
        "array 'x_train' needs 784000 bytes of data, the archive holds 784 bytes",
    )


def test_npz_member_too_large_uncompressed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "zeros.npz"
    zeros = np.zeros((12, 28, 28), np.uint8)
    labels = np.zeros(12, np.uint8)
    np.savez_compressed(path, x_train=zeros, y_train=labels, x_test=zeros, y_test=labels)
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 5_000)
    assert path.stat().st_size < 5_000  # the file is small; what it unpacks to is not
    expect_error(lambda: load_npz(path), "array 'x_train' is too large")


def test_npz_member_that_is_not_npy(tmp_path: Path) -> None:
    path = tmp_path / "raw.npz"
    path.write_bytes(npz_with_member(bytes(784), name="x_train"))
    expect_error(lambda: load_npz(path), "'x_train' is not an array", "received other data")
