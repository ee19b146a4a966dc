"""Shared fixtures: the repository root and an in-process CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def conv_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small trained CNN run (``helpers.CONV_SPEC``, 400 real digits, one epoch), trained once
    for the session and shared by the tests that only read it (predict, serve)."""
    from helpers import CONV_SPEC, trained_run

    return trained_run(tmp_path_factory.mktemp("conv-run"), CONV_SPEC, "conv.yaml", n_train=400)


# --- the two tiers (tests/tiers.py) -------------------------------------------------------------

_guard: Any = None


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tiers import mark_slow

    mark_slow(items)


def pytest_configure(config: pytest.Config) -> None:
    global _guard
    from tiers import Guard, fast_tier_only

    if fast_tier_only(config):
        _guard = Guard()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    if _guard is None or item.get_closest_marker("slow") is not None:
        return (yield)
    _guard.start()
    try:
        result = yield
    finally:
        seen = _guard.stop()
    if seen:
        pytest.fail(
            f"this test {' and '.join(seen)}: it belongs to the slow tier. Mark it "
            "@pytest.mark.slow, or add what it calls to SLOW_NAMES in tests/tiers.py",
            pytrace=False,
        )
    return result
