"""Loading MNIST-style data: Keras's cached downloads, local ``.npz`` files, folders of IDX files.

Every problem with the data is a :class:`~mnistctl.errors.UserError` naming the file, what was
expected and what was found; no raw ``OSError``/``ValueError``/``BadZipFile`` escapes for bad
input. Whatever the source, the result is the same normalised :class:`Dataset`: ``uint8`` images
of shape ``(N, 28, 28)`` and ``uint8`` labels ``0..9`` of shape ``(N,)``.

Keras is imported only when a download is needed; a data set already in Keras's cache is read
with the loaders here (``allow_pickle=False``), not with ``keras.datasets.*.load_data``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError

__all__ = [
    "ARRAY_KEYS",
    "KERAS_DATASETS",
    "Dataset",
    "load_dataset",
    "load_idx_folder",
    "load_npz",
    "read_idx",
]

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
KERAS_DATASETS = ("mnist", "fashion_mnist")

LOCAL_DATA_HINT = (
    "pass a local copy with --data PATH (a .npz like Keras's mnist.npz or a folder of IDX files)"
    " or set MNISTCTL_DATA"
)

# The files Keras downloads (keras/src/datasets/mnist.py and fashion_mnist.py).
_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_FASHION_SUBDIR = os.path.join("datasets", "fashion-mnist")

# The four IDX files of a folder, by the array each one holds; first name found wins.
_IDX_NAMES: dict[str, tuple[str, ...]] = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

# IDX type codes (http://yann.lecun.com/exdb/mnist/): the payload is big-endian.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES_TEXT = "0x08 (unsigned byte), 0x09, 0x0B, 0x0C, 0x0D or 0x0E"

_IMAGE_SHAPES_TEXT = "(N, 28, 28), (N, 784) or (N, 28, 28, 1)"
_NPZ_HINT = "save one with np.savez(PATH, x_train=..., y_train=..., x_test=..., y_test=...)"

# Deflate cannot compress better than about 1032:1; a header promising more is damaged.
_GZIP_MAX_RATIO = 1100

# Pixels converted per step when normalising float images.
_CHUNK_PIXELS = 1 << 18


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of 28x28 grayscale images with labels 0..9, validated and normalised.

    ``sha256`` is the SHA-256 of the raw bytes of ``x_train``, ``y_train``, ``x_test``, ``y_test``
    (in that order, after normalisation), so the same digits give the same checksum whatever file
    format they came in.
    """

    name: str
    source: str
    x_train: npt.NDArray[np.uint8] = field(repr=False)
    y_train: npt.NDArray[np.uint8] = field(repr=False)
    x_test: npt.NDArray[np.uint8] = field(repr=False)
    y_test: npt.NDArray[np.uint8] = field(repr=False)
    sha256: str

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])

    def describe(self) -> dict[str, Any]:
        """What a run records about its data (e.g. in env.json)."""
        return {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "train_samples": self.num_train,
            "test_samples": self.num_test,
        }


# --------------------------------------------------------------------------------------------
# Entry point


def load_dataset(dataset: str, path: str | os.PathLike[str] | None) -> Dataset:
    """Load ``path`` (a ``.npz`` or a folder of IDX files) if given, else ``dataset`` via Keras."""
    if path is not None:
        given = os.fspath(path)
        loc = Location(file=given)
        if not given:
            raise UserError(
                "the data path is empty",
                location=Location(path=("data", "path")),
                expected="a .npz file or a folder of IDX files",
            )
        p = Path(given).expanduser()
        if p.is_dir():
            return load_idx_folder(given)
        if not p.exists() and not p.is_symlink():
            raise UserError(
                "data not found",
                location=loc,
                expected="a .npz file or a folder of IDX files",
                received="no such file or folder",
            )
        return load_npz(given)
    if dataset not in KERAS_DATASETS:
        raise UserError(
            "unknown data set",
            location=Location(path=("data", "dataset")),
            expected=" or ".join(KERAS_DATASETS),
            received=repr(dataset),
            hint="for other data, " + LOCAL_DATA_HINT,
        )
    return _load_keras(dataset)


# --------------------------------------------------------------------------------------------
# .npz


