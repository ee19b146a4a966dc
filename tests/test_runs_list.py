"""``mnistctl runs``: the catalog of run folders, its table and its JSON, on runs built by hand
with the run record's own code (RunRecord), and hostile folders: half-written runs, a killed
training process, format-1 and future-format records, junk, unreadable runs directories.

Whole-output assertions: each table and JSON document is compared in full.
"""

# ruff: noqa: E501  (whole-output expectations hold table lines as printed)

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TINY_SPEC, assert_user_error, cli
from rich.console import Console

from mnistctl.commands.runs_list import list_runs
from mnistctl.runs import catalog, layout, liveness, record
from mnistctl.runs.atomic import write_json
from mnistctl.runs.history import write_history
from mnistctl.runs.record import RunRecord
from mnistctl.spec import load_spec
from mnistctl.ui.runs_view import duration, render_runs

HISTORY = [
    {"epoch": 1, "loss": 0.9, "accuracy": 0.7, "val_loss": 0.8, "val_accuracy": 0.75},
    {"epoch": 2, "loss": 0.5, "accuracy": 0.85, "val_loss": 0.45, "val_accuracy": 0.88},
    {"epoch": 3, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.5, "val_accuracy": 0.87},
]
SHA = "ab" * 32
ENV120 = {"COLUMNS": "120"}


# --- building runs the way `mnistctl train` writes them --------------------------------------


def spec_file(folder: Path, name: str = "tiny", units: int = 64, loss: str = "") -> Path:
    text = TINY_SPEC.replace("name: tiny", f"name: {name}").replace("units: 64", f"units: {units}")
    if loss:
        text = text.replace("loss: categorical_crossentropy", f"loss: {loss}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def make_run(
    runs: Path,
    stamp: str,
    *,
    name: str = "tiny",
    units: int = 64,
    loss: str = "",
    history: Sequence[dict[str, float]] = HISTORY,
    end: str = "completed",
    test: tuple[float, float] = (0.3, 0.91),
    seconds: float = 12.5,
    data: tuple[str, str] = ("mnist", SHA),
) -> Path:
    """A run folder as ``train`` leaves it: spec.yaml, summary.json, env.json, history.csv and
    metrics.json through RunRecord's transitions (``end``: completed, interrupted, failed,
    diverged, training, created)."""
    spec = load_spec(spec_file(runs.parent / "specs", name, units, loss))
    run = runs / spec.name / stamp
    (run / layout.PLOTS).mkdir(parents=True)
    text = "# The resolved spec of this run: overrides applied, defaults filled in.\n"
    (run / layout.SPEC).write_text(text + yaml.safe_dump(spec.resolved_dict(), sort_keys=False))
    write_json(run / layout.SUMMARY, spec.info.to_json(spec.name))
    rec = RunRecord.create(run, epochs=3, files=[layout.SPEC])
    if end == "created":
        return run
    rec.start_training(0)
    env = {"seed": 0, "data": {"dataset": "mnist", "name": data[0], "sha256": data[1]}}
    write_json(run / layout.ENV, env)
    rows = [dict(row) for row in history]
    for k in range(1, len(rows) + 1):
        (run / f"checkpoint-{k}.keras").write_bytes(b"checkpoint %d" % k)
        rec.epoch_finished(rows[:k], f"checkpoint-{k}.keras")
        write_history(run / layout.HISTORY, rows[:k])
    if end == "completed":
        (run / layout.MODEL).write_bytes(b"model")
        rec.completed(
            rows,
            train_seconds=seconds,
            test={"loss": test[0], "accuracy": test[1]},
            precision="float32",
        )
    elif end == "interrupted":
        rec.interrupted(rows)
    elif end == "failed":
        rec.failed("OSError: No space left on device", rows)
    elif end == "diverged":
        rec.diverged(len(rows) + 1, "loss", rows)
    return run


def edit_metrics(run: Path, **changes: Any) -> None:
    metrics = json.loads((run / record.METRICS).read_text())
    metrics.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del metrics[key]
    (run / record.METRICS).write_text(json.dumps(metrics))


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A live process of this machine, standing in for a training process."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def text_of(listing: Any, width: int = 120) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    render_runs(listing, console)
    return console.export_text()


