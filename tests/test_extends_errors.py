"""Bad ``extends:``, ``set:`` and ``edit:`` (issue 21, item 1): every error is located in the
file whose text is wrong, at its line and column; the parents that cannot be read, cycles,
chains too long and URLs are errors at the ``extends:`` line that names them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import cli
from test_extends import PARENT, write

from mnistctl.errors import UserErrors
from mnistctl.spec import load_spec
from mnistctl.spec.extends import MAX_CHAIN


def errors_of(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(UserErrors) as info:
        load_spec(path, overrides or [])
    return info.value.lines


def only_error(path: Path) -> str:
    lines = errors_of(path)
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    return write(tmp_path / "parent.yaml", PARENT)


def kid(tmp_path: Path, text: str, name: str = "kid.yaml") -> Path:
    return write(tmp_path / name, textwrap.dedent(text))


# --- extends: what it names ------------------------------------------------------------------


def test_a_missing_parent_is_one_line_at_the_extends_line(tmp_path: Path, parent: Path) -> None:
    path = kid(tmp_path, "name: k\nextends: parnt.yaml\n")
    line = only_error(path)
    assert line.startswith(f"{path}:2:10: extends: no such file: {tmp_path}/parnt.yaml;")
    assert line.endswith("(hint: did you mean 'parent.yaml'?)")
    far = kid(tmp_path, "extends: nowhere/else.yaml\n", "far.yaml")
    assert "(hint: the path is relative to this file's folder" in only_error(far)


def test_a_folder_a_non_spec_itself_and_a_url_are_refused(tmp_path: Path, parent: Path) -> None:
    (tmp_path / "folder").mkdir()
    path = kid(tmp_path, "extends: folder\n")
    assert only_error(path).startswith(f"{path}:1:10: extends: is a directory, not a spec file")
    write(tmp_path / "compose.yaml", "services:\n  web: {image: nginx}\n")
    path = kid(tmp_path, "extends: compose.yaml\n")
    assert only_error(path).startswith(f"{path}:1:10: extends: not a spec: {tmp_path}/compose")
    path = kid(tmp_path, "extends: kid.yaml\n")
    assert only_error(path).startswith(f"{path}:1:10: extends: a spec cannot extend itself;")
    path = kid(tmp_path, "extends: https://example.com/cnn.yaml\n")
    line = only_error(path)
    assert line.startswith(f"{path}:1:10: extends: a URL: extends names a local file;")
    for value, shown in (('""', "'' (a string)"), ("[a.yaml]", "a list of 1"), ("7", "7 (an")):
        path = kid(tmp_path, f"extends: {value}\n")
        assert only_error(path).startswith(f"{path}:1:10: extends: must name a spec file; ")
        assert f"received {shown}" in only_error(path)


def test_a_cycle_names_its_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "extends: sub/b.yaml\n")
    write(tmp_path / "sub" / "b.yaml", "name: b\nextends: ../a.yaml\n")
    line = only_error(a)
    b = tmp_path / "sub" / "b.yaml"
    assert line.startswith(f"{b}:2:10: extends: a cycle of extends: {a} -> {b} -> {a};")


def test_a_chain_longer_than_the_limit_is_refused(tmp_path: Path, parent: Path) -> None:
    for i in range(50):
        write(tmp_path / f"s{i}.yaml", f"extends: s{i + 1}.yaml\n")
    write(tmp_path / "s50.yaml", PARENT)
    last = tmp_path / f"s{MAX_CHAIN - 1}.yaml"
    line = only_error(tmp_path / "s0.yaml")
    assert line.startswith(f"{last}:1:10: extends: too many specs in a chain of extends;")
    assert f"expected at most {MAX_CHAIN} files" in line
    assert load_spec(tmp_path / f"s{50 - MAX_CHAIN + 1}.yaml").name == f"s{50 - MAX_CHAIN + 1}"


def test_a_parents_yaml_error_is_the_parents(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "train:\n  epochs: 3\n   batch_size: 2\n")
    path = kid(tmp_path, "extends: bad.yaml\n")
    assert only_error(path).startswith(f"{bad}:3:14: YAML syntax error")
    result = cli("validate", path)
    assert "   batch_size: 2" in result.stderr  # the excerpt is the parent's text


# --- a parent's mistakes are the parent's lines ----------------------------------------------


def test_a_parents_typo_is_the_parents_line_after_the_childs_edits(tmp_path: Path) -> None:
    text = PARENT.replace("units: 32,", "unit: 32,").replace("  epochs: 2", "  epoch: 2")
    mid = write(tmp_path / "base" / "parent.yaml", text)
    path = write(
        tmp_path / "kid.yaml",
        "extends: base/parent.yaml\nedit:\n"
        "  - {before: flat, insert: [{type: Dropout, rate: 0.1}, {type: Dropout, rate: 0.2}]}\n"
        "set: {compile.optimizer.learning_rate: -1}\n",
    )
    lines = errors_of(path)
    assert [x.split(": ", 1)[0] for x in lines] == [f"{mid}:10:35", f"{mid}:16:3", f"{path}:4:40"]
    assert lines[0].startswith(f"{mid}:10:35: model.layers[2].unit: unknown argument 'unit'")
    assert lines[1].startswith(f"{mid}:16:3: train.epoch: unknown key 'epoch'")
    assert "set['compile.optimizer.learning_rate']" in lines[2]
    result = cli("validate", path)  # two files: no excerpt of the wrong one
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert " | " not in result.stderr


def test_one_files_errors_show_that_files_excerpt(tmp_path: Path) -> None:
    write(tmp_path / "parent.yaml", PARENT.replace("units: 32,", "units: 0,"))
    path = kid(tmp_path, "extends: parent.yaml\ntrain: {epochs: 3}\n")
    result = cli("validate", path)
    assert result.stderr.startswith(f"{tmp_path}/parent.yaml:10:42: model.layers[2].units: ")
    assert " > 10 |     - {type: Dense, name: hidden, units: 0, activation: relu}" in result.stderr


# --- set ---------------------------------------------------------------------------------


def test_set_on_a_layer_the_parent_lacks_says_did_you_mean(tmp_path: Path, parent: Path) -> None:
    path = kid(tmp_path, "extends: parent.yaml\nset:\n  model.layers.hiden.units: 64\n")
    line = only_error(path)
    assert line.startswith(f"{path}:3:3: set['model.layers.hiden.units']: no item named 'hiden'")
    assert line.endswith("(hint: did you mean 'hidden'?)")


def test_set_on_a_key_the_parent_lacks_says_did_you_mean(tmp_path: Path, parent: Path) -> None:
    path = kid(tmp_path, "extends: parent.yaml\nset:\n  train.epochs: 0\n  trian.epochs: 1\n")
    lines = errors_of(path)
    assert lines[0].startswith(f"{path}:3:17: set['train.epochs']: epochs is too small")
    assert lines[1].startswith(f"{path}:4:3: set['trian.epochs']: unknown key 'trian'")
    assert lines[1].endswith("(hint: did you mean 'train'?)")


def test_set_must_be_a_mapping_of_paths(tmp_path: Path, parent: Path) -> None:
    path = kid(tmp_path, "extends: parent.yaml\nset: [train.epochs, 3]\n")
    assert only_error(path).startswith(f"{path}:2:6: set: must be a mapping of spec paths")
    path = kid(tmp_path, "extends: parent.yaml\nset:\n  train..epochs: 3\n")
    assert only_error(path).startswith(f"{path}:3:3: set['train..epochs']: not a spec path")
    path = kid(tmp_path, "extends: parent.yaml\nset:\n  train.epochs.x: 3\n")
    assert only_error(path).startswith(f"{path}:3:3: set['train.epochs.x']: cannot set 'x' inside")


# --- edit --------------------------------------------------------------------------------


def test_an_edit_naming_no_layer_is_the_edits_line(tmp_path: Path, parent: Path) -> None:
    path = kid(
        tmp_path,
        """\
        extends: parent.yaml
        edit:
          - {after: hidden, insert: [{type: Dropout, name: drop, rate: 0.5}]}
          - {remove: hiddn}
        """,
    )
    line = only_error(path)
    assert line.startswith(f"{path}:4:14: edit[1].remove: no layer named 'hiddn'; expected the")
    assert "inp, flat, hidden, drop, out" in line and line.endswith("did you mean 'hidden'?)")


def test_an_unnamed_layer_gets_a_hint(tmp_path: Path) -> None:
    write(
        tmp_path / "parent.yaml", PARENT.replace("{type: Flatten, name: flat}", "{type: Flatten}")
    )
    path = kid(tmp_path, "extends: parent.yaml\nedit: [{remove: flatten}]\n")
    line = only_error(path)
    assert line.startswith(f"{path}:2:17: edit[0].remove: no layer named 'flatten'")
    assert "1 layer has none (Flatten): name it in its file, or with set: {model" in line


def test_edits_with_two_verbs_none_or_the_wrong_keys(tmp_path: Path, parent: Path) -> None:
    path = kid(
        tmp_path,
        """\
        extends: parent.yaml
        edit:
          - {after: hidden, remove: out}
          - {}
          - {replace: out}
          - {remove: out, insert: [{type: Dense}]}
          - {delete: out}
          - {after: out, insert: {type: Dense, units: 3}}
          - {replace: out, with: [{type: Dense}]}
          - {remove: 3}
          - not an edit
        """,
    )
    lines = errors_of(path)
    assert [x.split(": ", 2)[:2] for x in lines] == [
        [f"{path}:3:21", "edit[0].remove"],
        [f"{path}:4:5", "edit[1]"],
        [f"{path}:5:5", "edit[2]"],
        [f"{path}:6:19", "edit[3].insert"],
        [f"{path}:7:6", "edit[4].delete"],
        [f"{path}:8:26", "edit[5].insert"],
        [f"{path}:9:26", "edit[6].with"],
        [f"{path}:10:14", "edit[7].remove"],
        [f"{path}:11:5", "edit[8]"],
    ]
    assert "an edit does one thing: this one has 'after' and 'remove'" in lines[0]
    assert "an edit needs one of after, before, replace, remove" in lines[1]
    assert "replace: needs with:" in lines[2]
    assert "does not go with remove:" in lines[3]
    assert "unknown key 'delete' in an edit" in lines[4] and "did you mean 'remove'?" in lines[4]
    assert "expected a list of layers" in lines[5] and "expected a layer" in lines[6]
    assert "must name a layer" in lines[7] and "an edit must be a mapping" in lines[8]
    path = kid(tmp_path, "extends: parent.yaml\nedit: {remove: out}\n")
    assert only_error(path).startswith(f"{path}:2:7: edit: must be a list of edits")


def test_an_inserted_name_that_exists_is_refused(tmp_path: Path, parent: Path) -> None:
    path = kid(
        tmp_path,
        "extends: parent.yaml\nedit: [{after: inp, insert: [{type: Dense, name: hidden}]}]\n",
    )
    line = only_error(path)
    assert line.startswith(f"{path}:2:50: edit[0].insert[0].name: a layer named 'hidden' already")
    path = kid(
        tmp_path,
        "extends: parent.yaml\nedit:\n"
        "  - {after: inp, insert: [{type: Dropout, name: d, rate: 0.1}, "
        "{type: Dropout, name: d, rate: 0.1}]}\n"
        "  - {replace: flat, with: {type: Flatten, name: out}}\n",
    )
    assert only_error(path).startswith(f"{path}:3:86: edit[0].insert[1].name: a layer named 'd'")


def test_removing_a_layer_another_takes_as_input_is_an_error_at_the_edit(
    tmp_path: Path, parent: Path
) -> None:
    path = kid(
        tmp_path,
        "extends: parent.yaml\nset:\n  model.layers.out.inputs: [hidden]\nedit:\n"
        "  - {remove: hidden}\n",
    )
    line = only_error(path)
    assert line.startswith(
        f"{path}:5:14: edit[0].remove: cannot remove layer 'hidden': layer 'out' takes it as input;"
    )
    path = kid(
        tmp_path,
        "extends: parent.yaml\nmodel: {outputs: [hidden]}\n"
        "edit: [{replace: hidden, with: {type: Dense, name: h2, units: 10}}]\n",
    )
    line = only_error(path)
    assert line.startswith(f"{path}:3:18: edit[0].replace: cannot rename layer 'hidden': model.")


def test_a_bad_inserted_layer_is_the_childs_line(tmp_path: Path, parent: Path) -> None:
    path = kid(
        tmp_path,
        "extends: parent.yaml\nedit: [{after: flat, insert: [{type: Conv2D, filters: 3}]}]\n",
    )
    lines = errors_of(path)
    assert lines and all(x.startswith(f"{path}:2:") for x in lines), lines
    assert "edit[0].insert[0]" in lines[0]


def test_the_command_lines_set_names_itself(tmp_path: Path, parent: Path) -> None:
    path = kid(tmp_path, "extends: parent.yaml\n")
    line = only_error_of(path, ["model.layers.hiden.units=3"])
    assert line.startswith("--set model.layers.hiden.units=3: no item named 'hiden'")


def only_error_of(path: Path, overrides: list[str]) -> str:
    lines = errors_of(path, overrides)
    assert len(lines) == 1, lines
    return lines[0]
