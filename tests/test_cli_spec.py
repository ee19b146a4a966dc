"""The spec commands through the CLI: validate, summary, schema, --set, --json, --help, exit
codes, and that none of them imports TensorFlow, Keras, matplotlib or Pillow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mnistctl.spec.schema import schema_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
CNN = ROOT / "specs" / "cnn.yaml"
INVALID = ROOT / "tests" / "specs" / "invalid"
COMMANDS = ["validate", "summary", "schema", "train", "evaluate", "plot", "predict"]


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


# --- validate ---------------------------------------------------------------------------------


def test_validate_all_example_specs(cli: Any) -> None:
    result = cli("validate", *SPECS)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    reported = lines(result.stderr)
    assert len(reported) == len(SPECS)
    for path, line in zip(SPECS, reported, strict=True):
        assert line.startswith(f"{path}: ok ({path.stem}: ")
        assert line.endswith(" parameters)")


def test_validate_reports_each_file_and_fails_if_any_fails(cli: Any) -> None:
    bad = INVALID / "unknown_train_key.yaml"
    also_bad = INVALID / "graph_dead_end.yaml"
    result = cli("validate", CNN, bad, SPECS[0], also_bad)
    assert result.exit_code == 1
    out = lines(result.stderr)
    assert out[0] == f"{CNN}: ok (cnn: 11 layers, 600,810 parameters)"
    assert out[1].startswith(f"{bad}:6:9: train.epoch: unknown key 'epoch' in train")
    assert any(line.startswith(f"{SPECS[0]}: ok (") for line in out)
    assert any(line.startswith(f"{also_bad}:6:7: ") for line in out)
    assert "Traceback" not in result.stderr


def test_validate_error_shows_an_excerpt_with_a_caret(cli: Any) -> None:
    bad = INVALID / "unknown_layer_argument.yaml"
    result = cli("validate", bad)
    assert lines(result.stderr)[1:] == [
        "   5 |     - type: Dense",
        "   6 |       activation: softmax",
        " > 7 |       unit: 10",
        "     |       ^",
    ]


def test_validate_counts_problems(cli: Any) -> None:
    result = cli("validate", INVALID / "many_problems.yaml")
    assert lines(result.stderr)[-1] == "6 problems found"


def test_validate_json(cli: Any) -> None:
    bad = INVALID / "unknown_train_key.yaml"
    result = cli("validate", "--json", CNN, bad)
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # stdout is one JSON document and nothing else
    assert report[0] == {"file": str(CNN), "valid": True, "name": "cnn", "total_params": 600810}
    assert report[1]["file"] == str(bad)
    assert report[1]["valid"] is False
    assert report[1]["errors"][0].startswith(f"{bad}:6:9: ")
    assert ": ok (" not in result.stderr  # no progress chatter with --json
    assert result.stderr.startswith(f"{bad}:6:9: ")  # errors still go to stderr


def test_validate_json_all_valid(cli: Any) -> None:
    result = cli("validate", "--json", *SPECS)
    assert result.exit_code == 0
    assert [entry["valid"] for entry in json.loads(result.stdout)] == [True] * len(SPECS)
    assert result.stderr == ""


def test_validate_missing_file(cli: Any, tmp_path: Path) -> None:
    result = cli("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'nope.yaml'}: no such file")


# --- summary ----------------------------------------------------------------------------------


def test_summary_json_shape(cli: Any) -> None:
    result = cli("summary", "--json", CNN)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["name"] == "cnn"
    assert summary["total_params"] == 600810
    rows = [(r["name"], r["type"], r["output_shape"], r["params"]) for r in summary["layers"]]
    assert rows == [
        ("input_tensor", "Input", [None, 28, 28, 1], 0),
        ("Conv1", "Conv2D", [None, 26, 26, 32], 320),
        ("relu_1", "Activation", [None, 26, 26, 32], 0),
        ("Conv2", "Conv2D", [None, 24, 24, 32], 9248),
        ("relu_2", "Activation", [None, 24, 24, 32], 0),
        ("pool_1", "MaxPooling2D", [None, 12, 12, 32], 0),
        ("flatten", "Flatten", [None, 4608], 0),
        ("hidden_1", "Dense", [None, 128], 589952),
        ("relu_3", "Activation", [None, 128], 0),
        ("hidden_2", "Dense", [None, 10], 1290),
        ("output_tensor", "Activation", [None, 10], 0),
    ]
    assert '"output_shape": [\n        null,' in result.stdout  # the batch axis is JSON null


def test_summary_json_non_trainable(cli: Any) -> None:
    summary = json.loads(cli("summary", "--json", ROOT / "specs" / "batchnorm.yaml").stdout)
    assert summary["total_params"] == sum(layer["params"] for layer in summary["layers"])
    assert summary["non_trainable_params"] == 2 * (32 + 64 + 128)  # moving mean and variance
    assert summary["trainable_params"] == summary["total_params"] - 448


CNN_TABLE = """\
Model: "cnn"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓
┃ Layer (type)               ┃ Output Shape       ┃ Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩
│ input_tensor (Input)       │ (None, 28, 28, 1)  │       0 │
│ Conv1 (Conv2D)             │ (None, 26, 26, 32) │     320 │
│ relu_1 (Activation)        │ (None, 26, 26, 32) │       0 │
│ Conv2 (Conv2D)             │ (None, 24, 24, 32) │   9,248 │
│ relu_2 (Activation)        │ (None, 24, 24, 32) │       0 │
│ pool_1 (MaxPooling2D)      │ (None, 12, 12, 32) │       0 │
│ flatten (Flatten)          │ (None, 4608)       │       0 │
│ hidden_1 (Dense)           │ (None, 128)        │ 589,952 │
│ relu_3 (Activation)        │ (None, 128)        │       0 │
│ hidden_2 (Dense)           │ (None, 10)         │   1,290 │
│ output_tensor (Activation) │ (None, 10)         │       0 │
└────────────────────────────┴────────────────────┴─────────┘
 Total params: 600,810 (2.29 MB)
 Trainable params: 600,810 (2.29 MB)
 Non-trainable params: 0 (0 B)
 Training: 422 optimizer steps per epoch (54,000 images, batch 128); 10 epochs = 4,220 steps