def listed(runs: Path, **options: Any) -> Any:
    options = {"status": None, "sort": "started", "limit": None, **options}
    return list_runs(options.pop("where", None), runs_dir=runs, **options)


# --- a runs directory with every kind of run ----------------------------------------------------


@pytest.fixture
def zoo(
    tmp_path: Path, clock: dict[str, str], sleeper: int, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """runs/ with a run of each status, a killed one, a live one and a format-1 one."""
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    here = liveness.current().host

    def at(day: int) -> str:
        clock["now"] = f"2026-01-{day:02d}T10:00:00Z"
        return f"202601{day:02d}T100000Z"

    make_run(runs, at(1))
    make_run(runs, at(2), test=(0.25, 0.93), seconds=3725.0)
    make_run(runs, at(3), name="wide", units=1024, seconds=200.0)
    stopped = make_run(runs, at(4), name="stopped", history=HISTORY[:1], end="interrupted")
    edit_metrics(stopped, ended="2026-01-04T10:05:00Z")
    broken = make_run(runs, at(5), name="broken", history=HISTORY[:2], end="failed")
    edit_metrics(broken, ended="2026-01-05T12:00:30Z")
    nan = make_run(runs, at(6), name="nan", history=HISTORY[:1], end="diverged")
    edit_metrics(nan, ended="2026-01-06T10:00:09Z")
    killed = make_run(runs, at(7), name="killed", history=HISTORY[:2], end="training")
    edit_metrics(killed, owner=liveness.Owner(dead_pid(), here, None, 1).to_json())
    live = make_run(runs, at(8), name="live", history=HISTORY[:1], end="training")
    started = datetime.now(UTC) - timedelta(seconds=90)
    edit_metrics(
        live,
        owner=liveness.Owner(sleeper, here, None, None).to_json(),
        started=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    old = make_run(runs, "20251231T100000Z", name="old", end="interrupted")  # made format 1:
    edit_metrics(old, format=None, best=None, status="running", pid=dead_pid(), ended=None,
                 started="2025-12-31T10:00:00Z")  # fmt: skip
    return runs


ZOO_TABLE = """\
Runs in runs (9 runs)
name     status                   epochs  best val    test   params    time  path
──────────────────────────────────────────────────────────────────────────────────────────────────────────
live     training                    1/3    75.00%       —   50,890  {live:>6}  runs/live/20260108T100000Z
killed   training (process gone)     2/3    88.00%       —   50,890       —  runs/killed/20260107T100000Z
nan      diverged                    1/3    75.00%       —   50,890    9.0s  runs/nan/20260106T100000Z
broken   failed                      2/3    88.00%       —   50,890  2h 00m  runs/broken/20260105T100000Z
stopped  interrupted                 1/3    75.00%       —   50,890  5m 00s  runs/stopped/20260104T100000Z
wide     completed                   3/3    88.00%  91.00%  814,090  3m 20s  runs/wide/20260103T100000Z
tiny     completed                   3/3    88.00%  93.00%   50,890  1h 02m  runs/tiny/20260102T100000Z
tiny     completed                   3/3    88.00%  91.00%   50,890     12s  runs/tiny/20260101T100000Z
old      training (process gone)     3/3    88.00%       —   50,890       —  runs/old/20251231T100000Z
"""


def test_table_of_every_kind_of_run(zoo: Path) -> None:
    listing = listed(zoo)
    live = listing.runs[0]
    assert live.name == "live" and live.seconds is not None  # from its start to now
    assert text_of(listing) == ZOO_TABLE.format(live=duration(live.seconds))


def row(run: Path, **facts: Any) -> dict[str, Any]:
    """A listing's JSON row: the facts of a completed 3-epoch tiny run, ``facts`` changed."""
    best = {
        "loss": {"value": 0.3, "epoch": 3},
        "accuracy": {"value": 0.9, "epoch": 3},
        "val_loss": {"value": 0.45, "epoch": 2},
        "val_accuracy": {"value": 0.88, "epoch": 2},
    }
    out = {
        "run_dir": str(run),
        "name": "tiny",
        "status": "completed",
        "live": None,
        "epochs": 3,
        "epochs_completed": 3,
        "best_val_accuracy": 0.88,
        "test_accuracy": 0.91,
        "test_loss": 0.3,
        "total_params": 50890,
        "precision": "float32",
        "started": "2026-01-01T10:00:00Z",
        "seconds": 12.5,
        "best": best,
        "data": {"dataset": "mnist", "name": "mnist", "sha256": SHA},
        "loss": "categorical_crossentropy",
        "error": None,
        "damaged": None,
        "group": None,
        "seed": None,
        "group_summary": None,
    }
    out.update(facts)
    return out


def test_json_of_every_kind_of_run(zoo: Path) -> None:
    listing = listed(zoo, sort="name")
    live_seconds = next(r.seconds for r in listing.runs if r.name == "live")
    first = {"loss": {"value": 0.9, "epoch": 1}, "accuracy": {"value": 0.7, "epoch": 1},
             "val_loss": {"value": 0.8, "epoch": 1},
             "val_accuracy": {"value": 0.75, "epoch": 1}}  # fmt: skip
    two = {**first, "loss": {"value": 0.5, "epoch": 2}, "accuracy": {"value": 0.85, "epoch": 2},
           "val_loss": {"value": 0.45, "epoch": 2}, "val_accuracy": {"value": 0.88, "epoch": 2}}  # fmt: skip
    unfinished = {"test_accuracy": None, "test_loss": None, "precision": None}
    assert listing.to_json() == [
        row(zoo / "broken/20260105T100000Z", name="broken", status="failed", epochs_completed=2,
            best=two, seconds=7230.0, started="2026-01-05T10:00:00Z",
            error="OSError: No space left on device", **unfinished),
        row(zoo / "killed/20260107T100000Z", name="killed", status="training", live=False,
            epochs_completed=2, best=two, seconds=None, started="2026-01-07T10:00:00Z",
            **unfinished),
        row(zoo / "live/20260108T100000Z", name="live", status="training", live=True,
            epochs_completed=1, best=first, best_val_accuracy=0.75, seconds=live_seconds,
            started=listing.runs[2].started, **unfinished),
        row(zoo / "nan/20260106T100000Z", name="nan", status="diverged", epochs_completed=1,
            best=first, best_val_accuracy=0.75, seconds=9.0, started="2026-01-06T10:00:00Z",
            error="loss was not a finite number in epoch 2", **unfinished),
        row(zoo / "old/20251231T100000Z", name="old", status="training", live=False,
            seconds=None, started="2025-12-31T10:00:00Z", **unfinished),
        row(zoo / "stopped/20260104T100000Z", name="stopped", status="interrupted",
            epochs_completed=1, best=first, best_val_accuracy=0.75, seconds=300.0,
            started="2026-01-04T10:00:00Z", **unfinished),
        row(zoo / "tiny/20260102T100000Z", started="2026-01-02T10:00:00Z", seconds=3725.0,
            test_accuracy=0.93, test_loss=0.25),
        row(zoo / "tiny/20260101T100000Z"),
        row(zoo / "wide/20260103T100000Z", name="wide", total_params=814090, seconds=200.0,
            started="2026-01-03T10:00:00Z"),
    ]  # fmt: skip


# --- damaged and foreign folders --------------------------------------------------------------


@pytest.fixture
def wrecks(tmp_path: Path, clock: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """runs/ with one good run and every way a run folder can be unreadable."""
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    clock["now"] = "2026-01-01T00:00:00Z"
    good = make_run(runs, "20260101T000000Z")

    def copy(stamp: str) -> Path:
        run = runs / "tiny" / stamp
        run.mkdir()
        for name in (layout.SPEC, layout.SUMMARY, layout.ENV, layout.HISTORY, record.METRICS):
            (run / name).write_bytes((good / name).read_bytes())
        return run

    (copy("20260102T000000Z") / record.METRICS).unlink()  # killed before its record
    (copy("20260103T000000Z") / record.METRICS).write_text('{"status": "compl')  # cut short
    (copy("20260104T000000Z") / record.METRICS).write_text("[1, 2]")
    edit_metrics(copy("20260105T000000Z"), format=3)  # a newer mnistctl wrote it
    edit_metrics(copy("20260106T000000Z"), status="exploded")
    (copy("20260107T000000Z") / layout.SUMMARY).write_text('"a string"')
    (copy("20260108T000000Z") / layout.SPEC).unlink()  # not a run
    fifo = copy("20260109T000000Z") / record.METRICS
    fifo.unlink()
    os.mkfifo(fifo)  # reading it must not hang
    old = copy("20260110T000000Z")  # format 1 without best values, and its history damaged
    edit_metrics(old, format=None, best=None)
    (old / layout.HISTORY).write_text("epoch,loss\n1,zero\n")
    with open(copy("20260111T000000Z") / layout.ENV, "r+b") as fh:
        fh.truncate(catalog.MAX_BYTES + 1)  # sparse: nothing real is that large
    (copy("20260112T000000Z") / layout.ENV).write_bytes(b"\xff\xfe{}")
    return runs


WRECKS_TABLE = """\
Runs of 'tiny' in runs/tiny (12 runs)
name  status     epochs  best val    test  params  time  path
───────────────────────────────────────────────────────────────────────────────────
tiny  damaged         —         —       —       —     —  runs/tiny/20260112T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260111T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260110T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260109T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260108T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260107T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260106T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260105T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260104T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260103T000000Z
tiny  damaged         —         —       —       —     —  runs/tiny/20260102T000000Z
tiny  completed     3/3    88.00%  91.00%  50,890   12s  runs/tiny/20260101T000000Z
damaged: runs/tiny/20260112T000000Z: env.json is not UTF-8 text
damaged: runs/tiny/20260111T000000Z: env.json is too large (8,388,609 bytes)
damaged: runs/tiny/20260110T000000Z: history.csv: damaged history file (could not convert string to float: 'zero')
damaged: runs/tiny/20260109T000000Z: metrics.json is not a regular file
damaged: runs/tiny/20260108T000000Z: not a run: no spec.yaml
damaged: runs/tiny/20260107T000000Z: summary.json: not a JSON object (a str)
damaged: runs/tiny/20260106T000000Z: metrics.json: damaged run record ('exploded')
damaged: runs/tiny/20260105T000000Z: metrics.json: run record of a newer format (format 3)
damaged: runs/tiny/20260104T000000Z: metrics.json: not a JSON object (a list)
damaged: runs/tiny/20260103T000000Z: metrics.json: damaged JSON (Unterminated string starting at: line 1 column 12 (char 11))
damaged: runs/tiny/20260102T000000Z: no metrics.json (the run record): stopped before it began, or not a run
"""


def test_damaged_runs_are_rows_that_say_why(wrecks: Path) -> None:
    spec = spec_file(wrecks.parent / "specs")
    assert text_of(listed(wrecks, where=spec), width=90) == WRECKS_TABLE
    reasons = [r["damaged"] for r in listed(wrecks, where=spec).to_json()]
    assert reasons[-1] is None and all(reasons[:-1])


def test_damaged_rows_in_json(wrecks: Path) -> None:
    result = cli("runs", wrecks / "tiny", "--status", "damaged", "--limit", "1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "run_dir": str(wrecks / "tiny" / "20260112T000000Z"),
            "name": "tiny",
            "status": "damaged",
            "live": None,
            "epochs": None,
            "epochs_completed": None,
            "best_val_accuracy": None,
            "test_accuracy": None,
            "test_loss": None,
            "total_params": None,
            "precision": None,
            "started": None,
            "seconds": None,
            "best": {},
            "data": {"dataset": None, "name": None, "sha256": None},
            "loss": None,
            "error": None,
            "damaged": "env.json is not UTF-8 text",
            "group": None,
            "seed": None,
            "group_summary": None,
        }
    ]


# --- the table's columns, sorting, filtering ----------------------------------------------------


@pytest.fixture
def three(tmp_path: Path, clock: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    clock["now"] = "2026-03-01T08:30:00Z"
    make_run(runs, "20260301T083000Z", seconds=0.25, test=(0.3, 0.955))
    clock["now"] = "2026-03-02T08:30:00Z"
    make_run(runs, "20260302T083000Z", name="wide", units=1024, seconds=90061.0)
    clock["now"] = "2026-03-03T08:30:00Z"
    make_run(runs, "20260303T083000Z", name="stopped", history=HISTORY[:2], end="interrupted")
    return runs


def test_wide_console_shows_every_column(three: Path) -> None:
    assert (
        text_of(listed(three), width=160)
        == """\
Runs in runs (3 runs)
name     started (UTC)     status       epochs  best val    test   params  precision    time  path
───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
stopped  2026-03-03 08:30  interrupted     2/3    88.00%       —   50,890  —            0.0s  runs/stopped/20260303T083000Z
wide     2026-03-02 08:30  completed       3/3    88.00%  91.00%  814,090  float32    1d 01h  runs/wide/20260302T083000Z
tiny     2026-03-01 08:30  completed       3/3    88.00%  95.50%   50,890  float32      0.2s  runs/tiny/20260301T083000Z
"""
    )


def test_narrow_console_keeps_the_essentials(three: Path) -> None:
    """Too narrow for the path beside the rest: each path on a line of its own (issue 23
    item 10: no line longer than the console)."""
    assert (
        text_of(listed(three), width=60)
        == """\
Runs in runs (3 runs)
name     status       epochs    test
────────────────────────────────────
stopped  interrupted     2/3       —
  runs/stopped/20260303T083000Z
wide     completed       3/3  91.00%
  runs/wide/20260302T083000Z
tiny     completed       3/3  95.50%
  runs/tiny/20260301T083000Z
"""
    )


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({}, ["stopped", "wide", "tiny"]),
        ({"sort": "name"}, ["stopped", "tiny", "wide"]),
        ({"sort": "test_accuracy"}, ["tiny", "wide", "stopped"]),
        ({"sort": "params"}, ["wide", "stopped", "tiny"]),  # equal values: newest first
        ({"sort": "seconds"}, ["wide", "tiny", "stopped"]),
        ({"sort": "status"}, ["wide", "tiny", "stopped"]),
        ({"sort": "epochs"}, ["wide", "tiny", "stopped"]),
        ({"sort": "best_val_accuracy"}, ["stopped", "wide", "tiny"]),
        ({"status": "completed"}, ["wide", "tiny"]),
        ({"status": "running"}, []),  # format 1's word for training
        ({"sort": "test_accuracy", "limit": 1}, ["tiny"]),
    ],
)
def test_sort_filter_limit(three: Path, options: dict[str, Any], names: list[str]) -> None:
    listing = listed(three, **options)
    assert [r.name for r in listing.runs] == names
    assert listing.found == 3


def test_nothing_to_list_says_so_with_a_hint(three: Path, tmp_path: Path) -> None:
    assert text_of(listed(three, status="diverged")) == "no diverged runs in runs (3 runs in all)\n"
    (tmp_path / "empty").mkdir()
    assert text_of(listed(tmp_path / "empty")) == (
        "no runs in empty yet (hint: mnistctl train SPEC)\n"
    )
    spec = spec_file(tmp_path / "specs", name="fresh")
    assert text_of(listed(three, where=spec)) == (
        "no runs of spec 'fresh' in runs/fresh yet (hint: mnistctl train SPEC)\n"
    )
    assert listed(three, where=spec).to_json() == []


def test_cli_table_and_json(three: Path) -> None:
    result = cli("runs", "--sort", "name", env=ENV120)  # the default runs directory: runs/
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == """\
Runs in runs (3 runs)
name     started (UTC)     status       epochs  best val    test   params    time  path
────────────────────────────────────────────────────────────────────────────────────────────────────────────────
stopped  2026-03-03 08:30  interrupted     2/3    88.00%       —   50,890    0.0s  runs/stopped/20260303T083000Z
tiny     2026-03-01 08:30  completed       3/3    88.00%  95.50%   50,890    0.2s  runs/tiny/20260301T083000Z
wide     2026-03-02 08:30  completed       3/3    88.00%  91.00%  814,090  1d 01h  runs/wide/20260302T083000Z
"""
    )
    result = cli("runs", "--runs-dir", three, "--status", "completed", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        row(three / "wide/20260302T083000Z", name="wide", total_params=814090,
            started="2026-03-02T08:30:00Z", seconds=90061.0),
        row(three / "tiny/20260301T083000Z", started="2026-03-01T08:30:00Z", seconds=0.25,
            test_accuracy=0.955),
    ]  # fmt: skip


