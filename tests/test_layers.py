"""The package's layers hold: import-linter's contract in pyproject.toml ([tool.importlinter]),
counting every import (inside functions and ``if TYPE_CHECKING:`` blocks too). .ci/run runs
``lint-imports`` as well; this test keeps the check in the developer's loop.

The contract itself is tested against what it must forbid: a graph built from this repository's
real imports plus one upward arrow planted in a copy of the package must break it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][
    0
]["layers"]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root`` (its pyproject.toml), no cache."""
    return subprocess.run(
        [sys.executable, "-c", "import sys, importlinter.cli as c; sys.exit(c.lint_imports("
         "config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip


def test_the_layers_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_subpackage_and_module_has_a_layer() -> None:
    named = {name.strip() for layer in LAYERS for name in layer.replace(":", "|").split("|")}
    package = ROOT / "mnistctl"
    present = {
        f"mnistctl.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }
    assert present == named


@pytest.mark.parametrize(
    ("module", "line", "arrow"),
    [
        ("spec/loader.py", "from mnistctl.ml import builder", "mnistctl.spec is not allowed"),
        ("data/npz.py", "import mnistctl.spec.model", "mnistctl.data is not allowed"),
        ("commands/plot.py", "from mnistctl.ui import console", "mnistctl.commands is not"),
        ("runs/layout.py", "from mnistctl.commands import common", "mnistctl.runs is not"),
        ("ml/builder.py", "import mnistctl.plots", "mnistctl.ml is not allowed"),
        ("serve/batcher.py", "from mnistctl.tune import names", "mnistctl.serve is not"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tmp_path: Path, module: str, line: str, arrow: str
) -> None:
    """Planted inside a function, where a lazy import hides: still found."""
    shutil.copytree(
        ROOT / "mnistctl", tmp_path / "mnistctl", ignore=shutil.ignore_patterns("*.npz", "static")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "mnistctl" / module
    target.write_text(target.read_text() + f"\n\ndef _planted() -> None:\n    {line}\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert arrow in result.stdout
