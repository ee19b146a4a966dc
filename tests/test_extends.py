"""Specs that build on specs (issue 21, items 1-2): ``extends:`` merges sections, ``set:`` sets
paths, ``edit:`` changes layers by name, in that order, then the command line's ``--set``;
``validate --resolved`` prints the plain spec, which checks and trains as the child does.

The errors (every one in the file whose text is wrong) are in ``test_extends_errors.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import REAL_NPZ, cli

import mnistctl
from mnistctl.spec import load_spec
from mnistctl.spec.yamlload import load_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

PARENT = """\
name: parent
description: A small dense network.
data:
  dataset: mnist_sample
  validation_split: 0.2
model:
  layers:
    - {type: Input, name: inp, shape: [28, 28, 1]}
    - {type: Flatten, name: flat}
    - {type: Dense, name: hidden, units: 32, activation: relu}
    - {type: Dense, name: out, units: 10, activation: softmax}
compile:
  optimizer: {type: adam, learning_rate: 0.01}
  metrics: [accuracy]
train:
  epochs: 2
  batch_size: 32
  callbacks: [{type: EarlyStopping, patience: 2}]
"""

# specs/cnn_dropout.yaml as it was before it extended cnn.yaml (git show bdddff4:...)
OLD_CNN_DROPOUT = """\
# yaml-language-server: $schema=../schemas/spec.schema.json
name: cnn_dropout
description: >-
  The classic convnet of cnn.yaml regularised with dropout where the Keras mnist_cnn example
  puts it: 25% of the pooled feature maps and 50% of the hidden units are dropped at each
  training step (never at inference). Dropout adds no parameters: 600,810, as in cnn.yaml.
data:
  dataset: mnist
  validation_split: 0.1
model:
  layers:
    - {type: Input, name: input_tensor, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv_1, filters: 32, kernel_size: 3, activation: relu}
    - {type: Conv2D, name: conv_2, filters: 32, kernel_size: 3, activation: relu}
    - {type: MaxPooling2D, name: pool_1, pool_size: 2}
    - {type: Dropout, name: dropout_1, rate: 0.25}   # drop 25% of the 12x12x32 values
    - {type: Flatten, name: flatten}
    - {type: Dense, name: hidden_1, units: 128, activation: relu}
    - {type: Dropout, name: dropout_2, rate: 0.5}    # drop half of the hidden units
    - {type: Dense, name: output_tensor, units: 10, activation: softmax}
compile:
  loss: categorical_crossentropy
  optimizer: adam
  metrics: [accuracy]
train:
  batch_size: 128
  epochs: 12
  seed: 0
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def child(tmp_path: Path, text: str, name: str = "child.yaml") -> Path:
    write(tmp_path / "parent.yaml", PARENT)
    return write(tmp_path / name, text)


def layer_names(path: Path, overrides: list[str] | None = None) -> list[str]:
    return [layer.name for layer in load_spec(path, overrides or []).layers]


# --- the example spec ------------------------------------------------------------------------


def test_cnn_dropout_extends_cnn_and_resolves_to_what_it_was(tmp_path: Path) -> None:
    text = (SPECS / "cnn_dropout.yaml").read_text(encoding="utf-8")
    assert "\nextends: cnn.yaml\n" in text
    old = write(tmp_path / "specs" / "cnn_dropout.yaml", OLD_CNN_DROPOUT)
    new, before = load_spec(SPECS / "cnn_dropout.yaml"), load_spec(old)
    assert new.plain_dict() == before.plain_dict()
    assert new.resolved_dict() == before.resolved_dict()
    assert new.info.total == before.info.total == 600_810
    assert [x.inputs for x in new.layers] == [x.inputs for x in before.layers]


# --- merging ---------------------------------------------------------------------------------


def test_sections_merge_key_by_key_and_lists_are_replaced_whole(tmp_path: Path) -> None:
    spec = load_spec(
        child(
            tmp_path,
            """\
            extends: parent.yaml
            data: {validation_split: 0.1}
            compile: {optimizer: {learning_rate: 0.001}}
            train: {epochs: 5, callbacks: []}
            """,
        )
    )
    assert spec.data.dataset == "mnist_sample" and spec.data.validation_split == 0.1
    assert spec.compile.optimizer == {"type": "adam", "learning_rate": 0.001}
    assert (spec.train.epochs, spec.train.batch_size, spec.train.callbacks) == (5, 32, ())
    assert spec.description == "A small dense network."  # inherited
    assert spec.name == "child"  # never the parent's: the child's own name, or its file's stem
    assert "extends" not in spec.raw and "set" not in spec.raw and "edit" not in spec.raw


