"""The Korean tutorial (``docs/ko/tutorial.md``) cannot rot: every ``mnistctl`` command it shows
runs here, on the bundled sample.

A command is a line ``$ mnistctl ...`` in one of its code blocks; the lines after it, up to the
next command or the block's end, are its output as the tutorial shows it. A code-block line that
starts with ``mnistctl`` without the prompt fails the parse: no command can hide from the test.

The fast tier runs the commands that train nothing (``data``, ``validate``, ``summary``) and
compares their output with the tutorial's, character for character (80 columns, trailing spaces
aside). The slow tier runs every command in the tutorial's order, in a temporary folder holding
a copy of ``specs/`` and of the tutorial's ``my_digit.png``, offline (Keras's cache empty, every
download sent to a proxy that is not there): ``train`` (``--seeds`` too) with ``TINY`` added (one
epoch of 300 digits), ``serve`` as a real process on a free port, asked to read ``my_digit.png``
and stopped with Ctrl-C. What does not depend on the training is checked against the tutorial
there too: the layer lists ``compare`` aligns (and the spec differences beside them), the files
``plot`` and ``explain`` name, the line ``report`` prints up to its size; then the files they
made, and the groups the seeds made.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import ROOT, cli
from serving import serving

TUTORIAL = ROOT / "docs" / "ko" / "tutorial.md"
PROMPT = "$ "
TINY = ("--set", "train.epochs=1", "--set", "data.train_samples=300")
"""Appended to each ``train`` (after the tutorial's ``--set``s and ``--seeds``, so it wins): one
epoch of 300 of the sample's digits."""
NO_TRAINING = frozenset({"data", "validate", "summary"})
"""The commands whose output the tutorial shows exactly as they print it, run in the fast tier."""
LESSON = ("data", "validate", "summary", "train", "compare", "plot", "evaluate", "explain",
          "predict", "serve", "report")  # fmt: skip
"""The lesson's steps, each shown at least once."""
NO_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers, a download fails at once
WIDTH = {"COLUMNS": "80"}


@dataclass(frozen=True)
class Shown:
    """A command as the tutorial shows it: its line, the words after ``mnistctl``, its output."""

    line: int
    args: tuple[str, ...]
    output: tuple[str, ...]

    @property
    def command(self) -> str:
        return self.args[0]

    def __str__(self) -> str:
        return f"docs/ko/tutorial.md:{self.line}: mnistctl {shlex.join(self.args)}"


def shown_commands(text: str) -> list[Shown]:
    """Every ``$ mnistctl ...`` of the code blocks, with the output shown under it."""
    shown: list[Shown] = []
    current: tuple[int, list[str]] | None = None
    output: list[str] = []
    block = False

    def close() -> None:
        nonlocal current
        if current is not None:
            shown.append(Shown(current[0], tuple(current[1]), tuple(output)))
        current = None
        output.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            close()
            block = not block
            continue
        if not block:
            continue
        if line.startswith(PROMPT):
            close()
            words = shlex.split(line.removeprefix(PROMPT))
            assert words[:1] == ["mnistctl"], f"tutorial.md:{number}: not a mnistctl command"
            current = (number, words[1:])
        elif line.startswith("mnistctl "):
            raise AssertionError(f"tutorial.md:{number}: a command without the '$ ' prompt")
        elif current is not None:
            output.append(line.rstrip())
    assert not block, "tutorial.md: a code block is not closed"
    return shown


SHOWN = shown_commands(TUTORIAL.read_text(encoding="utf-8"))


def _printed(stdout: str, stderr: str) -> list[str]:
    """What a terminal shows of a command: its messages (stderr) and its result (stdout), each
    as the tutorial pastes them (trailing spaces aside)."""
    lines = [line.rstrip() for line in (stderr + stdout).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_the_tutorial_walks_the_lesson() -> None:
    commands = [s.command for s in SHOWN]
    assert [step for step in LESSON if step in commands] == list(LESSON), commands
    trained = [(s.args[1], "--seeds" in s.args) for s in SHOWN if s.command == "train"]
    assert trained == [
        ("specs/dnn.yaml", False),
        ("specs/cnn.yaml", False),
        ("specs/cnn.yaml", True),
        ("specs/cnn_dropout.yaml", True),
    ]
    assert [s.args[-1] for s in SHOWN if s.command == "compare"] == ["specs/cnn.yaml", "--groups"]
    for s in SHOWN:  # offline: everything that reads data reads the bundled sample
        if s.command in ("train", "summary"):
            assert "data.dataset=mnist_sample" in s.args, s
        assert s.output, f"{s}: no output shown"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/ko/tutorial.md)" in readme, "README does not link the tutorial"


def test_the_tutorial_pictures_exist() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#:]+)\)", text)
    assert links
    for link in links:
        assert (TUTORIAL.parent / link).exists(), f"tutorial.md links {link}, which is missing"


@pytest.mark.parametrize("shown", [s for s in SHOWN if s.command in NO_TRAINING], ids=str)
def test_the_output_shown_is_what_it_prints(
    shown: Shown, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)
    result = cli(*shown.args, env=WIDTH)
    assert result.exit_code == 0, result.stderr
    assert _printed(result.stdout, result.stderr) == list(shown.output), shown


@pytest.mark.slow
def test_every_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copy(TUTORIAL.parent / "my_digit.png", tmp_path / "my_digit.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # nothing cached to find
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(proxy, NO_PROXY)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)

    started = time.monotonic()
    for shown in SHOWN:
        if shown.command == "serve":
            _serve(shown, tmp_path)
            continue
        args = (*shown.args, *TINY) if shown.command == "train" else shown.args
        result = cli(*args, env=WIDTH)
        assert result.exit_code == 0, f"{shown}: exit {result.exit_code}\n{result.stderr}"
        printed = _printed(result.stdout, result.stderr)
        if shown.command in NO_TRAINING:
            assert printed == list(shown.output), shown
        elif shown.command in UNTRAINED and "…" not in shown.output:  # … : the tutorial cut it
            kept = UNTRAINED[shown.command]
            assert kept(printed) == kept(list(shown.output)), f"{shown}\n" + "\n".join(printed)
    print(f"the tutorial's {len(SHOWN)} commands ran in {time.monotonic() - started:.1f} s")
    _check_what_they_made(tmp_path)


def _between(lines: list[str], start: str, end: str) -> list[str]:
    """The lines from the first that starts with ``start`` up to the next that starts with
    ``end``."""
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if i > first and line.startswith(end))
    return lines[first:last]


