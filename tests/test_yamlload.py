"""yamlload: safe, located YAML. Positions, numbers as people write them, merge keys, and every
way a file can be hostile or broken ending in a UserError with a place, never a crash."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mnistctl.errors import UserError
from mnistctl.spec.yamlload import MAX_DEPTH, MAX_FILE_BYTES, load_file, load_text, parse_value


def data(text: str) -> Any:
    return load_text(text, "t.yaml").data


def error(text: str) -> UserError:
    with pytest.raises(UserError) as info:
        load_text(text, "t.yaml")
    return info.value


def place(err: UserError) -> tuple[int | None, int | None]:
    return err.location.line, err.location.col


# --- positions --------------------------------------------------------------------------------

SPEC = """\
name: x
model:
  layers:
    - {type: Input, shape: [784]}
    - type: Dense
      units: 10
"""


def test_positions_of_values_and_keys() -> None:
    doc = load_text(SPEC, "t.yaml")
    assert doc.marks[("name",)] == (1, 7)
    assert doc.marks[("model", "layers", 0)] == (4, 7)
    assert doc.marks[("model", "layers", 0, "shape", 0)] == (4, 29)
    assert doc.marks[("model", "layers", 1, "units")] == (6, 14)
    assert doc.key_marks[("model", "layers", 1, "units")] == (6, 7)


def test_location_falls_back_to_the_nearest_enclosing_node() -> None:
    doc = load_text(SPEC, "t.yaml")
    loc = doc.location(("model", "layers", 1, "activation"))
    assert (loc.file, loc.line, loc.col) == ("t.yaml", 5, 7)
    assert loc.path == ("model", "layers", 1, "activation")
    key = doc.location(("model", "layers", 1, "units"), key=True)
    assert (key.line, key.col) == (6, 7)
    missing_key = doc.location(("model", "nothing"), key=True)
    assert (missing_key.line, missing_key.col) == (3, 3)
    assert doc.location(()).line == 1


def test_crlf_and_bom_do_not_shift_positions(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SPEC.replace("\n", "\r\n").encode())
    doc = load_file(path)
    assert doc.data["name"] == "x"
    assert doc.marks[("model", "layers", 1, "units")] == (6, 14)


# --- scalars ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("1E5", 100000.0),
        ("1.0e-7", 1e-7),
        ("6.02e+23", 6.02e23),
        (".5", 0.5),
        ("-.5", -0.5),
        ("+.5e1", 5.0),
        ("1.", 1.0),
        ("3.0", 3.0),
        ("1_000", 1000),
        ("-1", -1),
        ("0", 0),
        ("10000000000000000000000", 10**22),
        ("yes", True),
        ("no", False),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-02", "2024-01-02"),
        ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),
        ("'1e-3'", "1e-3"),
        ("!!str 123", "123"),
        ("!!float 1", 1.0),
        ("1e5x", "1e5x"),
        ("12e", "12e"),
        ("1.2.3", "1.2.3"),
        ("relu", "relu"),
    ],
)
def test_scalars(text: str, value: Any) -> None:
    got = data(f"v: {text}\n")["v"]
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1e999", "-1e400"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    err = error(f"lr: {text}\n")
    assert err.message == "not a finite number"
    assert place(err) == (1, 5)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("!!int ten", "int"),
        ("!!int 1.5", "int"),
        ("!!float abc", "float"),
        ("!!float ''", "float"),
        ("!!bool maybe", "bool"),
        ("._", "float"),
    ],
)
def test_explicit_tags_with_bad_values_are_user_errors(text: str, what: str) -> None:
    err = error(f"v: {text}\n")
    assert err.message == f"not a valid {what}"
    assert place(err) == (1, 4)


# --- merge keys, anchors, aliases -------------------------------------------------------------


def test_merge_key_explicit_keys_win() -> None:
    got = data("a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  x: 3\n")
    assert got["b"] == {"x": 3, "y": 2}
    got = data("a: &a {x: 1, y: 2}\nb:\n  x: 3\n  <<: *a\n")  # order does not matter
    assert got["b"] == {"x": 3, "y": 2}


def test_merge_key_earlier_sources_win() -> None:
    got = data("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {<<: [*a, *b], w: 0}\n")
    assert got["c"] == {"x": 1, "y": 1, "z": 2, "w": 0}


def test_merged_keys_keep_their_source_position() -> None:
    doc = load_text("a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n", "t.yaml")
    assert doc.marks[("b", "x")] == (1, 11)
    assert doc.marks[("b", "y")] == (4, 6)


def test_aliases_give_independent_copies() -> None:
    got = data("a: &a {x: [1]}\nb: *a\n")
    assert got["a"] == got["b"]
    got["b"]["x"].append(2)
    assert got["a"] == {"x": [1]}


def test_merge_of_a_non_mapping_is_an_error() -> None:
    err = error("a: &a [1, 2]\nb: {<<: *a}\n")
    assert "merge key '<<' needs a mapping" in err.message
    assert err.location.line == 1  # at the offending item of the aliased list


def test_alias_bomb_is_refused_fast() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.perf_counter()
    err = error("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 1.0
    assert "alias bomb" in err.message


def test_recursive_alias_is_refused() -> None:
    err = error("a: &a [1, *a]\n")
    assert err.message == "recursive alias"
    assert place(err) == (1, 4)


def test_undefined_alias() -> None:
    err = error("a: *nothing\n")
    assert "found undefined alias" in err.message
    assert place(err) == (1, 4)


# --- nesting ----------------------------------------------------------------------------------


def test_40000_open_brackets_do_not_crash() -> None:
    start = time.perf_counter()
    err = error("[" * 40_000)
    assert time.perf_counter() - start < 5.0
    assert err.message == "nesting too deep"
    assert err.location.line == 1


def test_deep_block_nesting() -> None:
    text = "".join(" " * i + "k:\n" for i in range(200))
    assert error(text).message == "nesting too deep"


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1  # the root mapping is the first level
    got = data("v: " + "[" * depth + "]" * depth)["v"]
    for _ in range(depth - 1):
        got = got[0]
    assert got == []
    err = error("v: " + "[" * (depth + 1) + "]" * (depth + 1))
    assert err.message == "nesting too deep"
    assert place(err) == (1, 4 + depth)


# --- duplicates, keys, tags -------------------------------------------------------------------


def test_duplicate_key_in_a_nested_mapping() -> None:
    err = error("a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n")
    assert err.message == "duplicate key 'c' (first at line 3)"
    assert place(err) == (5, 5)


def test_duplicate_key_in_a_flow_mapping() -> None:
    err = error("a: {x: 1, x: 1}\n")
    assert err.message.startswith("duplicate key 'x'")
    assert place(err) == (1, 11)


def test_same_key_in_different_mappings_is_fine() -> None:
    assert data("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_keys_are_strings() -> None:
    assert data("1: a\ntrue: b\n") == {"1": "a", "true": "b"}  # as written


def test_collection_key_is_refused() -> None:
    assert error("? [a]\n: 1\n").message == "a key must be a plain string"


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("!!python/object/apply:os.system ['echo hi']", "!!python/object/apply:os.system"),
        ("!!python/name:builtins.eval ''", "!!python/name:builtins.eval"),
        ("!!python/object:collections.OrderedDict {}", "!!python/object:collections.OrderedDict"),
        ("!!python/tuple [1, 2]", "!!python/tuple"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!custom 1", "!custom"),
        ("!custom [1]", "!custom"),
        ("!custom {a: 1}", "!custom"),
        ("!<tag:example.com,2000:x> 1", "tag:example.com,2000:x"),
    ],
)
def test_tags_are_refused(text: str, tag: str) -> None:
    err = error(f"v: {text}\n")
    assert err.message == f"YAML tag {tag!r} is not allowed"
    assert err.hint and "no tag may construct objects" in err.hint
    assert place(err) == (1, 4)


def test_a_refused_tag_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(UserError):
        data(f"v: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\n")
    assert not marker.exists()


# --- whole-file problems ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n# comments\n", "  \n# x\n"])
def test_empty_documents(text: str) -> None:
    err = error(text)
    assert err.message == "the spec is empty"
    assert place(err) == (1, 1)


def test_a_bare_document_marker_is_an_empty_spec() -> None:
    err = error("---\n")
    assert err.message == "the spec is empty"
    assert err.received == "null"


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n", "a list"), ("hello\n", "a string"), ("3\n", "a int")]
)
def test_not_a_mapping(text: str, kind: str) -> None:
    err = error(text)
    assert err.message == "the spec must be a mapping"
    assert err.received == kind


def test_several_documents() -> None:
    err = error("a: 1\n---\nb: 2\n")
    assert "several YAML documents" in err.message
    assert place(err) == (2, 1)


def test_tab_indentation() -> None:
    err = error("a:\n\tb: 1\n")
    assert err.message.startswith("YAML syntax error")
    assert place(err) == (2, 1)


@pytest.mark.parametrize(("char", "col"), [("\x00", 5), ("\x07", 5), ("\x1b", 5), ("\ufffe", 5)])
def test_control_characters(char: str, col: int) -> None:
    err = error(f"a: x{char}y\n")
    assert err.message == "control character in the file"
    assert place(err) == (1, col)
    assert err.received == f"character U+{ord(char):04X}"


def test_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_file(path).data == {"a": 1}


def test_non_utf8_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf" + b"\xe9\n")
    with pytest.raises(UserError) as info:
        load_file(path)
    err = info.value
    assert err.message == "the file is not valid UTF-8"
    assert (err.location.file, err.location.line, err.location.col) == (str(path), 2, 7)
    assert err.received == "byte 0xe9"


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(UserError) as info:
        load_file(path)
    assert info.value.message == "file too large for a spec"
    assert info.value.location.line is None


def test_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * (MAX_FILE_BYTES - 6) + b"\n")
    assert load_file(path).data == {"a": 1}


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        load_file(tmp_path)
    assert info.value.message == "is a directory, not a spec file"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        load_file(tmp_path / "nope.yaml")
    assert info.value.message == "no such file"
    assert info.value.location.file == str(tmp_path / "nope.yaml")


def test_display_name(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: [\n")
    with pytest.raises(UserError) as info:
        load_file(path, display="shown.yaml")
    assert info.value.location.file == "shown.yaml"


# --- --set values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("abc", "abc"),
        ("[1, 2]", [1, 2]),
        ("{type: sgd}", {"type": "sgd"}),
        ("", None),
        ("null", None),
        ("'64'", "64"),
        ("yes", True),
        ("64", 64),
    ],
)
def test_parse_value(text: str, value: Any) -> None:
    assert parse_value(text, "--set x") == value


@pytest.mark.parametrize("text", ["!!python/name:os.system", "[1", ".nan", "a: 1\n---\nb: 2"])
def test_parse_value_errors_carry_no_line(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_value(text, "--set x=" + text)
    assert info.value.location.file == "--set x=" + text
    assert info.value.location.line is None
