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
    assert commands[0].endswith("mnistctl train specs/cnn.yaml")
    assert commands[1].endswith(".venv/bin/pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pytest -q" in ci  # CI runs the README's test command


def test_every_example_spec_is_listed() -> None:
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert spec.name in README, f"README does not list specs/{spec.name}"


def test_every_module_is_in_the_layout() -> None:
    layout = README.split("## Development", 1)[1]
    for module in sorted((ROOT / "mnistctl").glob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        assert re.search(rf"`{re.escape(module.name)}`", layout), module.name
