"""KMNIST and EMNIST read by name from their official files (made small, in their exact formats,
in tmp_path): KMNIST's ``arr_0`` NumPy files and class map, EMNIST's transposed IDX pictures,
1-based letter labels, mapping files and the ``gzip/`` layout of its ``gzip.zip``."""

from __future__ import annotations

import gzip
import string
from pathlib import Path

import numpy as np
import pytest
from test_data import expect_error, idx_bytes, write_idx_folder

from mnistctl.data import probe, sizes
from mnistctl.data.datasets import load_dataset
from mnistctl.data.mnist import CLASS_NAMES, KMNIST_CLASSES, class_names, known_classes

KMNIST_HIRAGANA = "おきすつなはまやれを"


def upright_pictures(n: int) -> np.ndarray:
    """Pictures of an 'L' (a bar down the left, a bar along the bottom) that differ from
    their transposes, each with its index in a corner."""
    x = np.zeros((n, 28, 28), dtype=np.uint8)
    x[:, 2:26, 3] = 255  # the stem, down the left
    x[:, 25, 3:20] = 200  # the foot, along the bottom
    x[:, 0, 27] = np.arange(n)  # top right
    return x


# --------------------------------------------------------------------------------------------
# KMNIST


def write_kmnist(folder: Path, n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "train-imgs": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test-imgs": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test-labels": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    for name, arr in arrays.items():
        np.savez_compressed(folder / f"kmnist-{name}.npz", arr)  # the key is arr_0
    return arrays


def classmap_text(order: str = KMNIST_HIRAGANA) -> str:
    rows = [f"{i},U+{ord(c):04X},{c}" for i, c in enumerate(order)]
    return "index,codepoint,char\n" + "\n".join(rows) + "\n"


def test_kmnist_from_its_npz_files(tmp_path: Path) -> None:
    arrays = write_kmnist(tmp_path / "k")
    ds = load_dataset("kmnist", tmp_path / "k")
    np.testing.assert_array_equal(ds.x_train, arrays["train-imgs"])
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels"])
    np.testing.assert_array_equal(ds.x_test, arrays["test-imgs"])
    np.testing.assert_array_equal(ds.y_test, arrays["test-labels"])
    assert (
        ds.classes == KMNIST_CLASSES == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
    )
    assert (ds.name, ds.source) == ("kmnist", str((tmp_path / "k").resolve()))
    assert ds.prepare == "mnist_style"
    assert (ds.sizes, ds.modes) == ({"28x28": 30}, {"L": 30})


def test_kmnist_classmap_gives_the_order(tmp_path: Path) -> None:
    write_kmnist(tmp_path / "k")
    (tmp_path / "k" / "kmnist_classmap.csv").write_text(classmap_text(), encoding="utf-8")
    assert load_dataset("kmnist", tmp_path / "k").classes == KMNIST_CLASSES
    swapped = KMNIST_HIRAGANA[1] + KMNIST_HIRAGANA[0] + KMNIST_HIRAGANA[2:]
    (tmp_path / "k" / "kmnist_classmap.csv").write_text(classmap_text(swapped), encoding="utf-8")
    assert load_dataset("kmnist", tmp_path / "k").classes[:3] == ("ki", "o", "su")
    assert probe.class_count("kmnist", tmp_path / "k", None) == 10


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("idx,code,char\n", ("kmnist_classmap.csv:1: the class map has the wrong header",)),
        ("index,codepoint,char\n0,U+304A\n", ("kmnist_classmap.csv:2: not a line",)),
        ("index,codepoint,char\n0,U+304A,き\n", ("kmnist_classmap.csv:2: not a line",)),
        (classmap_text()[:-12], ("does not list KMNIST's ten classes", "indexes 0..9")),
        (classmap_text() + "0,U+304A,お\n", ("kmnist_classmap.csv:12: class 0 is listed twice",)),
    ],
)
def test_kmnist_bad_classmap(tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    write_kmnist(tmp_path / "k")
    (tmp_path / "k" / "kmnist_classmap.csv").write_text(text, encoding="utf-8")
    expect_error(lambda: load_dataset("kmnist", tmp_path / "k"), *fragments)
    expect_error(lambda: probe.class_count("kmnist", tmp_path / "k", None), *fragments)


def test_kmnist_missing_file(tmp_path: Path) -> None:
    write_kmnist(tmp_path / "k")
    (tmp_path / "k" / "kmnist-test-labels.npz").unlink()
    for fn in (
        lambda: load_dataset("kmnist", tmp_path / "k"),
        lambda: probe.class_count("kmnist", tmp_path / "k", None),
    ):
        expect_error(
            fn,
            f"{tmp_path / 'k'}: missing KMNIST file: kmnist-test-labels.npz",
            "received files kmnist-test-imgs.npz, kmnist-train-imgs.npz",
            "github.com/rois-codh/kmnist",
        )


def test_kmnist_needs_its_folder(tmp_path: Path) -> None:
    err = expect_error(
        lambda: load_dataset("kmnist", None),
        "data.path: kmnist is read from its official files in a local folder",
        "rois-codh/kmnist",
    )
    assert err.location.path == ("data", "path")
    expect_error(lambda: load_dataset("emnist_letters", None), "emnist_letters is read", "gzip.zip")
    (tmp_path / "f").write_bytes(b"x")
    expect_error(lambda: load_dataset("kmnist", tmp_path / "f"), "not a folder")
    expect_error(lambda: load_dataset("kmnist", tmp_path / "nope"), "data folder not found")


def test_kmnist_npz_is_read_safely(tmp_path: Path) -> None:
    write_kmnist(tmp_path / "k")
    np.savez(tmp_path / "k" / "kmnist-train-labels.npz", np.array([1, "a", None], dtype=object))
    expect_error(
        lambda: load_dataset("kmnist", tmp_path / "k"),
        "kmnist-train-labels.npz: array 'arr_0' holds Python objects",
    )
    np.savez(tmp_path / "k" / "kmnist-train-labels.npz", labels=np.zeros(20, dtype=np.uint8))
    expect_error(
        lambda: load_dataset("kmnist", tmp_path / "k"),
        "kmnist-train-labels.npz: missing array: arr_0",
        "received arrays labels",
    )


def test_kmnist_idx_release(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    x = upright_pictures(12)
    y = (np.arange(12) % 10).astype(np.uint8)
    arrays = {"x_train": x, "y_train": y, "x_test": x[:4], "y_test": y[:4]}
    write_idx_folder(folder, arrays, gz=True)
    ds = load_dataset("kmnist", folder)
    np.testing.assert_array_equal(ds.x_train, x)  # KMNIST's IDX files are not transposed
    assert ds.classes == KMNIST_CLASSES
    assert sizes.train_size("kmnist", folder) == 12


# --------------------------------------------------------------------------------------------
# EMNIST


def write_emnist(
    folder: Path,
    split: str,
    labels: np.ndarray,
    *,
    gz: bool = True,
    mapping: str | None = None,
) -> np.ndarray:
    """The split's four IDX files, pictures stored transposed as EMNIST stores them; the
    upright pictures are returned."""
    folder.mkdir(parents=True, exist_ok=True)
    x = upright_pictures(len(labels))
    stored = x.transpose(0, 2, 1)
    for part, images, y in (("train", stored, labels), ("test", stored[:5], labels[:5])):
        for kind, arr in ((f"{part}-images-idx3-ubyte", images), (f"{part}-labels-idx1-ubyte", y)):
            data = idx_bytes(np.ascontiguousarray(arr))
            name = folder / f"emnist-{split}-{kind}"
            if gz:
                (folder / (name.name + ".gz")).write_bytes(gzip.compress(data))
            else:
                name.write_bytes(data)
    if mapping is not None:
        (folder / f"emnist-{split}-mapping.txt").write_text(mapping, encoding="ascii")
    return x


LETTERS_MAPPING = "".join(f"{i + 1} {65 + i} {97 + i}\n" for i in range(26))
BALANCED_CODES = [*range(48, 58), *range(65, 91), *(ord(c) for c in "abdefghnqrt")]
BALANCED_MAPPING = "".join(f"{i} {code}\n" for i, code in enumerate(BALANCED_CODES))


@pytest.mark.parametrize("mapping", [LETTERS_MAPPING, None], ids=["mapping", "built-in"])
def test_emnist_letters(tmp_path: Path, mapping: str | None) -> None:
    labels = (np.arange(30) % 26 + 1).astype(np.uint8)  # 1..26
    upright = write_emnist(tmp_path / "e", "letters", labels, mapping=mapping)
    ds = load_dataset("emnist_letters", tmp_path / "e")
    np.testing.assert_array_equal(ds.x_train, upright)  # transposed back
    assert ds.x_train[0, 10, 3] == 255 and ds.x_train[0, 3, 10] == 0  # the stem is upright
    assert ds.x_train.flags.c_contiguous and ds.x_train.ctypes.data % 64 == 0
    np.testing.assert_array_equal(ds.y_train, labels - 1)  # 0..25
    np.testing.assert_array_equal(ds.y_test, labels[:5] - 1)
    assert ds.classes == tuple(string.ascii_uppercase)
    assert ds.prepare == "mnist_style"
    assert probe.class_count("emnist_letters", tmp_path / "e", None) == 26
    assert probe.input_size("emnist_letters", tmp_path / "e") == (28, 28, 1)
    assert sizes.train_size("emnist_letters", tmp_path / "e") == 30


def test_emnist_letters_label_zero(tmp_path: Path) -> None:
    labels = (np.arange(30) % 26 + 1).astype(np.uint8)
    labels[7] = 0
    write_emnist(tmp_path / "e", "letters", labels)
    expect_error(
        lambda: load_dataset("emnist_letters", tmp_path / "e"),
        "emnist-letters-train-labels-idx1-ubyte.gz: label out of range in 'y_train'",
        "expected EMNIST letters labels 1..",
        "received 0 at index 7",
    )


def test_emnist_balanced_from_gzip_zip_layout(tmp_path: Path) -> None:
    labels = (np.arange(50) % 47).astype(np.uint8)
    write_emnist(tmp_path / "e" / "gzip", "balanced", labels, mapping=BALANCED_MAPPING)
    ds = load_dataset("emnist_balanced", tmp_path / "e")
    assert ds.classes == CLASS_NAMES["emnist_balanced"]
    assert len(ds.classes) == 47 and ds.classes[36:] == tuple("abdefghnqrt")
    np.testing.assert_array_equal(ds.y_train, labels)
    assert probe.class_count("emnist_balanced", tmp_path / "e", None) == 47
    assert sizes.train_size("emnist_balanced", tmp_path / "e") == 50


def test_emnist_digits_plain_files(tmp_path: Path) -> None:
    labels = (np.arange(20) % 10).astype(np.uint8)
    upright = write_emnist(tmp_path / "e", "digits", labels, gz=False)
    ds = load_dataset("emnist_digits", tmp_path / "e")
    np.testing.assert_array_equal(ds.x_test, upright[:5])
    assert ds.classes == tuple("0123456789")


def test_emnist_label_beyond_the_mapping(tmp_path: Path) -> None:
    labels = (np.arange(20) % 10).astype(np.uint8)
    labels[3] = 12
    write_emnist(tmp_path / "e", "digits", labels)
    expect_error(
        lambda: load_dataset("emnist_digits", tmp_path / "e"),
        "label 12 in 'y_train' has no class name",
        "expected labels 0..9 (10 class names)",
        "received 12 at index 3 of",
    )


def test_emnist_missing_file(tmp_path: Path) -> None:
    write_emnist(tmp_path / "e", "digits", (np.arange(20) % 10).astype(np.uint8))
    (tmp_path / "e" / "emnist-digits-test-labels-idx1-ubyte.gz").unlink()
    for fn in (
        lambda: load_dataset("emnist_digits", tmp_path / "e"),
        lambda: probe.class_count("emnist_digits", tmp_path / "e", None),
    ):
        expect_error(
            fn,
            f"{tmp_path / 'e'}: missing IDX file: emnist-digits-test-labels-idx1-ubyte",
            "emnist-digits-train-images-idx3-ubyte, emnist-digits-train-labels-idx1-ubyte",
            "gzip.zip",
        )
    expect_error(
        lambda: load_dataset("emnist_letters", tmp_path / "e"),
        "missing IDX files: emnist-letters-train-images-idx3-ubyte",
    )


@pytest.mark.parametrize(
    ("mapping", "fragments"),
    [
        ("0 48\n1 x\n", ("emnist-digits-mapping.txt:2: not a line of the mapping file",)),
        ("0 48\n1\n", ("mapping.txt:2: not a line",)),
        ("0 48\n0 49\n", ("mapping.txt:2: label 0 is mapped twice",)),
        ("0 48\n2 50\n", ("does not map labels 0..", "received labels 0, 2")),
        ("\n\n", ("does not map labels at all",)),
        ("", ("mapping.txt: mapping file is empty",)),
    ],
)
def test_emnist_bad_mapping(tmp_path: Path, mapping: str, fragments: tuple[str, ...]) -> None:
    write_emnist(tmp_path / "e", "digits", (np.arange(20) % 10).astype(np.uint8), mapping=mapping)
    expect_error(lambda: load_dataset("emnist_digits", tmp_path / "e"), *fragments)


def test_data_classes_rename_a_named_set(tmp_path: Path) -> None:
    from mnistctl.data.datasets import DataOptions

    write_emnist(tmp_path / "e", "digits", (np.arange(20) % 10).astype(np.uint8))
    names = tuple(f"d{i}" for i in range(10))
    ds = load_dataset("emnist_digits", tmp_path / "e", DataOptions(classes=names))
    assert ds.classes == names
    assert probe.class_count("emnist_digits", tmp_path / "e", names) == 10


def test_known_classes_and_names() -> None:
    assert [known_classes(d) for d in ("mnist", "fashion_mnist", "mnist_sample", "kmnist")] == [
        10
    ] * 4
    assert known_classes("emnist_letters") == 26
    assert known_classes("emnist_balanced") == 47
    assert known_classes("emnist_digits") == 10
    assert known_classes("cifar10") is None
    assert class_names("fashion_mnist")[0] == "T-shirt/top"
    assert class_names("fashion_mnist", 10)[9] == "Ankle boot"
    assert class_names("mnist", 3) == ("0", "1", "2")
    assert class_names("nothing") == tuple("0123456789")
    assert sizes.TRAIN_SIZES["kmnist"] == 60_000
    assert sizes.TRAIN_SIZES["emnist_letters"] == 124_800
    assert sizes.train_size("kmnist", None) is None  # cannot be loaded without its folder
