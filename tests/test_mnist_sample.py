"""The MNIST sample that ships inside the package (``dataset: mnist_sample``), the offline hint
that points at it, and ``sizes.train_size`` (training images counted from headers only).

Nothing here touches the network: the offline error comes from a patched ``get_file``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    SHARED_DATA,
    TINY_SPEC,
    assert_user_error,
    cli,
    read_json,
    run_dirs,
    subprocess_env,
    within_watchdog,
    write_spec,
)

from mnistctl.data import datasets, sample
from mnistctl.data.datasets import ARRAY_KEYS, load_dataset
from mnistctl.data.sizes import TRAIN_SIZES, train_size
from mnistctl.errors import UserError
from mnistctl.spec.options import DATASETS

ROOT = Path(__file__).resolve().parents[1]
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(scope="module")
def ds() -> datasets.Dataset:
    return load_dataset("mnist_sample", None)


# --------------------------------------------------------------------------------------------
# the sample


def test_sample_loads_as_mnist_sample(ds: datasets.Dataset) -> None:
    assert (ds.name, ds.source) == ("mnist_sample", "mnistctl.data.mnist_sample")
    assert ds.x_train.shape == (5000, 28, 28) and ds.y_train.shape == (5000,)
    assert ds.x_test.shape == (10000, 28, 28) and ds.y_test.shape == (10000,)
    for key in ARRAY_KEYS:
        assert getattr(ds, key).dtype == np.uint8, key
    assert np.bincount(ds.y_train, minlength=10).tolist() == [500] * 10
    assert sorted(set(ds.y_test.tolist())) == list(range(10))
    assert int(ds.x_train.max()) == 255 and int(ds.x_train.min()) == 0
    assert len(ds.x_train) == sample.SAMPLE_TRAIN_SIZE
    assert len(ds.x_test) == sample.SAMPLE_TEST_SIZE


def test_sample_checksum_is_stable(ds: datasets.Dataset) -> None:
    assert ds.sha256 == sample.SAMPLE_SHA256
    assert ds.sha256 == datasets.checksum(ds.x_train, ds.y_train, ds.x_test, ds.y_test)
    assert load_dataset("mnist_sample", None).sha256 == ds.sha256


SHARED_NPZ = SHARED_DATA / "mnist-5k-10k.npz"


@pytest.mark.skipif(
    not SHARED_NPZ.is_file(),
    reason="compares the bundled sample with its source, ../shared/data/mnist-5k-10k.npz, "
    "a file beside the workplace's checkout only (not in a clone)",
)
def test_sample_is_the_shared_real_digits(ds: datasets.Dataset) -> None:
    with np.load(SHARED_NPZ, allow_pickle=False) as npz:
        for key in ARRAY_KEYS:
            np.testing.assert_array_equal(getattr(ds, key), npz[key], err_msg=key)
            assert npz[key].dtype == getattr(ds, key).dtype
    assert load_dataset("mnist", SHARED_NPZ).sha256 == ds.sha256
    # ...and its test set is MNIST's own, as the original IDX files have it
    t10k = SHARED_DATA / "mnist-t10k"
    if t10k.is_dir():
        x = datasets.read_idx(t10k / "t10k-images-idx3-ubyte.gz")
        np.testing.assert_array_equal(x, ds.x_test)


def test_sample_file_is_safe_plain_npz_with_its_notes() -> None:
    here = importlib.resources.files("mnistctl.data")
    blob = here.joinpath(sample.SAMPLE_FILE).read_bytes()
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == [k + ".npy" for k in ARRAY_KEYS]
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:  # numpy reads it unpickled
        assert npz["x_train"].shape == (5000, 28, 28)
    notes = here.joinpath("MNIST_SAMPLE.md").read_text(encoding="utf-8")
    assert sample.SAMPLE_SHA256 in notes
    assert hashlib.sha256(blob).hexdigest() in notes
    assert f"{len(blob):,} bytes" in notes
    for needed in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "mnist-5k-10k.npz"):
        assert needed in notes, needed


def test_sample_arrays_match_the_notes(ds: datasets.Dataset) -> None:
    notes = importlib.resources.files("mnistctl.data").joinpath("MNIST_SAMPLE.md").read_text()
    for key in ARRAY_KEYS:
        digest = hashlib.sha256(getattr(ds, key).tobytes()).hexdigest()
        assert f"{key:<8} {digest}" in notes, key


def test_path_wins_over_the_sample(tmp_path: Path) -> None:
    arrays = {
        "x_train": np.zeros((7, 28, 28), np.uint8),
        "y_train": np.arange(7, dtype=np.uint8),
        "x_test": np.zeros((3, 28, 28), np.uint8),
        "y_test": np.arange(3, dtype=np.uint8),
    }
    np.savez(tmp_path / "own.npz", **arrays)  # type: ignore[arg-type]
    got = load_dataset("mnist_sample", tmp_path / "own.npz")
    assert (got.name, len(got.x_train)) == ("own.npz", 7)
    assert train_size("mnist_sample", tmp_path / "own.npz") == 7


def test_damaged_sample_is_one_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    arrays, loc = sample.read_sample()
    arrays = dict(arrays)
    arrays["y_train"] = arrays["y_train"].copy()
    arrays["y_train"][0] = (arrays["y_train"][0] + 1) % 10
    monkeypatch.setattr(datasets, "read_sample", lambda: (arrays, loc))
    with pytest.raises(UserError) as info:
        load_dataset("mnist_sample", None)
    line = info.value.one_line()
    assert "the bundled MNIST sample is damaged" in line and "reinstall mnistctl" in line
    assert line.startswith(str(loc.file))


def test_unknown_dataset_names_the_sample() -> None:
    with pytest.raises(UserError) as info:
        load_dataset("cifar10", None)
    assert (
        "expected mnist, fashion_mnist, mnist_sample, kmnist, emnist_letters, emnist_balanced"
        " or emnist_digits" in info.value.one_line()
    )
    assert "mnist_sample" in DATASETS and set(DATASETS) == set(datasets.DATASETS)


def test_schema_offers_the_sample(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "schemas" / "spec.schema.json").read_text(encoding="utf-8"))
    enum = schema["properties"]["data"]["properties"]["dataset"]["enum"]
    assert enum == list(DATASETS)
    spec = write_spec(tmp_path, TINY_SPEC.replace("dataset: mnist", "dataset: mnist_sample"))
    result = cli("validate", spec)
    assert result.exit_code == 0, result.stderr


def test_loading_never_imports_tensorflow() -> None:
    code = (
        "import sys\n"
        "from mnistctl.data.datasets import load_dataset\n"
        "ds = load_dataset('mnist_sample', None)\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "import json\n"
        "print(json.dumps([len(ds.x_train), len(ds.x_test), bad]))\n"
    )
    n_train, n_test, imported = json.loads(_python(code))
    assert (n_train, n_test, imported) == (5000, 10000, [])


def _python(code: str) -> str:
    """What ``python -c code`` prints, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()


