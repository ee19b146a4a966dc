"""``mnistctl export RUN --format saved_model|onnx|litert``: an exported model is checked in its
own runtime before it is put in place, and a bad one never is.

Three small runs trained once per module on real digits: a CNN (conv, pool, dense; every
format), the tiny DNN (through the Python API) and a CNN with augmentation, noise and dropout
trained in mixed_bfloat16 (exported float32, augmentation as identity). Each artifact is also
loaded here by its runtime directly, not through mnistctl, and compared with Keras.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    CONV_SPEC,
    TINY_SPEC,
    assert_user_error,
    cli,
    real_arrays,
    snapshot,
    trained_run,
)

import mnistctl
from mnistctl.ml import runtimes

pytestmark = pytest.mark.slow


# Every layer that must export as identity, trained in bfloat16.
AUG_SPEC = """\
name: augmented
data:
  dataset: mnist
  validation_split: 0
model:
  layers:
    - {type: Input, name: digits, shape: [28, 28, 1]}
    - {type: RandomRotation, factor: 0.1, fill_mode: constant}
    - {type: RandomTranslation, height_factor: 0.1, width_factor: 0.1, fill_mode: constant}
    - {type: GaussianNoise, stddev: 0.3}
    - {type: Conv2D, filters: 8, kernel_size: 3, activation: relu}
    - {type: BatchNormalization}
    - {type: MaxPooling2D, pool_size: 2}
    - {type: Flatten}
    - {type: Dropout, rate: 0.5}
    - {type: Dense, name: probabilities, units: 10, activation: softmax}
compile:
  loss: sparse_categorical_crossentropy
  optimizer: adam
  metrics: [accuracy]
train:
  batch_size: 32
  epochs: 1
  seed: 0
  precision: mixed_bfloat16
