"""Tests for mnistctl.data: every bad input is one UserError; good inputs normalise the same way.

All data is made in tmp_path, except the test that reads the real files in ../shared/data.
Nothing here touches the network: downloads go to file:// URLs or a patched get_file.
"""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.data import arrays, keras_cache
from mnistctl.data.datasets import (
    ARRAY_KEYS,
    Dataset,
    aligned,
    load_dataset,
    load_idx_folder,
    load_npz,
    read_idx,
)
from mnistctl.errors import Location, UserError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


# --------------------------------------------------------------------------------------------
# helpers


def make_arrays(n_train: int = 12, n_test: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }


def write_npz(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


def good_npz(tmp_path: Path, **changes: Any) -> Path:
    arrays: dict[str, Any] = {**make_arrays(), **changes}
    return write_npz(tmp_path / "d.npz", **{k: v for k, v in arrays.items() if v is not None})


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + np.asarray(arr, dtype=dtype).tobytes()


def write_idx_folder(
    folder: Path,
    arrays: dict[str, np.ndarray] | None = None,
    gz: bool | set[str] = False,
    names: dict[str, str] | None = None,
    raw: dict[str, bytes] | None = None,
) -> Path:
    """Write the four IDX files; ``gz`` True or a set of keys to compress; ``raw`` overrides."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = arrays if arrays is not None else make_arrays()
    for key, name in (names or IDX_NAMES).items():
        payload = (raw or {}).get(key) or idx_bytes(arrays[key])
        if gz is True or (isinstance(gz, set) and key in gz):
            (folder / (name + ".gz")).write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)
    return folder


def expect_error(fn: Callable[[], object], *fragments: str) -> UserError:
    """``fn`` raises a UserError (not any other exception) whose one line holds ``fragments``."""
    with pytest.raises(UserError) as info:
        fn()
    assert type(info.value) is UserError
    line = info.value.one_line()
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert "\n" not in line
    return info.value


def assert_same_data(ds: Dataset, arrays: dict[str, np.ndarray]) -> None:
    for key in ARRAY_KEYS:
        got = getattr(ds, key)
        assert got.dtype == np.uint8
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, arrays[key])
    assert ds.x_train.shape[1:] == (28, 28)
    assert ds.y_train.ndim == 1


# --------------------------------------------------------------------------------------------
# .npz: good inputs


def test_npz_uint8(tmp_path: Path) -> None:
    arrays = make_arrays()
    path = write_npz(tmp_path / "digits.npz", **arrays)
    ds = load_dataset("mnist", path)
    assert_same_data(ds, arrays)
    assert ds.name == "digits.npz"
    assert ds.source == str(path.resolve())
    expected = hashlib.sha256(b"".join(arrays[k].tobytes() for k in ARRAY_KEYS))
    assert ds.sha256 == expected.hexdigest()
    assert (len(ds.x_train), len(ds.x_test)) == (12, 6)
    assert "x_train" not in repr(ds)  # arrays stay out of the repr
    assert load_npz(str(path)).sha256 == ds.sha256  # deterministic; str paths work too


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda x: x.astype(np.float32) / 255, id="float32-0..1"),
        pytest.param(lambda x: x.astype(np.float64) / 255, id="float64-0..1"),
        pytest.param(lambda x: x.astype(np.float64), id="float64-0..255"),
        pytest.param(lambda x: x.astype(np.float16) / np.float16(255), id="float16-0..1"),
        pytest.param(lambda x: x.astype(np.int64), id="int64"),
        pytest.param(lambda x: x.astype(">i2"), id="int16-big-endian"),
        pytest.param(lambda x: x.reshape(len(x), 784), id="flat-784"),
        pytest.param(lambda x: x[..., None], id="channel-last"),
        pytest.param(lambda x: np.asfortranarray(x), id="fortran-order"),
    ],
)
def test_npz_images_normalised(tmp_path: Path, transform: Callable[[np.ndarray], Any]) -> None:
    arrays = make_arrays()
    reference = load_npz(write_npz(tmp_path / "ref.npz", **arrays))
    changed = {
        **arrays,
        "x_train": transform(arrays["x_train"]),
        "x_test": transform(arrays["x_test"]),
    }
    ds = load_npz(write_npz(tmp_path / "changed.npz", **changed))
    assert_same_data(ds, arrays)
    assert ds.sha256 == reference.sha256


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda y: y.astype(np.int64), id="int64"),
        pytest.param(lambda y: y.astype(np.int8), id="int8"),
        pytest.param(lambda y: y.reshape(-1, 1), id="column"),
    ],
)
def test_npz_labels_normalised(tmp_path: Path, transform: Callable[[np.ndarray], Any]) -> None:
    arrays = make_arrays()
    changed = {
        **arrays,
        "y_train": transform(arrays["y_train"]),
        "y_test": transform(arrays["y_test"]),
    }
    assert_same_data(load_npz(write_npz(tmp_path / "d.npz", **changed)), arrays)


def test_npz_compressed_and_extra_arrays(tmp_path: Path) -> None:
    arrays: dict[str, Any] = make_arrays()
    path = tmp_path / "c.npz"
    np.savez_compressed(path, **arrays, notes=np.arange(3))
    assert_same_data(load_dataset("mnist", path), arrays)


def test_npz_any_suffix(tmp_path: Path) -> None:
    arrays: dict[str, Any] = make_arrays()
    path = tmp_path / "digits.data"
    with path.open("wb") as f:
        np.savez(f, **arrays)
    assert_same_data(load_dataset("mnist", path), arrays)


def test_aligned_uint8_images_are_not_copied() -> None:
    x = arrays.aligned_empty(5 * 784).reshape(5, 28, 28)
    assert arrays.check_images(x, "x_train", Location()) is x
    flat = arrays.aligned_empty(5 * 784).reshape(5, 784)
    assert np.shares_memory(arrays.check_images(flat, "x_train", Location()), flat)
    y = np.zeros(5, dtype=np.uint8)
    assert arrays.check_labels(y, "y_train", Location(), 5, "x_train") is y


def test_unaligned_images_get_one_aligned_copy() -> None:
    """TensorFlow uses 64-byte-aligned buffers in place (pipeline.py): loading aligns once."""
    raw = np.zeros(5 * 784 + 1, dtype=np.uint8)
    x = raw[1:].reshape(5, 28, 28)  # one byte off an allocation: never 64-aligned
    out = arrays.check_images(x, "x_train", Location())
    assert out.ctypes.data % arrays.ALIGNMENT == 0
    assert not np.shares_memory(out, x)
    assert np.array_equal(out, x)
    assert aligned(out) is out


def test_idx_files_load_aligned(tmp_path: Path) -> None:
    (tmp_path / "images").write_bytes(idx_bytes(np.ones((3, 28, 28), dtype=np.uint8)))
    assert read_idx(tmp_path / "images").ctypes.data % arrays.ALIGNMENT == 0


def test_float_rounding_is_to_nearest(tmp_path: Path) -> None:
    arrays = make_arrays()
    x = np.full((12, 28, 28), 0.5, dtype=np.float32)
    x[0, 0, 0] = 254.6
    ds = load_npz(write_npz(tmp_path / "d.npz", **{**arrays, "x_train": x}))
    assert ds.x_train[0, 0, 0] == 255
    assert ds.x_train[0, 0, 1] == 0  # [0, 255] scale (max > 1): 0.5 rounds to even, 0


# --------------------------------------------------------------------------------------------
# .npz: bad inputs


def test_npz_missing_file(tmp_path: Path) -> None:
    err = expect_error(lambda: load_npz(tmp_path / "nope.npz"), "data file not found")
    assert err.location.file == str(tmp_path / "nope.npz")
    assert isinstance(err.__cause__, FileNotFoundError)
    expect_error(
        lambda: load_dataset("mnist", tmp_path / "nope.npz"),
        f"{tmp_path / 'nope.npz'}: data not found",
        "expected a .npz file, a folder of IDX files, a folder of class folders or a CSV file",
    )


def test_npz_is_a_directory(tmp_path: Path) -> None:
    expect_error(lambda: load_npz(tmp_path), "data file is a directory", "received a directory")


def test_npz_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.npz").write_bytes(b"")
    expect_error(lambda: load_dataset("mnist", tmp_path / "e.npz"), "is empty", "received 0 bytes")


@pytest.mark.parametrize(
    ("content", "received"),
    [
        (b"x_train,y_train\n1,2\n", "received text"),
        (b"\x80\x04\x95 pickle", "received pickled Python data"),
        (gzip.compress(b"hello"), "received gzip data"),
        (idx_bytes(np.zeros(3, dtype=np.uint8)), "received an IDX file"),
        (b"\x01\x02\xff\xfe", "received a file starting with bytes 01 02 ff fe"),
    ],
)
def test_npz_not_a_zip(tmp_path: Path, content: bytes, received: str) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    expect_error(
        lambda: load_dataset("mnist", path), "not a .npz file (not a zip archive)", received
    )


def test_npz_is_a_single_npy(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 28, 28), dtype=np.uint8))
    expect_error(lambda: load_npz(path), "received a single .npy array", "np.savez(")


def test_single_idx_file_hints_at_folder(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    expect_error(
        lambda: load_dataset("mnist", folder / IDX_NAMES["x_train"]),
        "received an IDX file",
        "pass the folder that holds the four IDX files",
    )


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_npz_truncated(tmp_path: Path, keep: float) -> None:
    full = good_npz(tmp_path).read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(full[: int(len(full) * keep)])
    err = expect_error(lambda: load_npz(path), "the .npz file is damaged or truncated")
    assert err.__cause__ is not None


def test_npz_corrupt_member(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    rng = np.random.default_rng(1)
    arrays: dict[str, Any] = make_arrays(n_train=200)
    np.savez_compressed(path, **arrays)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("x_train.npy")
    start = info.header_offset + 30 + len(info.filename) + 200
    raw[start : start + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    expect_error(lambda: load_npz(path), "the .npz file is damaged or truncated")


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (["y_test"], "missing array: y_test"),
        (["x_test", "y_test"], "missing arrays: x_test, y_test"),
    ],
)
def test_npz_missing_keys(tmp_path: Path, drop: list[str], message: str) -> None:
    arrays = {k: v for k, v in make_arrays().items() if k not in drop}
    path = write_npz(tmp_path / "d.npz", **arrays, extra=np.zeros(1))
    found = ", ".join(arrays) + ", extra"
    expect_error(
        lambda: load_npz(path), message, "expected arrays x_train, y_train, x_test, y_test", found
    )


def test_npz_keras_style_names_are_required(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "d.npz", arr_0=np.zeros((2, 28, 28)))
    expect_error(lambda: load_npz(path), "missing arrays: x_train", "received arrays arr_0")


def test_npz_object_array_rejected(tmp_path: Path) -> None:
    arrays: dict[str, Any] = make_arrays()
    arrays["y_train"] = np.array([1, "two", None] * 4, dtype=object)
    path = write_npz(tmp_path / "d.npz", **arrays)  # np.savez pickles object arrays
    expect_error(lambda: load_npz(path), "array 'y_train' holds Python objects", "dtype object")


@pytest.mark.parametrize(
    "shape",
    [(12, 3, 32), (12, 28, 28, 2), (12, 28), (12, 783), (28, 28), (12, 1, 28, 28), (12, 4, 1025)],
)
def test_npz_images_wrong_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = good_npz(tmp_path, x_train=np.zeros(shape, dtype=np.uint8))
    received = "received shape (" + ", ".join(map(str, shape)) + ")"
    expect_error(
        lambda: load_npz(path),
        "images 'x_train' have the wrong shape",
        "expected (N, H, W), (N, H, W, 1), (N, H, W, 3) or (N, 784), H and W 4..1024",
        received,
    )


@pytest.mark.parametrize(("value", "received"), [(300, "values 0..300"), (-1, "values -1..")])
def test_npz_integer_pixels_out_of_range(tmp_path: Path, value: int, received: str) -> None:
    x = np.zeros((6, 28, 28), dtype=np.int16)
    x[2, 3, 4] = value
    path = good_npz(tmp_path, x_test=x)
    expect_error(
        lambda: load_npz(path), "pixel values of 'x_test' are out of range", "0..255", received
    )


@pytest.mark.parametrize(
    ("value", "received"), [(np.nan, "NaN at index (1, 2, 3)"), (np.inf, "inf at index (1, 2, 3)")]
)
def test_npz_float_pixels_not_finite(tmp_path: Path, value: float, received: str) -> None:
    x = np.zeros((6, 28, 28), dtype=np.float32)
    x[1, 2, 3] = value
    path = good_npz(tmp_path, x_test=x)
    expect_error(lambda: load_npz(path), "images 'x_test' contain NaN or infinite values", received)


@pytest.mark.parametrize(
    ("low", "high", "received"), [(0.0, 256.0, "values 0..256"), (-0.5, 0.5, "values -0.5..0.5")]
)
def test_npz_float_pixels_out_of_range(
    tmp_path: Path, low: float, high: float, received: str
) -> None:
    x = np.full((12, 28, 28), low, dtype=np.float64)
    x[0, 0, 0] = high
    path = good_npz(tmp_path, x_train=x)
    expect_error(
        lambda: load_npz(path),
        "pixel values of 'x_train' are out of range",
        "expected floats in [0, 1] or [0, 255]",
        received,
        "not standardised values",
    )


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((12, 28, 28), dtype=bool),
        np.zeros((12, 28, 28), dtype=np.complex64),
        np.full((12, 28, 28), "a"),
    ],
    ids=["bool", "complex", "str"],
)
def test_npz_images_unsupported_dtype(tmp_path: Path, x: np.ndarray) -> None:
    path = good_npz(tmp_path, x_train=x)
    expect_error(lambda: load_npz(path), "images 'x_train' have an unsupported data type", "dtype")


@pytest.mark.parametrize(
    ("key", "index", "value", "dtype"),
    [("y_train", 3, 1000, np.int16), ("y_test", 0, -1, np.int8), ("y_train", 11, 70000, np.int32)],
)
def test_npz_label_out_of_range(
    tmp_path: Path, key: str, index: int, value: int, dtype: type
) -> None:
    y: np.ndarray = make_arrays()[key].astype(dtype)
    y[index] = value
    path = good_npz(tmp_path, **{key: y})
    expect_error(
        lambda: load_npz(path),
        f"label out of range in '{key}'",
        "expected class numbers 0..K-1 (at most 1000 classes)",
        f"received {value} at index {index}",
    )


def test_npz_labels_one_hot(tmp_path: Path) -> None:
    arrays = make_arrays()
    y = np.eye(10, dtype=np.float32)[arrays["y_train"]]
    assert_same_data(load_npz(good_npz(tmp_path, y_train=y)), arrays)


def test_npz_labels_wrong_ndim(tmp_path: Path) -> None:
    path = good_npz(tmp_path, y_test=np.zeros((6, 2, 2), dtype=np.uint8))
    expect_error(lambda: load_npz(path), "labels 'y_test' have the wrong shape", "(6, 2, 2)")


@pytest.mark.parametrize("dtype", [np.float32, bool])
def test_npz_labels_not_integers(tmp_path: Path, dtype: type) -> None:
    path = good_npz(tmp_path, y_train=make_arrays()["y_train"].astype(dtype))
    expect_error(lambda: load_npz(path), "labels 'y_train' are not integers", "dtype")


def test_npz_label_count_mismatch(tmp_path: Path) -> None:
    path = good_npz(tmp_path, y_train=np.zeros(11, dtype=np.uint8))
    expect_error(
        lambda: load_npz(path),
        "'y_train' has 11 labels but 'x_train' has 12 images",
        "expected 12 labels",
    )


@pytest.mark.parametrize(
    ("key", "message"), [("train", "the training set is empty"), ("test", "the test set is empty")]
)
def test_npz_empty_split(tmp_path: Path, key: str, message: str) -> None:
    empty = {
        f"x_{key}": np.zeros((0, 28, 28), dtype=np.uint8),
        f"y_{key}": np.zeros(0, dtype=np.uint8),
    }
    path = good_npz(tmp_path, **empty)
    expect_error(lambda: load_npz(path), message, "received 0 images")


# --------------------------------------------------------------------------------------------
# IDX: good inputs


@pytest.mark.parametrize(
    ("gz", "dotted"),
    [(False, False), (True, False), ({"x_train", "y_test"}, False), (True, True)],
    ids=["plain", "gz", "mixed", "gz-dotted-names"],
)
def test_idx_folder(tmp_path: Path, gz: bool | set[str], dotted: bool) -> None:
    arrays = make_arrays()
    names = {k: v.replace("-idx", ".idx") for k, v in IDX_NAMES.items()} if dotted else None
    folder = write_idx_folder(tmp_path / "mnist", arrays, gz=gz, names=names)
    (folder / "README").write_text("unrelated files are ignored")
    ds = load_dataset("mnist", folder)
    assert_same_data(ds, arrays)
    assert ds.name == "mnist"
    assert ds.source == str(folder.resolve())
    assert ds.sha256 == load_npz(write_npz(tmp_path / "same.npz", **arrays)).sha256
    assert ds.x_train.flags.writeable


def test_idx_folder_prefers_plain_over_gz(tmp_path: Path) -> None:
    arrays = make_arrays()
    folder = write_idx_folder(tmp_path / "m", arrays)
    (folder / (IDX_NAMES["x_train"] + ".gz")).write_bytes(b"not gzip at all")
    assert_same_data(load_idx_folder(folder), arrays)


@pytest.mark.parametrize(
    ("code", "arr"),
    [
        (0x08, np.arange(6, dtype=np.uint8).reshape(2, 3)),
        (0x09, np.array([-3, 0, 5], dtype=np.int8)),
        (0x0B, np.array([-300, 2, 1000], dtype=np.int16)),
        (0x0C, np.array([[1 << 20, -5]], dtype=np.int32)),
        (0x0D, np.array([0.5, -1.25], dtype=np.float32)),
        (0x0E, np.array([1e300, 2.0], dtype=np.float64)),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_types(tmp_path: Path, code: int, arr: np.ndarray, gz: bool) -> None:
    payload = idx_bytes(arr, code)
    path = tmp_path / ("a.gz" if gz else "a")
    path.write_bytes(gzip.compress(payload) if gz else payload)
    got = read_idx(path)
    assert got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)


def test_idx_float_images_in_folder(tmp_path: Path) -> None:
    arrays = make_arrays()
    raw = {"x_test": idx_bytes(arrays["x_test"].astype(np.float32) / 255, code=0x0D)}
    folder = write_idx_folder(tmp_path / "m", arrays, raw=raw)
    assert_same_data(load_idx_folder(folder), arrays)


# --------------------------------------------------------------------------------------------
# IDX: bad inputs


def _one_idx(tmp_path: Path, content: bytes, gz: bool = False) -> Path:
    path = tmp_path / ("one.gz" if gz else "one")
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"\x01\x02\x08\x01" + b"\0" * 8, ("bad magic number", "received 0x01020801")),
        (b"\x00\x00\x07\x01" + b"\0\0\0\x01x", ("unknown IDX data type code", "received 0x07")),
        (b"\x00\x00\x08\x00", ("IDX header gives no dimensions",)),
        (b"\x00\x00", ("too short to hold a header", "received 2 bytes")),
        (b"\x00\x00\x08\x03\x00\x00\x00\x05", ("truncated in its header", "expected 16 header")),
        (
            idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))[:-100],
            ("IDX file is truncated", "expected 2352 bytes of data", "received 2252 bytes"),
        ),
        (
            idx_bytes(np.zeros(5, dtype=np.uint8)) + b"\0\0",
            ("longer than its header says", "expected 5 bytes", "received 7 bytes"),
        ),
        (
            b"\x00\x00\x08\x03" + (1 << 31).to_bytes(4, "big") + bytes([0, 0, 0, 28]) * 2,
            ("IDX file is truncated", "received 0 bytes"),
        ),
    ],
    ids=["magic", "dtype-code", "no-dims", "short", "header-cut", "payload-cut", "extra", "huge"],
)
def test_read_idx_bad(tmp_path: Path, gz: bool, content: bytes, fragments: tuple[str, ...]) -> None:
    path = _one_idx(tmp_path, content, gz)
    err = expect_error(lambda: read_idx(path), *fragments)
    assert err.one_line().startswith(f"{path}: ")


def test_read_idx_gzip_stream_truncated(tmp_path: Path) -> None:
    blob = gzip.compress(idx_bytes(make_arrays(n_train=50)["x_train"]))
    path = tmp_path / "cut.gz"
    path.write_bytes(blob[: len(blob) // 2])
    err = expect_error(lambda: read_idx(path), "the gzip file is damaged or truncated")
    assert err.__cause__ is not None


def test_read_idx_gzip_corrupt(tmp_path: Path) -> None:
    blob = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    blob[-6] ^= 0xFF  # breaks the CRC
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(blob))
    expect_error(lambda: read_idx(path), "the gzip file is damaged or truncated")


def test_read_idx_missing_empty_directory(tmp_path: Path) -> None:
    expect_error(lambda: read_idx(tmp_path / "nope"), "IDX file not found")
    expect_error(lambda: read_idx(tmp_path), "IDX file is a directory")
    (tmp_path / "empty").write_bytes(b"")
    expect_error(lambda: read_idx(tmp_path / "empty"), "IDX file is empty")


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        (["y_test"], "missing IDX file: t10k-labels-idx1-ubyte;"),
        (["x_train", "y_train"], "missing IDX files: train-images-idx3-ubyte, train-labels-idx1"),
    ],
)
def test_idx_folder_missing_file(tmp_path: Path, remove: list[str], message: str) -> None:
    folder = write_idx_folder(tmp_path / "m", gz=True)
    for key in remove:
        (folder / (IDX_NAMES[key] + ".gz")).unlink()
    left = ", ".join(sorted(p.name for p in folder.iterdir()))
    expect_error(
        lambda: load_dataset("mnist", folder),
        f"{folder}: {message}",
        "(each plain or .gz)",
        f"received files {left}",
    )


def test_idx_folder_empty(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    expect_error(lambda: load_idx_folder(tmp_path / "m"), "received an empty folder")


def test_idx_folder_not_found_or_file(tmp_path: Path) -> None:
    expect_error(lambda: load_idx_folder(tmp_path / "nope"), "data folder not found")
    (tmp_path / "f").write_bytes(b"x")
    expect_error(lambda: load_idx_folder(tmp_path / "f"), "not a folder", "received a file")


def test_idx_folder_bad_file_is_named(tmp_path: Path) -> None:
    arrays = make_arrays()
    cut = idx_bytes(arrays["x_test"])[:-10]
    folder = write_idx_folder(tmp_path / "m", arrays, raw={"x_test": cut})
    expect_error(
        lambda: load_idx_folder(folder),
        f"{folder / IDX_NAMES['x_test']}: IDX file is truncated",
    )


def test_idx_folder_label_count_mismatch(tmp_path: Path) -> None:
    arrays = make_arrays()
    raw = {"y_train": idx_bytes(arrays["y_train"][:-1])}
    folder = write_idx_folder(tmp_path / "m", arrays, raw=raw)
    expect_error(
        lambda: load_idx_folder(folder),
        f"{folder / IDX_NAMES['y_train']}: 'y_train' has 11 labels but 'x_train' has 12 images",
    )


def test_idx_folder_swapped_files(tmp_path: Path) -> None:
    arrays = make_arrays()
    names = {**IDX_NAMES, "x_train": IDX_NAMES["y_train"], "y_train": IDX_NAMES["x_train"]}
    folder = write_idx_folder(tmp_path / "m", arrays, names=names)
    expect_error(lambda: load_idx_folder(folder), "images 'x_train' have the wrong shape", "(12,)")


def test_idx_label_out_of_range(tmp_path: Path) -> None:
    arrays = make_arrays()
    y = arrays["y_test"].copy()
    y[4] = 42
    folder = write_idx_folder(tmp_path / "m", arrays, gz=True, raw={"y_test": idx_bytes(y)})
    assert load_idx_folder(folder).classes == tuple(str(i) for i in range(43))
    expect_error(
        lambda: load_idx_folder(folder, tuple("abcdefghij")),
        "data.classes: label 42 in 'y_test' has no class name",
        "expected labels 0..9 (10 class names)",
        "received 42 at index 4 of",
    )


# --------------------------------------------------------------------------------------------
# load_dataset and Keras's datasets (no network: file:// origins or a patched get_file)


def test_load_dataset_bad_arguments(tmp_path: Path) -> None:
    expect_error(lambda: load_dataset("cifar10", None), "unknown data set", "received 'cifar10'")
    err = expect_error(lambda: load_dataset("mnist", ""), "data.path: the data path is empty")
    assert err.one_line().startswith("data.path: ")


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def keras_mod() -> Any:
    return pytest.importorskip("keras")


@pytest.mark.parametrize(
    ("dataset", "label"), [("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST")]
)
def test_download_failure_is_one_user_error(
    keras_home: Path,
    keras_mod: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dataset: str,
    label: str,
) -> None:
    def offline(*args: Any, **kwargs: Any) -> str:
        raise Exception("URL fetch failure on https://example: None -- [Errno -3] no address")

    monkeypatch.setattr(keras_mod.utils, "get_file", offline)
    err = expect_error(
        lambda: load_dataset(dataset, None),
        f"could not download {label} (no network?)",
        "(hint: pass a local copy with --data PATH (a .npz like Keras's mnist.npz or a folder of "
        "IDX files) or set MNISTCTL_DATA",
        "URL fetch failure",
    )
    # the bundled sample is MNIST: offered when MNIST cannot be downloaded, and only then
    assert ("--set data.dataset=mnist_sample)" in err.one_line()) == (dataset == "mnist")
    assert err.location == Location()
    assert capsys.readouterr().out == ""


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]) -> Path:
    """Make file:// 'downloads': Keras's get_file runs for real but reads from a local folder."""
    origin = tmp_path / "origin"
    origin.mkdir()
    for name, content in files.items():
        (origin / name).write_bytes(content)
    monkeypatch.setattr(keras_cache, "_KERAS_ORIGIN", origin.as_uri() + "/")
    return origin


def _patch_mnist_sha(monkeypatch: pytest.MonkeyPatch, sha: str) -> None:
    label, (remote,) = keras_cache._REMOTE["mnist"]
    remote = keras_cache._Remote("npz", remote.fname, remote.subdir, sha)
    monkeypatch.setitem(keras_cache._REMOTE, "mnist", (label, (remote,)))


def test_mnist_download_and_cache(
    tmp_path: Path,
    keras_home: Path,
    keras_mod: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arrays = make_arrays()
    blob = good_npz(tmp_path).read_bytes()
    _serve(tmp_path, monkeypatch, {"mnist.npz": blob})
    _patch_mnist_sha(monkeypatch, hashlib.sha256(blob).hexdigest())
    ds = load_dataset("mnist", None)
    assert_same_data(ds, arrays)
    assert (ds.name, ds.source) == ("mnist", "keras.datasets.mnist")
    assert (keras_home / "datasets" / "mnist.npz").read_bytes() == blob
    assert capsys.readouterr().out == ""  # Keras's download messages went to stderr

    def no_download(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(keras_mod.utils, "get_file", no_download)
    assert load_dataset("mnist", None).sha256 == ds.sha256


def test_mnist_bad_download_is_removed(
    tmp_path: Path, keras_home: Path, keras_mod: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(tmp_path, monkeypatch, {"mnist.npz": good_npz(tmp_path).read_bytes()})
    _patch_mnist_sha(monkeypatch, "0" * 64)  # what arrives never matches
    expect_error(lambda: load_dataset("mnist", None), "could not download MNIST")
    assert not (keras_home / "datasets" / "mnist.npz").exists()


def test_mnist_cache_with_wrong_hash_is_not_trusted(
    keras_home: Path, keras_mod: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (keras_home / "datasets").mkdir()
    good_npz(keras_home / "datasets").rename(keras_home / "datasets" / "mnist.npz")
    calls: list[dict[str, Any]] = []

    def offline(*args: Any, **kwargs: Any) -> str:
        calls.append(kwargs)
        raise OSError("offline")

    monkeypatch.setattr(keras_mod.utils, "get_file", offline)
    expect_error(lambda: load_dataset("mnist", None), "could not download MNIST")
    assert calls[0]["file_hash"] == keras_cache._MNIST_SHA256
    assert calls[0]["cache_dir"] == str(keras_home)
    assert (
        calls[0]["origin"]
        == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    )


def test_fashion_mnist_download_and_cache(
    tmp_path: Path, keras_home: Path, keras_mod: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = make_arrays(seed=3)
    files = {name + ".gz": gzip.compress(idx_bytes(arrays[k])) for k, name in IDX_NAMES.items()}
    _serve(tmp_path, monkeypatch, files)
    ds = load_dataset("fashion_mnist", None)
    assert_same_data(ds, arrays)
    assert (ds.name, ds.source) == ("fashion_mnist", "keras.datasets.fashion_mnist")
    cached = keras_home / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cached.iterdir()) == sorted(files)
    monkeypatch.setattr(keras_cache, "_KERAS_ORIGIN", "file:///nonexistent/")
    assert load_dataset("fashion_mnist", None).sha256 == ds.sha256


def test_fashion_mnist_damaged_cache_names_the_file(keras_home: Path) -> None:
    folder = keras_home / "datasets" / "fashion-mnist"
    arrays = make_arrays()
    raw = {"y_train": gzip.compress(idx_bytes(arrays["y_train"]))[:-12]}
    write_idx_folder(folder, arrays, gz=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(raw["y_train"])
    expect_error(
        lambda: load_dataset("fashion_mnist", None),
        f"{folder / 'train-labels-idx1-ubyte.gz'}: the gzip file is damaged or truncated",
    )


# --------------------------------------------------------------------------------------------
# The real data beside the project


@pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason="reads the original MNIST files in ../shared/data, beside the workplace's checkout "
    "only (not in a clone)",
)
def test_real_shared_data() -> None:
    ds = load_dataset("mnist", SHARED_DATA / "mnist-5k-10k.npz")
    assert ds.x_train.shape == (5000, 28, 28)
    assert ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train.shape == (5000,)
    assert ds.y_test.shape == (10000,)
    assert np.bincount(ds.y_train).tolist() == [500] * 10
    assert int(ds.x_test.max()) == 255

    idx = SHARED_DATA / "mnist-t10k"
    x = read_idx(idx / "t10k-images-idx3-ubyte.gz")
    y = read_idx(idx / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28)
    np.testing.assert_array_equal(x, ds.x_test)
    np.testing.assert_array_equal(y, ds.y_test)
    # The folder holds only the test set: the error names what is missing and what is there.
    expect_error(
        lambda: load_dataset("mnist", idx),
        "missing IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte",
        "received files t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
    )
