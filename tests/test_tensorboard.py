"""TensorBoard event files of a run: Keras's callback writes them under RUN/tensorboard/, one
point per epoch that equals history.csv, the graph once, histograms only when asked, and a
resumed run continues the same steps. Runs are trained through the real CLI, then the event
files are read back record by record."""

from __future__ import annotations

import csv
import json
import os
import signal
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import TINY_SPEC, assert_user_error, cli, make_npz, read_json, write_spec

from mnistctl.ml import tensorboard

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

LEARNING_RATE = 0.002
SPEC = TINY_SPEC.replace("epochs: 3", "epochs: 2").replace(
    "optimizer: adam", f"optimizer: {{type: adam, learning_rate: {LEARNING_RATE}}}"
)
HAS_TENSORBOARD = tensorboard.tensorboard_installed()


@dataclass
class Events:
    """The event files of one folder (train/ or validation/), all of them, in name order."""

    files: list[Path]
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    plugins: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    steps: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    tensors: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))


def read_events(folder: Path) -> Events:
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    files = sorted(folder.glob("events.out.tfevents.*"))
    events = Events(files)
    for path in files:
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:
                    events.plugins[value.tag].add(value.metadata.plugin_data.plugin_name)
                array = tf.make_ndarray(value.tensor)
                events.steps[value.tag].append(event.step)
                events.tensors[value.tag].append(array)
                if array.shape == () and array.dtype == np.float32:
                    events.scalars[value.tag].append((event.step, float(array)))
    return events


def history(run: Path) -> list[dict[str, float]]:
    with open(run / "history.csv", newline="", encoding="utf-8") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def expect_scalars_equal_history(run: Path) -> tuple[Events, Events]:
    """Every epoch's loss, accuracy, val_loss, val_accuracy as history.csv has them (float32,
    as the event files hold them), at step epoch - 1, once each; the learning rate likewise."""
    rows = history(run)
    steps = [int(row["epoch"]) - 1 for row in rows]
    board = run / "tensorboard"
    train, val = read_events(board / "train"), read_events(board / "validation")
    for events, prefix in ((train, ""), (val, "val_")):
        assert events.files, f"no event files in {board}"
        for metric in ("loss", "accuracy"):
            got = events.scalars[f"epoch_{metric}"]
            want = [
                (s, float(np.float32(row[prefix + metric])))
                for s, row in zip(steps, rows, strict=True)
            ]
            assert got == want, (prefix + metric, got, want)
            assert events.plugins[f"epoch_{metric}"] == {"scalars"}
    got_lr = train.scalars["epoch_learning_rate"]
    assert got_lr == [(s, float(np.float32(LEARNING_RATE))) for s in steps]
    return train, val