def test_train_size_needs_neither_numpy_nor_tensorflow() -> None:
    code = (
        "import sys\n"
        "from mnistctl.data.sizes import train_size\n"
        "print([train_size(d, None) for d in ('mnist', 'fashion_mnist', 'mnist_sample')],"
        " [m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules])\n"
    )
    assert _python(code) == "[60000, 60000, 5000] []"


# --------------------------------------------------------------------------------------------
# offline: the hint names the sample, and nothing else is trained on


@pytest.fixture
def offline_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras cache and a get_file that always fails as with no network."""
    keras = pytest.importorskip("keras")
    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))

    def offline(*args: Any, **kwargs: Any) -> str:
        raise Exception("URL fetch failure on https://example: None -- [Errno -3] no address")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    return home


def test_offline_mnist_hint_names_the_sample(offline_keras: Path) -> None:
    with pytest.raises(UserError) as info:
        load_dataset("mnist", None)
    line = info.value.one_line()
    assert "\n" not in line
    assert line.startswith("could not download MNIST (no network?)")
    assert "--data PATH" in line and "MNISTCTL_DATA" in line
    assert "--set data.dataset=mnist_sample" in line
    with pytest.raises(UserError) as info:  # the sample is MNIST: not offered for Fashion-MNIST
        load_dataset("fashion_mnist", None)
    assert "mnist_sample" not in info.value.one_line()


def test_offline_train_says_so_in_one_line(offline_keras: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    runs = tmp_path / "runs"
    result = cli("train", spec, "--runs-dir", runs, env={"MNISTCTL_DATA": None})
    assert_user_error(
        result, "could not download MNIST", "--data", "--set data.dataset=mnist_sample"
    )
    assert run_dirs(runs) == []  # it did not train on anything else


# --------------------------------------------------------------------------------------------
# train_size: from headers only; None when it cannot tell


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes], compress: bool = False) -> Path:
    kind = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", kind) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _arrays(n_train: int, n_test: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n_train)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def _idx(arr: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return head + arr.tobytes()


def _idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_NAMES.items():
        data = _idx(arrays[key])
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def test_train_size_of_named_datasets() -> None:
    assert train_size("mnist", None) == 60_000
    assert train_size("fashion_mnist", None) == 60_000
    assert train_size("mnist_sample", None) == 5_000
    assert train_size("cifar10", None) is None
    assert set(TRAIN_SIZES) == set(DATASETS)


def test_train_size_of_good_files_matches_loading(tmp_path: Path) -> None:
    cases: list[Path] = []
    np.savez(tmp_path / "plain.npz", **_arrays(13))  # type: ignore[arg-type]
    np.savez_compressed(tmp_path / "compressed.npz", **_arrays(17))  # type: ignore[arg-type]
    cases += [tmp_path / "plain.npz", tmp_path / "compressed.npz"]
    # members named without .npy (np.load finds them too); a 2-D (N, 784) x_train
    a = _arrays(11)
    members = {k: _npy(v) for k, v in a.items()}
    members["x_train"] = _npy(a["x_train"].reshape(11, 784))
    cases.append(_zip(tmp_path / "bare.npz", members))
    # big-endian labels, .npy format 2.0 header
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a["y_train"].astype(">i4"), version=(2, 0))
    members2 = {k + ".npy": _npy(v) for k, v in a.items()} | {"y_train.npy": buf.getvalue()}
    cases.append(_zip(tmp_path / "v2.npz", members2, compress=True))
    cases.append(_idx_folder(tmp_path / "idx-plain", _arrays(9), gz=False))
    cases.append(_idx_folder(tmp_path / "idx-gz", _arrays(21), gz=True))
    cases.append(importlib.resources.files("mnistctl.data") / sample.SAMPLE_FILE)  # type: ignore[arg-type]
    if SHARED_NPZ.is_file():
        cases.append(SHARED_NPZ)
    for path in cases:
        expected = len(load_dataset("mnist", path).x_train)
        assert train_size("mnist", path) == expected, path
        assert train_size("fashion_mnist", str(path)) == expected, path


def test_train_size_reads_headers_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.savez_compressed(tmp_path / "d.npz", **_arrays(30))  # type: ignore[arg-type]
    folder = _idx_folder(tmp_path / "idx", _arrays(31), gz=True)

    def no_full_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("train_size read a whole array")

    monkeypatch.setattr(np.lib.format, "read_array", no_full_read)
    monkeypatch.setattr(np, "load", no_full_read)
    monkeypatch.setattr(datasets, "read_idx", no_full_read)
    assert train_size("mnist", tmp_path / "d.npz") == 30
    assert train_size("mnist", folder) == 31


def test_train_size_of_damaged_or_odd_files_is_none(tmp_path: Path) -> None:
    a = _arrays(12)
    good = {k + ".npy": _npy(v) for k, v in a.items()}
    bad: dict[str, Path] = {}
    bad["missing"] = tmp_path / "nope.npz"
    bad["empty"] = tmp_path / "empty.npz"
    bad["empty"].write_bytes(b"")
    bad["text"] = tmp_path / "text.npz"
    bad["text"].write_text("x_train,y_train\n1,2\n")
    blob = _zip(tmp_path / "whole.npz", good, compress=True).read_bytes()
    bad["truncated"] = tmp_path / "truncated.npz"
    bad["truncated"].write_bytes(blob[: len(blob) // 2])
    bad["no x_train"] = _zip(
        tmp_path / "nox.npz", {k: v for k, v in good.items() if "x_tr" not in k}
    )
    bad["no y_train"] = _zip(
        tmp_path / "noy.npz", {k: v for k, v in good.items() if "y_tr" not in k}
    )
    short = _npy(a["x_train"])[:-100]  # the header promises more than the member holds
    bad["short member"] = _zip(tmp_path / "short.npz", good | {"x_train.npy": short})
    bad["not npy"] = _zip(tmp_path / "notnpy.npz", good | {"x_train.npy": b"hello world" * 20})
    obj = io.BytesIO()
    np.lib.format.write_array(obj, np.array([1, "a"], dtype=object), allow_pickle=True)
    bad["object"] = _zip(tmp_path / "obj.npz", good | {"y_train.npy": obj.getvalue()})
    scalar = _npy(np.array(5, dtype=np.uint8))
    bad["scalar"] = _zip(tmp_path / "scalar.npz", good | {"x_train.npy": scalar})
    bad["mismatch"] = _zip(tmp_path / "mm.npz", good | {"y_train.npy": _npy(a["y_train"][:5])})
    bad["single npy"] = tmp_path / "one.npy"
    bad["single npy"].write_bytes(_npy(a["x_train"]))
    # IDX folders
    bad["empty folder"] = tmp_path / "empty-folder"
    bad["empty folder"].mkdir()
    if (SHARED_DATA / "mnist-t10k").is_dir():
        bad["test set only"] = SHARED_DATA / "mnist-t10k"
    truncated = _idx_folder(tmp_path / "idx-trunc", a, gz=False)
    p = truncated / IDX_NAMES["x_train"]
    p.write_bytes(p.read_bytes()[:-1])
    bad["truncated idx"] = truncated
    longer = _idx_folder(tmp_path / "idx-long", a, gz=False)
    p = longer / IDX_NAMES["x_train"]
    p.write_bytes(p.read_bytes() + b"\0")
    bad["longer idx"] = longer
    gz_head = _idx_folder(tmp_path / "idx-gzhead", a, gz=True)
    p = gz_head / (IDX_NAMES["x_train"] + ".gz")
    p.write_bytes(p.read_bytes()[:12])  # the gzip stream ends inside the header
    bad["gzip cut in header"] = gz_head
    garbage = _idx_folder(tmp_path / "idx-garbage", a, gz=True)
    p = garbage / (IDX_NAMES["x_train"] + ".gz")
    p.write_bytes(b"\x1f\x8b" + os.urandom(64))
    bad["gzip garbage"] = garbage
    magic = _idx_folder(tmp_path / "idx-magic", a, gz=False)
    p = magic / IDX_NAMES["x_train"]
    p.write_bytes(b"\x01\x02" + p.read_bytes()[2:])
    bad["bad magic"] = magic
    code = _idx_folder(tmp_path / "idx-code", a, gz=False)
    p = code / IDX_NAMES["x_train"]
    p.write_bytes(b"\0\0\x07" + p.read_bytes()[3:])
    bad["bad type code"] = code
    mism = _idx_folder(tmp_path / "idx-mismatch", a, gz=True)
    (mism / (IDX_NAMES["y_train"] + ".gz")).write_bytes(gzip.compress(_idx(a["y_train"][:3])))
    bad["idx mismatch"] = mism
    dir_named = _idx_folder(tmp_path / "idx-dir", a, gz=False)
    (dir_named / IDX_NAMES["x_train"]).unlink()
    (dir_named / IDX_NAMES["x_train"]).mkdir()
    bad["x_train is a folder"] = dir_named
    if Path("/dev/null").exists():
        bad["device"] = Path("/dev/null")
    for what, path in bad.items():
        assert train_size("mnist", path) is None, what
        with pytest.raises(UserError):  # what loading says about it: a UserError too
            load_dataset("mnist", path)
    assert train_size("mnist", "") is None
    assert train_size("mnist_sample", "") is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_train_size_of_a_fifo_is_none_and_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)
    assert within_watchdog(lambda: train_size("mnist", fifo)) is None
    folder = tmp_path / "idx"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        os.mkfifo(folder / name)
    assert within_watchdog(lambda: train_size("mnist", folder)) is None


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads all")
def test_train_size_of_an_unreadable_file_is_none(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, **_arrays(5))  # type: ignore[arg-type]
    p.chmod(0)
    assert train_size("mnist", p) is None


# --------------------------------------------------------------------------------------------
# end to end


@pytest.mark.slow
def test_train_on_the_sample_end_to_end(tmp_path: Path) -> None:
    text = TINY_SPEC.replace(
        "  dataset: mnist\n", "  dataset: mnist_sample\n  train_samples: 300\n"
    ).replace("epochs: 3", "epochs: 1")
    assert "dataset: mnist_sample" in text and "epochs: 1" in text
    spec = write_spec(tmp_path, text)
    runs = tmp_path / "runs"
    result = cli("train", spec, "--runs-dir", runs, "--json", env={"MNISTCTL_DATA": None})
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    (run,) = run_dirs(runs)
    assert Path(out["run_dir"]) == run.resolve()
    env = read_json(run / "env.json")
    assert env["data"] == {
        "dataset": "mnist_sample",
        "name": "mnist_sample",
        "source": "mnistctl.data.mnist_sample",
        "sha256": sample.SAMPLE_SHA256,
        "train_images": 5000,
        "test_images": 10000,
    }
    metrics = read_json(run / "metrics.json")
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 1
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
