"""The two test tiers: which tests are slow, decided from what they do, and kept honest.

``pytest -m "not slow"`` is the loop (about a minute on 2 cores); ``pytest`` is the whole suite,
the gate (.ci/run runs the fast tier first, then ``-m slow``). A test is slow when it trains a
model, builds a Keras model, or starts a process (mnistctl, a server, a browser, workers).

Marking is automatic (``mark_slow``, at collection): a test is slow when its code, the code of
the fixtures it uses, or the code of the test-suite functions either calls (followed through
the test modules and ``helpers``, to any depth) names one of ``SLOW_NAMES``, or runs one of the
CLI commands in ``SLOW_COMMANDS`` through ``cli``. An explicit ``@pytest.mark.slow`` works too.

The fast tier checks the marking (``Guard``): a test left unmarked there that starts a process
or trains a Keras model fails, saying so, instead of quietly making the loop slow again.
"""

from __future__ import annotations

import dis
import inspect
import platform
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent

SLOW_NAMES = frozenset(
    {
        # trains (mnistctl's runs, the Python API, Keras itself)
        "trained_run", "train_loaded", "train_spec", "tune_spec", "fit", "train_on_batch",
        "resume",
        # builds a Keras model
        "build_model", "build_one", "Sequential", "Functional", "load_model", "load_served",
        # starts a process
        "subprocess", "Popen", "MNISTCTL", "multiprocessing", "ProcessPoolExecutor",
        "Pool", "TimedPool", "Preparers",  # mnistctl.procs's worker pools
        "server",  # tests/pg.py's throwaway PostgreSQL
        "sync_playwright",
    }
)  # fmt: skip
"""Names whose use makes a test slow, wherever they appear in the code it runs."""

SLOW_ATTRIBUTES = frozenset({"mnistctl.train", "mnistctl.resume"})
"""``module.name`` uses that make a test slow (the Python API's training)."""

SLOW_COMMANDS = frozenset(
    {"train", "tune", "evaluate", "plot", "predict", "explain", "export", "serve"}
)
"""CLI commands that train or load a model; run through ``cli(...)`` they make a test slow."""

PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn"})


def _attributes(code: types.CodeType) -> set[str]:
    """``name.attribute`` as the code loads them (a global, then an attribute of it)."""
    found: set[str] = set()
    previous = None
    for instruction in dis.get_instructions(code):
        if instruction.opname in {"LOAD_ATTR", "LOAD_METHOD"} and previous is not None:
            found.add(f"{previous}.{instruction.argval}")
        previous = (
            instruction.argval if instruction.opname in {"LOAD_GLOBAL", "LOAD_NAME"} else None
        )
    return found


def _functions_in(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _functions_in(const)


def _ours(value: Any) -> types.CodeType | None:
    """The code of a function (or a fixture's function) defined in the test suite."""
    func = inspect.unwrap(value) if callable(value) else value
    code = getattr(func, "__code__", None)
    if code is None or not Path(code.co_filename).resolve().is_relative_to(TESTS):
        return None
    return code


def _reasons(start: Iterable[tuple[types.CodeType, dict[str, Any]]]) -> set[str]:
    """What makes this code slow: the slow names and CLI commands it reaches."""
    seen: set[types.CodeType] = set()
    todo = list(start)
    found: set[str] = set()
    while todo:
        code, scope = todo.pop()
        if code in seen:
            continue
        seen.add(code)
        for part in _functions_in(code):
            names = set(part.co_names)
            found |= names & SLOW_NAMES
            found |= _attributes(part) & SLOW_ATTRIBUTES
            if "cli" in names or "invoke" in names:
                found |= {f"cli {c}" for c in part.co_consts if c in SLOW_COMMANDS}
            for name in part.co_names:
                callee = _ours(scope.get(name))
                if callee is not None:
                    module = sys.modules.get(getattr(scope.get(name), "__module__", ""), None)
                    todo.append((callee, vars(module) if module else scope))
    return found


def slow_reasons(item: pytest.Item) -> set[str]:
    """Why ``item`` is slow (empty: it is fast)."""
    function = getattr(item, "function", None)
    if function is None:
        return set()
    scope = vars(item.module) if getattr(item, "module", None) else {}  # type: ignore[attr-defined]
    start = [(function.__code__, scope)]
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            code = _ours(fixturedef.func)
            if code is not None:
                module = sys.modules.get(fixturedef.func.__module__)
                start.append((code, vars(module) if module else scope))
    return _reasons(start)


def mark_slow(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is None and slow_reasons(item):
            item.add_marker(pytest.mark.slow)


def fast_tier_only(config: pytest.Config) -> bool:
    expression = (config.option.markexpr or "").replace(" ", "")
    return expression == "notslow"


class Guard:
    """In the fast tier: an unmarked test that starts a process or trains fails."""

    def __init__(self) -> None:
        self.active = False
        self.seen: list[str] = []
        self._patched = False
        # Python's own one-time probe (``uname -p``, cached), which TensorFlow's import asks for
        platform.processor()
        sys.addaudithook(self._audit)  # cannot be removed: ``active`` turns it off

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active and event in PROCESS_EVENTS:
            self.seen.append(f"starts a process ({event})")

    def _patch_keras(self) -> None:
        keras = sys.modules.get("keras")
        if self._patched or keras is None:
            return
        self._patched = True
        original: Callable[..., Any] = keras.Model.fit

        def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
            if self.active:
                self.seen.append("trains a Keras model (Model.fit)")
            return original(model, *args, **kwargs)

        keras.Model.fit = fit

    def start(self) -> None:
        self._patch_keras()
        self.seen = []
        self.active = True

    def stop(self) -> list[str]:
        self.active = False
        self._patch_keras()
        return sorted(set(self.seen))
