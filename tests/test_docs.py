"""The README documents every command and option, and its quick start stays true; the reference
that moved out of it (``docs/``) stays linked and whole."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import typer.main

from mnistctl.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
DEVELOPMENT = (DOCS / "development.md").read_text(encoding="utf-8")
README_MAX_LINES = 300  # a page for people: measurements and long references live in docs/


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted(DOCS.rglob("*.md"))]


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
    run, test = commands
    # the CNN on the bundled sample: trains on a fresh clone with no network, and installs only
    # what running needs (no test tools)
    assert run.endswith("mnistctl train specs/cnn.yaml --set data.dataset=mnist_sample")
    assert " .venv/bin/pip install -e . && " in run and "[" not in run
    # the test extra, then the whole suite
    assert ' .venv/bin/pip install -e ".[test]" && ' in test
    assert test.endswith(".venv/bin/pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pytest -q" in ci  # CI runs the README's test command
    assert 'pip install -q -e ".[test]"' in ci  # with the same extra


def test_every_example_spec_is_listed() -> None:
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert spec.name in README, f"README does not list specs/{spec.name}"


def test_every_module_is_in_the_layout() -> None:
    """docs/development.md's "How the code is laid out" names every folder and every module."""
    layout = DEVELOPMENT.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    for module in sorted((ROOT / "mnistctl").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        folder = module.parent.relative_to(ROOT / "mnistctl").as_posix()
        if folder == ".":
            assert re.search(rf"`{re.escape(module.name)}`", layout), module.name
            continue
        section = layout.split(f"`{folder.split('/')[0]}/`", 1)
        assert len(section) == 2, f"the layout has no {folder}/"
        part = section[1].split("\n- ", 1)[0]
        assert re.search(rf"`{re.escape(module.name)}`", part), f"{folder}/{module.name}"


def test_readme_is_short_and_links_every_document() -> None:
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README has {lines} lines: move reference to docs/"
    for doc in sorted(DOCS.rglob("*.md")):
        link = doc.relative_to(ROOT).as_posix()
        assert f"]({link})" in README, f"README does not link {link}"


def _anchor(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as ``-``."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    anchors, fence = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            anchors.add(_anchor(line.lstrip("#")))
    return anchors


def test_every_relative_link_resolves() -> None:
    """Links and pictures between the README, bench/README.md and docs/ (a section too)."""
    for page in _markdown_files():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s): not checked here
            path, _, section = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.relative_to(ROOT)} links {target}: no such file"
            if section and file.suffix == ".md":
                assert section in _anchors(file.read_text(encoding="utf-8")), (
                    f"{page.relative_to(ROOT)} links {target}: no such section"
                )


def test_the_readme_contents_list_its_sections() -> None:
    contents = README.split("**Contents:**", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"\(#([^)]+)\)", contents)
    sections = [_anchor(h) for h in re.findall(r"^## (.+)$", README, re.M)]
    assert listed == sections
