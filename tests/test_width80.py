"""Beginners' output at 80 columns (issue 23 item 10): every command's ``--help`` and the
outputs of predict, evaluate, runs and compare read well in an 80-column terminal: no line
over 80 characters, no ``<bool>`` after a flag (as if it took a value), no word or file name
broken across lines, no sentence broken before the line is full.

Fast: the help is rendered in-process; predict's and evaluate's results are made by hand and
drawn by their renderers; runs and compare read runs made by hand (``make_run``).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import cli
from rich.console import Console
from test_compare import F1_A, F1_B, write_evaluation
from test_runs_list import make_run

from mnistctl.cli import app
from mnistctl.commands.predict import Failure, Prediction, PredictResult
from mnistctl.errors import Location, UserError
from mnistctl.runs.layout import Checkpoint
from mnistctl.ui.results import render_evaluate, render_predict

WIDTH = 80
COLUMNS = {"COLUMNS": str(WIDTH)}
FRAME = "│╭╮╰╯─┃┏┓┗┛━┡┩└┘┌┐├┤┼┬┴"


def _commands() -> list[str]:
    infos = app.registered_commands
    return [info.name or info.callback.__name__ for info in infos if info.callback]


def _words(text: str) -> set[str]:
    return set(text.translate(str.maketrans(FRAME, " " * len(FRAME))).split())


def assert_reads_well(text: str) -> None:
    """No line over the width, no ``<bool>``, and every wrapped line was full: the first word
    of a continuation line (same column, nothing before it) would not have fitted."""
    lines = text.splitlines()
    assert lines, "no output"
    for line in lines:
        assert len(line) <= WIDTH, f"{len(line)} columns: {line!r}"
    assert "<bool>" not in text
    for above, line in itertools.pairwise(lines):
        inner = line.rstrip().rstrip("│").rstrip()
        start = len(inner) - len(inner.lstrip(" │"))
        if start == 0 or not inner[start:] or inner[start] in "[(*-":
            continue  # not a continuation, or typer's own [required], [default: ...] lines
        if line.startswith("│") and start <= 2:
            continue  # a panel's or table's row of its own
        if set(line[:start]) - {" ", "│"} or above[start - 1 : start] != " ":
            continue
        if "│" in line[:start].rstrip() and line[:start].count("│") != above[:start].count("│"):
            continue
        right = above.find("│", start)
        room = (right - 1 if right > 0 else WIDTH - 1) - start
        said = above[start : right if right > 0 else None].rstrip()
        if not said or said.startswith(" "):
            continue  # the line above has no text in that column
        word = inner[start:].split()[0]
        assert len(said) + 1 + len(word) > room, f"broken early: {above!r} / {line!r}"


@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_at_80_columns(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = cli(*args, env=COLUMNS)
    assert result.exit_code == 0, result.stderr
    assert_reads_well(result.stdout)
    shown = _words(result.stdout)
    click_command = app.registered_commands
    helps = [info.help or "" for info in click_command if command in (None, info.name)]
    if command is not None:
        import typer.main

        group: Any = typer.main.get_command(app)
        params = group.commands[command].params
        helps += [p.help or "" for p in params]
    for help_ in helps:
        for word in help_.split():
            if command is not None or len(word) < 20:
                assert word in shown, f"{word!r} not shown whole in {command} --help"


def test_flags_show_no_value() -> None:
    result = cli("compare", "--help", env=COLUMNS)
    flags = [line for line in result.stdout.splitlines() if re.search(r"--(json|all|help)\b", line)]
    assert len(flags) == 3
    for line in flags:
        assert re.search(r"--(json|all|help)\s+(-h\s+)?[A-Z]", line), line  # the help follows


# --- predict and evaluate, from results made by hand ------------------------------------------


def _console() -> Console:
    return Console(width=WIDTH, color_system=None, file=io.StringIO(), record=True)


def _checkpoint(run: Path) -> Checkpoint:
    return Checkpoint("last", run / "model.keras", 3, 3)


def _prediction(file: str, label: int) -> Prediction:
    probs = [0.001] * 10
    probs[label] = 0.991
    return Prediction(file, label, probs)


def _predict_result(run: Path, files: list[str]) -> PredictResult:
    error = UserError("cannot read the image: not a picture", Location(files[-1]))
    entries: list[Prediction | Failure] = [_prediction(f, i % 10) for i, f in enumerate(files)]
    entries[-1] = Failure(files[-1], error)
    names = tuple(str(i) for i in range(10))
    return PredictResult(run, "cnn", names, entries, _checkpoint(run))


@pytest.fixture
def long_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder whose absolute path, with a picture's name, does not fit in a table cell."""
    folder = tmp_path / "handwritten-digits-from-the-classroom" / "scanned-on-monday-morning"
    folder.mkdir(parents=True)
    yield folder


