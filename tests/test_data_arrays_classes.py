"""Arrays of any number of classes and any picture size: ``.npz`` and IDX data with K classes,
one-hot labels, RGB pictures, ``data.classes``, the Input's channels (``fit_arrays``), and
``probe``: the class count and picture size told from labels and headers alone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import subprocess_env
from test_data import expect_error, write_idx_folder

from mnistctl.data import arrays, probe, sizes
from mnistctl.data.datasets import DataOptions, load_dataset, load_npz
from mnistctl.errors import Location

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Shape:  # what pictures.prepare.PictureShape gives fit_arrays
    height: int
    width: int
    channels: int


def npz(
    tmp_path: Path,
    k: int,
    *,
    shape: tuple[int, ...] = (28, 28),
    n_train: int = 12,
    n_test: int = 6,
    **changes: Any,
) -> Path:
    rng = np.random.default_rng(k)
    data: dict[str, Any] = {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": np.arange(n_train) % k,
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": np.arange(n_test)[::-1] % k,
        **changes,
    }
    path = tmp_path / f"d{k}.npz"
    np.savez(path, **data)
    return path


# --------------------------------------------------------------------------------------------
# any number of classes


def test_three_classes(tmp_path: Path) -> None:
    path = npz(tmp_path, 3)
    ds = load_dataset("mnist", path)
    assert ds.classes == ("0", "1", "2") and ds.num_classes == 3
    assert ds.y_train.dtype == np.uint8
    assert probe.class_count("mnist", path, None) == 3
    assert probe.input_size("mnist", path) == (28, 28, 1)


def test_three_hundred_classes(tmp_path: Path) -> None:
    path = npz(tmp_path, 300, n_train=600, n_test=300, shape=(8, 8))
    ds = load_npz(path)
    assert ds.num_classes == 300 and ds.classes[-1] == "299"
    assert ds.y_train.dtype == np.uint16 and ds.y_train.flags.c_contiguous
    np.testing.assert_array_equal(ds.y_train, np.arange(600) % 300)
    assert probe.class_count("mnist", path, None) == 300
    assert probe.input_size("mnist", path) == (8, 8, 1)


def test_labels_missing_from_train_count(tmp_path: Path) -> None:
    path = npz(tmp_path, 3, y_test=np.array([0, 1, 2, 3, 4, 1]))  # 3 and 4: test only
    assert load_npz(path).num_classes == 5
    assert probe.class_count("mnist", path, None) == 5


def test_one_class_only(tmp_path: Path) -> None:
    path = npz(tmp_path, 1)
    for fn in (lambda: load_npz(path), lambda: probe.class_count("mnist", path, None)):
        expect_error(fn, "the data has one class only", "received every label 0")


@pytest.mark.parametrize("width", [3, 5])
def test_one_hot_labels_of_any_width(tmp_path: Path, width: int) -> None:
    y = np.eye(width, dtype=np.float32)[np.arange(12) % 3]
    path = npz(tmp_path, 3, y_train=y)
    ds = load_npz(path)
    np.testing.assert_array_equal(ds.y_train, np.arange(12) % 3)
    assert ds.num_classes == width  # the last classes of a one-hot width may have no sample
    assert probe.class_count("mnist", path, None) == width


def test_labels_not_one_hot(tmp_path: Path) -> None:
    y = np.eye(3, dtype=np.float32)[np.arange(12) % 3]
    y[4] = [0.2, 0.8, 0.0]
    path = npz(tmp_path, 3, y_train=y)
    expect_error(
        lambda: load_npz(path),
        "labels 'y_train' are not one-hot",
        "received row 4: [0.2, 0.8, 0]",
    )


def test_labels_beyond_the_limit(tmp_path: Path) -> None:
    path = npz(tmp_path, 3, y_train=np.full(12, 1000))
    expect_error(lambda: load_npz(path), "label out of range in 'y_train'", "at most 1000 classes")


# --------------------------------------------------------------------------------------------
# data.classes


def test_classes_name_the_labels(tmp_path: Path) -> None:
    path = npz(tmp_path, 3)
    ds = load_dataset("mnist", path, DataOptions(classes=("cat", "dog", "owl")))
    assert ds.classes == ("cat", "dog", "owl")
    assert probe.class_count("mnist", path, ("cat", "dog", "owl")) == 3
    more = ("cat", "dog", "owl", "bat")  # a class without samples is allowed
    assert load_dataset("mnist", path, DataOptions(classes=more)).num_classes == 4


def test_classes_too_few(tmp_path: Path) -> None:
    path = npz(tmp_path, 3)
    for fn in (
        lambda: load_dataset("mnist", path, DataOptions(classes=("cat", "dog"))),
        lambda: probe.class_count("mnist", path, ("cat", "dog")),
    ):
        err = expect_error(
            fn,
            "data.classes: label 2 in 'y_train' has no class name",
            "expected labels 0..1 (2 class names)",
            "received 2 at index 2 of",
        )
        assert err.location.path == ("data", "classes")


@pytest.mark.parametrize(
    ("classes", "fragment"),
    [
        (("cat",), "data.classes: 1 class name; expected 2..1000 class names"),
        (("cat", "dog", "cat"), "data.classes: class 'cat' is named twice"),
        (("cat", " ", "owl"), "data.classes: a blank class name"),
    ],
)
def test_classes_bad_names(tmp_path: Path, classes: tuple[str, ...], fragment: str) -> None:
    path = npz(tmp_path, 3)
    expect_error(lambda: load_dataset("mnist", path, DataOptions(classes=classes)), fragment)


def test_fashion_names_for_ten_classes(tmp_path: Path) -> None:
    ten, three = npz(tmp_path, 10), npz(tmp_path, 3)
    assert load_dataset("fashion_mnist", ten).classes[0] == "T-shirt/top"
    assert load_dataset("mnist", ten).classes[0] == "0"
    assert load_dataset("fashion_mnist", three).classes == ("0", "1", "2")


# --------------------------------------------------------------------------------------------
# picture sizes and channels


@pytest.mark.parametrize(
    ("shape", "x_shape", "mode"),
    [((32, 32, 3), (32, 32, 3), "RGB"), ((20, 24, 1), (20, 24), "L"), ((4, 1024), (4, 1024), "L")],
)
def test_any_picture_size(
    tmp_path: Path, shape: tuple[int, ...], x_shape: tuple[int, ...], mode: str
) -> None:
    path = npz(tmp_path, 3, shape=shape)
    ds = load_npz(path)
    assert ds.x_train.shape == (12, *x_shape) and ds.x_test.shape == (6, *x_shape)
    assert ds.x_train.ctypes.data % arrays.ALIGNMENT == 0
    assert ds.sizes == {f"{x_shape[1]}x{x_shape[0]}": 18}
    assert ds.modes == {mode: 18}
    c = x_shape[2] if len(x_shape) == 3 else 1
    assert probe.input_size("mnist", path) == (x_shape[0], x_shape[1], c)


def test_prepare_by_source(tmp_path: Path) -> None:
    assert load_dataset("mnist", npz(tmp_path, 3)).prepare == "mnist_style"
    rgb = npz(tmp_path, 4, shape=(32, 32, 3))
    assert load_dataset("mnist", rgb).prepare == "resize"
    got = load_dataset("mnist", rgb, DataOptions(prepare="mnist_style"))
    assert got.prepare == "mnist_style"


def test_train_and_test_pictures_differ(tmp_path: Path) -> None:
    path = npz(tmp_path, 3, x_test=np.zeros((6, 30, 30), dtype=np.uint8))
    expect_error(
        lambda: load_npz(path),
        "the test pictures are not shaped as the training pictures",
        "expected pictures 28x28 grey, as in 'x_train'",
        "received pictures 30x30 grey",
    )


def test_float_rgb_pictures(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 12 * 8 * 8 * 3, dtype=np.float32).reshape(12, 8, 8, 3)
    ds = load_npz(npz(tmp_path, 3, x_train=x, x_test=x[:6]))
    np.testing.assert_array_equal(ds.x_train, np.rint(x * 255).astype(np.uint8))


def test_fit_arrays_channels() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 6, 7), dtype=np.uint8)
    assert arrays.fit_arrays(grey, Shape(6, 7, 1)) is grey
    rgb = arrays.fit_arrays(grey, Shape(6, 7, 3))
    assert rgb.shape == (5, 6, 7, 3) and rgb.ctypes.data % arrays.ALIGNMENT == 0
    np.testing.assert_array_equal(rgb[..., 1], grey)
    np.testing.assert_array_equal(arrays.fit_arrays(rgb, Shape(6, 7, 1)), grey)
    expect_error(
        lambda: arrays.fit_arrays(grey, Shape(28, 28, 1), Location(file="d.npz")),
        "d.npz: the Input does not fit the data's pictures",
        "expected pictures of 28x28 (the Input's shape)",
        "received 6x7 pictures",
        "set the Input's shape to [6, 7, 1]",
    )


def test_rgb_to_grey_as_pillow() -> None:
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    grey = arrays.fit_arrays(rgb, Shape(16, 16, 1))
    want = np.stack([np.asarray(image.fromarray(p, "RGB").convert("L")) for p in rgb])
    np.testing.assert_array_equal(grey, want)


def test_load_fits_the_input(tmp_path: Path) -> None:
    path = npz(tmp_path, 3)
    plain = load_npz(path)
    ds = load_dataset("mnist", path, DataOptions(shape=Shape(28, 28, 3)))  # type: ignore[arg-type]
    assert ds.x_train.shape == (12, 28, 28, 3)
    assert ds.sha256 == plain.sha256  # the data's checksum, whatever the Input
    same = load_dataset("mnist", path, DataOptions(shape=Shape(28, 28, 1)))  # type: ignore[arg-type]
    assert same.x_train.shape == (12, 28, 28)
    expect_error(
        lambda: load_dataset("mnist", path, DataOptions(shape=Shape(32, 32, 1))),  # type: ignore[arg-type]
        "the Input does not fit the data's pictures",
    )


# --------------------------------------------------------------------------------------------
# IDX folders and probe


def test_idx_folder_of_any_classes(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    x = np.zeros((20, 16, 12), dtype=np.uint8)
    y = (np.arange(20) % 5).astype(np.uint8)
    arrays = {"x_train": x, "y_train": y, "x_test": x[:4], "y_test": y[:4]}
    write_idx_folder(folder, arrays, gz=True)
    ds = load_dataset("mnist", folder)
    assert ds.num_classes == 5 and ds.x_train.shape == (20, 16, 12)
    assert probe.class_count("mnist", folder, None) == 5
    assert probe.input_size("mnist", folder) == (16, 12, 1)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    expect_error(
        lambda: probe.class_count("mnist", folder, None),
        "missing IDX file: t10k-labels-idx1-ubyte",
    )


def test_probe_named_and_bad(tmp_path: Path) -> None:
    assert probe.class_count("mnist", None, None) == 10
    assert probe.class_count("mnist_sample", None, tuple("abcdefghij")) == 10
    assert probe.class_count("mnist", None, tuple("abcdefghijkl")) == 12
    expect_error(
        lambda: probe.class_count("mnist_sample", None, ("a", "b")),
        "data.classes: mnist_sample has 10 classes, data.classes names 2",
    )
    assert probe.input_size("fashion_mnist", None) == (28, 28, 1)
    expect_error(lambda: probe.class_count("cifar10", None, None), "unknown data set")
    expect_error(lambda: probe.input_size("mnist", tmp_path / "nope.npz"), "data not found")
    bad = npz(tmp_path, 3, x_train=np.zeros((12, 28), dtype=np.uint8))
    expect_error(lambda: probe.input_size("mnist", bad), "images 'x_train' have the wrong shape")
    no_y = tmp_path / "no_y.npz"
    np.savez(no_y, x_train=np.zeros((2, 28, 28)), x_test=np.zeros((2, 28, 28)))
    expect_error(lambda: probe.class_count("mnist", no_y, None), "missing arrays: y_train, y_test")


def test_probe_needs_neither_tensorflow_nor_pillow(tmp_path: Path) -> None:
    path = npz(tmp_path, 3, shape=(32, 32, 3))
    code = (
        "import sys, json\n"
        "from mnistctl.data import probe, sizes\n"
        f"p = {str(path)!r}\n"
        "got = [probe.class_count('mnist', p, None), probe.input_size('mnist', p),"
        " sizes.train_size('mnist', p)]\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'PIL') if m in sys.modules]\n"
        "print(json.dumps([got, heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert json.loads(out) == [[3, [32, 32, 3], 12], []]
    assert sizes.train_size("mnist", path) == 12


# --------------------------------------------------------------------------------------------
# class folders and CSV files: load_dataset hands them to pictures/, probe and sizes count them


def write_pictures(root: Path, splits: dict[str, int]) -> None:
    image = pytest.importorskip("PIL.Image")
    for split, n in splits.items():
        for c, name in enumerate(("cat", "dog", "owl")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.full((10, 12, 3), (40 * i, 80 * c, 200), dtype=np.uint8)
                pixels[3:7, 4 + i : 8 + i] = 255  # some ink, for mnist_style
                image.fromarray(pixels, "RGB").save(folder / f"{i}.png")


def test_class_folders_become_a_dataset(tmp_path: Path) -> None:
    from mnistctl.data.pictures.prepare import PictureShape

    root = tmp_path / "pets"
    write_pictures(root, {"train": 4, "test": 2})
    (root / "train" / "cat" / "broken.png").write_bytes(b"not a picture")
    ds = load_dataset("mnist", root, DataOptions(shape=PictureShape(8, 8, 3), seed=3))
    assert (ds.name, ds.source) == ("pets", str(root))
    assert ds.classes == ("cat", "dog", "owl")
    assert ds.x_train.shape == (12, 8, 8, 3) and ds.x_test.shape == (6, 8, 8, 3)
    np.testing.assert_array_equal(ds.y_train, np.repeat([0, 1, 2], 4))
    assert [b.file for b in ds.bad] == [str(root / "train" / "cat" / "broken.png")]
    assert (ds.sizes, ds.modes, ds.prepare) == ({"12x10": 18}, {"RGB": 18}, "resize")
    assert ds.x_train.ctypes.data % arrays.ALIGNMENT == 0
    names = ("owl", "dog", "cat")
    again = load_dataset("mnist", root, DataOptions(classes=names, prepare="mnist_style"))
    assert again.classes == names and again.prepare == "mnist_style"
    assert probe.class_count("mnist", root, None) == 3
    assert probe.input_size("mnist", root) is None  # pictures are made to the Input
    assert sizes.train_size("mnist", root) == 13  # files counted, not opened


def test_csv_of_pictures(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    write_pictures(root, {"train": 5})
    rows = [f"pets/train/{c}/{i}.png,{c}" for c in ("cat", "dog", "owl") for i in range(5)]
    (tmp_path / "pets.csv").write_text("image,label\n" + "\n".join(rows) + "\n")
    ds = load_dataset("mnist", tmp_path / "pets.csv", DataOptions(test_split=0.4))
    assert ds.name == "pets.csv" and ds.classes == ("cat", "dog", "owl")
    assert (len(ds.x_train), len(ds.x_test)) == (9, 6)
    assert probe.class_count("mnist", tmp_path / "pets.csv", None) == 3
    assert sizes.train_size("mnist", tmp_path / "pets.csv", 0.4) == 9
    assert sizes.train_size("mnist", tmp_path / "pets.csv") == 12  # 0.2 held out by default
