"""Regression tests for the spec language's hardening issue, each covering its whole class.

1. Integers where Keras wants a float: every number-typed argument of every layer type and every
   optimizer, given as an integer within its bounds, builds in Keras (generated from the tables);
   integer-typed arguments still refuse floats.
2. Names that end in (or hold) whitespace or control characters: full-match patterns, one-line
   located errors, for the spec name, layer names, inputs and outputs.
3. Hostile spec paths: sparse files, /dev/zero, FIFOs, directories; refused before reading.
4. ``--set`` keys with Unicode digits are names, never indices (nor crashes).
5. Errors caused by a ``--set`` are located at that ``--set``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.errors import UserError, UserErrors
from mnistctl.spec import load_spec
from mnistctl.spec.layers import LAYER_TYPES
from mnistctl.spec.options import OPTIMIZERS

ROOT = Path(__file__).resolve().parent.parent

SMALL = """\
model:
  layers:
    - {type: Input, name: image, shape: [28, 28, 1]}
    - {type: Flatten, name: flat}
    - {type: Dense, name: hidden, units: 8, activation: relu}
    - {type: Dense, name: out, units: 10, activation: softmax}
"""


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _errors(path: Path, overrides: Sequence[str] = ()) -> list[UserError]:
    with pytest.raises(UserErrors) as info:
        load_spec(path, overrides)
    return info.value.errors


def _assert_one_line(err: UserError) -> None:
    line = err.one_line()
    assert line.isprintable(), repr(line)


# --- 1. integers where Keras wants a float ---------------------------------------------------


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type", ())
    return {kind} if isinstance(kind, str) else set(kind)


def _int_bounds(schema: Mapping[str, Any]) -> tuple[int | None, int | None]:
    lo = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        lo = math.floor(schema["exclusiveMinimum"]) + 1
    hi = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        hi = math.ceil(schema["exclusiveMaximum"]) - 1
    return (None if lo is None else math.ceil(lo)), (None if hi is None else math.floor(hi))


def _ints_within(schema: Mapping[str, Any]) -> list[int]:
    """The smallest and the largest integer the schema fragment allows (0 and 1 if unbounded)."""
    lo, hi = _int_bounds(schema)
    candidates = {0 if lo is None else lo, 1 if hi is None else hi}
    forbidden = schema.get("not", {}).get("const")
    return sorted(
        v
        for v in candidates
        if (lo is None or v >= lo) and (hi is None or v <= hi) and v != forbidden
    )


def _example(schema: Mapping[str, Any]) -> Any:
    """A valid value for a required argument, from its schema fragment."""
    types = _types(schema)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if types & {"integer", "number"}:
        return _ints_within(schema)[0]
    if "array" in types:
        return [_example(schema["items"])] * schema.get("minItems", 1)
    if "boolean" in types:
        return False
    raise AssertionError(f"no example for {schema}")


def _number_args(table: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, int]]:
    return [
        (name, value)
        for name, schema in table.items()
        if "number" in _types(schema)
        for value in _ints_within(schema)
    ]


LAYER_INT_CASES = [
    (type_name, arg, value)
    for type_name, kind in LAYER_TYPES.items()
    if type_name != "Input"
    for arg, value in _number_args({a.name: a.schema for a in kind.args})
]
OPTIMIZER_INT_CASES = [
    (name, arg, value)
    for name, (_cls, args) in OPTIMIZERS.items()
    for arg, value in _number_args(args)
]


def _layer_under_test(type_name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    kind = LAYER_TYPES[type_name]
    layer: dict[str, Any] = {"type": type_name, "name": "probe"}
    layer.update({a.name: _example(a.schema) for a in kind.args if a.required})
    if kind.min_inputs > 1:
        layer["inputs"] = ["image"] * kind.min_inputs
    layer.update(args)
    return layer


def _model_text(layer: Mapping[str, Any]) -> str:
    layers = [
        {"type": "Input", "name": "image", "shape": [28, 28, 1]},
        dict(layer),
        {"type": "Flatten", "name": "flat"},
        {"type": "Dense", "name": "out", "units": 10, "activation": "softmax"},
    ]
    return json.dumps({"model": {"layers": layers}})  # JSON is YAML


def test_int_cases_are_generated_for_every_number_argument() -> None:
    assert ("Dropout", "rate", 0) in LAYER_INT_CASES
    assert ("BatchNormalization", "momentum", 1) in LAYER_INT_CASES
    assert ("adadelta", "learning_rate", 1) in OPTIMIZER_INT_CASES
    assert ("sgd", "momentum", 0) in OPTIMIZER_INT_CASES
    assert {name for name, _a, _v in OPTIMIZER_INT_CASES} == set(OPTIMIZERS)


def test_keras_kwargs_turns_integers_into_floats_where_the_schema_says_number() -> None:
    from mnistctl.spec.kwargs import keras_kwargs

    schemas: dict[str, dict[str, Any]] = {
        "rate": {"type": "number"},
        "units": {"type": "integer"},
        "either": {"type": ["number", "null"]},
        "kernel_size": {"type": ["integer", "array"], "items": {"type": "integer"}},
        "scales": {"type": "array", "items": {"type": "number"}},
        "flag": {"type": "boolean"},
    }
    given = {
        "rate": 1,
        "units": 3,
        "either": 0,
        "kernel_size": [3, 3],
        "scales": [1, 0.5],
        "flag": True,
        "unknown": 2,
    }
    out = keras_kwargs(schemas, given)
    assert out == {
        "rate": 1.0,
        "units": 3,
        "either": 0.0,
        "kernel_size": (3, 3),
        "scales": (1.0, 0.5),
        "flag": True,
        "unknown": 2,
    }
    assert type(out["rate"]) is float and type(out["units"]) is int
    assert type(out["scales"][0]) is float and out["flag"] is True
    assert given["rate"] == 1 and type(given["rate"]) is int  # the spec's data is not changed


@pytest.mark.parametrize(("type_name", "arg", "value"), LAYER_INT_CASES)
def test_layer_number_argument_given_as_int_builds_in_keras(
    tmp_path: Path, type_name: str, arg: str, value: int
) -> None:
    import keras

    from mnistctl.ml.builder import build_model

    layer = _layer_under_test(type_name, {arg: value})
    spec = load_spec(_write(tmp_path, _model_text(layer)))
    keras.backend.clear_session()
    model = build_model(spec)
    out = model(np.zeros((2, 28, 28, 1), dtype="float32"), training=True)
    assert tuple(out.shape) == (2, 10)


@pytest.mark.parametrize(("name", "arg", "value"), OPTIMIZER_INT_CASES)
def test_optimizer_number_argument_given_as_int_constructs_in_keras(
    tmp_path: Path, name: str, arg: str, value: int
) -> None:
    import keras

    from mnistctl.ml.compile import make_optimizer

    path = _write(tmp_path, SMALL)
    spec = load_spec(path, [f"compile.optimizer={{type: {name}, {arg}: {value}}}"])
    optimizer = make_optimizer(spec)
    variable = keras.Variable(np.ones(3, dtype="float32"))
    optimizer.apply_gradients([(keras.ops.ones(3), variable)])
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(variable)))


def test_the_reported_example_trains_a_step(tmp_path: Path) -> None:
    import keras

    from mnistctl.ml.builder import build_model
    from mnistctl.ml.compile import compile_model

    spec = load_spec(
        _write(tmp_path, SMALL), ["compile.optimizer={type: adadelta, learning_rate: 1}"]
    )
    keras.backend.clear_session()
    model = build_model(spec)
    compile_model(model, spec)
    y = np.eye(10, dtype="float32")[:4]
    loss = model.train_on_batch(np.zeros((4, 28, 28, 1), dtype="float32"), y)
    assert np.all(np.isfinite(loss))


def _integer_args() -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for type_name, kind in LAYER_TYPES.items():
        for a in kind.args:
            types = _types(a.schema)
            if "number" in types:
                continue
            if "integer" in types:
                out.append((type_name, a.name, float(_ints_within(a.schema)[-1])))
            elif "array" in types and "integer" in _types(a.schema.get("items", {})):
                out.append((type_name, a.name, [float(v) for v in _example(a.schema)]))
    return out


@pytest.mark.parametrize(("type_name", "arg", "value"), _integer_args())
def test_integer_layer_arguments_refuse_floats(
    tmp_path: Path, type_name: str, arg: str, value: Any
) -> None:
    if type_name == "Input":
        layers = [{"type": "Input", "shape": value}, {"type": "Dense", "units": 10}]
    else:
        layers = [
            {"type": "Input", "shape": [28, 28, 1]},
            _layer_under_test(type_name, {arg: value}),
        ]
    path = _write(tmp_path, json.dumps({"model": {"layers": layers}}))
    errors = _errors(path)
    wrong = [e for e in errors if e.message.startswith("wrong type")]
    assert wrong, [e.one_line() for e in errors]
    at = ("model", "layers", 0 if type_name == "Input" else 1, arg)
    assert all(e.location.path[:4] == at for e in wrong), [e.one_line() for e in wrong]
    assert any("an integer" in (e.expected or "") for e in wrong)


@pytest.mark.parametrize(
    "item",
    ["train.epochs=2.0", "train.batch_size=32.0", "train.seed=0.0", "data.train_samples=1e3"],
)
def test_integer_settings_refuse_floats(tmp_path: Path, item: str) -> None:
    (err,) = _errors(_write(tmp_path, SMALL), [item])
    assert err.message.startswith("wrong type")
    assert err.location.file == f"--set {item}"


# --- 2. names with whitespace and control characters -----------------------------------------

BAD_CHARACTERS = ["\n", "\r", "\t", "\x0b", "\x0c", "\x00", "\x1b", "\u2028", "\x85", " ", "\r\n"]
BAD_NAMES = [
    pytest.param(text, id=f"{where}-{c!a}")
    for c in BAD_CHARACTERS
    for where, text in (("end", f"out{c}"), ("start", f"{c}out"), ("middle", f"o{c}ut"))
]
NAME_FIELDS = {  # where a name goes: (the spec's text with {} for the quoted name, its path)
    "spec name": ("name: {}\n" + SMALL, ("name",)),
    "layer name": (SMALL.replace("name: out,", "name: {},"), ("model", "layers", 3, "name")),
    "inputs": (
        SMALL.replace("name: out,", "name: out, inputs: [{}],"),
        ("model", "layers", 3, "inputs", 0),
    ),
    "outputs": (SMALL + "  outputs: [{}]\n", ("model", "outputs", 0)),
}


@pytest.mark.parametrize("field", list(NAME_FIELDS))
@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_with_whitespace_or_control_characters_are_refused(
    tmp_path: Path, field: str, name: str
) -> None:
    template, spec_path = NAME_FIELDS[field]
    quoted = json.dumps(name)  # a YAML double-quoted scalar with escapes
    text = template.replace("{}", quoted)
    path = _write(tmp_path, text)
    errors = _errors(path)
    assert len(errors) == 1, [e.one_line() for e in errors]
    (err,) = errors
    _assert_one_line(err)
    before = text[: text.index(quoted)]
    assert err.location.file == str(path)
    assert (err.location.line, err.location.col) == (
        before.count("\n") + 1,
        len(before) - before.rfind("\n"),
    )
    assert err.location.path == spec_path
    assert err.message.startswith("invalid "), err.one_line()


def test_block_scalar_name_from_the_issue(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: |\n  tiny\n" + SMALL)
    (err,) = _errors(path)
    assert err.one_line().startswith(f"{path}:1:7: name: invalid name")
    assert "'tiny\\n'" in err.one_line()


@pytest.mark.parametrize("field", ["name", "model.layers.out.name", "model.outputs.0"])
@pytest.mark.parametrize("name", ['"out\\n"', '"out\\u2028"', "|\n  out\n", '"\\tout"'])
def test_bad_names_from_set_are_one_line_errors_at_the_set(
    tmp_path: Path, field: str, name: str
) -> None:
    text = SMALL + ("  outputs: [out]\n" if "outputs" in field else "")
    item = f"{field}={name}"
    errors = _errors(_write(tmp_path, text), [item])
    assert errors
    for err in errors:
        _assert_one_line(err)
        assert err.location.file is not None and err.location.file.startswith("--set "), err
    assert any(e.message.startswith("invalid ") for e in errors)


def test_schema_patterns_are_anchored_so_full_matching_equals_ecmascript() -> None:
    from mnistctl.spec.schema import build_schema

    patterns: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(build_schema())
    assert patterns
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


def test_good_names_still_pass(tmp_path: Path) -> None:
    text = "name: my-run.v2_0\n" + SMALL.replace("name: out,", "name: _Out.2-b,")
    spec = load_spec(_write(tmp_path, text))
    assert spec.name == "my-run.v2_0" and spec.outputs == ("_Out.2-b",)


# --- 3. hostile spec paths -------------------------------------------------------------------


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))


def _validate_in_subprocess(path: Path) -> subprocess.CompletedProcess[str]:
    """``mnistctl validate PATH`` with 1 GiB of address space; a hang fails by its timeout."""
    return subprocess.run(
        [sys.executable, "-m", "mnistctl", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        cwd=ROOT,
        check=False,
    )


def _assert_refused(result: subprocess.CompletedProcess[str], path: Path, words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}: "), result.stderr
    assert words in lines[0], result.stderr


def test_sparse_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(2**31)
    result = _validate_in_subprocess(path)
    _assert_refused(result, path, "file too large for a spec")
    assert "2,147,483,648 bytes" in result.stderr


def test_dev_zero_is_refused(tmp_path: Path) -> None:
    path = Path("/dev/zero")
    _assert_refused(_validate_in_subprocess(path), path, "not a regular file")


def test_link_to_dev_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.yaml"
    path.symlink_to("/dev/zero")
    _assert_refused(_validate_in_subprocess(path), path, "not a regular file")


def test_fifo_without_a_writer_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    _assert_refused(_validate_in_subprocess(path), path, "not a regular file")


def test_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.mkdir()
    _assert_refused(_validate_in_subprocess(path), path, "is a directory")


def test_read_text_reads_at_most_one_byte_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that grows after its size was checked is still read only up to the limit."""
    from mnistctl.spec import textfile

    path = tmp_path / "grows.yaml"
    path.write_bytes(b"# x\n" * 10)
    monkeypatch.setattr(textfile, "MAX_FILE_BYTES", 16)
    with pytest.raises(UserError) as info:
        textfile.read_text(path)
    assert info.value.message == "file too large for a spec"
    real_fstat = os.fstat

    class _Small:  # the size as it was when checked; the file grew since
        def __init__(self, st: os.stat_result) -> None:
            self._st = st
            self.st_size = 8

        def __getattr__(self, name: str) -> Any:
            return getattr(self._st, name)

    monkeypatch.setattr(os, "fstat", lambda fd, **_kw: _Small(real_fstat(fd)))
    monkeypatch.setattr(os, "stat", lambda p, **_kw: _Small(os.lstat(p)))
    with pytest.raises(UserError) as info:
        textfile.read_text(path)
    assert info.value.message == "file too large for a spec"
    assert info.value.received == "more than 16 bytes"