def test_predict_never_breaks_a_path(long_folder: Path, tmp_path: Path) -> None:
    files = [str(long_folder / f"student-{n:02d}-seven.png") for n in range(3)]
    out = _console()
    render_predict(_predict_result(tmp_path / "run", files), out)
    text = out.export_text()
    assert_reads_well(text)
    lines = text.splitlines()
    for file in files:  # on lines of its own, broken after a "/" only
        end = lines.index(Path(file).name)
        taken = lines[end]
        for line in reversed(lines[:end]):
            if not file.endswith(line + taken) or not line.endswith("/"):
                break
            taken = line + taken
        assert taken == file, text
    assert "not predicted: cannot read the image: not a picture" in " ".join(text.split())


def test_predict_shows_paths_in_the_current_folder_short(
    long_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(long_folder)
    files = [str(long_folder / "seven.png"), "eight.png", str(long_folder / "bad.png")]
    out = _console()
    render_predict(_predict_result(tmp_path / "run", files), out)
    text = out.export_text()
    assert_reads_well(text)
    assert "┃ file" in text  # a table: it fits
    assert {"seven.png", "eight.png", "bad.png"} <= _words(text)
    assert str(long_folder) not in text


def test_evaluate_at_80_columns(tmp_path: Path) -> None:
    run = tmp_path / "run"
    per_class = [
        {"label": i, "precision": 0.9, "recall": 0.91, "f1": 0.905, "support": 1000}
        for i in range(10)
    ]
    result = SimpleNamespace(
        run_dir=run,
        name="cnn",
        class_names=tuple(str(i) for i in range(10)),
        loss=0.0312,
        accuracy=0.9912,
        test_samples=10000,
        confusion_matrix=[[980 if i == j else 2 for j in range(10)] for i in range(10)],
        per_class=per_class,
        checkpoint=_checkpoint(run),
    )
    out = _console()
    render_evaluate(result, out)  # type: ignore[arg-type]
    assert_reads_well(out.export_text())


# --- runs and compare, on runs made by hand ---------------------------------------------------


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    a = make_run(runs, "20260101T100000Z", name="cnn_with_a_longer_name")
    b = make_run(runs, "20260102T100000Z", name="cnn_with_a_longer_name", units=128)
    write_evaluation(a, F1_A)
    write_evaluation(b, F1_B)
    return [a, b]


def test_runs_at_80_columns(two: list[Path]) -> None:
    result = cli("runs", "--runs-dir", "runs", env=COLUMNS)
    assert result.exit_code == 0, result.stderr
    assert_reads_well(result.stdout)


def test_compare_at_80_columns(two: list[Path], tmp_path: Path) -> None:
    result = cli("compare", *two, "--output", tmp_path / "c.png", env=COLUMNS)
    assert result.exit_code == 0, result.stderr
    assert_reads_well(result.stdout)
    words = _words(result.stdout)
    assert {"model.layers.hidden.units", "cnn_with_a_longer_name", "c.png"} <= words
    paths = [line.split("│")[4].strip() for line in result.stdout.splitlines()[4:6]]
    assert "".join(paths) == "runs/cnn_with_a_longer_name/20260101T100000Z"
    assert paths[0].endswith("/")  # a path too long for its column is broken after a "/"
