"""The spec's fit to its data: pictures of any size and colour, any number of classes.

What the spec alone says (the MNIST family's 28x28 grey and class counts, ``data.classes``) is
checked with the graph; local data is counted from its files by ``validate`` (the classes at the
output layer's line), never decoding a picture and never importing TensorFlow.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import assert_user_error
from PIL import Image

from mnistctl.spec import load_spec

RGB_SPEC = """\
name: letters
data:
  path: {path}
model:
  layers:
    - {{type: Input, shape: [{h}, {w}, {c}]}}
    - {{type: Conv2D, filters: 4, kernel_size: 3, activation: relu}}
    - {{type: Flatten}}
    - {{type: Dense, name: out, units: {units}, activation: softmax}}
train: {{epochs: 1}}
"""


def _spec(folder: Path, *, path: str = "pics", h: int = 16, w: int = 16, c: int = 3,
          units: int = 3, extra: str = "") -> Path:  # fmt: skip
    spec = folder / "s.yaml"
    spec.write_text(RGB_SPEC.format(path=path, h=h, w=w, c=c, units=units) + extra)
    return spec


def _class_folders(root: Path, classes: dict[str, int], split: str = "train") -> Path:
    for name, n in classes.items():
        (root / split / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (20, 12), (i * 40 % 255, 90, 10)).save(
                root / split / name / f"{i}.png"
            )
    return root


def test_any_picture_shape_and_class_count_for_local_data(tmp_path: Path) -> None:
    _class_folders(tmp_path / "pics", {"a": 2, "b": 2, "c": 2})
    spec = load_spec(_spec(tmp_path), check_data=True)
    assert spec.info.input_shape == (16, 16, 3)
    assert spec.info.classes == 3


def test_output_units_must_equal_the_folders_classes_at_the_units_line(
    tmp_path: Path, cli: Any
) -> None:
    _class_folders(tmp_path / "pics", {"a": 1, "b": 1, "c": 1, "d": 1})
    spec = _spec(tmp_path, units=3)
    result = cli("validate", spec)
    line = assert_user_error(result, "does not fit 4 classes", "units: 4", lines=None)
    assert line.startswith(f"{spec}:9:")  # the output layer's line, at its units


def test_validate_counts_folders_without_decoding_or_tensorflow(tmp_path: Path) -> None:
    import subprocess

    root = _class_folders(tmp_path / "pics", {"a": 1, "b": 1})
    (root / "train" / "a" / "0.png").write_bytes(b"not a picture at all")  # never decoded
    spec = _spec(tmp_path, units=2)
    code = (
        "import sys; from mnistctl.spec import load_spec; "
        f"load_spec({str(spec)!r}, check_data=True); "
        "bad = [m for m in ('tensorflow', 'keras', 'PIL.PngImagePlugin') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out


def test_data_classes_fix_the_count_without_the_files(tmp_path: Path, cli: Any) -> None:
    spec = _spec(tmp_path, units=3, path="missing", h=28, w=28, c=1)
    text = spec.read_text().replace("  path: missing\n", "  path: missing\n  classes: [x, y]\n")
    spec.write_text(text)
    result = cli("validate", spec, "--set", "data.path=null")
    assert_user_error(result, "does not fit 2 classes", lines=None)


@pytest.mark.parametrize(
    ("shape", "ok"),
    [("[16, 16, 3]", True), ("[16, 16]", True), ("[256]", True), ("[16, 16, 2]", False),
     ("[255]", False), ("[2, 2, 1]", False), ("[2000, 16, 1]", False)],
)  # fmt: skip
def test_input_shapes_that_take_pictures(tmp_path: Path, cli: Any, shape: str, ok: bool) -> None:
    _class_folders(tmp_path / "pics", {"a": 1, "b": 1, "c": 1})
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "data: {path: pics}\nmodel:\n  layers:\n"
        f"    - {{type: Input, shape: {shape}}}\n"
        "    - {type: Flatten}\n"
        "    - {type: Dense, units: 3, activation: softmax}\n"
    )
    result = cli("validate", spec)
    if ok:
        assert result.exit_code == 0, result.stderr
    else:
        assert_user_error(result, "does not take pictures", lines=None)


def test_mnist_family_keeps_its_28x28_input(tmp_path: Path, cli: Any) -> None:
    spec = _spec(tmp_path, units=10, extra="")
    spec.write_text(spec.read_text().replace("  path: pics\n", "  dataset: mnist_sample\n"))
    result = cli("validate", spec)
    assert_user_error(result, "the input does not fit 28x28 images", lines=None)


def test_named_family_class_counts(tmp_path: Path, cli: Any) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "data: {dataset: emnist_letters, path: emnist}\nmodel:\n  layers:\n"
        "    - {type: Input, shape: [28, 28, 1]}\n    - {type: Flatten}\n"
        "    - {type: Dense, units: 10, activation: softmax}\n"
    )
    assert_user_error(cli("validate", spec, "--set", "data.path=null"), "26 classes", lines=None)


def test_kmnist_without_its_files_says_where_they_go(tmp_path: Path, cli: Any) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "data: {dataset: kmnist}\nmodel:\n  layers:\n"
        "    - {type: Input, shape: [28, 28, 1]}\n    - {type: Flatten}\n"
        "    - {type: Dense, units: 10, activation: softmax}\n"
    )
    assert_user_error(cli("validate", spec), "official files", "data.path", lines=None)


def test_npz_pictures_must_have_the_inputs_size(tmp_path: Path, cli: Any) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz",
        x_train=rng.integers(0, 255, (6, 12, 12), dtype=np.uint8),
        y_train=np.array([0, 1, 2, 0, 1, 2], np.uint8),
        x_test=rng.integers(0, 255, (3, 12, 12), dtype=np.uint8),
        y_test=np.array([0, 1, 2], np.uint8),
    )
    spec = _spec(tmp_path, path="d.npz", h=16, w=16, c=1, units=3)
    line = assert_user_error(cli("validate", spec), "does not fit the data's pictures", lines=None)
    assert ":6:" in line  # the Input's line
    assert cli("validate", spec, "--set", "model.layers.0.shape=[12, 12, 1]").exit_code == 0
