"""The tool's own JSON files read through declared shapes (``mnistctl/filedata.py``).

Each shape is a valid Draft 2020-12 schema; what each writer writes has its shape; a damaged
file of each kind (a wrong type, a missing key, extra garbage where the shape is closed, what
only code can check) is refused, missed or listed with one clean message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from helpers import TINY_SPEC
from jsonschema import Draft202012Validator
from test_runs_list import edit_metrics, make_run

from mnistctl import filedata
from mnistctl.errors import UserError
from mnistctl.ml import precision_cache
from mnistctl.ml.precision_cache import Entry, PrecisionCache
from mnistctl.runs import catalog, layout, liveness
from mnistctl.runs.record import METRICS, RECORD_SHAPE, STATE, STATE_SHAPE, RunRecord
from mnistctl.spec import load_spec
from mnistctl.spec.search import SearchSection
from mnistctl.tune import trials

NAMES = {
    "run record",
    "run state",
    "run summary",
    "run environment",
    "precision cache",
    "precision cache entry",
    "trial's attributes",
}
ROWS = [
    {"epoch": 1, "loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.7},
    {"epoch": 2, "loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.8},
]


def test_every_declared_shape_is_a_valid_2020_12_schema() -> None:
    assert {shape.what for shape in filedata.DECLARED} >= NAMES
    for shape in filedata.DECLARED:
        assert shape.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(shape.schema)


def test_a_validator_is_built_once_per_shape() -> None:
    assert RECORD_SHAPE.validator() is RECORD_SHAPE.validator()


def test_non_finite_numbers_read_as_null() -> None:
    assert filedata.loads('{"a": NaN, "b": -Infinity, "c": 1.5}') == {
        "a": None,
        "b": None,
        "c": 1.5,
    }


# --- what the writers write has its shape --------------------------------------------------------


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "tiny" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text("name: tiny\n")
    return run


def _on_disk(path: Path) -> Any:
    return filedata.read(path)


def _trained(run: Path, about: dict[str, Any] | None = None) -> RunRecord:
    """A record through the calls ``train`` makes, up to the second epoch's end."""
    record = RunRecord.create(run, epochs=3, files=["spec.yaml"], warnings=["w"], about=about)
    record.start_training(0)
    for k in (1, 2):
        (run / f"checkpoint-{k}.keras").write_bytes(b"%d" % k)
        best = {"checkpoint": "checkpoint-1.keras", "epoch": 1, "monitor": "val_loss", "value": 0.8}
        record.epoch_finished(ROWS[:k], f"checkpoint-{k}.keras", best=best, callbacks={"es": {}})
        assert STATE_SHAPE.damage(_on_disk(run / STATE)) is None
    (run / "best.keras").write_bytes(b"best")
    record.best_saved("best.keras", 1, "val_loss", 0.8)
    record.set_final_checkpoint("best")
    return record


def test_a_completed_record_has_its_shape(tmp_path: Path) -> None:
    run = _run(tmp_path)
    tune = {"tune": {"study": "s", "trial": 0, "params": {"a": [1]}, "storage": None}}
    record = _trained(run, about=tune)
    (run / "model.keras").write_bytes(b"model")
    record.file_written("model.keras")
    record.completed(
        ROWS,
        stopped_early={"epoch": 2, "monitor": "val_loss", "best_epoch": 1, "restored_best": True},
        train_seconds=1.5,
        samples_per_second=math.inf,  # written as null
        test={"loss": math.nan, "accuracy": 0.9},
        precision="float32",
        note="pruned at epoch 2 of 3",
    )
    record.forget_checkpoints()
    assert RECORD_SHAPE.damage(_on_disk(run / METRICS)) is None
    assert RunRecord.load(run).best_checkpoint == {
        "file": "best.keras",
        "epoch": 1,
        "monitor": "val_loss",
        "value": 0.8,
    }


