"""The Python API (``mnistctl/api.py``): the same results as the CLI, as data.

Each API result is compared whole with what the CLI gives for the same input: the error lines
of ``validate``, the ``--json`` documents of ``summary``, ``evaluate`` and ``predict``, the
run's own files. One small training (module fixture, through the API) serves the run tests;
data: the first 300 real training digits and 200 test digits, cut into a temporary folder.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, TINY_SPEC, cli, digit_png, make_npz, subprocess_env, write_spec

import mnistctl
from mnistctl.api.common import api_words
from mnistctl.errors import UserErrors

SPECS = ROOT / "specs"
INVALID = ROOT / "tests" / "specs" / "invalid"
HEAVY = ("tensorflow", "keras", "matplotlib", "PIL")


def cli_error_lines(stderr: str) -> list[str]:
    """The one-line messages of a failed command: its stderr without the spec excerpts (indented)
    and the "N problems found" count."""
    return [
        line
        for line in stderr.splitlines()
        if line and not line.startswith(" ") and not line.endswith(" problems found")
    ]


# --- import, specs, errors (no training) ------------------------------------------------------


def test_import_is_light_and_names_load_on_use() -> None:
    code = (
        "import sys, mnistctl\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "spec = mnistctl.load_spec('specs/cnn.yaml')\n"
        "text = str(spec.summary())\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "names = [n for n in mnistctl.__all__ if n != '__version__']\n"
        "print(sorted(n for n in names if n not in dir(mnistctl)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[]", "[]"]
    assert done.stderr == ""


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = mnistctl.nope  # type: ignore[attr-defined]


def test_the_one_error_type() -> None:
    assert mnistctl.Error is UserErrors is mnistctl.UserErrors


def test_load_spec_is_the_loaders_spec() -> None:
    from mnistctl.spec import load_spec

    path = SPECS / "cnn.yaml"
    overrides = ["train.epochs=2", "data.train_samples=300", "model.layers.hidden_1.units=64"]
    spec = mnistctl.load_spec(path, overrides=overrides)
    assert spec == load_spec(path, overrides)
    as_mapping = {"train.epochs": 2, "data.train_samples": 300, "model.layers.hidden_1.units": 64}
    assert mnistctl.load_spec(str(path), overrides=as_mapping) == spec
    assert (spec.train.epochs, spec.data.train_samples, spec.info.total) == (2, 300, 305_194)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("many_problems.yaml", []),  # six problems, with excerpts
        ("yaml_bad_indent.yaml", []),
        ("unknown_layer_argument.yaml", []),
        ("shape_conv_on_flat_input.yaml", []),
        ("../../../specs/cnn.yaml", ["train.epochs=0"]),  # a bad --set
        ("../../../specs/cnn.yaml", ["train.epoch=2"]),
        ("no_such_file.yaml", []),
    ],
)
def test_bad_spec_is_the_cli_error(name: str, overrides: list[str]) -> None:
    path = INVALID / name
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.load_spec(path, overrides=overrides)
    err = info.value
    sets = [arg for item in overrides for arg in ("--set", item)]
    result = cli("validate", path, *sets)
    assert result.exit_code == 1
    assert str(err) == "\n".join(cli_error_lines(result.stderr))
    assert err.lines == cli_error_lines(result.stderr)
    first = err.errors[0]
    assert (err.message, err.location, err.expected, err.received, err.hint) == (
        first.message,
        first.location,
        first.expected,
        first.received,
        first.hint,
    )
    assert err.location.file is not None


def test_error_fields_and_short_traceback() -> None:
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.load_spec(INVALID / "many_problems.yaml")
    err = info.value
    assert len(err.errors) == 6
    assert (err.location.file, err.location.line, err.location.col) == (
        str(INVALID / "many_problems.yaml"),
        10,
        28,
    )
    assert err.location.path == ("model", "layers", 1, "units")
    assert err.message == "units is too small"
    frames = traceback.extract_tb(info.tb)
    assert [Path(f.filename).name for f in frames] == ["test_api.py", "common.py"]


def test_one_problem_is_the_same_type(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.open_run(missing)
    assert [str(info.value)] == cli_error_lines(cli("evaluate", missing).stderr)
    assert str(info.value) == (
        f"{missing}: no such run directory; expected a run directory "
        "(runs/<name>/<timestamp>) or a spec file; received nothing there"
    )
    assert (info.value.location.file, info.value.message) == (str(missing), "no such run directory")


def test_summary_is_the_cli_summary() -> None:
    for name in ("cnn.yaml", "dnn.yaml", "skip_connection.yaml"):
        path = SPECS / name
        summary = mnistctl.load_spec(path).summary()
        assert summary.to_json() == json.loads(cli("summary", path, "--json").stdout)
        assert str(summary) == cli("summary", path).stdout
        assert repr(summary).startswith(f"<ModelSummary {path.stem!r}: ")


def test_summary_shows_itself_in_jupyter() -> None:
    """Rich's Jupyter hook: HTML and text, the same table."""
    summary = mnistctl.load_spec(SPECS / "dnn.yaml").summary()
    bundle = summary._repr_mimebundle_([], [])
    assert set(bundle) == {"text/html", "text/plain"}
    assert "hidden_4 (Dense)" in bundle["text/html"]
    assert "Total params: 400,906 (1.53 MB)" in bundle["text/html"]