@dataclass
class Kit:
    base: Path
    data: Path
    spec: Path
    done: Path  # a completed run, 2 epochs, default settings


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    base = tmp_path_factory.mktemp("tensorboard")
    data = make_npz(base / "small.npz", 300, 60)
    spec = write_spec(base, SPEC)
    result = cli("train", spec, "--data", data, "--runs-dir", base / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    return Kit(base, data, spec, Path(json.loads(result.stdout)["run_dir"]))


def test_a_run_writes_epoch_scalars_equal_to_its_history(kit: Kit) -> None:
    board = kit.done / "tensorboard"
    assert sorted(p.name for p in board.iterdir()) == ["train", "validation"]
    train, val = expect_scalars_equal_history(kit.done)
    assert len(train.files) == len(val.files) == 1
    # Keras's validation scalars per optimizer step: 9 steps of 32 samples per epoch
    iterations = val.scalars["evaluation_loss_vs_iterations"]
    assert [s for s, _ in iterations] == [9, 18]
    assert [v for _, v in iterations] == [v for _, v in val.scalars["epoch_loss"]]


def test_the_graph_is_written_once_and_nothing_per_batch(kit: Kit) -> None:
    train = read_events(kit.done / "tensorboard" / "train")
    assert train.plugins["keras"] == {"graph_keras_model"}, dict(train.plugins)
    assert train.steps["keras"] == [0]
    model = json.loads(train.tensors["keras"][0].item())
    assert [layer["name"] for layer in model["config"]["layers"]] == [
        "input_tensor",
        "hidden",
        "output_tensor",
    ]
    # update_freq="epoch": no batch-level scalars; no profile
    assert not [tag for tag in train.steps if tag.startswith("batch_")]
    assert not list((kit.done / "tensorboard").rglob("*.trace.json.gz"))
    assert not (kit.done / "tensorboard" / "train" / "plugins").exists()


def test_no_histograms_by_default(kit: Kit) -> None:
    train = read_events(kit.done / "tensorboard" / "train")
    assert not [tag for tag in train.steps if "histogram" in tag]
    assert not [tag for tag, plugins in train.plugins.items() if "histograms" in plugins]
    assert read_json(kit.done / "metrics.json")["status"] == "completed"


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="histograms need the tensorboard package")
def test_histograms_when_asked(kit: Kit, tmp_path: Path) -> None:
    result = cli(
        "train",
        kit.spec,
        "--data",
        kit.data,
        "--runs-dir",
        tmp_path / "runs",
        "--set",
        "train.tensorboard_histograms=1",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    run = Path(json.loads(result.stdout)["run_dir"])
    train, _ = expect_scalars_equal_history(run)
    histograms = sorted(tag for tag, p in train.plugins.items() if "histograms" in p)
    assert histograms == [
        "hidden/bias/histogram",
        "hidden/kernel/histogram",
        "output_tensor/bias/histogram",
        "output_tensor/kernel/histogram",
    ]
    for tag in histograms:
        assert train.steps[tag] == [0, 1]


@pytest.mark.skipif(HAS_TENSORBOARD, reason="the tensorboard package is installed")
def test_histograms_without_the_tensorboard_package_are_refused(kit: Kit, tmp_path: Path) -> None:
    result = cli(
        "train",
        kit.spec,
        "--data",
        kit.data,
        "--runs-dir",
        tmp_path / "runs",
        "--set",
        "train.tensorboard_histograms=1",
    )
    line = assert_user_error(result, "train.tensorboard_histograms", "tensorboard package")
    assert "mnistctl[tensorboard]" in line


def test_a_resumed_run_continues_the_steps(kit: Kit, tmp_path: Path, monkeypatch: Any) -> None:
    """Ctrl-C (a real SIGINT to this process) right after epoch 1 is recorded; the event files
    then hold step 0 only; train --resume writes step 1 into new event files beside them."""
    from mnistctl.runs.history import write_history as original

    def write_history_then_interrupt(target: Path, rows: list[dict[str, float]]) -> None:
        original(target, rows)
        if len(rows) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr("mnistctl.ml.training.write_history", write_history_then_interrupt)
    runs = tmp_path / "runs"
    result = cli("train", kit.spec, "--data", kit.data, "--runs-dir", runs, "--json")
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    run = Path(json.loads(result.stdout)["run_dir"])
    assert read_json(run / "metrics.json")["status"] == "interrupted"
    train, _ = expect_scalars_equal_history(run)
    assert [s for s, _ in train.scalars["epoch_loss"]] == [0]
    first_files = {p.name for p in train.files}

    monkeypatch.setattr("mnistctl.ml.training.write_history", original)
    result = cli("train", "--resume", run, "--json")
    assert result.exit_code == 0, result.stderr
    assert read_json(run / "metrics.json")["status"] == "completed"
    train, val = expect_scalars_equal_history(run)  # steps [0, 1], each once
    assert [s for s, _ in train.scalars["epoch_loss"]] == [0, 1]
    assert first_files < {p.name for p in train.files}  # the first session's files are kept
    assert len(val.files) == 2
    assert train.steps["keras"] == [0]  # the graph is not written again
    # Keras's per-iteration series continues from the restored optimizer's step count
    assert [s for s, _ in val.scalars["evaluation_loss_vs_iterations"]] == [9, 18]


def test_the_callback_has_no_batch_hooks_and_no_profiling(tmp_path: Path) -> None:
    import keras

    board = tensorboard.EpochTensorBoard(tmp_path, histogram_freq=0, write_graph=True)
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin"):
        assert getattr(type(board), hook) is getattr(keras.callbacks.Callback, hook), hook
    for hook in ("on_batch_end", "on_test_batch_end", "on_predict_batch_end"):
        assert getattr(getattr(board, hook), "_is_default", False), hook  # Keras's own test
    assert (board.update_freq, board.write_images, board.write_steps_per_second) == (
        "epoch",
        False,
        False,
    )
    assert not board._should_trace  # profile_batch=0


def test_the_scalar_fallback_writes_what_tensorboard_writes(tmp_path: Path) -> None:
    """Without the tensorboard package, scalars are written in the scalar plugin's format; with
    it, the fallback's event equals tf.summary.scalar's."""
    import tensorflow as tf

    def write(folder: Path, scalar: Any) -> Any:
        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default():
            assert scalar("epoch_loss", 0.25, step=3)
        writer.close()
        (path,) = folder.glob("events.out.tfevents.*")
        from tensorflow.core.util import event_pb2

        events = [event_pb2.Event.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
        (event,) = [e for e in events if e.HasField("summary")]
        return event

    ours = write(tmp_path / "ours", tensorboard.scalar_summary)
    (value,) = ours.summary.value
    assert (ours.step, value.tag) == (3, "epoch_loss")
    assert value.metadata.plugin_data.plugin_name == "scalars"
    assert value.metadata.plugin_data.content == b""
    assert tf.make_ndarray(value.tensor) == np.float32(0.25)
    assert tf.make_ndarray(value.tensor).dtype == np.float32
    if HAS_TENSORBOARD:
        theirs = write(tmp_path / "theirs", tf.summary.scalar)
        assert theirs.summary == ours.summary
