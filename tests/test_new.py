"""``mnistctl new NAME [--from TEMPLATE|SPEC] [--output PATH]``: a starter spec that validates,
whose first line points editors at the installed schema; the example specs found as a wheel
ships them; never a file overwritten, nothing half-written.

Fast: in-process; the wheel's layout is made in tmp_path from pyproject's force-include table.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from mnistctl.commands import new as new_module
from mnistctl.commands.new import schema_file, templates
from mnistctl.errors import UserError
from mnistctl.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema="

Cli = Callable[..., Result]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder outside the repository."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _wheel_layout(site: Path) -> Path:
    """The files pyproject's wheel force-include table puts into the wheel, laid out under
    ``site`` as an installed wheel has them; returns the package folder."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = table["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for source, dest in include.items():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, site / dest)
        else:
            (site / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, site / dest)
    return site / "mnistctl"


def _one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


# --- where the templates and the schema are --------------------------------------------------


def test_a_source_checkout_finds_every_example_spec() -> None:
    assert list(templates()) == EXAMPLES
    assert schema_file() == ROOT / "schemas" / "spec.schema.json"


def test_an_installed_wheel_finds_every_example_spec(tmp_path: Path) -> None:
    package = _wheel_layout(tmp_path / "site-packages")
    found = templates(package)
    assert list(found) == EXAMPLES
    assert all(p.parent == package / "templates" for p in found.values())
    assert schema_file(package) == package / "spec.schema.json"


def test_no_repository_folder_is_taken_for_the_checkout(tmp_path: Path) -> None:
    """A package with neither its own templates nor a pyproject.toml beside it (another
    project's specs/ folder in site-packages) has none."""
    package = tmp_path / "site-packages" / "mnistctl"
    package.mkdir(parents=True)
    (package.parent / "specs").mkdir()
    (package.parent / "specs" / "cnn.yaml").write_text("name: x\n", encoding="utf-8")
    assert templates(package) == {}
    assert schema_file(package) is None


# --- what it writes --------------------------------------------------------------------------


def test_new_writes_the_cnn_by_default(cli: Cli, here: Path) -> None:
    result = cli("new", "my_cnn")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "wrote my_cnn.yaml, a copy of the cnn template",
        "next: mnistctl validate my_cnn.yaml, then mnistctl train my_cnn.yaml",
    ]
    text = (here / "my_cnn.yaml").read_text(encoding="utf-8")
    schema = schema_file()
    assert schema is not None
    assert text.splitlines()[0] == MODELINE + schema.resolve().as_uri()
    assert "\nname: my_cnn\n" in text
    source = (ROOT / "specs" / "cnn.yaml").read_text(encoding="utf-8").splitlines()
    written = text.splitlines()
    assert written[2:] == source[2:]  # the rest as written, comments and all
    assert cli("validate", "my_cnn.yaml").exit_code == 0
    spec = load_spec(here / "my_cnn.yaml")
    assert spec.name == "my_cnn"
    assert spec.info.total == load_spec(ROOT / "specs" / "cnn.yaml").info.total


def test_the_modeline_points_at_a_file_that_is_the_schema(cli: Cli, here: Path) -> None:
    assert cli("new", "m").exit_code == 0
    first = (here / "m.yaml").read_text(encoding="utf-8").splitlines()[0]
    uri = first.removeprefix(MODELINE)
    assert uri.startswith("file:///")
    schema = json.loads(Path(uri.removeprefix("file://")).read_text(encoding="utf-8"))
    assert schema["properties"]["model"]


@pytest.mark.parametrize("template", EXAMPLES)
def test_every_template_makes_a_spec_that_validates(cli: Cli, here: Path, template: str) -> None:
    result = cli("new", "mine", "--from", template)
    assert result.exit_code == 0, result.output
    assert cli("validate", "mine.yaml").exit_code == 0
    mine = load_spec(here / "mine.yaml")
    original = load_spec(ROOT / "specs" / f"{template}.yaml")
    assert mine.name == "mine"
    assert [(x.name, x.type, x.args) for x in mine.layers] == [
        (x.name, x.type, x.args) for x in original.layers
    ]
    assert _place(mine.data_path()) == _place(original.data_path())
    assert _run(mine) == _run(original)


def _place(path: Path | None) -> Path | None:
    return path.resolve() if path is not None else None


def _run(spec: Spec) -> tuple[str, str | None] | None:
    return (spec.init_from.run, spec.init_from.checkpoint) if spec.init_from else None