def test_a_mapping_of_another_type_replaces_the_parents_whole(tmp_path: Path) -> None:
    spec = load_spec(child(tmp_path, "extends: parent.yaml\ncompile: {optimizer: {type: sgd}}\n"))
    assert spec.compile.optimizer == {"type": "sgd"}  # no adam learning_rate carried over
    spec = load_spec(child(tmp_path, "extends: parent.yaml\ncompile: {optimizer: rmsprop}\n"))
    assert spec.compile.optimizer == "rmsprop"


def test_a_childs_search_merges_and_each_distribution_is_replaced_whole(tmp_path: Path) -> None:
    searched = PARENT + textwrap.dedent(
        """\
        search:
          trials: 4
          space:
            model.layers.hidden.units: {choice: [16, 32]}
            compile.optimizer.learning_rate: {float: [0.0001, 0.01], log: true}
        """
    )
    write(tmp_path / "parent.yaml", searched)
    path = write(
        tmp_path / "child.yaml",
        """\
        extends: parent.yaml
        search:
          trials: 9
          space:
            compile.optimizer.learning_rate: {choice: [0.001, 0.01]}
            train.batch_size: {int: [16, 64]}
        """,
    )
    spec = load_spec(path)
    assert spec.raw["search"]["space"] == {
        "model.layers.hidden.units": {"choice": [16, 32]},
        "compile.optimizer.learning_rate": {"choice": [0.001, 0.01]},
        "train.batch_size": {"int": [16, 64]},
    }
    assert spec.search is not None and spec.raw["search"]["trials"] == 9


def test_model_layers_written_by_the_child_replace_the_parents(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        """\
        extends: parent.yaml
        name: mine
        model:
          layers:
            - {type: Input, shape: [784]}
            - {type: Dense, name: out, units: 10, activation: softmax}
        """,
    )
    spec = load_spec(path)
    assert [x.name for x in spec.layers] == ["input_layer", "out"] and spec.name == "mine"


def test_a_chain_of_parents_in_other_folders(tmp_path: Path) -> None:
    write(tmp_path / "base" / "parent.yaml", PARENT)
    write(
        tmp_path / "course" / "middle.yaml",
        "extends: ../base/parent.yaml\ntrain: {epochs: 7}\nset: {model.layers.hidden.units: 64}\n",
    )
    leaf = write(tmp_path / "course" / "week2" / "leaf.yaml", "extends: ../middle.yaml\n")
    spec = load_spec(leaf)
    assert (spec.train.epochs, spec.train.batch_size) == (7, 32)
    assert spec.layers[2].args["units"] == 64 and spec.name == "leaf"


def test_relative_paths_keep_naming_what_they_named_in_the_parents_folder(tmp_path: Path) -> None:
    data = tmp_path / "shared" / "digits.npz"
    data.parent.mkdir()
    data.write_bytes(REAL_NPZ.read_bytes())
    write(
        tmp_path / "base" / "parent.yaml",
        PARENT.replace("  validation_split: 0.2", "  path: ../shared/digits.npz").replace(
            "model:\n", "model:\n  init_from: {run: ../runs/first, checkpoint: best}\n"
        ),
    )
    leaf = write(tmp_path / "a" / "b" / "leaf.yaml", "extends: ../../base/parent.yaml\n")
    spec = load_spec(leaf, check_data=True)
    assert spec.raw["data"]["path"] == "../../shared/digits.npz"
    assert spec.data_path() is not None and spec.data_path().resolve() == data.resolve()  # type: ignore[union-attr]
    assert spec.init_from is not None
    assert spec.init_from.run == str((tmp_path / "runs" / "first").resolve())
    # what the child writes itself is relative to the child
    leaf2 = write(tmp_path / "a" / "b" / "leaf2.yaml", "extends: leaf.yaml\ndata: {path: x.npz}\n")
    assert load_spec(leaf2).raw["data"]["path"] == "x.npz"


# --- set and edit ----------------------------------------------------------------------------


def test_set_takes_layer_names_indexes_and_makes_mappings(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        """\
        extends: parent.yaml
        set:
          model.layers.hidden.units: 48
          model.layers.1.name: flatten
          model.layers.-2.activation: tanh
          train.callbacks.0.patience: 4
          data.train_samples: 100
        """,
    )
    spec = load_spec(path)
    assert spec.layers[2].args["units"] == 48 and spec.layers[1].name == "flatten"
    assert spec.layers[2].args["activation"] == "tanh"
    assert spec.train.callbacks[0]["patience"] == 4 and spec.data.train_samples == 100


