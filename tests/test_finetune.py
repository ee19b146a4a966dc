"""Fine-tuning (``model.init_from``): the spec's form, where a source run is refused, which layers
copy and which start fresh, and frozen layers (``trainable: false``) that stay as they were.

The fast tests need no TensorFlow (the spec, and the source checks that come before any model
is loaded: a missing, diverged or still-training run); the rest train small CNNs on 300 digits
of the bundled sample for one epoch."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import assert_user_error, cli, read_json, run_dirs

from mnistctl.errors import UserError, UserErrors
from mnistctl.ml import finetune
from mnistctl.runs import liveness
from mnistctl.runs.record import METRICS
from mnistctl.spec import load_spec
from mnistctl.spec.layers import LAYER_TYPES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOURCE = """\
name: source
data: {dataset: mnist_sample, train_samples: 300}
model:
  layers:
    - {type: Input, name: input_tensor, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv, filters: 8, kernel_size: 3, activation: relu}
    - {type: BatchNormalization, name: bn}
    - {type: MaxPooling2D, name: pool, pool_size: 2}
    - {type: Flatten, name: flat}
    - {type: Dense, name: hidden, units: 32, activation: relu}
    - {type: Dense, name: output_tensor, units: 10, activation: softmax}
train: {epochs: 1, batch_size: 32, seed: 0}
"""

INIT_LINE = 4  # the line of ``init_from:`` in ``_derived``'s specs


def _derived(init_from: str, *, name: str = "tuned", **edits: str) -> str:
    """SOURCE with ``model.init_from`` (line 4) and layer lines replaced (``edits``: old ->
    new text)."""
    text = SOURCE.replace("name: source", f"name: {name}").replace(
        "model:\n", f"model:\n  init_from: {init_from}\n"
    )
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _write(folder: Path, text: str, filename: str = "tuned.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(text, encoding="utf-8")
    return path


# --- the spec (fast) ----------------------------------------------------------------------------


def test_init_from_takes_a_run_or_a_run_and_its_checkpoint(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path / "specs", _derived("../runs/a/20260101T000000Z")))
    assert spec.init_from is not None
    assert spec.init_from.run == str((tmp_path / "runs/a/20260101T000000Z").resolve())
    assert spec.init_from.checkpoint is None
    assert spec.init_from.where.line == INIT_LINE  # errors about it point at its line
    assert spec.init_from.where.path == ("model", "init_from")

    spec = load_spec(_write(tmp_path, _derived("{run: /x/y, checkpoint: best}")))
    assert spec.init_from is not None
    assert (spec.init_from.run, spec.init_from.checkpoint) == ("/x/y", "best")
    assert load_spec(_write(tmp_path, _derived("null"))).init_from is None
    assert load_spec(_write(tmp_path, SOURCE)).init_from is None


def test_the_resolved_spec_names_the_run_by_its_absolute_path(tmp_path: Path) -> None:
    """A run's spec.yaml is read from its own folder later (evaluate, resume): a path
    relative to the original spec's folder would point elsewhere there."""
    spec = load_spec(_write(tmp_path / "specs", _derived("{run: ../r, checkpoint: last}")))
    resolved = spec.resolved_dict()
    target = str((tmp_path / "r").resolve())
    assert resolved["model"]["init_from"] == {"run": target, "checkpoint": "last"}
    elsewhere = _write(tmp_path / "deep" / "er", yaml.safe_dump(resolved), "spec.yaml")
    again = load_spec(elsewhere)
    assert again.init_from is not None and again.init_from.run == target


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("3", "wrong type for init_from"),
        ("'' ", "too short"),
        ("{run: x, step: 3}", "unknown key 'step'"),
        ("{checkpoint: best}", "missing required key 'run'"),
        ("{run: x, checkpoint: worst}", "unknown checkpoint"),
    ],
)
def test_a_bad_init_from_is_a_located_spec_error(tmp_path: Path, value: str, fragment: str) -> None:
    path = _write(tmp_path, _derived(value))
    with pytest.raises(UserErrors) as caught:
        load_spec(path)
    line = str(caught.value).splitlines()[0]
    assert line.startswith(f"{path}:{INIT_LINE}:"), line
    assert fragment in line, line


WEIGHTED = ("Dense", "Conv2D", "DepthwiseConv2D", "SeparableConv2D")
NORMALIZING = ("BatchNormalization", "LayerNormalization")


def test_every_layer_type_with_weights_takes_trainable(tmp_path: Path) -> None:
    for name in (*WEIGHTED, *NORMALIZING):
        assert "trainable" in {a.name for a in LAYER_TYPES[name].args}, name
    text = SOURCE.replace("name: bn}", "name: bn, trainable: false}").replace(
        "activation: relu}", "activation: relu, trainable: false}"
    )
    info = {layer.name: layer for layer in load_spec(_write(tmp_path, text)).info.layers}
    for frozen in ("conv", "bn", "hidden"):  # counted as Keras counts them: non-trainable
        assert info[frozen].trainable == 0 and info[frozen].non_trainable > 0, frozen
    assert info["output_tensor"].trainable == 32 * 10 + 10


