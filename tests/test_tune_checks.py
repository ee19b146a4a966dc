"""``tune``'s checks that need no training and no process (issue 23, item 9 and onwards): every
trial failed, storages that lose the study, workers that died, the bound on ``--workers``, the
study's own files, and the terminal at 80 columns."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import cli, write_spec
from rich.console import Console

from mnistctl.errors import UserError
from mnistctl.tune.names import StudyPaths
from mnistctl.tune.results import check_study_files, every_trial_failed
from mnistctl.tune.storage import open_storage
from mnistctl.tune.trials import TrialRow
from mnistctl.tune.workers import WorkerBound


def row(number: int, state: str, reason: str | None = None, value: float | None = None) -> TrialRow:
    return TrialRow(
        number=number, state=state, value=value, params={"model.layers.hidden.units": 8},
        run_dir=None, reason=reason, epochs=0, seconds=1.0, retry_of=None, retried=False,
        host=None, pid=None,
    )  # fmt: skip


# --- every trial failed --------------------------------------------------------------------------


def test_a_study_whose_every_trial_failed_is_an_error_with_each_reason_once() -> None:
    diverged = "training diverged: loss was not a finite number in epoch 1"
    rows = [row(0, "FAIL", diverged), row(1, "FAIL", "OutOfMemory: x"), row(2, "FAIL", diverged)]
    err = every_trial_failed(rows, "s-tune", "val_accuracy", Path("/r/s-tune"))
    assert err is not None
    line = err.one_line()
    assert line.startswith("/r/s-tune: every trial of study s-tune failed (3 of 3)")
    assert f"trials 0, 2: {diverged}" in line and "trial 1: OutOfMemory: x" in line
    assert line.count(diverged) == 1 and "\n" not in line


def test_a_study_with_any_trial_not_failed_is_not_an_error() -> None:
    for other in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"):
        rows = [row(0, "FAIL", "x"), row(1, other, value=0.5 if other == "COMPLETE" else None)]
        assert every_trial_failed(rows, "s", "m", Path("s")) is None
    assert every_trial_failed([], "s", "m", Path("s")) is None  # nothing ran: not a failure


# --- a storage that loses the study --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "SQLite:///:memory:",
        "sqlite:///file:x?mode=memory&uri=true",
        "sqlite:///file::memory:?cache=shared&uri=true",
        "sqlite:///file:x.db?uri=true&mode=memory",
    ],
)
def test_an_sqlite_database_in_memory_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(UserError) as caught:
        open_storage(url, tmp_path / "s" / "study.journal", workers=1)
    line = caught.value.one_line()
    assert line.startswith("--storage: an SQLite database in memory vanishes")
    assert "sqlite:///FILE" in line and "\n" not in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["study.db", "file:study.db", "memory.db"])
def test_an_sqlite_file_is_accepted(tmp_path: Path, name: str) -> None:
    opened = open_storage(f"sqlite:///{tmp_path / name}", tmp_path / "j", workers=1)
    assert opened.kind == "sqlite" and (tmp_path / name).is_file()


# --- workers that died ---------------------------------------------------------------------------


def test_every_worker_that_died_is_named_with_how_and_its_command_line() -> None:
    from mnistctl.tune.workers import WorkerExit, died

    command = ("python", "-m", "mnistctl", "tune", "/s/a b.yaml", "--worker", "0")
    exits = [
        WorkerExit(0, -9, Path("w/worker-0.log"), "trial 3 started", command),
        WorkerExit(1, 0, Path("w/worker-1.log"), None, (*command[:-1], "1")),
        WorkerExit(2, 1, Path("w/worker-2.log"), "error: disk full", (*command[:-1], "2")),
        WorkerExit(3, 130, Path("w/worker-3.log"), "interrupted", (*command[:-1], "3")),
        WorkerExit(4, -15, Path("w/worker-4.log"), None, (*command[:-1], "4")),
    ]
    assert [e.stopped for e in exits] == [False, True, False, True, False]
    line = died(exits)
    assert line.startswith(
        "worker 0 killed by signal 9 (SIGKILL) (log w/worker-0.log; command: python -m "
        "mnistctl tune '/s/a b.yaml' --worker 0)"
    )
    assert "worker 2 exited with code 1: error: disk full (log w/worker-2.log;" in line
    assert "worker 4 killed by signal 15 (SIGTERM)" in line
    assert "worker 1 " not in line and "worker 3 " not in line and "\n" not in line
    assert WorkerExit(5, -99, Path("l"), None).how() == "killed by signal 99"


# --- the bound on --workers ----------------------------------------------------------------------


def test_the_workers_bound_is_two_per_core_and_one_per_gib() -> None:
    from mnistctl.tune.workers import max_workers

    gib = 1 << 30
    assert max_workers(cpus=2, memory=64 * gib) == WorkerBound(4, "2 usable cores, 2 workers each")
    assert max_workers(cpus=1, memory=None).most == 2
    assert max_workers(cpus=16, memory=int(6.5 * gib)) == WorkerBound(
        6, "6.5 GiB of memory, 1 GiB each"
    )
    assert max_workers(cpus=4, memory=gib // 2).most == 1  # one always runs


def test_more_workers_than_the_machine_runs_is_refused_saying_the_bound(tmp_path: Path) -> None:
    from mnistctl.tune.workers import max_workers

    spec = write_spec(tmp_path, "name: x\n", "x.yaml")  # never read: the bound comes first
    bound = max_workers()
    result = cli("tune", spec, "--workers", str(bound.most + 1), "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: --workers must be at most {bound.most} on this machine ({bound.why}); "
        f"received {bound.most + 1}"
    )
    assert not (tmp_path / "r").exists()


# --- the study's own files -----------------------------------------------------------------------


def study_paths(tmp_path: Path) -> StudyPaths:
    paths = StudyPaths(tmp_path / "runs", "s-tune")
    paths.plots.mkdir(parents=True)
    return paths


def test_earlier_study_files_are_replaced_and_new_ones_written(tmp_path: Path) -> None:
    paths = study_paths(tmp_path)
    check_study_files(paths)  # none there yet
    paths.best_spec.write_text("# The best trial of study s-tune: trial 0, m 0.5.\nname: x\n")
    paths.result.write_text(json.dumps({"study": "s", "storage": "j", "trials": [], "best": None}))
    (paths.plots / "slice.png").write_bytes(b"\x89PNG\r\n\x1a\n...")
    check_study_files(paths)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_to_tunes(path: Path) -> None:
    (path.parent / "elsewhere.yaml").write_text("# The best trial of study s-tune: trial 0\n")
    path.symlink_to(path.parent / "elsewhere.yaml")


@pytest.mark.parametrize(
    ("name", "make", "fragments"),
    [
        ("best.yaml", lambda p: p.write_text("name: mine\n"),
         ("refusing to replace a file tune did not write",)),
        ("best.yaml", symlink_to_tunes, ("refusing to write through a symbolic link",)),
        ("best.yaml", lambda p: p.mkdir(), ("refusing to write over a folder",)),
        ("study.json", fifo, ("refusing to write over a FIFO (named pipe)",)),
        ("study.json", lambda p: p.write_text('{"mine": 1}'),
         ("refusing to replace a file tune did not write",)),
        ("study.json", lambda p: p.write_bytes(b"\xff"), ("a file tune did not write",)),
        ("plots/slice.png", lambda p: p.write_text("notes"), ("not a PNG image",)),
        ("plots/optimization_history.png", lambda p: p.symlink_to("/dev/null"),
         ("symbolic link",)),
    ],
)  # fmt: skip
def test_a_file_in_the_way_of_the_study_files_is_refused_in_one_line(
    tmp_path: Path, name: str, make: Callable[[Path], object], fragments: tuple[str, ...]
) -> None:
    paths = study_paths(tmp_path)
    target = paths.folder / name
    make(target)
    with pytest.raises(UserError) as caught:
        check_study_files(paths)
    line = caught.value.one_line()
    assert line.startswith(f"{target}: ") and "\n" not in line, line
    assert "--study NEW" in line or "symbolic link" in line or "folder" in line, line
    for fragment in fragments:
        assert fragment in line, line


def test_a_study_folder_inside_a_run_directory_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "cnn" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text("name: cnn\n")
    (run / "metrics.json").write_text("{}")
    with pytest.raises(UserError, match="refusing to write inside a run directory"):
        check_study_files(StudyPaths(run, "s-tune"))


# --- the terminal at 80 columns ------------------------------------------------------------------

PATHS = (
    "compile.optimizer.learning_rate",
    "model.layers.hidden_1.units",
    "model.layers.Conv1.filters",
    "model.layers.drop.rate",
)


def readme_rows() -> list[TrialRow]:
    """The README's study: 4 parameters, trials complete, pruned, failed, retried."""
    values = dict(zip(PATHS, (0.0004042, 128, 32, 0.04617), strict=True))
    states = ["COMPLETE", "PRUNED", "FAIL", "COMPLETE", "RUNNING"]
    rows = [
        dataclasses.replace(row(n, state, value=0.9350 if state == "COMPLETE" else None),
                            params=values, epochs=4, seconds=13.5, run_dir=f"/r/s-tune/{n}")
        for n, state in enumerate(states)
    ]  # fmt: skip
    rows[2] = dataclasses.replace(rows[2], reason="worker died", retried=True)
    rows[3] = dataclasses.replace(rows[3], retry_of=2)
    return rows