@pytest.mark.parametrize("name", ["cnn.yaml", "dnn.yaml", "skip_connection.yaml"])
def test_build_is_the_summarys_model(name: str) -> None:
    spec = mnistctl.load_spec(SPECS / name)
    model = spec.build()
    layers = spec.summary().to_json()["layers"]
    assert model.name == spec.name
    assert not model.compiled
    assert [
        {
            "name": layer.name,
            "output_shape": list(layer.output.shape),
            "params": layer.count_params(),
        }
        for layer in model.layers
    ] == [{k: row[k] for k in ("name", "output_shape", "params")} for row in layers]
    assert [type(layer).__name__ for layer in model.layers[1:]] == [r["type"] for r in layers[1:]]
    assert model.count_params() == spec.info.total


def test_train_trains_the_spec_in_hand(tmp_path: Path) -> None:
    """A loaded spec is trained as it was loaded, even if its file changed since."""
    path = write_spec(tmp_path, TINY_SPEC.replace("epochs: 3", "epochs: 1"))
    data = make_npz(tmp_path / "small.npz", 120, 30)
    spec = mnistctl.load_spec(path)
    path.write_text(path.read_text().replace("units: 64", "units: 65"))
    run = mnistctl.train(spec, data=data, runs_dir=tmp_path / "runs")
    assert run.spec.info == spec.info
    assert [layer.params for layer in run.spec.info.layers][1] == 784 * 64 + 64


# --- a trained run ---------------------------------------------------------------------------


@dataclass
class Trained:
    run: mnistctl.Run
    data: Path
    runs: Path
    spec: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    work = tmp_path_factory.mktemp("api")
    data = make_npz(work / "small.npz", 300, 200)
    spec_path = write_spec(work)
    spec = mnistctl.load_spec(spec_path, overrides=["train.epochs=2"])
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.delenv("MNISTCTL_DATA", raising=False)
        run = mnistctl.train(spec, data=data, runs_dir=work / "runs")
    yield Trained(run, data, work / "runs", spec_path, out.getvalue(), err.getvalue())


@pytest.fixture
def no_env_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)


slow = pytest.mark.slow


@slow
def test_train_returns_the_run(trained: Trained) -> None:
    run = trained.run
    assert run.run_dir.parent == (trained.runs / "tiny").resolve()
    assert run.run_dir.is_absolute()
    assert (run.status, run.name, run.epochs_completed) == ("completed", "tiny", 2)
    assert run.training is not None and run.training.run_dir == run.run_dir
    assert repr(run) == f"Run({str(run.run_dir)!r})"
    # nothing on stdout; on stderr the CLI's progress (plain: not a terminal)
    assert trained.stdout == ""
    lines = trained.stderr.splitlines()
    assert lines[0] == "9 optimizer steps per epoch (270 images, batch 32); 2 epochs = 18 steps"
    lines = lines[1:]
    assert lines[0].startswith("precision: ")
    assert lines[1] == "training epoch 1/2, 9 batches per epoch"
    assert [line.split(":")[0] for line in lines[2:]] == ["epoch 1/2", "epoch 2/2"]