# --- refusing the source run, before any model (fast) ------------------------------------------


def _fake_run(folder: Path, **record: Any) -> Path:
    """A run directory made by hand: a spec.yaml and the record ``record`` says."""
    run = folder / "runs" / "source" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text(SOURCE, encoding="utf-8")
    (run / METRICS).write_text(json.dumps({"format": 2, "epochs": 1, **record}), "utf-8")
    return run


def _refused(spec_path: Path, runs_dir: Path | None = None) -> UserError:
    with pytest.raises(UserError) as caught:
        finetune.prepare(load_spec(spec_path), runs_dir)
    err = caught.value
    assert err.location.file == str(spec_path) and err.location.line == INIT_LINE, err
    assert "\n" not in err.one_line()
    return err


def test_a_missing_run_is_refused_at_the_init_from_line(tmp_path: Path) -> None:
    err = _refused(_write(tmp_path, _derived("runs/nothing/here")))
    assert "no such run directory" in err.one_line()
    # a spec meaning its latest run, with no run yet
    _write(tmp_path, SOURCE, "source.yaml")
    err = _refused(_write(tmp_path, _derived("source.yaml")), tmp_path / "runs")
    assert "no runs of spec 'source' yet" in err.one_line()


def test_a_diverged_run_is_refused(tmp_path: Path) -> None:
    run = _fake_run(tmp_path, status="diverged", error="loss was not a finite number in epoch 1")
    err = _refused(_write(tmp_path, _derived(str(run))))
    assert "cannot start from a run that diverged" in err.one_line()
    assert "loss was not a finite number" in err.one_line()


def test_a_run_still_training_is_refused(tmp_path: Path) -> None:
    parent = os.getppid()  # alive, and not this process (no process started: a fast test)
    owner = liveness.Owner(
        parent, socket.gethostname(), liveness._boot_id(), liveness._start_ticks(parent)
    )
    run = _fake_run(tmp_path, status="training", owner=owner.to_json())
    err = _refused(_write(tmp_path, _derived(str(run))))
    assert "still training" in err.one_line() and f"process {parent}" in err.one_line()


# --- with trained runs (slow) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained source run (SOURCE: conv, batch norm, two dense layers); its directory."""
    base = tmp_path_factory.mktemp("finetune-source")
    spec = _write(base, SOURCE, "source.yaml")
    result = cli("train", spec, "--runs-dir", base / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["init_from"] is None
    return Path(doc["run_dir"])


def _weights(model: Any, name: str) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_layer(name).get_weights()]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_matching_layers_start_with_the_source_weights(source: Path, tmp_path: Path) -> None:
    from mnistctl.ml.builder import build_model
    from mnistctl.ml.modelfile import load_model

    text = _derived(str(source), **{"name: bn}": "name: norm}", "units: 32": "units: 16"})
    plan = finetune.prepare(load_spec(_write(tmp_path, text)), None)
    assert plan is not None
    assert plan.copied == ("conv",)
    assert plan.fresh == {
        "norm": "not in that model",
        "hidden": "kernel (1352, 32) there, (1352, 16) here",
        "output_tensor": "kernel (32, 10) there, (16, 10) here",
    }
    model = build_model(load_spec(_write(tmp_path, text)))
    plan.apply(model)
    theirs = load_model(source / "model.keras", compile=False)
    assert _same(_weights(model, "conv"), _weights(theirs, "conv"))
    assert not _same(_weights(model, "output_tensor")[:1], _weights(theirs, "output_tensor")[:1])


def test_layers_that_do_not_match_are_named_and_start_fresh(source: Path, tmp_path: Path) -> None:
    """By a spec path (its latest run in --runs-dir), relative to the spec's folder: one line
    names the fresh layers; the record, --json and the run's spec.yaml name the very run."""
    _write(tmp_path, SOURCE, "source.yaml")
    text = _derived("../source.yaml", **{"name: bn}": "name: norm}", "units: 32": "units: 16"})
    spec = _write(tmp_path / "specs", text)
    runs = tmp_path / "runs"
    shutil.copytree(source.parent, runs / "source")
    result = cli("train", spec, "--runs-dir", runs, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("init_from ")]
    assert len(lines) == 1, result.stderr
    copied_from = runs / "source" / source.name
    assert lines[0] == (
        f"init_from {copied_from} (model.keras, epoch 1): weights copied into 1 layer(s): conv; "
        "starting fresh: norm (not in that model), hidden (kernel (1352, 32) there, "
        "(1352, 16) here), output_tensor (kernel (32, 10) there, (16, 10) here)"
    )
    doc = json.loads(result.stdout)
    expected = {
        "run_dir": str(copied_from),
        "checkpoint": "last",
        "file": "model.keras",
        "epoch": 1,
        "copied": ["conv"],
        "fresh": ["norm", "hidden", "output_tensor"],
        "fresh_reasons": {
            "norm": "not in that model",
            "hidden": "kernel (1352, 32) there, (1352, 16) here",
            "output_tensor": "kernel (32, 10) there, (16, 10) here",
        },
    }
    assert doc["init_from"] == expected
    run = Path(doc["run_dir"])
    assert read_json(run / METRICS)["init_from"] == expected
    recorded = yaml.safe_load((run / "spec.yaml").read_text(encoding="utf-8"))
    assert recorded["model"]["init_from"] == {"run": str(copied_from), "checkpoint": "last"}
    again = load_spec(run / "spec.yaml")  # the run's spec stays valid wherever it is read
    assert again.init_from is not None and again.init_from.run == str(copied_from)