@pytest.mark.parametrize("end", ["interrupted", "failed", "diverged"])
def test_an_unfinished_record_and_its_state_have_their_shapes(tmp_path: Path, end: str) -> None:
    run = _run(tmp_path)
    record = _trained(run)
    if end == "interrupted":
        record.interrupted(ROWS)
    elif end == "failed":
        record.failed("OSError: disk full", ROWS)
    else:
        record.diverged(3, "loss", ROWS)
    assert RECORD_SHAPE.damage(_on_disk(run / METRICS)) is None
    if end != "diverged":
        state = RunRecord.load(run).resume_state(3)
        assert (state.epochs_completed, state.checkpoint) == (2, "checkpoint-2.keras")
        assert state.best is not None and state.best["epoch"] == 1


def test_summary_and_cache_and_trial_attributes_have_their_shapes(tmp_path: Path) -> None:
    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY_SPEC)
    spec = load_spec(spec_path)
    assert layout.SUMMARY_SHAPE.damage(json.loads(json.dumps(spec.info.to_json("tiny")))) is None
    cache = PrecisionCache(tmp_path / "cache")
    entry = Entry({"float32": 2.0, "mixed_bfloat16": 1.0}, "2026-01-01T00:00:00Z")
    about = {"machine": "x86_64", "tensorflow": "2.21", "spec": "abc"}
    entry = Entry(entry.ms_per_step, entry.measured, {"mixed_float16": "no GPU"}, "float32", about)
    assert cache.put("k", entry)
    stored = _on_disk(cache.path)
    assert precision_cache.CACHE_SHAPE.damage(stored) is None
    assert precision_cache.ENTRY_SHAPE.damage(stored["entries"]["k"]) is None
    assert cache.get("k") == entry
    attrs = {"owner": liveness.current().to_json(), "run_dir": "/r", "epochs": 2}
    assert trials.ATTRS_SHAPE.damage({**attrs, "fail_reason": None, "retry_of": 1}) is None


@pytest.mark.slow
def test_the_environment_train_writes_has_its_shape() -> None:
    from types import SimpleNamespace

    import numpy as np

    from mnistctl.ml.precision import Choice
    from mnistctl.ml.training import environment

    spec = SimpleNamespace(
        train=SimpleNamespace(seed=0, precision="auto"), data=SimpleNamespace(dataset="mnist")
    )
    data = SimpleNamespace(
        name="mnist", source="keras", sha256="ab" * 32, x_train=np.zeros(3), x_test=np.zeros(2)
    )
    env = environment(spec, data, Choice("float32", "why"))  # type: ignore[arg-type]
    assert layout.ENV_SHAPE.damage(json.loads(json.dumps(env))) is None


# --- damaged files: one clean message each -------------------------------------------------------

OWNER = {"pid": 1, "host": "h", "boot": None, "start": None}
RECORD_DAMAGE = [
    # (changes to a good record, the error's line after the file's path)
    ({"status": 3}, "status: damaged run record; expected one of 'created', 'training', "),
    ({"status": None}, "status: damaged run record; expected one of"),
    (
        {"epochs_completed": "2"},
        "epochs_completed: damaged run record; expected an integer; received '2'",
    ),
    (
        {"epochs_completed": True},
        "epochs_completed: damaged run record; expected an integer; received true",
    ),
    ({"epochs": -1}, "epochs: damaged run record; expected a number ≥ 0; received -1"),
    (
        {"owner": {"pid": 1}},
        "owner: damaged run record; expected a key 'host'; received an object without it",
    ),
    (
        {"owner": {**OWNER, "junk": 1}},
        "owner: damaged run record; expected only the keys pid, "
        "host, boot, start; received the key 'junk'",
    ),
    ({"best": {"loss": {"value": 1.0}}}, "best.loss: damaged run record; expected a key 'epoch'"),
    (
        {"best": {"loss": {"value": "x", "epoch": 1}}},
        "best.loss.value: damaged run record; expected a number; received 'x'",
    ),
    (
        {"files": {"spec.yaml": "zz"}},
        "files['spec.yaml']: damaged run record; expected text of "
        "the form ^[0-9a-f]{64}$; received 'zz'",
    ),
    (
        {"final_checkpoint": "first"},
        "final_checkpoint: damaged run record; expected one of 'best', 'last'; received 'first'",
    ),
    ({"test": []}, "test: damaged run record; expected an object; received a list"),
    ({"status": None, "epochs": "x"}, "damaged run record"),  # one problem is told
]