def load_npz(path: str | os.PathLike[str]) -> Dataset:
    """Load a ``.npz`` with ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz`` layout)."""
    p = Path(path).expanduser()
    loc = Location(file=os.fspath(path))
    _require_file(p, loc, "data file", "a .npz file")
    head = _read_head(p, loc)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")):
        received, hint = _describe_non_zip(head)
        raise UserError(
            "not a .npz file (not a zip archive)",
            location=loc,
            expected="a .npz archive with arrays " + ", ".join(ARRAY_KEYS),
            received=received,
            hint=hint,
        )
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        with np.load(p, allow_pickle=False) as npz:
            found = list(npz.files)
            missing = [k for k in ARRAY_KEYS if k not in found]
            if missing:
                raise UserError(
                    "missing array" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
                    location=loc,
                    expected="arrays " + ", ".join(ARRAY_KEYS),
                    received=("arrays " + ", ".join(found)) if found else "no arrays",
                    hint=_NPZ_HINT,
                )
            for key in ARRAY_KEYS:
                arrays[key] = _read_npz_member(npz, key, loc)
    except UserError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise _damaged_npz(loc, e) from e
    p_abs = str(p.resolve())
    return _make_dataset(p.resolve().name, p_abs, arrays, {k: loc for k in ARRAY_KEYS})


def _read_npz_member(npz: Any, key: str, loc: Location) -> npt.NDArray[Any]:
    try:
        value = npz[key]
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UserError(
                f"array '{key}' holds Python objects, which are never loaded (unsafe)",
                location=loc,
                expected="a numeric array",
                received="an array of dtype object",
                hint="save plain numeric arrays, e.g. np.asarray(x, dtype=np.uint8)",
            ) from e
        raise _damaged_npz(loc, e) from e
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as e:
        raise _damaged_npz(loc, e) from e
    if not isinstance(value, np.ndarray):  # pragma: no cover - np.load gives arrays for .npy
        raise UserError(f"'{key}' is not an array", location=loc, received=type(value).__name__)
    return value


def _damaged_npz(loc: Location, e: BaseException) -> UserError:
    return UserError(
        "the .npz file is damaged or truncated",
        location=loc,
        expected="a complete .npz (zip) archive",
        received=_exc_text(e),
        hint="download or save it again",
    )


def _describe_non_zip(head: bytes) -> tuple[str, str | None]:
    """What a file that is not a zip archive looks like, and a hint for it."""
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array", _NPZ_HINT
    if head.startswith(b"\x1f\x8b"):
        return "gzip data", "for gzipped IDX files, pass the folder that holds all four"
    if len(head) >= 4 and head[:2] == b"\0\0" and head[2] in _IDX_DTYPES:
        return "an IDX file", "pass the folder that holds the four IDX files, not one of them"
    if head.startswith(b"\x80"):
        return "pickled Python data", _NPZ_HINT
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text", None
    return "a file starting with bytes " + (head[:8].hex(" ") or "(none)"), None


# --------------------------------------------------------------------------------------------
# IDX


def load_idx_folder(path: str | os.PathLike[str]) -> Dataset:
    """Load a folder holding the four MNIST IDX files, each plain or ``.gz``."""
    p = Path(path).expanduser()
    loc = Location(file=os.fspath(path))
    try:
        st = p.stat()
    except FileNotFoundError as e:
        raise UserError(
            "data folder not found",
            location=loc,
            expected="a folder of IDX files",
            received="no such file or folder",
        ) from e
    except OSError as e:
        raise UserError("cannot read the data folder", location=loc, received=_exc_text(e)) from e
    if not stat.S_ISDIR(st.st_mode):
        raise UserError(
            "not a folder",
            location=loc,
            expected="a folder of IDX files",
            received="a file",
        )
    try:
        present = sorted(entry.name for entry in p.iterdir())
    except OSError as e:
        raise UserError("cannot list the data folder", location=loc, received=_exc_text(e)) from e
    files: dict[str, Path] = {}
    missing: list[str] = []
    names = set(present)
    for key, stems in _IDX_NAMES.items():
        for stem in stems:
            hit = next((n for n in (stem, stem + ".gz") if n in names), None)
            if hit is not None:
                files[key] = p / hit
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
            expected=", ".join(stems[0] for stems in _IDX_NAMES.values()) + " (each plain or .gz)",
            received=("files " + shown) if present else "an empty folder",
        )
    arrays = {key: read_idx(f) for key, f in files.items()}
    locs = {key: Location(file=os.path.join(os.fspath(path), f.name)) for key, f in files.items()}
    return _make_dataset(p.resolve().name, str(p.resolve()), arrays, locs)


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """Read one IDX file (plain or gzip-compressed) into an array of the shape its header gives.

    Multi-byte types come back in their big-endian dtype (numpy handles them transparently).
    """
    p = Path(path).expanduser()
    loc = Location(file=os.fspath(path))
    size = _require_file(p, loc, "IDX file", "an IDX file")
    gzipped = _read_head(p, loc)[:2] == b"\x1f\x8b"
    try:
        with p.open("rb") as raw:
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
                received=_exc_text(e),
            ) from e
        raise UserError("cannot read the IDX file", location=loc, received=_exc_text(e)) from e