# --- what to list, and refusals ----------------------------------------------------------------


def test_where_a_spec_a_spec_folder_a_run(three: Path, tmp_path: Path) -> None:
    spec = spec_file(tmp_path / "specs", name="wide")
    by_spec = listed(three, where=spec)
    assert (by_spec.spec, [r.name for r in by_spec.runs]) == ("wide", ["wide"])
    by_folder = listed(None, where=three / "tiny")
    assert [str(r.run_dir.relative_to(three)) for r in by_folder.runs] == ["tiny/20260301T083000Z"]
    one = listed(None, where=three / "stopped" / "20260303T083000Z")
    assert [r.status for r in one.runs] == ["interrupted"]
    relative = listed(None, where=Path("runs"))  # relative paths are made absolute
    assert relative.where == three and len(relative.runs) == 3


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--status", "complete"), ("--status: unknown status 'complete'", "did you mean 'completed'?")),
        (("--status", "Failed"), ("expected one of created, training", "did you mean 'failed'?")),
        (("--sort", "acc"), ("--sort: unknown sort 'acc'", "expected one of started, name,")),
        (("--sort", "test-accuracy"), ("did you mean 'test_accuracy'?",)),
        (("nowhere",), ("nowhere: no such spec or folder of runs", "received nothing there")),
        (("picture.png",), ("picture.png: no such spec or folder of runs", "not a spec")),
        (("--runs-dir", "missing"), ("missing: no runs directory", "mnistctl train SPEC")),
        (("--runs-dir", "picture.png"), ("picture.png: not a runs directory",)),
    ],
)  # fmt: skip
def test_refusals_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert_user_error(cli("runs", *args), *fragments)
    assert_user_error(cli("runs", *args, "--json"), *fragments)


