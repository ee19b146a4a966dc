"""``mnistctl data SOURCE``: classes and counts, sizes and modes, bad files, a preview grid;
without TensorFlow, for class folders, CSVs, arrays and the bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from helpers import assert_user_error
from PIL import Image

PNG = b"\x89PNG\r\n\x1a\n"


def _folders(root: Path) -> Path:
    for split, n in (("train", 3), ("test", 1)):
        for k, name in enumerate(("cat", "dog")):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                size = (12, 12) if i else (20, 10)  # mixed sizes are normal input
                mode = "RGB" if k else "L"
                Image.new(mode, size, 60 + 50 * i).save(root / split / name / f"{i}.png")
    return root


def test_counts_sizes_modes_preview_and_json(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = _folders(tmp_path / "pets")
    (root / "train" / "dog" / "broken.png").write_bytes(PNG + b"nothing after the signature")
    monkeypatch.chdir(tmp_path)
    result = cli("data", root, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["classes"] == [
        {"class": "cat", "label": 0, "train": 3, "test": 1},
        {"class": "dog", "label": 1, "train": 3, "test": 1},
    ]
    assert (doc["train"], doc["test"]) == (6, 2)
    assert doc["shapes"]["sizes"] == {"12x12": 4, "20x10": 4}
    assert doc["shapes"]["modes"] == {"L": 4, "RGB": 4}
    assert [Path(b["file"]).name for b in doc["bad"]] == ["broken.png"]
    assert "broken.png" in result.stderr  # one line each, on stderr too
    preview = Path(doc["preview"])
    assert preview == Path("pets-preview.png")
    assert (tmp_path / preview).read_bytes().startswith(PNG)
    with Image.open(tmp_path / preview) as img:
        assert img.width >= 2 * 56 and img.height >= 2 * 56  # pictures at least 56 px across


def test_terminal_table_and_output_option(tmp_path: Path, cli: Any) -> None:
    root = _folders(tmp_path / "pets")
    out = tmp_path / "look" / "grid.png"
    result = cli("data", root, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert "cat" in result.stdout and "dog" in result.stdout
    assert "sizes found: 12x12 (4), 20x10 (4)" in result.stdout
    assert out.read_bytes().startswith(PNG)


def test_an_existing_file_that_is_not_a_png_is_never_replaced(tmp_path: Path, cli: Any) -> None:
    root = _folders(tmp_path / "pets")
    mine = tmp_path / "notes.png"
    mine.write_text("my notes")
    assert_user_error(cli("data", root, "--output", mine), "not a png", lines=None)
    assert mine.read_text() == "my notes"


def test_the_bundled_sample_by_name_shows_the_digits(tmp_path: Path, cli: Any) -> None:
    result = cli("data", "mnist_sample", "--json", "--output", tmp_path / "digits.png")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [c["class"] for c in doc["classes"]] == [str(d) for d in range(10)]
    assert (doc["train"], doc["test"]) == (5000, 10000)
    assert doc["shapes"]["prepared"] == [28, 28]
    assert (tmp_path / "digits.png").exists()


def test_a_spec_as_source_makes_pictures_to_its_input(tmp_path: Path, cli: Any) -> None:
    _folders(tmp_path / "pets")
    spec = tmp_path / "pets.yaml"
    spec.write_text(
        "data: {path: pets}\nmodel:\n  layers:\n    - {type: Input, shape: [8, 8, 3]}\n"
        "    - {type: Flatten}\n    - {type: Dense, units: 2, activation: softmax}\n"
    )
    result = cli("data", spec, "--json", "--no-preview")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["shapes"]["prepared"] == [8, 8, 3]
    assert doc["preview"] is None


def test_npz_with_three_classes(tmp_path: Path, cli: Any) -> None:
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "three.npz",
        x_train=rng.integers(0, 256, (9, 16, 16), dtype=np.uint8),
        y_train=np.arange(9, dtype=np.uint8) % 3,
        x_test=rng.integers(0, 256, (3, 16, 16), dtype=np.uint8),
        y_test=np.arange(3, dtype=np.uint8),
    )
    result = cli("data", tmp_path / "three.npz", "--json", "--no-preview")
    assert result.exit_code == 0, result.stderr
    assert [c["train"] for c in json.loads(result.stdout)["classes"]] == [3, 3, 3]


def test_missing_source_and_a_folder_without_classes(tmp_path: Path, cli: Any) -> None:
    assert_user_error(cli("data", tmp_path / "nothing"), "data not found", lines=None)
    (tmp_path / "empty" / "train").mkdir(parents=True)
    result = cli("data", tmp_path / "empty", "--no-preview")
    assert result.exit_code == 1 and "Traceback" not in result.stderr


def test_no_tensorflow_and_the_second_look_is_cached(tmp_path: Path) -> None:
    root = _folders(tmp_path / "pets")
    code = (
        "import sys, json\n"
        "from mnistctl.commands.data import describe_data\n"
        f"r = describe_data({str(root)!r}, preview=False)\n"
        "print(json.dumps([r.cached, 'tensorflow' in sys.modules, 'keras' in sys.modules]))\n"
    )
    env_run = [sys.executable, "-c", code]
    first = subprocess.run(env_run, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout) == [False, False, False]
    second = subprocess.run(env_run, capture_output=True, text=True, check=True)
    assert json.loads(second.stdout) == [True, False, False]
    (root / "train" / "cat" / "0.png").touch()  # a changed file is noticed
    third = subprocess.run(env_run, capture_output=True, text=True, check=True)
    assert json.loads(third.stdout) == [False, False, False]


def test_a_spec_whose_model_does_not_fit_yet_still_shows_its_data(tmp_path: Path, cli: Any) -> None:
    _folders(tmp_path / "pets")
    spec = tmp_path / "pets.yaml"
    spec.write_text(
        "data: {path: pets}\nmodel:\n  layers:\n    - {type: Input, shape: [8, 8, 1]}\n"
        "    - {type: Flatten}\n    - {type: Dense, units: 5, activation: softmax}\n"
    )
    assert cli("validate", spec).exit_code == 1  # 5 units for 2 classes: validate says so
    result = cli("data", spec, "--json", "--no-preview")  # the data is still there to look at
    assert result.exit_code == 0, result.stderr
    assert [c["class"] for c in json.loads(result.stdout)["classes"]] == ["cat", "dog"]