@pytest.mark.parametrize(("changes", "line"), RECORD_DAMAGE)
def test_a_damaged_record_says_where_and_what(
    tmp_path: Path, changes: dict[str, Any], line: str
) -> None:
    run = _run(tmp_path)
    RunRecord.create(run, epochs=3, files=["spec.yaml"])
    data = {**_on_disk(run / METRICS), **changes}
    (run / METRICS).write_text(json.dumps(data))
    with pytest.raises(UserError) as info:
        RunRecord.load(run)
    assert info.value.location.file == str(run / METRICS)
    assert info.value.one_line().startswith(f"{run / METRICS}: ")
    assert line in info.value.one_line(), info.value.one_line()


def test_a_missing_status_names_the_key(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / METRICS).write_text('{"format": 2, "epochs": 3}')
    with pytest.raises(UserError) as info:
        RunRecord.load(run)
    assert info.value.one_line() == (
        f"{run / METRICS}: damaged run record; expected a key 'status'; "
        "received an object without it"
    )


def test_a_legacy_nan_reads_as_null_not_as_damage(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / METRICS).write_text('{"status": "interrupted", "final": {"loss": NaN, "epoch": 1}}')
    assert RunRecord.load(run).get("final") == {"loss": None, "epoch": 1}


def _state(run: Path, **changes: Any) -> None:
    state = {"epochs_completed": 2, "checkpoint": "checkpoint-2.keras", "history": ROWS}
    state.update(changes)
    (run / STATE).write_text(json.dumps({k: v for k, v in state.items() if v is not None}))


STATE_DAMAGE = [
    ({"history": "x"}, "history: damaged run state; expected a list; received 'x'"),
    ({"history": [{"loss": "low"}]}, "history[0].loss: damaged run state; expected a number"),
    ({"checkpoint": None}, "damaged run state; expected a key 'checkpoint'"),
    (
        {"junk": 1},
        "damaged run state; expected only the keys epochs_completed, checkpoint, "
        "history, best, callbacks; received the key 'junk'",
    ),
    ({"checkpoint": "../../x.keras"}, "checkpoint: damaged run state; expected text of the form"),
    # what only code can check: the parts agree with each other and with the spec
    (
        {"epochs_completed": 9, "checkpoint": "checkpoint-9.keras"},
        "epochs_completed: damaged run state; expected at most the spec's 3 epochs; received 9",
    ),
    (
        {"checkpoint": "checkpoint-1.keras"},
        "checkpoint: damaged run state; expected "
        "'checkpoint-2.keras'; received 'checkpoint-1.keras'",
    ),
    ({"history": ROWS[:1]}, "history: damaged run state; expected 2 epochs; received 1"),
    (
        {"best": {"checkpoint": "checkpoint-3.keras", "epoch": 3, "monitor": "loss", "value": 1}},
        "best.epoch: damaged run state; expected 1..2; received 3",
    ),
    (
        {"best": {"checkpoint": "checkpoint-2.keras", "epoch": 1, "monitor": "loss", "value": 1}},
        "best.checkpoint: damaged run state; expected 'checkpoint-1.keras'",
    ),
]


@pytest.mark.parametrize(("changes", "line"), STATE_DAMAGE)
def test_a_damaged_state_says_where_and_what(
    tmp_path: Path, changes: dict[str, Any], line: str
) -> None:
    run = _run(tmp_path)
    record = RunRecord.create(run, epochs=3, files=[])
    _state(run, **changes)
    with pytest.raises(UserError) as info:
        record.resume_state(3)
    assert info.value.location.file == str(run / STATE)
    assert line in info.value.one_line(), info.value.one_line()