def test_frozen_layers_keep_their_weights_and_statistics(source: Path, tmp_path: Path) -> None:
    """``trainable: false``: the convolution's kernel and the batch norm's moving mean and
    variance stay the source's through training (Keras runs a frozen BatchNormalization in
    inference mode); the trainable layers move."""
    from mnistctl.ml.modelfile import load_model

    text = _derived(
        f"{{run: {source}, checkpoint: best}}",
        **{
            "activation: relu}\n    - {type: Batch": "activation: relu, trainable: false}\n"
            "    - {type: Batch",
            "name: bn}": "name: bn, trainable: false}",
        },
    )
    result = cli("train", _write(tmp_path, text), "--runs-dir", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["init_from"]["copied"] == ["conv", "bn", "hidden", "output_tensor"]
    assert doc["init_from"]["fresh"] == [] and doc["init_from"]["checkpoint"] == "best"
    assert "starting fresh" not in result.stderr
    tuned = load_model(Path(doc["run_dir"]) / "model.keras", compile=False)
    theirs = load_model(source / "best.keras", compile=False)
    assert not tuned.get_layer("conv").trainable and not tuned.get_layer("bn").trainable
    assert _same(_weights(tuned, "conv"), _weights(theirs, "conv"))
    bn = {w.path.rpartition("/")[2]: np.asarray(w) for w in tuned.get_layer("bn").weights}
    src = {w.path.rpartition("/")[2]: np.asarray(w) for w in theirs.get_layer("bn").weights}
    for key in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert np.array_equal(bn[key], src[key]), key
    assert not _same(_weights(tuned, "hidden"), _weights(theirs, "hidden"))


def _damage(case: str, run: Path) -> subprocess.Popen[bytes] | None:
    """Make the copied source run ``run`` bad as ``case`` says; a process to end, if any."""
    metrics = read_json(run / METRICS)
    if case == "model":
        with open(run / "model.keras", "ab") as fh:
            fh.write(b"\0")
    elif case == "record":
        (run / METRICS).write_text('{"status": "comp', encoding="utf-8")
    elif case == "diverged":
        metrics.update(status="diverged", error="loss was not a finite number in epoch 1")
        (run / METRICS).write_text(json.dumps(metrics), encoding="utf-8")
    elif case == "training":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        owner = liveness.Owner(
            child.pid, socket.gethostname(), liveness._boot_id(), liveness._start_ticks(child.pid)
        )
        metrics.update(status="training", owner=owner.to_json())
        (run / METRICS).write_text(json.dumps(metrics), encoding="utf-8")
        return child
    return None


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing", ["cannot start from", "no such run directory"]),
        ("model", ["model.keras: a file of the run has changed since the run wrote it"]),
        ("record", ["metrics.json: damaged json file"]),
        ("diverged", ["cannot start from a run that diverged"]),
        ("training", ["cannot start from a run that is still training", "is alive"]),
        ("unmatched", ["no layer of this model matches a layer of the run it starts from"]),
    ],
)
def test_a_bad_source_run_is_one_line_and_writes_nothing(
    source: Path, tmp_path: Path, case: str, fragments: list[str]
) -> None:
    run = tmp_path / "copy" / source.name
    shutil.copytree(source, run)
    child = _damage(case, run)
    edits = {}
    if case == "unmatched":
        edits = {f"name: {n}": f"name: {n}_2" for n in ("conv", "bn", "hidden", "output_tensor")}
    target = tmp_path / "nothing" if case == "missing" else run
    spec = _write(tmp_path, _derived(str(target), **edits))
    try:
        result = cli("train", spec, "--runs-dir", tmp_path / "runs")
    finally:
        if child is not None:
            child.kill()
            child.wait()
    line = assert_user_error(result, f"{spec}:{INIT_LINE}:", "model.init_from: ", *fragments)
    assert "Traceback" not in line
    assert run_dirs(tmp_path / "runs") == [], "a run directory was made"