"""

SKIP_TABLE = """\
Model: "skip_connection"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)               ┃ Output Shape       ┃ Param # ┃ Connected to  ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ image (Input)              │ (None, 28, 28, 1)  │       0 │ -             │
│ stem (Conv2D)              │ (None, 28, 28, 16) │     160 │ image         │
│ res_a (Conv2D)             │ (None, 28, 28, 16) │   2,320 │ stem          │
│ res_b (Conv2D)             │ (None, 28, 28, 16) │   2,320 │ res_a         │
│ residual (Add)             │ (None, 28, 28, 16) │       0 │ stem, res_b   │
│ residual_relu (Activation) │ (None, 28, 28, 16) │       0 │ residual      │
│ pool (MaxPooling2D)        │ (None, 14, 14, 16) │       0 │ residual_relu │
│ flatten (Flatten)          │ (None, 3136)       │       0 │ pool          │
│ output (Dense)             │ (None, 10)         │  31,370 │ flatten       │
└────────────────────────────┴────────────────────┴─────────┴───────────────┘
 Total params: 36,170 (141.29 KB)
 Trainable params: 36,170 (141.29 KB)
 Non-trainable params: 0 (0 B)
 Training: 422 optimizer steps per epoch (54,000 images, batch 128); 10 epochs = 4,220 steps