def test_unreadable_runs_directory(three: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == three:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(catalog.os, "scandir", scandir)
    assert_user_error(
        cli("runs"), f"{three}: cannot read the folder; received Permission denied", "hint:"
    )


def test_unreadable_spec_folder_is_a_damaged_row(
    three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == three / "wide":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(catalog.os, "scandir", scandir)
    rows = {r.name: r.damaged for r in listed(three).runs}
    assert rows == {
        "wide": "cannot read the folder: Permission denied",
        "stopped": None,
        "tiny": None,
    }


def test_fifty_junk_files_and_folders(tmp_path: Path, clock: dict[str, str]) -> None:
    runs = tmp_path / "runs"
    clock["now"] = "2026-01-01T00:00:00Z"
    good = make_run(runs, "20260101T000000Z")
    junk: list[Path] = []
    for i in range(15):  # files beside the spec folders: not runs, passed over
        path = runs / f"junk-{i}.{['txt', 'json', 'yaml', 'bin', 'png'][i % 5]}"
        path.write_bytes(os.urandom(i * 50))
        junk.append(path)
    os.mkfifo(runs / "a-fifo")
    (runs / "dangling").symlink_to(runs / "nothing-there")
    (runs / "loop").symlink_to(runs / "loop")
    (runs / "to-dev-zero").symlink_to("/dev/zero")
    (runs / ".hidden").mkdir()
    for i in range(10):  # folders at the spec level, some holding folders
        folder = runs / f"folder-{i}"
        folder.mkdir()
        if i % 2:
            (folder / "notes.txt").write_text("hello")
        if i % 3 == 0:
            (folder / "sub").mkdir()
            (folder / "sub" / "spec.yaml").write_text(": not yaml [")
    for i in range(10):  # beside the real run: files and folders
        (good.parent / f"file-{i}").write_text("x" * i)
        folder = good.parent / (f"2026010{i}T99999Z" if i < 5 else f"dir-{i}")
        folder.mkdir()
        (folder / "metrics.json").write_text("{}")
    (good.parent / "self").symlink_to(good)  # a second name of the same run
    entries = len(list(runs.iterdir())) + len(list(good.parent.iterdir())) - 2
    assert entries >= 50
    start = time.perf_counter()
    listing = listed(runs, sort="name")
    assert time.perf_counter() - start < 2.0
    rows = [(r.name, str(r.run_dir.relative_to(runs)), r.status, r.damaged) for r in listing.runs]
    not_a_run = "not a run: no spec.yaml"
    no_record = "no metrics.json (the run record): stopped before it began, or not a run"
    assert rows == [
        ("folder-0", "folder-0/sub", "damaged", no_record),
        ("folder-3", "folder-3/sub", "damaged", no_record),
        ("folder-6", "folder-6/sub", "damaged", no_record),
        ("folder-9", "folder-9/sub", "damaged", no_record),
        ("tiny", "tiny/20260101T000000Z", "completed", None),
        ("tiny", "tiny/self", "completed", None),
        *[("tiny", f"tiny/2026010{i}T99999Z", "damaged", not_a_run) for i in range(5)],
        *[("tiny", f"tiny/dir-{i}", "damaged", not_a_run) for i in range(5, 10)],
    ]


# --- the run record keeps the best value of each metric -----------------------------------------


def test_record_keeps_best_values(tmp_path: Path, clock: dict[str, str]) -> None:
    run = tmp_path / "runs" / "tiny" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text("name: tiny\n")
    rec = RunRecord.create(run, epochs=4, files=["spec.yaml"])
    rec.start_training(0)
    rows = [
        {"epoch": 1, "loss": 0.5, "val_accuracy": 0.8, "val_top_error": 0.3, "auc": 0.7},
        {"epoch": 2, "loss": 0.4, "val_accuracy": 0.9, "val_top_error": 0.2, "auc": 0.7},
        {"epoch": 3, "loss": 0.4, "val_accuracy": 0.9, "val_top_error": 0.25, "auc": 0.8},
    ]
    for k in range(1, 4):
        (run / f"checkpoint-{k}.keras").write_bytes(b"model")
        rec.epoch_finished(rows[:k], f"checkpoint-{k}.keras")
    assert json.loads((run / record.METRICS).read_text()) == {
        "format": 2,
        "status": "training",
        "epochs": 4,
        "epochs_completed": 3,
        "created": "2026-01-02T03:04:05Z",
        "started": "2026-01-02T03:04:05Z",
        "owner": liveness.current().to_json(),
        "files": {
            "spec.yaml": record.sha256(run / "spec.yaml"),
            "checkpoint-3.keras": record.sha256(run / "checkpoint-3.keras"),
        },
        "final": rows[2],
        "best": {  # the first epoch that reached it; lower is better for losses and errors
            "loss": {"value": 0.4, "epoch": 2},
            "val_accuracy": {"value": 0.9, "epoch": 2},
            "val_top_error": {"value": 0.2, "epoch": 2},
            "auc": {"value": 0.8, "epoch": 3},
        },
    }
    rec.interrupted(rows[:1])  # the record's best follows the history it is given
    assert json.loads((run / record.METRICS).read_text())["best"]["auc"] == {
        "value": 0.7,
        "epoch": 1,
    }
    assert record.best_of([{"epoch": 1, "loss": math.nan}, {"epoch": 2, "loss": math.inf}]) == {}
