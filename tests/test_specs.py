"""Spec examples in folders: valid ones must build in Keras and match our pure-Python summary
exactly; invalid ones declare, in ``# expect:`` header lines, the errors ``validate`` prints.

Header format (first lines of an invalid spec)::

    # expect: LINE:COL: message fragment
    # expect: LINE: message fragment        (no column: the error has none)

One ``# expect:`` line per error, in the order printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
VALID = sorted((ROOT / "tests" / "specs" / "valid").glob("*.yaml")) + sorted(
    (ROOT / "specs").glob("*.yaml")
)
INVALID = sorted((ROOT / "tests" / "specs" / "invalid").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+)(?::(\d+))?: (.+)$")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


# --- valid specs: our shapes and counts == Keras's --------------------------------------------


def _count(weights: Any) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _keras_history_names(value: Any) -> Iterator[str]:
    """Names of the layers a serialized call's arguments come from."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value["config"]["keras_history"][0]
        else:
            for item in value.values():
                yield from _keras_history_names(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _keras_history_names(item)


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_spec_builds_and_matches_keras(path: Path) -> None:
    import keras

    from mnistctl.ml import builder

    spec = load_spec(path)
    info = spec.model_info
    keras.backend.clear_session()
    model = builder.build_model(spec)

    config_layers = {c["name"]: c for c in model.get_config()["layers"]}
    assert set(config_layers) == {layer.name for layer in info.layers}
    for layer in info.layers:
        k = model.get_layer(layer.name)
        assert tuple(k.output.shape) == (None, *layer.output_shape), layer.name
        assert _count(k.trainable_weights) == layer.trainable, layer.name
        assert _count(k.non_trainable_weights) == layer.non_trainable, layer.name
        inbound = list(_keras_history_names(config_layers[layer.name]["inbound_nodes"]))
        assert inbound == list(layer.inputs), layer.name
    assert model.count_params() == info.total
    assert _count(model.trainable_weights) == info.trainable
    assert _count(model.non_trainable_weights) == info.non_trainable
    assert model.get_layer(spec.outputs[0]).output is model.outputs[0]


def test_there_are_enough_valid_examples() -> None:
    assert len(VALID) >= 20


# --- invalid specs: the CLI prints the declared errors ----------------------------------------


def _expectations(path: Path) -> list[tuple[int, int | None, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT.match(line)
        if not match:
            break
        line_no, col, fragment = match.groups()
        out.append((int(line_no), int(col) if col else None, fragment))
    return out


def _error_lines(stderr: str, file: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(file + ":")]


def check_invalid(cli: Any, path: Path, expected: list[tuple[int, int | None, str]]) -> None:
    result = cli("validate", path)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exit_code == 1, output
    assert result.stdout == ""
    file = str(path)
    assert result.stderr.splitlines()[0].startswith(file + ":"), result.stderr
    errors = _error_lines(result.stderr, file)
    assert len(errors) == len(expected), result.stderr
    for error, (line, col, fragment) in zip(errors, expected, strict=True):
        place = f"{file}:{line}:" + (f"{col}:" if col is not None else "")
        assert error.startswith(place), f"expected {place!r} in:\n{result.stderr}"
        if col is None:  # 'FILE:LINE:' means no column at all
            assert not re.match(re.escape(f"{file}:{line}:") + r"\d+:", error), error
        assert fragment in error, f"expected {fragment!r} in:\n{error}"


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_spec_reports_declared_errors(cli: Any, path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path} has no '# expect: LINE:COL: fragment' header"
    check_invalid(cli, path, expected)


def test_there_are_dozens_of_invalid_examples() -> None:
    assert len(INVALID) >= 50


# invalid files awkward to commit: written here


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


GENERATED: list[tuple[str, bytes, list[tuple[int, int | None, str]]]] = [
    ("empty.yaml", b"", [(1, 1, "the spec is empty")]),
    ("blank.yaml", b"\n\n   \n", [(1, 1, "the spec is empty")]),
    (
        "latin1.yaml",
        b"name: x\ndescription: caf\xe9\nmodel: {}\n",
        [(2, 17, "not valid UTF-8; expected UTF-8 text; received byte 0xe9")],
    ),
    (
        "utf16.yaml",
        "model: {}\n".encode("utf-16"),
        [(1, 1, "not valid UTF-8")],
    ),
    (
        "bell.yaml",
        b"model:\n  layers: [\x07]\n",
        [
            (
                2,
                12,
                "control character in the file; expected printable text; received character U+0007",
            )
        ],
    ),
    ("nul.yaml", b"name: a\x00b\n", [(1, 8, "control character")]),
    (
        "deep.yaml",
        b"model: " + b"[" * 40_000,
        [(1, 71, "nesting too deep; expected at most 64 levels")],
    ),
    (
        "deep_block.yaml",
        b"".join(b" " * i + b"k:\n" for i in range(100)) + b" " * 100 + b"v\n",
        [(64, 64, "nesting too deep")],
    ),
    (
        "bom_then_error.yaml",
        "\ufeffmodel:\n  layers:\n    - {type: Input, shape: [28, 28, 1]}\n  extra: 1\n".encode(),
        [(4, 3, "unknown key 'extra' in model")],
    ),
    (
        "crlf.yaml",
        b"model:\r\n  layers:\r\n    - {type: Inptu}\r\n",
        [(3, 14, "unknown layer type; expected one of Input")],
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "expected"), GENERATED, ids=[c[0].removesuffix(".yaml") for c in GENERATED]
)
def test_generated_invalid_file(
    cli: Any, tmp_path: Path, name: str, data: bytes, expected: list[Any]
) -> None:
    check_invalid(cli, _write(tmp_path, name, data), expected)


def test_file_too_large(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.yaml", b"# padding\n" * 110_000)
    result = cli("validate", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: file too large for a spec")
    assert "1,100,000 bytes" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_path(cli: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "spec.yaml"
    if kind == "directory":
        path.mkdir()
    result = cli("validate", path)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}: ")
    assert ("no such file" if kind == "missing" else "is a directory") in first


def test_expect_header_forms(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("# expect: 3:7: one: two\n# expect: 4: three\nmodel: {}\n# expect: 9: no\n")
    assert _expectations(path) == [(3, 7, "one: two"), (4, None, "three")]


@pytest.mark.parametrize(
    ("shape", "batch", "text"),
    [
        ((26, 26, 32), True, "(None, 26, 26, 32)"),
        ((784,), True, "(None, 784)"),
        ((), True, "(None,)"),
        ((784,), False, "(784,)"),
        ((28, 28), False, "(28, 28)"),
        ((), False, "()"),
        ([None, 10], False, "(None, 10)"),
    ],
)
def test_format_shape(shape: Any, batch: bool, text: str) -> None:
    from mnistctl.formatting import format_shape

    assert format_shape(shape, batch=batch) == text