def rendered(thing: object, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    with console.capture() as captured:
        console.print(thing)
    return captured.get().splitlines()


def test_the_trials_table_reads_whole_at_80_columns() -> None:
    """Issue 23, item 10: the live table cut its headers ('COMP...') at 80 columns."""
    from mnistctl.ui.tune_view import trials_table

    lines = rendered(trials_table(readme_rows(), "val_accuracy", "maximize", list(PATHS)))
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    assert lines[0].split() == [
        "#", "learning_rate", "units", "filters", "rate", "val_accuracy", "epochs", "state", "s",
    ]  # fmt: skip
    text = "\n".join(lines)
    assert "…" not in text and "..." not in text
    for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING"):
        assert state in text
    assert "0.0004042" in text and "0.9350" in text and "13.5" in text
    assert "trial 2: worker died; retried" in text and "trial 3: retry of 2" in text


def test_parameter_headers_are_the_shortest_tail_that_names_each_alone() -> None:
    from mnistctl.ui.tune_view import headers

    assert headers(list(PATHS)) == ["learning_rate", "units", "filters", "rate"]
    assert headers(["model.layers.a.units", "model.layers.b.units", "train.batch_size"]) == [
        "a.units", "b.units", "batch_size",
    ]  # fmt: skip
    assert headers(["units", "model.layers.a.units"]) == ["units", "a.units"]


def test_the_summary_reads_whole_at_80_columns() -> None:
    from mnistctl.tune.command import TuneResult
    from mnistctl.ui.tune_view import render_tune

    rows = readme_rows()
    result = TuneResult(
        study="cnn_search-tune", storage="runs/cnn_search-tune/study.journal",
        metric="val_accuracy", direction="maximize", total=8, trials=tuple(rows), best=rows[0],
        best_spec=Path("runs/cnn_search-tune/best.yaml"), folder=Path("runs/cnn_search-tune"),
        ran_here=5, plots_skipped=("param_importances: needs 2 complete trial(s), the study has 1",),  # noqa: E501
    )  # fmt: skip
    console = Console(width=80, record=True, force_terminal=False, color_system=None)
    with console.capture() as captured:
        render_tune(result, console, table=True)
    lines = captured.get().splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = " ".join(line.strip() for line in lines)
    assert "state" in lines[0] and "…" not in text
    assert "study cnn_search-tune: 5 trials (2 complete, 1 fail, 1 pruned, 1 running)" in text
    assert "best: trial 0, val_accuracy 0.9350: compile.optimizer.learning_rate=0.0004042" in text
    assert "next: mnistctl train runs/cnn_search-tune/best.yaml" in text