def test_a_good_state_reads(tmp_path: Path) -> None:
    run = _run(tmp_path)
    _state(run)
    state = RunRecord.create(run, epochs=3, files=[]).resume_state(3)
    assert (state.epochs_completed, state.history, state.best, state.callbacks) == (
        2,
        ROWS,
        None,
        {},
    )


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        (METRICS, {"epochs_completed": "2"}, "metrics.json: damaged run record ('2')"),
        (layout.SUMMARY, {"total_params": "many"}, "summary.json: damaged run summary ('many')"),
        (layout.SUMMARY, {"name": 7}, "summary.json: damaged run summary (7)"),
        (layout.ENV, {"data": {"sha256": 1}}, "env.json: damaged run environment (1)"),
        (layout.ENV, {"data": []}, "env.json: damaged run environment (a list)"),
    ],
)
def test_a_damaged_file_of_a_run_is_a_row_that_says_why(
    tmp_path: Path, clock: dict[str, str], file: str, content: dict[str, Any], reason: str
) -> None:
    run = make_run(tmp_path / "runs", "20260101T000000Z")
    if file == METRICS:
        edit_metrics(run, **content)
    else:
        (run / file).write_text(json.dumps({**json.loads((run / file).read_text()), **content}))
    assert catalog.read_run(run).damaged == reason


def test_a_cache_file_with_garbage_is_a_miss(tmp_path: Path) -> None:
    cache = PrecisionCache(tmp_path)
    good = {"ms_per_step": {"float32": 1.0}, "measured": "2026-01-01T00:00:00Z"}
    for damaged in (
        {"version": 1, "entries": {"k": good}, "junk": 1},
        {"version": 1, "entries": {"k": {**good, "ms_per_step": {"float32": 1.0, "fp8": 0.5}}}},
        {"version": 1, "entries": {"k": {**good, "dropped": {"float32": 3}}}},
        {"version": 1, "entries": {"k": {**good, "policy": 5}}},
    ):
        cache.path.write_text(json.dumps(damaged))
        assert cache.get("k") is None, damaged
    cache.path.write_text(json.dumps({"version": 1, "entries": {"k": {**good, "other": 1}}}))
    assert cache.get("k") == Entry({"float32": 1.0}, "2026-01-01T00:00:00Z")  # open: more is fine


def test_a_damaged_trial_attribute_reads_as_absent_on_its_own() -> None:
    from optuna.trial import TrialState, create_trial

    section = SearchSection("val_accuracy", "maximize", 3, "tpe", "median", None, ())
    good = {"owner": {"pid": 7, "host": "h", "boot": None, "start": None}, "run_dir": "/r/1"}
    damaged = {"owner": {"pid": "7", "host": "h"}, "run_dir": 5, "epochs": "2", "retry_of": -1}
    rows = trials.rows(
        [
            create_trial(state=TrialState.FAIL, user_attrs={**good, "epochs": 2}),
            create_trial(state=TrialState.FAIL, user_attrs={**damaged, "fail_reason": 3}),
            create_trial(state=TrialState.FAIL, user_attrs=good | {"epochs": True}),
        ],
        section,
    )
    first, second, third = (row.to_json() for row in rows)
    assert (first["host"], first["pid"], first["run_dir"], first["epochs"]) == ("h", 7, "/r/1", 2)
    assert (second["host"], second["run_dir"], second["epochs"]) == (None, None, 0)
    assert (second["reason"], second["retry_of"]) == (trials.NO_HEARTBEAT, None)
    assert (third["run_dir"], third["epochs"]) == ("/r/1", 0)
    assert trials.ATTRS_SHAPE.valid_part(["not", "an", "object"]) == {}
