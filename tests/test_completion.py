"""Shell completion (Typer's own, ``mnistctl --install-completion``): commands, options, spec
files, runs, ``--format`` and ``--checkpoint`` values, ``new --from`` templates, and the
``--set`` paths of the spec on the line with its layers by name; never TensorFlow or Keras.

Fast: the shell's request (click's protocol, as bash sends it) answered in-process; one slow
test asks a real process and lists what it imported. ``bench/completion.py`` times answers.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from mnistctl.cli import completion
from mnistctl.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras")

Cli = Callable[..., Result]


def bash_env(line: str) -> dict[str, str]:
    """What bash's completion function sets: the words, and which one the cursor is in."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    return {"_MNISTCTL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)}


@pytest.fixture
def complete(cli: Cli) -> Callable[[str], list[str]]:
    """The answers to ``line`` (a Tab at its end), as bash would receive them."""

    def answers(line: str) -> list[str]:
        result = cli(env=bash_env(line))
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return [answer for answer in result.stdout.splitlines() if answer]  # as bash reads it

    return answers


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """a.yaml, b.yml, notes.txt, .hidden.yaml, sub/c.yaml and a run runs/cnn/<stamp>/."""
    for name in ("a.yaml", "b.yml", "notes.txt", ".hidden.yaml", "sub/c.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("name: x\n", encoding="utf-8")
    run = tmp_path / "runs" / "cnn" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text("name: cnn\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- commands, options, choices --------------------------------------------------------------


def test_commands_and_options(complete: Callable[[str], list[str]]) -> None:
    commands = complete("mnistctl ")
    assert {"new", "validate", "summary", "train", "evaluate", "export", "runs"} <= set(commands)
    assert complete("mnistctl ex") == ["explain", "export"]
    assert complete("mnistctl exp") == ["explain", "export"]
    assert complete("mnistctl expo") == ["export"]
    assert {"--install-completion", "--show-completion"} <= set(complete("mnistctl --"))
    assert {"--set", "--runs-dir", "--resume", "--json"} <= set(complete("mnistctl train --"))
    assert {"--from", "--output", "--json"} <= set(complete("mnistctl new x --"))


def test_format_and_checkpoint_values(complete: Callable[[str], list[str]]) -> None:
    assert complete("mnistctl export run --format ") == ["saved_model", "onnx", "litert"]
    assert complete("mnistctl export run --format o") == ["onnx"]
    for command in ("evaluate", "plot", "predict", "export", "serve"):
        assert complete(f"mnistctl {command} run --checkpoint ") == ["best", "last"]


def test_new_from_templates(complete: Callable[[str], list[str]], folder: Path) -> None:
    assert complete("mnistctl new x --from c") == ["cnn", "cnn_dropout", "cnn_finetune"]
    assert complete("mnistctl new x --from le") == ["lenet5"]
    assert complete("mnistctl new x --from su") == ["sub/c.yaml"]  # none: a spec file


# --- files and runs --------------------------------------------------------------------------


def test_spec_files(complete: Callable[[str], list[str]], folder: Path) -> None:
    assert complete("mnistctl validate ") == ["a.yaml", "b.yml", "runs/", "sub/"]
    assert complete("mnistctl validate .") == [".hidden.yaml"]
    assert complete("mnistctl summary su") == ["sub/c.yaml"]  # a lone folder is opened
    assert complete("mnistctl train x") == []
    assert complete("mnistctl tune a") == ["a.yaml"]
    assert complete(f"mnistctl validate {folder}/s") == [f"{folder}/sub/c.yaml"]


def test_runs(complete: Callable[[str], list[str]], folder: Path) -> None:
    run = "runs/cnn/20260101T000000Z"
    assert complete("mnistctl evaluate r") == [run]  # runs/ and runs/cnn/ opened; a run is final
    assert complete("mnistctl evaluate ") == ["a.yaml", "b.yml", "runs/", "sub/"]
    assert complete("mnistctl compare runs/cnn/") == [run]
    assert complete("mnistctl train --resume r") == [run]
    (folder / "elsewhere").mkdir()
    shutil.move(folder / "runs", folder / "elsewhere" / "runs")
    answers = complete("mnistctl evaluate --runs-dir elsewhere/runs ")
    assert answers[0] == "elsewhere/runs/cnn/20260101T000000Z"
    assert "a.yaml" in answers
    assert complete("mnistctl runs --runs-dir e") == ["elsewhere/", "elsewhere/runs/"]
    assert complete("mnistctl runs e") == ["elsewhere/", "elsewhere/runs/"]  # a folder of runs
    assert complete("mnistctl runs elsewhere/runs/cnn/") == [
        "elsewhere/runs/cnn/20260101T000000Z"  # one run: not opened
    ]


def test_other_paths_are_the_shells_own(complete: Callable[[str], list[str]], folder: Path) -> None:
    """An empty answer: bash (complete -o default), zsh and fish complete file names."""
    assert complete("mnistctl predict run n") == []
    assert complete("mnistctl train a.yaml --data ") == []


# --- --set paths -----------------------------------------------------------------------------


def test_set_paths_of_the_spec_on_the_line(
    complete: Callable[[str], list[str]], in_repo: Path
) -> None:
    line = "mnistctl train specs/cnn.yaml --set "
    assert complete(line) == ["compile.", "data.", "description=", "model.", "name=", "train."]
    assert "train.epochs=" in complete(line + "tr")
    assert complete(line + "train.ep") == ["train.epochs=", "train.epochs=10"]
    assert complete(line + "data.train_s") == [
        "data.train_samples=",
        "data.train_samples=null",
    ]
    assert complete(line + "model.layers.h") == ["model.layers.hidden_1.", "model.layers.hidden_2."]
    assert complete(line + "model.layers.hidden_1.un") == [
        "model.layers.hidden_1.units=",
        "model.layers.hidden_1.units=128",
    ]
    activation = complete(line + "model.layers.hidden_1.act")
    assert activation[:2] == [
        "model.layers.hidden_1.activation=",
        "model.layers.hidden_1.activity_regularizer=",
    ]
    assert "model.layers.6." in complete(line + "model.layers.")  # the unnamed Flatten: its index
    assert complete(line + "model.layers.Conv1.kernel_s") == [
        "model.layers.Conv1.kernel_size=",
        "model.layers.Conv1.kernel_size=[3,3]",
    ]


def test_set_paths_for_every_command_with_set(
    complete: Callable[[str], list[str]], in_repo: Path
) -> None:
    epochs = load_spec(ROOT / "specs" / "dnn.yaml").train.epochs
    for command in ("validate", "summary", "train", "tune"):
        assert complete(f"mnistctl {command} specs/dnn.yaml --set train.ep") == [
            "train.epochs=",
            f"train.epochs={epochs}",
        ]
    assert complete("mnistctl validate specs/lenet5.yaml specs/cnn.yaml --set model.layers.C") == []


def test_set_paths_of_a_child_spec_are_its_resolved_layers(
    complete: Callable[[str], list[str]], in_repo: Path
) -> None:
    child = load_spec(ROOT / "specs" / "cnn_dropout.yaml")
    names = [layer["name"] for layer in child.raw["model"]["layers"] if "name" in layer]
    answers = complete("mnistctl summary specs/cnn_dropout.yaml --set model.layers.")
    assert answers == sorted(f"model.layers.{n}." for n in names)


def test_set_sees_the_earlier_overrides(
    complete: Callable[[str], list[str]], in_repo: Path
) -> None:
    line = "mnistctl train specs/cnn.yaml --set train.epochs=3 --set train.ep"
    assert complete(line) == ["train.epochs=", "train.epochs=3"]
    bad = "mnistctl train specs/cnn.yaml --set train.epochs=-1 --set train.ep"
    assert complete(bad) == ["train.epochs=", "train.epochs=10"]  # a wrong one is left out


def test_set_without_a_spec_offers_the_sections(complete: Callable[[str], list[str]]) -> None:
    assert complete("mnistctl train --set ") == ["compile.", "data.", "train."]
    assert complete("mnistctl train --set train.se") == ["train.seed=", "train.seed=0"]


def test_set_on_a_broken_spec(complete: Callable[[str], list[str]], folder: Path) -> None:
    (folder / "typo.yaml").write_text("train: {epochs: 3}\nmodel: {layerz: []}\n", "utf-8")
    assert complete("mnistctl train typo.yaml --set ") == ["model.", "train."]  # as written
    (folder / "broken.yaml").write_text("train: {epochs: [\n", "utf-8")
    assert complete("mnistctl train broken.yaml --set ") == []  # no answer, no traceback


def test_a_value_after_the_equals_sign() -> None:
    """zsh and fish send ``path=`` as one word (bash splits at ``=``)."""
    values = {"train.epochs": 10, "train.precision": "auto", "description": "a b"}
    assert completion.set_candidates(values, "train.epochs=") == ["train.epochs=10"]
    assert completion.set_candidates(values, "train.epochs=1") == ["train.epochs=10"]
    assert completion.set_candidates(values, "train.epochs=2") == []
    assert completion.set_candidates(values, "description=") == []  # needs quoting: none
    assert completion.set_candidates(values, "desc") == ["description="]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (None, "null"),
        (0.001, "0.001"),
        ([3, 3], "[3,3]"),
        ("relu", "relu"),
        ("1e3", None),  # a string YAML would read as a number
        ("two words", None),
        ({"type": "adam"}, None),
    ],
)
def test_value_text(value: Any, text: str | None) -> None:
    assert completion.value_text(value) == text