def _read_idx_stream(
    stream: io.BufferedIOBase, limit: int, exact_limit: bool, loc: Location
) -> npt.NDArray[Any]:
    """Parse an IDX stream; ``limit`` bounds the stream's total size (exactly for plain files)."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise UserError(
            "IDX file is too short to hold a header",
            location=loc,
            expected="at least 4 bytes",
            received=_bytes_text(len(head)),
        )
    if head[0] != 0 or head[1] != 0:
        raise UserError(
            "not an IDX file (bad magic number)",
            location=loc,
            expected="a magic number 0x0000TTDD (2 zero bytes, type code, dimension count)",
            received="0x" + head.hex(),
        )
    code, ndim = head[2], head[3]
    dtype = _IDX_DTYPES.get(code)
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
    header_len = 4 + 4 * ndim
    if len(dims_raw) < 4 * ndim:
        raise UserError(
            "IDX file is truncated in its header",
            location=loc,
            expected=f"{header_len} header bytes for {ndim} dimensions",
            received=_bytes_text(4 + len(dims_raw)),
        )
    dims = tuple(int.from_bytes(dims_raw[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    count = 1
    for d in dims:
        count *= d
    nbytes = count * dtype.itemsize
    expected = f"{nbytes} bytes of data for shape {_shape_text(dims)} ({dtype.name})"
    if header_len + nbytes > limit:
        got = (limit - header_len) if exact_limit else _drain(stream)
        raise UserError(
            "IDX file is truncated", location=loc, expected=expected, received=_bytes_text(got)
        )
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
            "IDX file is truncated", location=loc, expected=expected, received=_bytes_text(got)
        )
    extra = _drain(stream)
    if extra:
        raise UserError(
            "IDX file is longer than its header says",
            location=loc,
            expected=expected,
            received=_bytes_text(nbytes + extra),
        )
    return buf.view(dtype).reshape(dims)


def _read_exactly(stream: io.BufferedIOBase, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _drain(stream: io.BufferedIOBase) -> int:
    """Read a stream to its end, counting the bytes without keeping them."""
    total = 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
    return total


# --------------------------------------------------------------------------------------------
# Validation and normalisation


def _make_dataset(
    name: str,
    source: str,
    arrays: Mapping[str, npt.NDArray[Any]],
    locs: Mapping[str, Location],
) -> Dataset:
    x_train = _images(arrays["x_train"], "x_train", locs["x_train"])
    y_train = _labels(arrays["y_train"], "y_train", locs["y_train"], x_train.shape[0], "x_train")
    x_test = _images(arrays["x_test"], "x_test", locs["x_test"])
    y_test = _labels(arrays["y_test"], "y_test", locs["y_test"], x_test.shape[0], "x_test")
    if x_train.shape[0] == 0:
        raise UserError(
            "the training set is empty",
            location=locs["x_train"],
            expected="at least one training image",
            received="0 images",
        )
    if x_test.shape[0] == 0:
        raise UserError(
            "the test set is empty",
            location=locs["x_test"],
            expected="at least one test image",
            received="0 images",
        )
    return Dataset(
        name=name,
        source=source,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        sha256=checksum(x_train, y_train, x_test, y_test),
    )


def checksum(*arrays: npt.NDArray[Any]) -> str:
    """SHA-256 of the arrays' raw bytes, in the order given."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).data.cast("B"))
    return h.hexdigest()


def _images(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.uint8]:
    """Check images; return them as C-contiguous uint8 ``(N, 28, 28)``, copying only if needed."""
    shape = arr.shape
    n = shape[0] if arr.ndim else 0
    if arr.ndim == 3 and shape[1:] == (28, 28):
        pass
    elif (arr.ndim == 2 and shape[1] == 784) or (arr.ndim == 4 and shape[1:] == (28, 28, 1)):
        arr = arr.reshape(n, 28, 28)
    else:
        raise UserError(
            f"images '{name}' have the wrong shape",
            location=loc,
            expected=_IMAGE_SHAPES_TEXT,
            received="shape " + _shape_text(shape),
        )
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        out = arr
    elif kind in "iu":
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi > 255:
                raise UserError(
                    f"pixel values of '{name}' are out of range",
                    location=loc,
                    expected="integers 0..255",
                    received=f"values {lo}..{hi}",
                )
        out = arr.astype(np.uint8)
    elif kind == "f":
        out = _float_images(arr, name, loc)
    else:
        raise UserError(
            f"images '{name}' have an unsupported data type",
            location=loc,
            expected="integer pixels 0..255 or float pixels in [0, 1] or [0, 255]",
            received=f"dtype {arr.dtype}",
        )
    return aligned(np.ascontiguousarray(out))