@slow
def test_history_is_the_runs_history_csv(trained: Trained) -> None:
    with open(trained.run.run_dir / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = {k: [float(row[k]) for row in rows] for k in rows[0] if k != "epoch"}
    assert trained.run.history == expected
    assert set(expected) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert trained.run.training is not None
    assert trained.run.training.history == expected


@slow
def test_record_values(trained: Trained) -> None:
    record = json.loads((trained.run.run_dir / "metrics.json").read_text())
    assert trained.run.metrics == record
    assert trained.run.test_accuracy == record["test"]["accuracy"]
    assert trained.run.test_loss == record["test"]["loss"]
    assert trained.run.spec == mnistctl.load_spec(trained.run.run_dir / "spec.yaml")


@slow
def test_evaluate_is_the_cli_evaluate(
    trained: Trained, no_env_data: None, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = trained.run.run_dir / "evaluation.json"
    saved.unlink(missing_ok=True)
    result = trained.run.evaluate(save=False)
    assert not saved.exists()
    again = trained.run.evaluate()
    assert capsys.readouterr() == ("", "")  # the API prints nothing
    assert json.loads(saved.read_text()) == again.to_json() == result.to_json()
    cli_result = cli("evaluate", trained.run.run_dir, "--json")
    assert cli_result.exit_code == 0, cli_result.stderr
    assert result.to_json() == json.loads(cli_result.stdout)
    assert result.accuracy == trained.run.test_accuracy
    assert result.loss == pytest.approx(trained.run.test_loss, rel=1e-6)
    assert np.asarray(result.confusion_matrix).shape == (10, 10)


@pytest.fixture(scope="module")
def pngs(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five real test digits as PNG files, the third one dark on light and enlarged."""
    folder = tmp_path_factory.mktemp("pngs")
    with np.load(trained.data) as npz:
        x = npz["x_test"][:5]
    return [
        digit_png(folder / f"digit{i}.png", x[i], invert=i == 2, scale=3 if i == 2 else 1)
        for i in range(5)
    ]


def cli_predict(run: mnistctl.Run, *images: Path) -> list[dict[str, object]]:
    result = cli("predict", run.run_dir, *images, "--json")
    assert result.exit_code == 0, result.stderr
    doc: list[dict[str, object]] = json.loads(result.stdout)
    return doc


@slow
def test_predict_paths_is_the_cli_predict(
    trained: Trained, pngs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    probs = trained.run.predict(pngs)
    one = trained.run.predict(str(pngs[0]))
    assert capsys.readouterr() == ("", "")
    assert isinstance(probs, np.ndarray) and probs.shape == (5, 10) and probs.dtype == np.float64
    doc = cli_predict(trained.run, *pngs)
    assert probs.tolist() == [row["probabilities"] for row in doc]
    assert probs.labels.tolist() == [row["label"] for row in doc]
    assert one.tolist() == [row["probabilities"] for row in cli_predict(trained.run, pngs[0])]


@slow
def test_predict_arrays_is_the_cli_predict(trained: Trained, pngs: list[Path]) -> None:
    """The digits as ``predict`` prepares them from the files, given as float arrays: the same
    probabilities; as a stack, a list, or with a channel axis."""
    from mnistctl.data.inputs import MNIST_TARGET, load_inputs

    digits = np.stack(load_inputs(pngs, MNIST_TARGET))
    doc = cli_predict(trained.run, *pngs)
    expected = np.array([row["probabilities"] for row in doc])
    np.testing.assert_allclose(trained.run.predict(digits), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(trained.run.predict(list(digits)), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        trained.run.predict(digits[..., np.newaxis]), expected, rtol=1e-6, atol=1e-9
    )
    mixed = trained.run.predict([pngs[0], digits[1], pngs[2]])
    np.testing.assert_allclose(mixed, expected[:3], rtol=1e-6, atol=1e-9)


@slow
def test_predict_uint8_arrays_scaled_as_training(trained: Trained, pngs: list[Path]) -> None:
    """MNIST's own uint8 digits are scaled as training scales them (x * 1/255)."""
    with np.load(trained.data) as npz:
        x = npz["x_test"][:5]
    probs = trained.run.predict(x)
    scaled = trained.run.predict(x.astype(np.float32) * np.float32(1 / 255))
    assert probs.tolist() == scaled.tolist()
    assert trained.run.predict(x[3]).shape == (1, 10)
    np.testing.assert_allclose(trained.run.predict(x[3])[0], probs[3], rtol=1e-5, atol=1e-7)
    # the files of the same digits, prepared as predict prepares any picture: the same reading
    assert probs.labels.tolist() == [row["label"] for row in cli_predict(trained.run, *pngs)]


@slow
@pytest.mark.parametrize(
    ("images", "line"),
    [
        (
            np.zeros((27, 28), np.uint8),
            "images: not a 28x28 image array; expected a 28x28 array or a stack of them "
            "(N x 28 x 28); received an array shaped (27, 28)",
        ),
        (
            [np.zeros((2, 28, 28), np.uint8)],
            "images[0]: not a 28x28 image array; expected a 28x28 array; received an array "
            "shaped (2, 28, 28)",
        ),
        (
            np.full((28, 28), 255.0),
            "images: pixel values out of range; expected floats 0-1 (or integers 0-255); "
            "received values from 255 to 255 (hint: divide 0-255 pixel values by 255)",
        ),
        (
            np.full((28, 28), -3, np.int64),
            "images: pixel values out of range; expected integers 0-255 (or floats 0-1); "
            "received values from -3 to -3",
        ),
        (
            np.full((28, 28), np.nan),
            "images: pixel values are not all finite numbers; expected floats 0-1; received NaN "
            "or infinity",
        ),
        (
            np.zeros((28, 28), bool),
            "images: not an image array; expected integers 0-255 or floats 0-1; received an "
            "array of bool",
        ),
        (
            [],
            "images: no images given; expected at least one image file or 28x28 array; "
            "received none",
        ),
        (
            [3],
            "images[0]: not an image; expected an image file path or a 28x28 array; received int",
        ),
    ],
)
def test_predict_bad_arrays(trained: Trained, images: object, line: str) -> None:
    with pytest.raises(mnistctl.Error) as info:
        trained.run.predict(images)  # type: ignore[arg-type]
    assert str(info.value) == line


@slow
def test_predict_bad_files_are_the_cli_errors(trained: Trained, tmp_path: Path) -> None:
    missing, text = tmp_path / "missing.png", tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(mnistctl.Error) as info:
        trained.run.predict([missing, text])
    result = cli("predict", trained.run.run_dir, missing, text)
    assert info.value.lines == cli_error_lines(result.stderr)
    assert len(info.value.errors) == 2
    with pytest.raises(mnistctl.Error) as mixed:
        trained.run.predict([missing, np.zeros((28, 28), np.uint8)])
    assert mixed.value.lines == cli_error_lines(result.stderr)[:1]


@slow
def test_open_run(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> None:
    run = trained.run
    assert mnistctl.open_run(run.run_dir) == run
    assert mnistctl.open_run(str(run.run_dir / "spec.yaml")) == run
    assert mnistctl.open_run(trained.spec, runs_dir=trained.runs) == run
    monkeypatch.chdir(trained.runs.parent)  # the default runs directory: runs/
    opened = mnistctl.open_run(trained.spec)
    assert opened == run and opened.training is None
    assert opened.history == run.history and opened.status == "completed"
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.open_run(trained.spec, runs_dir=trained.runs / "elsewhere")
    result = cli("evaluate", trained.spec, "--runs-dir", trained.runs / "elsewhere")
    assert info.value.lines == [api_words(line) for line in cli_error_lines(result.stderr)]


@slow
def test_resume_a_finished_run(trained: Trained) -> None:
    resumed = mnistctl.resume(trained.run)
    assert resumed == trained.run
    assert resumed.training is not None
    assert resumed.training.note == "already finished (2/2 epochs); nothing to do"


@slow
def test_plot_is_the_cli_plot(trained: Trained, capsys: pytest.CaptureFixture[str]) -> None:
    files = trained.run.plot()
    assert capsys.readouterr() == ("", "")
    plots = trained.run.run_dir / "plots"
    names = ["learning_curves", "confusion_matrix", "misclassified", "model", "pca"]
    assert files == [plots / f"{name}.png" for name in names]
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in files)
    result = cli("plot", trained.run.run_dir)
    assert result.stdout.split() == [str(f) for f in files]


@slow
def test_bad_data_is_the_cli_error(trained: Trained, tmp_path: Path, no_env_data: None) -> None:
    bad = tmp_path / "nothing.npz"
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.train(trained.spec, data=bad, runs_dir=tmp_path / "runs")
    result = cli("train", trained.spec, "--data", bad, "--runs-dir", tmp_path / "runs")
    assert info.value.lines == cli_error_lines(result.stderr)
    assert not (tmp_path / "runs").exists()


@slow
def test_training_leaves_the_keras_precision_policy(tmp_path: Path, trained: Trained) -> None:
    import keras

    before = keras.mixed_precision.global_policy().name
    spec = mnistctl.load_spec(
        trained.spec,
        overrides={
            "train.precision": "mixed_bfloat16",
            "train.epochs": 1,
            "data.train_samples": 64,
        },
    )
    with contextlib.redirect_stderr(io.StringIO()) as err:
        run = mnistctl.train(spec, data=trained.data, runs_dir=tmp_path / "runs")
    assert "precision: mixed_bfloat16" in err.getvalue()
    assert run.status == "completed"
    assert keras.mixed_precision.global_policy().name == before == "float32"
    assert spec.build().layers[1].dtype_policy.name == "float32"