# --- 4. --set keys with Unicode digits -------------------------------------------------------


@pytest.mark.parametrize("index", ["²", "١", "１", "٣", "-²", "--1", "+1", "1_0", "1 ", "⑴"])
def test_set_key_with_non_ascii_digits_is_a_name(tmp_path: Path, index: str) -> None:
    item = f"model.layers.{index}.units=5"
    (err,) = _errors(_write(tmp_path, SMALL), [item])
    assert err.location.file == f"--set {item}"
    assert err.message.startswith(f"no item named {index!r}"), err.one_line()


@pytest.mark.parametrize("index", ["2", "-2", "02"])
def test_set_key_with_ascii_digits_is_an_index(tmp_path: Path, index: str) -> None:
    spec = load_spec(_write(tmp_path, SMALL), [f"model.layers.{index}.units=5"])
    assert spec.layers[2].args["units"] == 5


# --- 5. errors caused by --set are located at the --set --------------------------------------

MINIMAL = """\
model:
  layers:
    - {type: Input, shape: [784]}
    - {type: Dense, name: out, units: 10, activation: softmax}
"""


@pytest.mark.parametrize(
    ("overrides", "blamed", "message"),
    [
        (["compile.optimizer.learning_rate=1"], 0, "missing required key 'type'"),
        (["train.foo.bar=1"], 0, "unknown key 'foo' in train"),
        (["data.path.x=1"], 0, "wrong type for path"),
        (["data.path=null", "data.path.x=1"], 1, "wrong type for path"),
        (["model.layers.out.units=5"], 0, "does not fit 10 classes"),
        (["model.layers.1.units=0", "model.layers.1={type: Dense, units: 0}"], 1, "too small"),
        (["model.layers.1.units=0", "model.layers.1.activation=relu"], 0, "too small"),
        (["model.layers.1.inputs=[out]"], 0, "may only name earlier layers"),
        (["model.layers.1={type: Conv2D, filters: 10, kernel_size: 3}"], 0, "rank 4"),
    ],
)
def test_errors_caused_by_set_are_located_at_the_set(
    tmp_path: Path, overrides: list[str], blamed: int, message: str
) -> None:
    errors = _errors(_write(tmp_path, MINIMAL), overrides)
    matching = [e for e in errors if message in e.message]
    assert matching, [e.one_line() for e in errors]
    for err in matching:
        assert err.location.file == f"--set {overrides[blamed]}", err.one_line()
        assert err.location.line is None