ALIGNMENT = 64  # what TensorFlow needs to use a numpy buffer in place (Eigen's widest vectors)


def aligned_empty(nbytes: int) -> npt.NDArray[np.uint8]:
    """An uninitialised uint8 buffer whose start is ALIGNMENT-aligned."""
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    offset = (-raw.ctypes.data) % ALIGNMENT
    return raw[offset : offset + nbytes]


def aligned(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``arr`` itself if C-contiguous and aligned, else an aligned copy: training then hands the
    images to TensorFlow without another copy (pipeline.py)."""
    if arr.flags.c_contiguous and arr.ctypes.data % ALIGNMENT == 0:
        return arr
    out = aligned_empty(arr.nbytes).view(arr.dtype).reshape(arr.shape)
    out[...] = arr
    return out


def _float_images(arr: npt.NDArray[Any], name: str, loc: Location) -> npt.NDArray[np.uint8]:
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.uint8)
    lo, hi = float(arr.min()), float(arr.max())  # NaN or inf anywhere shows up in min or max
    if not (np.isfinite(lo) and np.isfinite(hi)):
        finite = np.isfinite(arr)
        index = np.unravel_index(int(np.argmin(finite)), arr.shape)
        bad = float(arr[index])
        raise UserError(
            f"images '{name}' contain NaN or infinite values",
            location=loc,
            expected="finite pixel values",
            received=f"{'NaN' if np.isnan(bad) else bad} at index {tuple(int(i) for i in index)}",
        )
    if lo < 0 or hi > 255:
        raise UserError(
            f"pixel values of '{name}' are out of range",
            location=loc,
            expected="floats in [0, 1] or [0, 255]",
            received=f"values {lo:g}..{hi:g}",
            hint="store raw pixels (0..255) or pixels scaled to [0, 1], not standardised values",
        )
    scale = np.float32(255.0 if hi <= 1.0 else 1.0)
    out = aligned_empty(arr.size).reshape(arr.shape)
    # In cache-sized chunks: one float temporary of the whole set would cost more than the maths.
    step = max(1, _CHUNK_PIXELS // (28 * 28))
    tmp = np.empty((min(step, arr.shape[0]), 28, 28), dtype=np.float32)
    for start in range(0, arr.shape[0], step):
        part = arr[start : start + step]
        t = tmp[: part.shape[0]]
        np.multiply(part, scale, out=t, casting="same_kind")
        np.rint(t, out=t)
        np.copyto(out[start : start + step], t, casting="unsafe")
    return out


def _labels(
    arr: npt.NDArray[Any], name: str, loc: Location, n_images: int, images_name: str
) -> npt.NDArray[np.uint8]:
    """Check labels and return them as uint8 ``(N,)``, copying only if needed."""
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(arr.shape[0])
    if arr.ndim != 1:
        one_hot = arr.ndim == 2 and arr.shape[1] == 10
        raise UserError(
            f"labels '{name}' have the wrong shape",
            location=loc,
            expected="a 1-D array (N,) of class numbers 0..9",
            received="shape " + _shape_text(arr.shape),
            hint="one-hot labels? store y.argmax(axis=1) instead" if one_hot else None,
        )
    if arr.dtype.kind not in "iu":
        raise UserError(
            f"labels '{name}' are not integers",
            location=loc,
            expected="integer class numbers 0..9",
            received=f"dtype {arr.dtype}",
            hint="store y.astype('uint8')" if arr.dtype.kind == "f" else None,
        )
    if arr.shape[0] != n_images:
        raise UserError(
            f"'{name}' has {arr.shape[0]} labels but '{images_name}' has {n_images} images",
            location=loc,
            expected=f"{n_images} labels, one per image",
            received=f"{arr.shape[0]} labels",
        )
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 9):
        i = int(np.flatnonzero((arr < 0) | (arr > 9))[0])
        raise UserError(
            f"label out of range in '{name}'",
            location=loc,
            expected="class numbers 0..9",
            received=f"{int(arr[i])} at index {i}",
        )
    out: npt.NDArray[np.uint8] = np.ascontiguousarray(arr.astype(np.uint8, copy=False))
    return out


# --------------------------------------------------------------------------------------------
# Keras downloads


@dataclass(frozen=True)
class _Remote:
    key: str  # which array, or "npz" for the whole archive
    fname: str
    subdir: str
    sha256: str | None


_REMOTE: dict[str, tuple[str, tuple[_Remote, ...]]] = {
    "mnist": ("MNIST", (_Remote("npz", "mnist.npz", "datasets", _MNIST_SHA256),)),
    "fashion_mnist": (
        "Fashion-MNIST",
        (
            _Remote("x_train", "train-images-idx3-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("y_train", "train-labels-idx1-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("x_test", "t10k-images-idx3-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("y_test", "t10k-labels-idx1-ubyte.gz", _FASHION_SUBDIR, None),
        ),
    ),
}


def keras_home() -> Path:
    """Keras's cache root, as Keras computes it, but read now (Keras reads it once, at import)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home).expanduser()
    user = Path("~").expanduser()
    return (user if os.access(user, os.W_OK) else Path("/tmp")) / ".keras"


def _cache_roots(home: Path) -> list[Path]:
    """Where ``keras.utils.get_file(cache_dir=home)`` keeps files: ``home``, else a temp dir."""
    fallback = Path("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()) / ".keras"
    return [home] if os.access(home, os.W_OK) else [home, fallback]


def _load_keras(dataset: str) -> Dataset:
    label, remotes = _REMOTE[dataset]
    home = keras_home()
    roots = _cache_roots(home)
    paths: dict[str, Path] = {}
    for r in remotes:
        cached = _find_cached(roots, r)
        paths[r.key] = cached if cached is not None else _download(home, roots[-1], r, label)
    source = f"keras.datasets.{dataset}"
    if "npz" in paths:
        return replace(load_npz(paths["npz"]), name=dataset, source=source)
    arrays = {key: read_idx(p) for key, p in paths.items()}
    return _make_dataset(
        dataset, source, arrays, {k: Location(file=str(p)) for k, p in paths.items()}
    )


def _find_cached(roots: list[Path], r: _Remote) -> Path | None:
    for root in roots:
        p = root / r.subdir / r.fname
        if p.is_file() and (r.sha256 is None or _file_sha256(p) == r.sha256):
            return p
    return None


def _file_sha256(p: Path) -> str | None:
    try:
        with p.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def _download(home: Path, root: Path, r: _Remote, label: str) -> Path:
    """Fetch one file with ``keras.utils.get_file``; any failure is one UserError."""
    target = root / r.subdir / r.fname
    existed = target.exists()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout clean for --json
            import keras

            got = keras.utils.get_file(
                fname=r.fname,
                origin=_KERAS_ORIGIN + r.fname,
                file_hash=r.sha256,
                cache_dir=str(home),
                cache_subdir=r.subdir,
            )
    except Exception as e:
        if not existed or r.sha256 is not None:  # a partial or corrupt download: don't keep it
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
        raise UserError(
            f"could not download {label} (no network?)",
            received=_exc_text(e),
            hint=LOCAL_DATA_HINT,
        ) from e
    return Path(got)


# --------------------------------------------------------------------------------------------
# Small helpers


def _require_file(p: Path, loc: Location, what: str, expected: str) -> int:
    """Check that ``p`` is a non-empty regular file; return its size."""
    try:
        st = p.stat()
    except FileNotFoundError as e:
        raise UserError(
            f"{what} not found", location=loc, expected=expected, received="no such file"
        ) from e
    except OSError as e:
        raise UserError(f"cannot read the {what}", location=loc, received=_exc_text(e)) from e
    if stat.S_ISDIR(st.st_mode):
        raise UserError(
            f"{what} is a directory", location=loc, expected=expected, received="a directory"
        )
    if not stat.S_ISREG(st.st_mode):
        raise UserError(
            f"{what} is not a regular file", location=loc, expected=expected, received="not a file"
        )
    if st.st_size == 0:
        raise UserError(f"{what} is empty", location=loc, expected=expected, received="0 bytes")
    return st.st_size


def _read_head(p: Path, loc: Location, n: int = 16) -> bytes:
    try:
        with p.open("rb") as f:
            return f.read(n)
    except OSError as e:
        raise UserError("cannot read the file", location=loc, received=_exc_text(e)) from e


def _exc_text(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _bytes_text(n: int) -> str:
    return f"{n} byte" + ("" if n == 1 else "s")