def test_edits_insert_replace_and_remove_by_name(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        """\
        extends: parent.yaml
        edit:
          - {after: hidden, insert: [{type: Dropout, name: drop, rate: 0.5}]}
          - before: hidden
            insert: [{type: Dense, name: h0, units: 64}, {type: Activation, activation: relu}]
          - {replace: out, with: {type: Dense, units: 10, activation: softmax}}
          - {replace: flat, with: {type: Flatten, name: flatten}}
        """,
    )
    spec = load_spec(path)
    assert [(x.name, x.inputs) for x in spec.layers] == [
        ("inp", ()),
        ("flatten", ("inp",)),
        ("h0", ("flatten",)),
        ("activation", ("h0",)),
        ("hidden", ("activation",)),
        ("drop", ("hidden",)),
        ("out", ("drop",)),  # a replacement keeps the name it replaces unless it gives one
    ]
    remove = child(tmp_path, "extends: parent.yaml\nedit: [{remove: hidden}]\n", "r.yaml")
    assert [(x.name, x.inputs) for x in load_spec(remove).layers][-1] == ("out", ("flat",))


def test_an_inserted_layer_leaves_named_inputs_alone(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        """\
        extends: parent.yaml
        set: {model.layers.out.inputs: [both]}
        edit:
          - after: hidden
            insert:
              - {type: Dense, name: side, units: 4, inputs: [flat]}
              - {type: Concatenate, name: both, inputs: [hidden, side]}
          - {before: hidden, insert: [{type: Dense, name: pre, units: 8}]}
        """,
    )
    layers = {x.name: x.inputs for x in load_spec(path).layers}
    assert layers["side"] == ("flat",) and layers["out"] == ("both",)
    assert layers["pre"] == ("flat",) and layers["hidden"] == ("pre",)


def test_the_order_is_merge_then_set_then_edit_then_the_command_line(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        """\
        extends: parent.yaml
        train: {epochs: 3}
        set: {train.epochs: 4, model.layers.hidden.units: 16}
        edit:
          - {replace: hidden, with: {type: Dense, units: 8, activation: relu}}
          - {after: hidden, insert: [{type: Dropout, name: drop, rate: 0.5}]}
        """,
    )
    spec = load_spec(path)
    assert spec.train.epochs == 4 and spec.layers[2].args["units"] == 8  # edit after set
    spec = load_spec(path, ["train.epochs=6", "model.layers.drop.rate=0.25"])
    assert spec.train.epochs == 6 and spec.layers[3].args["rate"] == 0.25


def test_a_spec_without_extends_may_use_set_and_edit_on_itself(tmp_path: Path) -> None:
    text = PARENT + "set: {train.epochs: 9}\nedit: [{remove: hidden}]\n"
    spec = load_spec(write(tmp_path / "self.yaml", text))
    assert spec.train.epochs == 9 and [x.name for x in spec.layers] == ["inp", "flat", "out"]


# --- validate --resolved, summary, train, the API --------------------------------------------


def _child_for_cli(tmp_path: Path) -> Path:
    return child(
        tmp_path,
        """\
        extends: parent.yaml
        description: Dropout after the hidden layer; 1e-3 for the optimizer.
        compile: {optimizer: {learning_rate: 1.0e-3}}
        edit: [{after: hidden, insert: [{type: Dropout, name: drop, rate: 0.5}]}]
        """,
    )


def test_validate_resolved_prints_a_plain_spec_that_checks_as_the_child(tmp_path: Path) -> None:
    path = _child_for_cli(tmp_path)
    result = cli("validate", path, "--resolved", "--set", "train.epochs=1")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"# {path} resolved: a plain spec (no extends, set or edit)\n")
    assert "# Overrides: --set train.epochs=1\n" in text
    assert "  - {type: Dropout, name: drop, rate: 0.5}\n" in text  # a layer a line
    assert result.stderr.startswith(f"{path}: ok (child: 5 layers, ")
    plain = load_text(text, "resolved").data
    assert not set(plain) & {"extends", "set", "edit"} and plain["name"] == "child"
    saved = write(tmp_path / "saved.yaml", text)  # beside the child: relative paths hold
    expected = load_spec(path, ["train.epochs=1"])
    assert load_spec(saved).resolved_dict() == expected.resolved_dict()
    assert load_spec(saved).plain_dict() == plain == expected.plain_dict()
    assert load_spec(saved).train.epochs == 1


