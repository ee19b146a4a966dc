"""Size limits of the package's code: no module over MAX_MODULE_LINES lines, no function or
method over MAX_FUNCTION_LINES.

A module that outgrows the limit is split by concept (one name per concept), a function into
the steps it is made of. Read with ``ast`` alone: no import of the package, no TensorFlow.

A module's lines are its lines of text, as ``wc -l`` counts them. A function's lines run from
its ``def`` to its last line (``end_lineno - lineno + 1``): decorators excluded, docstring and
nested functions included (a nested function is also measured on its own).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mnistctl"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _long_functions(path: Path, text: str) -> list[str]:
    """``path:line name (n lines)`` of each function or method over MAX_FUNCTION_LINES."""
    tree = ast.parse(text, filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{_name(path)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_the_package_has_modules_to_measure() -> None:
    assert len(_modules()) > 50


def test_no_module_over_the_limit() -> None:
    too_long = []
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{_name(path)} ({lines} lines)")
    assert not too_long, (
        f"modules over {MAX_MODULE_LINES} lines (split them by concept): {', '.join(too_long)}"
    )


def test_no_function_over_the_limit() -> None:
    too_long = [
        found
        for path in _modules()
        for found in _long_functions(path, path.read_text(encoding="utf-8"))
    ]
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines (split them into their steps): "
        f"{', '.join(too_long)}"
    )


def test_a_function_is_measured_from_its_def_to_its_last_line() -> None:
    source = (
        "@decorated\ndef f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES + "\ndef g():\n    pass\n"
    )
    assert _long_functions(PACKAGE / "example.py", source) == [
        f"mnistctl/example.py:2 f ({MAX_FUNCTION_LINES + 1} lines)"
    ]
