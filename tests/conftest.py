"""Shared fixtures: the repository root and an in-process CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def cli() -> Callable[..., Result]:
    """``cli("validate", path, ...)``: run ``mnistctl`` in-process; stdout and stderr apart."""
    from mnistctl.cli import app

    runner = CliRunner()

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        argv: Sequence[str] = [str(a) for a in args]
        return runner.invoke(app, argv, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The run record's clock, set by the test: ``clock["now"] = "2026-..."``."""
    from mnistctl.runs import record

    now = {"now": "2026-01-02T03:04:05Z"}
    monkeypatch.setattr(record, "now", lambda: now["now"])
    return now


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The tests never write the user's cache (precision decisions): a folder of their own,
    also for the processes they start."""
    import os

    os.environ["MNISTCTL_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
