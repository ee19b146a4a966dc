"""Start-up: the phase marks ``bench/startup.py`` reads, the garbage collector held off while
TensorFlow imports, and the start-up cuts that must not change what training computes.

No timings are asserted (those are the bench's); these check behaviour."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnistctl import phases, startup
from tests.helpers import MNISTCTL, TINY_SPEC, make_npz, subprocess_env, write_spec


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_marks_are_written_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "phases.jsonl"
    monkeypatch.delenv(phases.ENV, raising=False)
    phases.mark("nothing")
    assert not phases.enabled() and not out.exists()
    monkeypatch.setenv(phases.ENV, str(out))
    phases.mark("one")
    phases.mark("two")
    marks = _read(out)
    assert [m["phase"] for m in marks] == ["one", "two"]
    assert all(m["pid"] == __import__("os").getpid() for m in marks)
    assert float(str(marks[0]["t"])) <= float(str(marks[1]["t"]))


def test_a_mark_that_cannot_be_written_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(phases.ENV, str(tmp_path / "missing-folder" / "phases.jsonl"))
    phases.mark("ignored")  # no exception: marks never fail a command
    monkeypatch.setenv(phases.ENV, str(tmp_path))  # a directory
    phases.mark("ignored")


def test_heavy_imports_holds_the_collector_only_for_the_first_tensorflow_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(phases.ENV, raising=False)
    monkeypatch.setattr(startup, "_console", True)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    # TensorFlow not imported yet: the collector is off inside, on and frozen after.
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    with startup.heavy_imports():
        assert not gc.isenabled()
        kept = [object() for _ in range(10)]  # tracked containers made while importing
        kept_list = [[x] for x in kept]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept_list)
    gc.unfreeze()  # leave the test process as it was
    # Once TensorFlow is in, nothing is held or frozen again.
    monkeypatch.setitem(sys.modules, "tensorflow", sys)
    with startup.heavy_imports():
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_heavy_imports_leaves_a_disabled_collector_disabled_and_survives_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(startup, "_console", True)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    gc.disable()
    try:
        with startup.heavy_imports():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ImportError), startup.heavy_imports():
        raise ImportError("no such module")
    assert gc.isenabled()
    gc.unfreeze()


def test_heavy_imports_holds_nothing_outside_the_console_script(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notebook (the Python API) keeps its collector as it is: its objects are not frozen."""
    monkeypatch.setattr(startup, "_console", False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    with startup.heavy_imports():
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_optimizer_variables_are_made_at_compile_and_training_is_unchanged(
    tmp_path: Path,
) -> None:
    """compile_model builds the optimizer eagerly (a start-up cut); the weights after a few
    steps are exactly those of a model whose optimizer Keras built inside the first step."""
    import keras

    from mnistctl.ml.builder import build_model
    from mnistctl.ml.compile import compile_model
    from mnistctl.spec import load_spec

    spec = load_spec(write_spec(tmp_path, TINY_SPEC))
    rng = np.random.default_rng(0)
    x = rng.random((64, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]

    def trained(prebuilt: bool) -> list[np.ndarray]:
        keras.utils.set_random_seed(0)
        model = build_model(spec)
        if prebuilt:
            compile_model(model, spec)
            assert model.optimizer.built and len(model.optimizer.variables) > 1
        else:
            model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            assert not model.optimizer.built
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return [np.asarray(w) for w in model.get_weights()]

    for ours, keras_own in zip(trained(True), trained(False), strict=True):
        np.testing.assert_array_equal(ours, keras_own)


def test_train_marks_every_start_up_phase_in_order(tmp_path: Path) -> None:
    """A real ``mnistctl train`` process with MNISTCTL_PHASES_FILE: the phases the bench splits
    the start-up into, in order, from one process."""
    data = make_npz(tmp_path / "data.npz", 200, 50)
    spec = write_spec(tmp_path)
    out = tmp_path / "phases.jsonl"
    result = subprocess.run(
        [
            *MNISTCTL, "train", str(spec), "--data", str(data), "--runs-dir",
            str(tmp_path / "runs"), "--set", "train.epochs=1", "--json",
        ],
        env=subprocess_env(MNISTCTL_PHASES_FILE=str(out)),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    marks = _read(out)
    assert {m["pid"] for m in marks} == {marks[0]["pid"]}
    assert [m["phase"] for m in marks] == [
        "python", "cli", "imports", "spec", "data", "run_dir", "precision", "build",
        "compile", "pipeline", "fit_setup", "first_step", "done",
    ]  # fmt: skip
    times = [float(str(m["t"])) for m in marks]
    assert times == sorted(times)
