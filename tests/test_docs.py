"""The README documents every command and option, and its quick start stays true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from mnistctl.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def test_every_command_is_in_the_readme_table() -> None:
    for name in _commands():
        assert f"`mnistctl {name}" in README, f"README does not document 'mnistctl {name}'"


def test_every_option_is_in_the_readme() -> None:
    for name, command in _commands().items():
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in README, f"README does not mention {opt} of {name}"


def test_quick_start_has_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in quick.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    # the CNN on the bundled sample: trains on a fresh clone with no network
    assert commands[0].endswith("mnistctl train specs/cnn.yaml --set data.dataset=mnist_sample")
    assert commands[1].endswith(".venv/bin/pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pytest -q" in ci  # CI runs the README's test command


def test_every_example_spec_is_listed() -> None:
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert spec.name in README, f"README does not list specs/{spec.name}"


def test_every_module_is_in_the_layout() -> None:
    """README's "How the code is laid out" names every folder and every module in it."""
    layout = README.split("### How the code is laid out", 1)[1].split("\n## ", 1)[0]
    for module in sorted((ROOT / "mnistctl").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        folder = module.parent.relative_to(ROOT / "mnistctl").as_posix()
        if folder == ".":
            assert re.search(rf"`{re.escape(module.name)}`", layout), module.name
            continue
        section = layout.split(f"`{folder.split('/')[0]}/`", 1)
        assert len(section) == 2, f"README's layout has no {folder}/"
        part = section[1].split("\n- ", 1)[0]
        assert re.search(rf"`{re.escape(module.name)}`", part), f"{folder}/{module.name}"