def test_json_says_what_was_written(cli: Cli, here: Path) -> None:
    result = cli("new", "d", "--from", "dnn", "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["file"] == str(here / "d.yaml")
    assert out["from"] == "dnn"
    assert out["source"] == str((ROOT / "specs" / "dnn.yaml").resolve())
    assert out["notes"] == []
    own = cli("new", "e", "--from", "d.yaml", "--json")
    assert json.loads(own.stdout)["from"] == str(here / "d.yaml")


def test_output_a_file_or_a_folder(cli: Cli, here: Path) -> None:
    (here / "lesson").mkdir()
    assert cli("new", "a", "--output", "lesson").exit_code == 0
    assert (here / "lesson" / "a.yaml").is_file()
    assert cli("new", "b", "--output", "lesson/other.yml").exit_code == 0
    assert "\nname: b\n" in (here / "lesson" / "other.yml").read_text(encoding="utf-8")


def test_the_name_is_set_however_the_source_wrote_it(cli: Cli, here: Path) -> None:
    cnn = (ROOT / "specs" / "cnn.yaml").read_text(encoding="utf-8")
    (here / "quoted.yaml").write_text(cnn.replace("name: cnn", 'name: "cnn"  # quoted'), "utf-8")
    assert cli("new", "q", "--from", "quoted.yaml").exit_code == 0
    assert "\nname: q  # quoted\n" in (here / "q.yaml").read_text(encoding="utf-8")
    (here / "nameless.yaml").write_text("# my notes\n" + cnn.replace("name: cnn\n", ""), "utf-8")
    assert cli("new", "n", "--from", "nameless.yaml").exit_code == 0
    lines = (here / "n.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[1:3] == ["# my notes", "name: n"]  # before the first key, after the comments
    assert load_spec(here / "n.yaml").name == "n"


# --- paths in the copy -----------------------------------------------------------------------


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    """lesson/specs/own.yaml: the CNN with data.path ../data and init_from cnn.yaml beside it."""
    specs = tmp_path / "lesson" / "specs"
    specs.mkdir(parents=True)
    (tmp_path / "lesson" / "data").mkdir()
    shutil.copy(ROOT / "specs" / "cnn.yaml", specs / "cnn.yaml")
    text = (ROOT / "specs" / "cnn.yaml").read_text(encoding="utf-8")
    text = text.replace("name: cnn\n", "name: own\n")
    text = text.replace("  dataset: mnist\n", "  path: ../data   # the pictures\n")
    text = text.replace("model:\n", "model:\n  init_from: {run: cnn.yaml, checkpoint: best}\n")
    (specs / "own.yaml").write_text(text, encoding="utf-8")
    return specs / "own.yaml"


def test_relative_paths_point_where_they_did(
    cli: Cli, lesson: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the new file's folder or below: relative to it; elsewhere: absolute."""
    specs = lesson.parent
    monkeypatch.chdir(specs)
    assert cli("new", "same", "--from", "own.yaml").exit_code == 0
    text = (specs / "same.yaml").read_text(encoding="utf-8")
    assert f"  path: {specs.parent / 'data'}   # the pictures\n" in text  # comment kept
    assert "init_from: {run: cnn.yaml, checkpoint: best}" in text
    monkeypatch.chdir(specs.parent)
    assert cli("new", "above", "--from", "specs/own.yaml").exit_code == 0
    text = (specs.parent / "above.yaml").read_text(encoding="utf-8")
    assert "  path: data   # the pictures\n" in text
    assert "init_from: {run: specs/cnn.yaml, checkpoint: best}" in text
    for written in (specs / "same.yaml", specs.parent / "above.yaml"):
        spec = load_spec(written)
        assert _place(spec.data_path()) == (specs.parent / "data").resolve()
        assert _run(spec) == (str(specs / "cnn.yaml"), "best")


def test_a_relative_extends_still_finds_its_parent(cli: Cli, here: Path) -> None:
    result = cli("new", "drop", "--from", str(ROOT / "specs" / "cnn_dropout.yaml"))
    assert result.exit_code == 0, result.output
    text = (here / "drop.yaml").read_text(encoding="utf-8")
    if "extends:" in (ROOT / "specs" / "cnn_dropout.yaml").read_text(encoding="utf-8"):
        assert f"extends: {ROOT / 'specs' / 'cnn.yaml'}\n" in text
    assert cli("validate", "drop.yaml").exit_code == 0


def test_data_that_is_not_installed_is_left_to_the_user(tmp_path: Path, here: Path) -> None:
    """The wheel ships the templates but not the example pictures shapes.yaml reads."""
    package = _wheel_layout(tmp_path / "site-packages")
    result = new_module.new_spec("shp", "shapes", package=package)
    text = (here / "shp.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE + (package / "spec.schema.json").resolve().as_uri()
    assert "  path: null " in text
    assert "../examples/shapes (the example's data) is not installed" in text
    assert len(result.notes) == 1 and "set data.path in shp.yaml" in result.notes[0]
    assert yaml.safe_load(text)["data"]["path"] is None  # validate: the Input does not fit MNIST


def test_from_an_installed_wheel_a_child_extends_the_installed_parent(
    tmp_path: Path, here: Path
) -> None:
    package = _wheel_layout(tmp_path / "site-packages")
    new_module.new_spec("drop", "cnn_dropout", package=package)
    text = (here / "drop.yaml").read_text(encoding="utf-8")
    if "extends:" in (package / "templates" / "cnn_dropout.yaml").read_text(encoding="utf-8"):
        assert f"extends: {package / 'templates' / 'cnn.yaml'}\n" in text
    assert load_spec(here / "drop.yaml").name == "drop"


def test_no_schema_found_means_no_modeline(tmp_path: Path, here: Path) -> None:
    package = _wheel_layout(tmp_path / "site-packages")
    (package / "spec.schema.json").unlink()
    result = new_module.new_spec("x", "dnn", package=package)
    assert result.schema is None
    assert not (here / "x.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server")


# --- refusals --------------------------------------------------------------------------------


def test_never_overwrites(cli: Cli, here: Path) -> None:
    (here / "taken.yaml").write_text("mine\n", encoding="utf-8")
    _one_line_error(cli("new", "taken"), "taken.yaml: the file already exists")
    assert (here / "taken.yaml").read_text(encoding="utf-8") == "mine\n"
    (here / "folder.yaml").mkdir()
    _one_line_error(cli("new", "folder"), "already exists", "received a folder")
    assert sorted(p.name for p in here.iterdir()) == ["folder.yaml", "taken.yaml"]


def test_a_file_appearing_meanwhile_is_not_replaced(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def appear(_src: object, dst: object) -> None:
        Path(str(dst)).write_text("theirs\n", encoding="utf-8")
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(new_module.os, "link", appear)
    with pytest.raises(UserError, match="already exists"):
        new_module.new_spec("late")
    assert [p.name for p in here.iterdir()] == ["late.yaml"]  # theirs, and no temporary file
    assert (here / "late.yaml").read_text(encoding="utf-8") == "theirs\n"


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "-x", "a b", "", "x" * 65])
def test_refuses_a_name_that_is_not_plain(cli: Cli, here: Path, name: str) -> None:
    _one_line_error(cli("new", "--", name) if name.startswith("-") else cli("new", name), "NAME")
    assert list(here.iterdir()) == []


def test_a_name_with_yaml_says_how(cli: Cli, here: Path) -> None:
    _one_line_error(cli("new", "mine.yaml"), "without .yaml", "mnistctl new mine")


def test_unknown_template_lists_them_and_guesses(cli: Cli, here: Path) -> None:
    result = cli("new", "x", "--from", "lenet")
    _one_line_error(result, "unknown template 'lenet'", "cnn, cnn_dropout", "did you mean")
    assert "'lenet5'" in result.stderr
    _one_line_error(cli("new", "x", "--from", "cnn.yaml"), "no such spec file", "--from cnn")
    assert list(here.iterdir()) == []


def test_a_broken_spec_is_not_copied(cli: Cli, here: Path) -> None:
    (here / "bad.yaml").write_text("model:\n  layers: []\n", encoding="utf-8")
    result = cli("new", "x", "--from", "bad.yaml")
    assert result.exit_code == 1
    assert "bad.yaml" in result.stderr
    assert sorted(p.name for p in here.iterdir()) == ["bad.yaml"]


def test_output_must_be_a_yaml_file_in_an_existing_folder(cli: Cli, here: Path) -> None:
    _one_line_error(cli("new", "x", "--output", "nowhere/x.yaml"), "no such folder", "mkdir -p")
    _one_line_error(cli("new", "x", "--output", "lesson"), "not a place for a spec", ".yaml")
    assert list(here.iterdir()) == []


def test_an_unwritable_folder_is_one_line(
    cli: Cli, here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(new_module.tempfile, "mkstemp", refused)
    _one_line_error(cli("new", "x"), "cannot write the file", "Permission denied")
    assert list(here.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_folder_is_one_line(cli: Cli, here: Path) -> None:
    locked = here / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _one_line_error(cli("new", "x", "--output", "locked"), "cannot write the file")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_json_errors_are_json(cli: Cli, here: Path) -> None:
    result = cli("new", "x", "--from", "nope", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["message"] == "unknown template 'nope'"