def _file_name(line: str) -> str:
    """A line naming a picture (a path, absolute or relative) as the picture's file name."""
    text = line.strip()
    return Path(text).name if text.endswith(".png") and "/" in text else line


UNTRAINED: dict[str, Callable[[list[str]], list[str]]] = {
    # the structures side by side, the spec differences beside them
    "compare": lambda lines: _between(lines, "Spec differences", "Metrics"),
    # the pictures, by name (a run's path has its time in it), and what is not drawn (on stderr:
    # in a terminal after the pictures, here before them)
    "plot": lambda lines: sorted(
        _file_name(line) for line in lines if not line.startswith("model:")
    ),
    # the pictures explained and their files; not what they were read as, nor the model's epoch
    "explain": lambda lines: [
        _file_name(line) for line in lines if not line.lstrip().startswith(("model:", "label "))
    ],
    # "report: FILE (N runs, ...": not its size, nor its time
    "report": lambda lines: [line.partition(" runs, ")[0] for line in lines],
}
"""What a command's output shows that the training does not change (a training of one epoch
on 300 digits here, five epochs on 5,000 in the tutorial), as the tutorial must show it."""


def _check_what_they_made(folder: Path) -> None:
    """The runs, pictures, explanations, page and groups that the tutorial says its commands
    make."""
    runs = folder / "runs"
    made = Counter(p.parent.parent.name for p in runs.glob("*/*/spec.yaml"))
    assert made == {"dnn": 1, "cnn": 4, "cnn_dropout": 3}, made
    assert (folder / "mnist_sample-preview.png").exists()
    assert len(list(runs.glob("compare-*.png"))) == 2  # DNN against CNN, then the two groups

    dnn, cnn = (sorted(runs.glob(f"{name}/*/"))[0] for name in ("dnn", "cnn"))  # the first of each
    inside = ["feature_maps", "filters"]  # a convolution's: the DNN has none
    pictures = ["confusion_matrix", "learning_curves", "misclassified", "model", "pca"]
    for run, names in ((cnn, sorted(pictures + inside)), (dnn, pictures)):
        assert sorted(p.stem for p in (run / "plots").glob("*.png")) == names, run
    assert sorted(p.name for p in (cnn / "explain").iterdir()) == ["test-0.png", "test-1.png"]
    page = (folder / "dnn-vs-cnn.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n<!-- mnistctl report -->")
    assert "http://" not in page and "https://" not in page

    for name in ("cnn", "cnn_dropout"):  # the seeds' groups, one run of each seed
        records = [json.loads(p.read_text()) for p in sorted(runs.glob(f"{name}/*/metrics.json"))]
        groups = [r["group"] for r in records if r.get("group")]
        assert [g["seed"] for g in groups] == [0, 1, 2], groups
        assert {g["name"] for g in groups} == {groups[0]["name"]}
        assert groups[0]["name"].startswith(f"{name}-seeds-")
    for record in runs.glob("*/*/metrics.json"):  # each one epoch: TINY came through --seeds
        done = json.loads(record.read_text())
        assert (done["status"], done["epochs_completed"]) == ("completed", 1), record


def _serve(shown: Shown, folder: Path) -> None:
    """``mnistctl serve RUN ...`` as the tutorial shows it, on a free port; it reads the
    tutorial's picture through the API, then stops on Ctrl-C (exit 130)."""
    _, run, *rest = shown.args
    with serving(run, *rest, log_dir=folder / "serve") as server:
        answer = server.predict((folder / "my_digit.png").read_bytes())
        assert answer["label"] in range(10) and len(answer["probabilities"]) == 10, answer
        status, info = server.get_json("/api/info")
        assert status == 200 and info["name"] == "cnn", info
        assert "serving cnn (model: model.keras" in server.stderr(), server.stderr()
    assert server.exit_code == 130, server.describe()