# --- never TensorFlow or Keras ---------------------------------------------------------------


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in HEAVY:
            self.asked.append(name)
            raise ImportError(f"{name} imported while completing")


@pytest.fixture
def no_tensorflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Refuse]:
    """TensorFlow and Keras out of sys.modules (put back afterwards), and importing them
    refused and recorded."""
    for name in [n for n in sys.modules if n.split(".")[0] in HEAVY]:
        monkeypatch.delitem(sys.modules, name)
    refuse = _Refuse()
    monkeypatch.setattr(sys, "meta_path", [refuse, *sys.meta_path])
    yield refuse


def test_completion_imports_no_tensorflow(
    complete: Callable[[str], list[str]], in_repo: Path, no_tensorflow: _Refuse
) -> None:
    for line in (
        "mnistctl ",
        "mnistctl evaluate ",
        "mnistctl export run --format ",
        "mnistctl new x --from c",
        "mnistctl train specs/cnn.yaml --set model.layers.hidden_1.",
        "mnistctl summary specs/cnn_dropout.yaml --set train.",
    ):
        assert complete(line), line
    assert no_tensorflow.asked == []


def test_a_real_answer_imports_no_tensorflow_keras_or_pydantic(in_repo: Path) -> None:
    script = (
        "import json, sys\n"
        "sys.argv = ['mnistctl']\n"
        "from mnistctl.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'pydantic'))\n"
        "sys.stderr.write(json.dumps(heavy))\n"
    )
    env = {**os.environ, **bash_env("mnistctl train specs/cnn.yaml --set model.layers.hidden_1.")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "model.layers.hidden_1.units=" in done.stdout.splitlines()
    assert json.loads(done.stderr) == []


# --- the scripts -----------------------------------------------------------------------------


def test_show_completion_prints_the_script(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = cli("--show-completion", "bash")
    assert result.exit_code == 0
    assert "_MNISTCTL_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F" in result.stdout