"""

ARTIFACTS = {"saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
CHECK = 200  # test images checked per export (of 300)


def train(tmp: Path, text: str, filename: str) -> Path:
    return trained_run(tmp, text, filename, n_train=300, n_test=300)


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("conv"), CONV_SPEC, "conv.yaml")


@pytest.fixture(scope="module")
def aug_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("aug"), AUG_SPEC, "augmented.yaml")


def scaled(n: int, shape: tuple[int, ...]) -> np.ndarray:
    x = real_arrays()["x_test"][:n].astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(x.reshape((n, *shape)))


def run_artifact(fmt: str, path: Path, x: np.ndarray) -> np.ndarray:
    """The artifact in its own runtime, used as its documentation shows (not mnistctl's)."""
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        given = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(given["index"], list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(given["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.asarray(loaded.serve(x))


def keras_predict(model_file: Path, x: np.ndarray) -> np.ndarray:
    import keras

    model = keras.saving.load_model(model_file, compile=False)
    return np.asarray(model.predict(x, verbose=0))


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") and ".tmp" in p.name]


def export(*args: Any) -> Any:
    return cli("export", *args)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["saved_model", "onnx", "litert"])
def test_each_format_round_trips_and_says_so(conv_run: Path, fmt: str) -> None:
    result = export(conv_run, "--format", fmt, "--check-samples", CHECK)
    assert result.exit_code == 0, result.stderr
    folder = conv_run / "export" / fmt
    artifact = folder / ARTIFACTS[fmt]
    for text in ("exported and checked", f"{CHECK}/{CHECK} same class", f"saved: {artifact}"):
        assert text in result.stdout, result.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(["export.json", artifact.name])
    assert leftovers(conv_run) == []

    doc = json.loads((folder / "export.json").read_text())
    assert doc["format"] == fmt and doc["artifact"] == str(artifact)
    assert doc["folder"] == str(folder) and doc["file"] == artifact.name
    size = (
        sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())
        if artifact.is_dir()
        else artifact.stat().st_size
    )
    assert doc["size_bytes"] == size > 10_000
    check = doc["check"]
    assert check["samples"] == CHECK and check["argmax_agree"] == CHECK
    assert check["argmax_agreement"] == 1.0 and check["disagreeing"] == []
    assert check["tolerance"] == 1e-4 and 0 <= check["max_abs_diff"] <= 1e-4
    assert check["passed"] is True and 0 <= check["accuracy"] <= 1
    assert check["data"]["sha256"]
    assert doc["checkpoint"]["name"] == "last" and doc["checkpoint"]["file"] == "model.keras"
    assert doc["precision"] == {"trained": "float32", "exported": "float32"}
    assert doc["input"]["shape"] == [None, 28, 28, 1] and doc["input"]["dtype"] == "float32"
    assert doc["output"]["shape"] == [None, 10] and doc["output"]["dtype"] == "float32"
    speed = doc["speed"]
    assert speed["latency_ms_per_image"] > 0 and speed["latency_calls"] == 50
    assert speed["throughput_images_per_s"] > 0 and speed["throughput_batch"] == CHECK
    assert all(doc["versions"][dist] for dist in runtimes.VERSIONED[fmt])

    # the artifact alone, in its runtime, answers as Keras does
    x = scaled(40, (28, 28, 1))
    got = run_artifact(fmt, artifact, x)
    want = keras_predict(conv_run / "model.keras", x)
    assert got.dtype == np.float32 and got.shape == (40, 10)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_the_dnn_through_the_python_api(tmp_path: Path) -> None:
    run = mnistctl.open_run(train(tmp_path, TINY_SPEC, "tiny.yaml"))
    result = run.export("litert", check_samples=100)
    assert result.check.passed and result.check.samples == 100
    assert result.input.shape == (None, 784) and result.output.shape == (None, 10)
    artifact = run.run_dir / "export" / "litert" / "model.tflite"
    assert result.artifact == artifact
    assert json.loads((artifact.parent / "export.json").read_text()) == json.loads(
        json.dumps(result.to_json())
    )
    x = scaled(30, (784,))
    np.testing.assert_allclose(
        run_artifact("litert", artifact, x), keras_predict(run.run_dir / "model.keras", x),
        atol=1e-4,
    )  # fmt: skip
    with pytest.raises(mnistctl.Error, match="check_samples"):
        run.export("onnx", check_samples=0)


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_augmentation_exports_as_identity_in_float32(aug_run: Path, fmt: str) -> None:
    result = export(aug_run, "--format", fmt, "--check-samples", CHECK, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["precision"] == {"trained": "mixed_bfloat16", "exported": "float32"}
    assert doc["input"]["dtype"] == doc["output"]["dtype"] == "float32"
    assert doc["check"]["passed"] and doc["check"]["max_abs_diff"] <= 1e-4
    artifact = Path(doc["artifact"])
    x = scaled(64, (28, 28, 1))
    twice = np.concatenate([x[:16], x[:16]])
    first, again = run_artifact(fmt, artifact, x), run_artifact(fmt, artifact, twice)
    assert first.dtype == np.float32
    # no random rotation, shift or noise left: the same digit, the same answer, every time
    np.testing.assert_array_equal(again[:16], again[16:])
    np.testing.assert_allclose(again[:16], first[:16], rtol=0, atol=1e-6)
    # the bfloat16 model Keras trained reads the digits the same way, to bfloat16 rounding
    trained = keras_predict(aug_run / "model.keras", x)
    assert np.abs(first - trained).max() < 0.01
    assert (first.argmax(axis=1) == trained.argmax(axis=1)).mean() >= 0.9


def test_best_checkpoint_goes_to_its_own_folder_and_json_is_one_document(conv_run: Path) -> None:
    result = export(conv_run, "--format", "onnx", "--checkpoint", "best", "--check-samples", 50,
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document, nothing else on stdout
    folder = conv_run / "export" / "onnx-best"
    assert doc["folder"] == str(folder) and doc["checkpoint"]["name"] == "best"
    assert doc["checkpoint"]["file"] == "best.keras" and doc["check"]["samples"] == 50
    assert json.loads((folder / "export.json").read_text()) == doc
    assert "Saved artifact" not in result.stdout + result.stderr


# --- failures ------------------------------------------------------------------------------------


def test_a_mismatch_is_exit_1_and_keeps_the_earlier_export(
    conv_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert (
        export(conv_run, "--format", "onnx", "--output", out, "--check-samples", 50).exit_code == 0
    )
    before = snapshot(out)

    real_run = runtimes.OnnxRuntime.run

    def swapped(self: runtimes.OnnxRuntime, images: np.ndarray) -> np.ndarray:
        probs = real_run(self, images)
        return np.ascontiguousarray(probs[:, ::-1])  # a converter that scrambled the classes

    monkeypatch.setattr(runtimes.OnnxRuntime, "run", swapped)
    result = export(conv_run, "--format", "onnx", "--output", out, "--check-samples", 50, "--json")
    line = assert_user_error(
        result, str(out), "does not match", "tolerance 0.0001", "classified differently"
    )
    assert "nothing was exported" in line
    assert snapshot(out) == before
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("fmt", "module", "dist"),
    [
        ("onnx", "onnxruntime", "onnxruntime"),
        ("litert", "ai_edge_litert.interpreter", "ai-edge-litert"),
    ],
)
def test_a_missing_runtime_names_the_pip_install(
    conv_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    module: str,
    dist: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    result = export(conv_run, "--format", fmt, "--output", tmp_path / "x")
    assert_user_error(result, f"'{dist}'", 'pip install "mnistctl[export]"')
    assert not (tmp_path / "x").exists()


def test_a_converter_that_raises_is_one_line(
    conv_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tf2onnx

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Tensorflow op Foo is not supported\nmore detail nobody needs")

    monkeypatch.setattr(tf2onnx.convert, "from_function", broken)
    result = export(conv_run, "--format", "onnx", "--output", tmp_path / "x", "--check-samples", 10)
    assert_user_error(result, "onnx converter failed", "Tensorflow op Foo is not supported")
    assert "more detail" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_not_an_export_is_refused(conv_run: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    folder = tmp_path / "photos"
    (folder / "keep.png").parent.mkdir()
    (folder / "keep.png").write_bytes(b"png")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    for target, fragment in (
        (a_file, "over a file"),
        (folder, "not an export"),
        (link, "symbolic link"),
    ):
        result = export(conv_run, "--format", "onnx", "--output", target)
        assert_user_error(result, str(target), fragment)
    assert a_file.read_text() == "mine" and (folder / "keep.png").read_bytes() == b"png"
    under_a_file = export(conv_run, "--format", "onnx", "--output", a_file / "sub", "--json")
    assert_user_error(under_a_file, "cannot make the export folder", f"{a_file} is a file")
    assert a_file.read_text() == "mine" and leftovers(tmp_path) == []


def test_files_a_user_added_to_an_export_survive_a_reexport(conv_run: Path, tmp_path: Path) -> None:
    """Issue 23 item 2: a re-export into a folder holding files export did not write is refused
    in one line naming them, and they are as they were (it used to delete them silently)."""
    run = tmp_path / "run"
    shutil.copytree(conv_run, run, ignore=shutil.ignore_patterns("export"))
    args = (run, "--format", "onnx", "--check-samples", 20)
    assert export(*args).exit_code == 0
    folder = run / "export" / "onnx"
    (folder / "notes.txt").write_text("mine")
    (folder / "mine").mkdir()
    (folder / "mine" / "deep.txt").write_text("mine too")
    before = snapshot(folder)
    line = assert_user_error(export(*args, "--json"), str(folder), "files export did not write")
    assert "received 2 entries export did not write: mine, notes.txt" in line
    assert snapshot(folder) == before and leftovers(run) == []
    shutil.rmtree(folder / "mine")
    (folder / "notes.txt").unlink()
    assert export(*args).exit_code == 0  # an export alone is replaced
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.onnx"]


def test_usage_errors_are_exit_2(conv_run: Path) -> None:
    for args in (
        ["--format", "tflite"],
        [],
        ["--format", "onnx", "--check-samples", "0"],
        ["--format", "onnx", "--check-samples", "-3"],
    ):
        result = export(conv_run, *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
    assert not (conv_run / "export" / "tflite").exists()


def test_a_run_that_is_not_there_or_has_no_model(conv_run: Path, tmp_path: Path) -> None:
    assert_user_error(export(tmp_path / "nope", "--format", "onnx"), "nope")
    copy = tmp_path / "copy"
    shutil.copytree(conv_run, copy, ignore=shutil.ignore_patterns("export"))
    (copy / "model.keras").unlink()
    assert_user_error(export(copy, "--format", "onnx"), "model.keras")
    assert not (copy / "export").exists()