def test_validate_resolved_json_is_the_same_spec(tmp_path: Path) -> None:
    path = _child_for_cli(tmp_path)
    yaml_out = cli("validate", path, "--resolved").stdout
    result = cli("validate", path, "--resolved", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == load_text(yaml_out, "x").data


def test_validate_resolved_of_a_plain_spec_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "nameless.yaml", PARENT.replace("name: parent\n", ""))
    result = cli("validate", path, "--resolved", "--json")
    assert json.loads(result.stdout)["name"] == "nameless"


def test_validate_resolved_takes_one_spec(tmp_path: Path) -> None:
    path = _child_for_cli(tmp_path)
    result = cli("validate", path, path, "--resolved")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--resolved prints one spec" in result.stderr


def test_validate_resolved_failure_prints_nothing_but_the_error(tmp_path: Path) -> None:
    path = child(tmp_path, "extends: parent.yaml\nedit: [{remove: hiden}]\n")
    result = cli("validate", path, "--resolved")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{path}:2:17: edit[0].remove: no layer named 'hiden'")
    result = cli("validate", path, "--resolved", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert (error["file"], error["line"], error["column"]) == (str(path), 2, 17)
    assert error["hint"] == "did you mean 'hidden'?"


def test_summary_validate_and_the_api_take_a_child(tmp_path: Path) -> None:
    path = _child_for_cli(tmp_path)
    result = cli("summary", path, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["name"] == "child"
    assert [x["name"] for x in summary["layers"]] == ["inp", "flat", "hidden", "drop", "out"]
    assert cli("validate", path, SPECS / "cnn_dropout.yaml").exit_code == 0
    api = mnistctl.load_spec(path, overrides={"train.epochs": 1})
    assert api.name == "child"


def test_the_run_records_the_resolved_spec(tmp_path: Path) -> None:
    """A run's spec.yaml: the child resolved (defaults filled in, as for any spec)."""
    path = _child_for_cli(tmp_path)
    spec = load_spec(path)
    recorded = spec.resolved_dict()
    assert not set(recorded) & {"extends", "set", "edit"}
    assert [x["name"] for x in recorded["model"]["layers"]] == [
        "inp", "flat", "hidden", "drop", "out",
    ]  # fmt: skip
    assert recorded["name"] == "child" and recorded["train"]["epochs"] == 2


@pytest.mark.slow
def test_training_a_child_writes_its_resolved_spec(tmp_path: Path) -> None:
    path = _child_for_cli(tmp_path)
    result = cli(
        "train", path, "--runs-dir", tmp_path / "runs", "--json",
        "--set", "train.epochs=1", "--set", "data.train_samples=200",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    run = Path(json.loads(result.stdout)["run_dir"])
    recorded: dict[str, Any] = load_text((run / "spec.yaml").read_text("utf-8"), "x").data
    assert recorded["name"] == "child" and not set(recorded) & {"extends", "set", "edit"}
    assert [x["name"] for x in recorded["model"]["layers"]][3] == "drop"
    assert load_spec(run / "spec.yaml").info.total == load_spec(path).info.total


# --- the schema ------------------------------------------------------------------------------


def test_the_schema_describes_extends_set_and_edit_for_editors() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schemas" / "spec.schema.json").read_text(encoding="utf-8"))
    props = schema["properties"]
    assert props["extends"]["type"] == "string"
    assert props["set"]["type"] == "object" and "train.epochs" in props["set"]["properties"]
    assert props["edit"]["items"] == {"$ref": "#/$defs/edit"}
    validator = Draft202012Validator(schema)
    child_doc = load_text((SPECS / "cnn_dropout.yaml").read_text("utf-8"), "x").data
    assert list(validator.iter_errors(child_doc)) == []
    assert list(validator.iter_errors({"extends": "a.yaml", "model": {"init_from": "r"}})) == []
    assert list(validator.iter_errors({"name": "no_model"}))  # a plain spec still needs one
    bad = [
        {"extends": "a.yaml", "set": {"train.epochs": "ten"}},
        {"extends": "a.yaml", "edit": [{"after": "x", "remove": "y"}]},
        {"extends": "a.yaml", "edit": [{"replace": "x"}]},
        {"extends": "a.yaml", "edit": [{"before": "x", "insert": [{"type": "Nope"}]}]},
        {"extends": 3},
    ]
    for doc in bad:
        assert list(validator.iter_errors(doc)), doc


@pytest.mark.slow
def test_a_child_is_checked_without_tensorflow() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mnistctl.cli import app\n"
        f"spec = {str(SPECS / 'cnn_dropout.yaml')!r}\n"
        "for args in (['validate', spec, '--resolved'], ['summary', spec]):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