def test_the_file_lacking_the_section_is_never_blamed_at_1_1(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    for item in ["compile.optimizer.learning_rate=1", "train.x.y=1", "compile.loss.x=1"]:
        for err in _errors(path, [item]):
            assert (err.location.line, err.location.col) != (1, 1), err.one_line()


def test_errors_in_the_file_stay_in_the_file(tmp_path: Path) -> None:
    text = MINIMAL.replace("units: 10", "units: 5")
    path = _write(tmp_path, text)
    (err,) = _errors(path, ["train.epochs=1"])
    assert err.location.file == str(path)
    assert err.location.line == 4


def test_set_items_with_control_characters_are_shown_escaped(tmp_path: Path) -> None:
    item = "model.layers.out\n.units=3"
    (err,) = _errors(_write(tmp_path, SMALL), [item])
    _assert_one_line(err)
    assert err.message.startswith("no item named 'out\\n'")


# --- other instances of the same classes -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '!!int "١٢"',
        '!!int "１"',
        '!!int "0x１"',
        '!!int " 12"',
        '!!int "12\\n"',
        '!!float "١.٥"',
        '!!float "1.5 "',
        '!!float "²"',
    ],
)
def test_tagged_numbers_take_ascii_digits_only(text: str) -> None:
    from mnistctl.spec.yamlload import load_text

    with pytest.raises(UserError) as info:
        load_text(f"a: {text}\n", "t.yaml")
    assert info.value.message.startswith("not a valid ")
    assert (info.value.location.line, info.value.location.col) == (1, 4)
    _assert_one_line(info.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [('!!int "12"', 12), ('!!int "0x1f"', 31), ('!!int "-1_0"', -10), ('!!float "1.5e3"', 1500.0)],
)
def test_tagged_ascii_numbers_still_read(text: str, value: Any) -> None:
    from mnistctl.spec.yamlload import load_text

    assert load_text(f"a: {text}\n", "t.yaml").data == {"a": value}


def test_float_resolver_is_anchored_at_the_very_end() -> None:
    from mnistctl.spec.yamlload import _FLOAT_RE

    assert _FLOAT_RE.match("1.5")
    assert not _FLOAT_RE.match("1.5\n")


def test_validation_split_given_as_int_is_a_float(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, SMALL), ["data.validation_split=0"])
    assert type(spec.data.validation_split) is float