"""


@pytest.mark.parametrize(
    ("spec", "golden"),
    [(CNN, CNN_TABLE), (ROOT / "specs" / "skip_connection.yaml", SKIP_TABLE)],
    ids=["chain", "graph"],
)
def test_summary_table_golden(cli: Any, spec: Path, golden: str) -> None:
    result = cli("summary", spec, env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == lines(golden)
    assert result.stderr == ""


def test_summary_error_is_one_line_and_exit_1(cli: Any) -> None:
    bad = INVALID / "shape_kernel_larger_than_input.yaml"
    result = cli("summary", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{bad}:7:47: model.layers[3].kernel_size: ")


def test_summary_json_error_is_a_json_document(cli: Any) -> None:
    bad = INVALID / "graph_no_input.yaml"
    result = cli("summary", "--json", bad)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["error"]["message"] == "the first layer must be an Input"
    assert (doc["error"]["file"], doc["error"]["line"], doc["error"]["column"]) == (str(bad), 4, 7)
    assert doc["error"]["path"] == "model.layers[0]"
    assert result.stderr.splitlines()[0] == doc["error"]["one_line"]


# --- --set ------------------------------------------------------------------------------------


def test_set_changes_the_model(cli: Any) -> None:
    before = json.loads(cli("summary", "--json", CNN).stdout)["total_params"]
    result = cli("summary", "--json", CNN, "--set", "model.layers.hidden_1.units=64")
    assert result.exit_code == 0, result.stderr
    after = json.loads(result.stdout)
    assert after["total_params"] == before - 64 * (4608 + 1) - 10 * 64
    assert [r["params"] for r in after["layers"] if r["name"] == "hidden_1"] == [4608 * 64 + 64]


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.epochs=1", "data.train_samples=2000"],
        ["compile.optimizer={type: sgd, learning_rate: 1e-3, momentum: 0.9}"],
        ["model.layers.1.filters=8"],
        ["model.layers.-1.activation=softmax"],
        ["train.precision=float32", "train.seed=7"],
        ["model.layers.Conv1.kernel_size=[5, 5]"],
    ],
)
def test_set_successes(cli: Any, overrides: list[str]) -> None:
    args = [arg for item in overrides for arg in ("--set", item)]
    result = cli("validate", CNN, *args)
    assert result.exit_code == 0, result.stderr


def test_set_applies_in_order_and_reaches_spec_values() -> None:
    from mnistctl.spec import load_spec

    spec = load_spec(CNN, ["train.epochs=1", "train.epochs=3", "data.train_samples=2000"])
    assert spec.train.epochs == 3
    assert spec.data.train_samples == 2000
    assert spec.raw["train"]["epochs"] == 3
    spec = load_spec(CNN, ["compile.optimizer={type: adam, learning_rate: 1e-3}"])
    assert spec.compile.optimizer == {"type": "adam", "learning_rate": 0.001}


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (
            "train.epochs=abc",
            "train.epochs: wrong type for epochs; expected an integer; received 'abc' (a string)",
        ),
        ("train.epochs=", "wrong type for epochs; expected an integer; received null"),
        ("train.epochs=0", "epochs is too small"),
        ("nokey", "not an override; expected KEY=VALUE with a dotted KEY"),
        ("=3", "not an override"),
        ("train..epochs=1", "not an override"),
        (
            "model.layers.hiden_1.units=3",
            "no item named 'hiden_1' in model.layers; "
            "expected a list index or a layer name; received hiden_1 (hint: did you mean "
            "'hidden_1'?)",
        ),
        ("model.layers.99.units=3", "list index out of range; expected 0 to 10; received 99"),
        ("model.layers.-12.units=3", "list index out of range"),
        (
            "compile.optimizer.learning_rate=1e-3",
            "cannot set 'learning_rate' inside 'adam' (a string); expected a path through "
            "mappings and lists; received compile.optimizer is 'adam' "
            "(hint: set the optimizer as a whole: "
            "--set 'compile.optimizer={type: adam, learning_rate: 1e-3}')",
        ),
        ("train.epochs.x=1", "cannot set 'x' inside 10 (an integer)"),
        ("train.epoch=3", "unknown key 'epoch' in train"),
        ("model.layers.Conv1.unit=3", "unknown argument 'unit' for Conv2D"),
        ("train.epochs=[1", "YAML syntax error"),
        ("train.epochs=!!python/name:os.system", "YAML tag '!!python/name:os.system' is not"),
        ("data.validation_split=.nan", "not a finite number"),
        ("model.layers.hidden_1.units=0", "units is too small"),
        ("model.layers.Conv1.kernel_size=30", "kernel_size is larger than the input"),
    ],
)
def test_set_errors(cli: Any, item: str, fragment: str) -> None:
    result = cli("validate", CNN, "--set", item)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"--set {item}: "), first
    assert fragment in first
    assert not any(line.startswith(" > ") for line in result.stderr.splitlines())


def test_set_error_in_summary_too(cli: Any) -> None:
    result = cli("summary", CNN, "--set", "train.epochs=abc")
    assert result.exit_code == 1
    assert result.stderr.startswith("--set train.epochs=abc: ")


# --- schema, help, usage ----------------------------------------------------------------------


def test_schema_command(cli: Any) -> None:
    from jsonschema import Draft202012Validator

    result = cli("schema")
    assert result.exit_code == 0
    assert result.stdout == schema_text()
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["layer"]["properties"]["type"]["enum"]) >= {
        "Input",
        "Dense",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Activation",
        "Dropout",
        "BatchNormalization",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "Reshape",
        "Add",
        "Concatenate",
    }


def _registered() -> list[str]:
    from mnistctl.cli import app

    return [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]


def test_every_contract_command_is_registered_and_documented() -> None:
    from mnistctl.cli import app

    assert set(COMMANDS) <= set(_registered())
    for command in app.registered_commands:
        assert command.callback is not None and command.callback.__doc__


@pytest.mark.parametrize("command", [None, *_registered()])
def test_help(cli: Any, command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = cli(*args, env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert "Usage: mnistctl" in result.stdout
    if command is None:
        for name in _registered():
            assert name in result.stdout
    if command in ("validate", "summary", "train"):
        assert "--set" in result.stdout


def test_short_help_flag(cli: Any) -> None:
    assert cli("validate", "-h").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["summary"],
        ["summary", "a.yaml", "b.yaml"],
        ["validate", "--nope", "x.yaml"],
        ["validate", "--set"],
        ["no-such-command"],
        ["schema", "extra"],
    ],
)
def test_usage_errors_exit_2(cli: Any, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr


# --- real processes: exit codes and imports ---------------------------------------------------


def test_real_process_error_output() -> None:
    bad = INVALID / "unknown_layer_type_lowercase.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "mnistctl", "validate", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{bad}:5:14: model.layers[1].type: unknown layer type")
    assert "Traceback" not in result.stderr


HEAVY_CHECK = """
import sys
heavy = ("tensorflow", "keras", "matplotlib", "PIL")
def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
"""


@pytest.mark.parametrize(
    "body",
    [
        "import mnistctl.cli",
        """
        from typer.testing import CliRunner
        from mnistctl.cli import app
        runner = CliRunner()
        for args in (["validate", *SPECS], ["summary", CNN], ["summary", "--json", CNN],
                     ["validate", BAD], ["schema"], ["--help"], ["validate", "--help"]):
            result = runner.invoke(app, args)
            assert result.exit_code in (0, 1), (args, result.output)
        """,
        """
        from mnistctl.spec import loader, graph, schema, yamlload, layers, options
        from mnistctl import errors
        from mnistctl.ui import console, errors as ui_errors, results, tables
        loader.load_spec(CNN, ["train.epochs=1"])
        """,
    ],
    ids=["import", "commands", "library"],
)
def test_spec_commands_never_import_tensorflow(body: str) -> None:
    code = (
        HEAVY_CHECK
        + f"SPECS = {[str(p) for p in SPECS]!r}\nCNN = {str(CNN)!r}\n"
        + f"BAD = {str(INVALID / 'graph_dead_end.yaml')!r}\n"
        + textwrap.dedent(body)
        + "\nassert not loaded(), loaded()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
