"""Training on your own pictures, end to end: class folders and a CSV, RGB, three classes; the
class names through the run, evaluate, predict, the API and serving's preparation."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import COLOURS, colour_picture, colour_spec
from PIL import Image

pytestmark = pytest.mark.slow  # every test here trains, or reads a run trained here


def _picture(path: Path, colour: tuple[int, int, int], i: int) -> Path:
    size = (12, 12) if i % 3 else (20, 16)  # mixed sizes: made to the Input when read
    return colour_picture(path, colour, i, size)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("colours")
    for split, n in (("train", 16), ("test", 4)):
        for name, colour in COLOURS.items():
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                _picture(root / split / name / f"{i:02d}.png", colour, i)
    return root


@pytest.fixture(scope="module")
def colour_run(folders: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import cli

    work = tmp_path_factory.mktemp("colour-run")
    (folders / "train" / "red" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    spec = work / "colours.yaml"
    spec.write_text(colour_spec(folders, epochs=4))
    result = cli("train", spec, "--runs-dir", work / "runs", "--json")
    (folders / "train" / "red" / "zz_broken.png").unlink()
    assert result.exit_code == 0, result.stderr
    assert "zz_broken.png" in result.stderr and "left out" in result.stderr  # one line, before
    return Path(json.loads(result.stdout)["run_dir"])


def test_the_run_records_its_classes_and_preparation(colour_run: Path) -> None:
    spec = yaml.safe_load((colour_run / "spec.yaml").read_text())
    assert spec["data"]["classes"] == ["blue", "green", "red"]  # folder names, sorted
    assert spec["data"]["prepare"] == "resize"


def test_evaluate_names_each_class(colour_run: Path, cli: Any) -> None:
    result = cli("evaluate", colour_run, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [row["class"] for row in doc["per_class"]] == ["blue", "green", "red"]
    assert [row["label"] for row in doc["per_class"]] == [0, 1, 2]
    assert len(doc["confusion_matrix"]) == 3
    assert doc["accuracy"] > 0.9  # three plain colours: easy
    table = cli("evaluate", colour_run).stdout
    assert "0 blue" in table and "2 red" in table


def test_predict_reads_any_picture_as_training_did(
    colour_run: Path, folders: Path, tmp_path: Path, cli: Any
) -> None:
    big = tmp_path / "big_green.jpg"
    Image.new("RGB", (300, 200), COLOURS["green"]).save(big)  # another size and format
    grey = tmp_path / "grey.png"
    Image.new("L", (12, 12), 128).save(grey)
    result = cli("predict", colour_run, big, folders / "test" / "red" / "00.png", grey, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["class"] for r in rows[:2]] == ["green", "red"]
    assert all(len(r["probabilities"]) == 3 for r in rows)
    assert rows[0]["label"] == 1


def test_the_api_predicts_with_the_runs_classes(colour_run: Path, folders: Path) -> None:
    import mnistctl

    run = mnistctl.open_run(colour_run)
    assert run.classes == ("blue", "green", "red")
    probs = run.predict([folders / "test" / "blue" / "01.png"])
    assert probs.shape == (1, 3)
    assert probs.labels.tolist() == [0]
    assert run.evaluate(save=False).per_class[2]["class"] == "red"


def test_serving_prepares_to_the_runs_input(colour_run: Path, folders: Path) -> None:
    from mnistctl.runs import layout
    from mnistctl.runs.record import RunRecord
    from mnistctl.serve.worker import preparation

    spec = layout.load_run_spec(colour_run, RunRecord.load(colour_run))
    prepare = preparation(10**6, "request", spec.target)
    raw = prepare((folders / "test" / "green" / "02.png").read_bytes())
    x = np.frombuffer(raw, np.float32).reshape(12, 12, 3)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x[..., 1].mean()) > float(x[..., 0].mean())  # green


def test_a_csv_with_numbered_labels_and_a_split(folders: Path, tmp_path: Path, cli: Any) -> None:
    rows = [
        {"image": str(p.relative_to(folders)), "label": str(k), "split": split}
        for split in ("train", "test")
        for k, name in enumerate(COLOURS)
        for p in sorted((folders / split / name).glob("*.png"))
        if not (split == "test" and name == "red")  # a class only in train: allowed, said
    ]
    table = folders / "colours.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    spec = tmp_path / "csv.yaml"
    spec.write_text(colour_spec(table, epochs=1))
    result = cli("train", spec, "--runs-dir", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    assert "warning: no test pictures of class '2'" in result.stderr
    run = Path(json.loads(result.stdout)["run_dir"])
    recorded = yaml.safe_load((run / "spec.yaml").read_text())["data"]["classes"]
    assert recorded == ["0", "1", "2"]
