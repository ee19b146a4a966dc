"""The spec's ``search:`` section, checked statically and without TensorFlow: its form, its
distributions, and that every value it can propose leaves a valid spec (located at the range).
Each bad section is one located line per problem, exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, assert_user_error, cli, write_spec

from mnistctl.spec import load_spec
from mnistctl.spec.search import Distribution, inferred_direction

BASE = """\
name: searched
data: {dataset: mnist, validation_split: 0.1}
model:
  layers:
    - {type: Input, name: image, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv_a, filters: 8, kernel_size: 3}
    - {type: Conv2D, name: conv_b, filters: 8, kernel_size: 3}
    - {type: Flatten}
    - {type: Dense, name: hidden, units: 32, activation: relu}
    - {type: Dropout, name: drop, rate: 0.2}
    - {type: Dense, name: out, units: 10, activation: softmax}
compile:
  optimizer: {type: adam, learning_rate: 0.001}
train: {epochs: 2, batch_size: 32}
search:
SEARCH
"""

GOOD = """\
  metric: val_accuracy
  trials: 7
  sampler: random
  pruner: hyperband
  seed: 3
  space:
    model.layers.hidden.units: {choice: [16, 32, 64]}
    model.layers.conv_a.filters: {int: [4, 16], step: 4}
    compile.optimizer.learning_rate: {float: [0.0001, 0.01], log: true}
    model.layers.drop.rate: {float: [0.0, 0.5]}
    model.layers.conv_b.kernel_size: {choice: [[3, 3], [5, 5]]}
    train.batch_size: {int: [16, 128], log: true}
"""


def spec_with(tmp_path: Path, search: str, name: str = "s.yaml") -> Path:
    return write_spec(tmp_path, BASE.replace("SEARCH", search.rstrip("\n")), name)


def space(*lines: str, head: str = "  metric: val_accuracy\n") -> str:
    return head + "  space:\n" + "".join(f"    {line}\n" for line in lines)


def test_a_good_search_is_parsed_in_order(tmp_path: Path) -> None:
    spec = load_spec(spec_with(tmp_path, GOOD))
    assert spec.search is not None
    s = spec.search
    assert (s.metric, s.direction, s.trials, s.sampler, s.pruner, s.seed) == (
        "val_accuracy", "maximize", 7, "random", "hyperband", 3,
    )  # fmt: skip
    assert [p for p, _ in s.space] == [
        "model.layers.hidden.units",
        "model.layers.conv_a.filters",
        "compile.optimizer.learning_rate",
        "model.layers.drop.rate",
        "model.layers.conv_b.kernel_size",
        "train.batch_size",
    ]
    dists = dict(s.space)
    assert dists["model.layers.hidden.units"] == Distribution("choice", choices=(16, 32, 64))
    assert dists["model.layers.conv_a.filters"].grid() == [4, 8, 12, 16]
    assert dists["compile.optimizer.learning_rate"].log
    assert dists["model.layers.conv_b.kernel_size"].choices == ([3, 3], [5, 5])
    # the values in model: are the ones a plain train uses; the resolved spec has no search
    assert spec.info.layers[4].params == 32 * (4 * 4 * 8 * 0 + 24 * 24 * 8) + 32
    assert "search" not in spec.resolved_dict() and "search" in spec.raw


def test_defaults_and_inferred_direction(tmp_path: Path) -> None:
    spec = load_spec(
        spec_with(tmp_path, space("model.layers.hidden.units: {int: [8, 64]}", head=""))
    )
    assert spec.search is not None
    assert (spec.search.metric, spec.search.direction) == ("val_accuracy", "maximize")
    assert (spec.search.trials, spec.search.sampler, spec.search.pruner) == (20, "tpe", "median")
    assert spec.search.seed is None
    assert inferred_direction("val_loss") == "minimize"
    assert inferred_direction("loss") == "minimize"
    assert inferred_direction("accuracy") == "maximize"
    minimize = load_spec(
        spec_with(tmp_path, space("train.epochs: {int: [1, 3]}", head="  metric: val_loss\n"))
    )
    assert minimize.search is not None and minimize.search.direction == "minimize"


def test_a_spec_without_search_has_none(tmp_path: Path) -> None:
    text = BASE.split("search:")[0]
    assert load_spec(write_spec(tmp_path, text)).search is None


def test_grid_values_and_probes() -> None:
    assert Distribution("float", low=0.0, high=0.5, step=0.1).grid() == [
        0.0,
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
    ]
    assert Distribution("int", low=1, high=5, step=2).grid() == [1, 3, 5]
    assert not Distribution("float", low=0.0, high=1.0).finite
    long = Distribution("int", low=1, high=1000)
    assert [v for v, _ in long.probes()] == [1, 501, 1000]
    short = Distribution("int", low=1, high=4)
    assert [v for v, _ in short.probes()] == [1, 2, 3, 4]
    log = Distribution("float", low=0.0001, high=0.01, log=True)
    assert [v for v, _ in log.probes()] == pytest.approx([0.0001, 0.001, 0.01])


BAD = {
    "path through a misspelt layer": (
        ["model.layers.hiden.units: {choice: [16, 32]}"],
        ["no such place to set", "no item named 'hiden'", "did you mean 'hidden'?"],
    ),
    "unknown argument": (
        ["model.layers.hidden.unitz: {int: [8, 64]}"],
        ["unknown argument 'unitz' for Dense", "did you mean 'units'?"],
    ),
    "reversed range": (
        ["model.layers.hidden.units: {int: [64, 8]}"],
        ["the range's ends are reversed", "[64, 8]", "write [8, 64]"],
    ),
    "log range from 0": (
        ["compile.optimizer.learning_rate: {float: [0, 0.1], log: true}"],
        ["a log range must stay above 0", "lo = 0"],
    ),
    "empty choice": (
        ["model.layers.hidden.units: {choice: []}"],
        ["choice has too few items", "at least 1"],
    ),
    "mixed kinds": (
        ["model.layers.hidden.units: {choice: [16, '32']}"],
        ["mixes kinds of values", "numbers, strings"],
    ),
    "a choice the key cannot take": (
        ["model.layers.hidden.units: {choice: [16, 32.5]}"],
        ["with 32.5 (choice 2 of 2) the spec is invalid", "units"],
    ),
    "two distributions": (
        ["model.layers.hidden.units: {choice: [16], int: [1, 4]}"],
        ["needs exactly one distribution", "choice, int"],
    ),
    "no distribution": (
        ["model.layers.hidden.units: {step: 2}"],
        ["needs exactly one distribution", "only step"],
    ),
    "step on a choice": (
        ["model.layers.hidden.units: {choice: [16], step: 2}"],
        ["step applies to a range, not a choice"],
    ),
    "fractional int step": (
        ["model.layers.hidden.units: {int: [8, 64], step: 2.5}"],
        ["an int range's step must be a whole number"],
    ),
    "float range for an int key": (
        ["model.layers.hidden.units: {float: [8, 64]}"],
        ["with 8.0 (the range's low end) the spec is invalid", "units"],
    ),
    "value out of bounds": (
        ["model.layers.drop.rate: {float: [0.0, 1.5]}"],
        ["with 1.5 (the range's high end) the spec is invalid", "drop"],
    ),
    "the low end breaks a later shape": (
        ["model.layers.conv_a.kernel_size: {int: [3, 30]}"],
        ["the spec is invalid", "kernel_size is larger than the input"],
    ),
    "searching the name": (
        ["name: {choice: [a, b]}"],
        ["name cannot be searched"],
    ),
    "duplicate choice": (
        ["model.layers.hidden.units: {choice: [16, 16]}"],
        ["lists a choice twice"],
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_space_entries_are_located_at_the_entry(tmp_path: Path, case: str) -> None:
    lines, fragments = BAD[case]
    path = spec_with(tmp_path, space(*lines))
    result = cli("validate", path)
    line = BASE.split("\n").index("SEARCH") + 1 + 2  # metric, space:, then the entry
    assert_user_error(result, f"s.yaml:{line}:", *fragments, lines=None)


def test_ranges_fine_alone_but_not_together(tmp_path: Path) -> None:
    """Each kernel alone fits 28x28, both at their high end do not: found, located at space."""
    path = spec_with(
        tmp_path,
        space(
            "model.layers.conv_a.kernel_size: {int: [3, 15], step: 12}",
            "model.layers.conv_b.kernel_size: {int: [3, 15], step: 12}",
        ),
    )
    result = cli("validate", path)
    assert_user_error(
        result,
        "search.space:",
        "every range at its high end",
        "model.layers.conv_a.kernel_size=15, model.layers.conv_b.kernel_size=15",
        "kernel_size is larger than the input",
        lines=None,
    )


SECTION_BAD = {
    "trials 0": ("  trials: 0\n  space: {train.epochs: {int: [1, 2]}}", ["trials is too small"]),
    "unknown sampler": (
        "  sampler: cmaes\n  space: {train.epochs: {int: [1, 2]}}",
        ["sampler", "tpe, random, grid"],
    ),
    "unknown key": ("  trails: 3\n  space: {train.epochs: {int: [1, 2]}}", ["trails", "trials"]),
    "no space": ("  trials: 3", ["space"]),
    "empty space": ("  space: {}", ["space"]),
    "grid with a continuous range": (
        "  sampler: grid\n  space: {compile.optimizer.learning_rate: {float: [0.001, 0.01]}}",
        ["the grid sampler needs a finite set of values", "add a step"],
    ),
}


@pytest.mark.parametrize("case", list(SECTION_BAD), ids=list(SECTION_BAD))
def test_bad_sections(tmp_path: Path, case: str) -> None:
    text, fragments = SECTION_BAD[case]
    result = cli("validate", spec_with(tmp_path, text))
    assert_user_error(result, "s.yaml:", *fragments, lines=None)


def test_metric_no_trial_logs(tmp_path: Path) -> None:
    result = cli(
        "validate",
        spec_with(tmp_path, space("train.epochs: {int: [1, 2]}", head="  metric: val_acuracy\n")),
    )
    assert_user_error(result, "search.metric", "no trial will log the metric 'val_acuracy'",
                      "did you mean 'val_accuracy'?", lines=None)  # fmt: skip
    result = cli(
        "validate",
        spec_with(tmp_path, space("train.epochs: {int: [1, 2]}")),
        "--set",
        "data.validation_split=0",
    )
    assert_user_error(result, "no trial will log the metric 'val_accuracy'",
                      "set data.validation_split above 0", lines=None)  # fmt: skip


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = spec_with(
        tmp_path,
        space(
            "model.layers.hiden.units: {choice: [16]}",
            "model.layers.hidden.units: {int: [64, 8]}",
            "model.layers.drop.rate: {float: [0.0, 1.5]}",
            head="  metric: val_acuracy\n",
        ),
    )
    result = cli("validate", path, "--json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)[0]["errors"]
    assert len(errors) == 4
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines) and len(set(lines)) == 4
    assert all(": search." in e for e in errors)


def test_validate_never_imports_tensorflow_or_optuna(tmp_path: Path) -> None:
    path = spec_with(tmp_path, GOOD)
    code = (
        "import sys\n"
        "from mnistctl.cli import app\n"
        "try:\n"
        f"    app(['validate', {str(path)!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "bad = [m for m in ('tensorflow', 'keras', 'optuna') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_schema_describes_search() -> None:
    result = cli("schema")
    schema = json.loads(result.stdout)
    props = schema["properties"]["search"]["properties"]
    assert set(props) >= {"metric", "direction", "trials", "sampler", "pruner", "seed", "space"}
    assert props["sampler"]["enum"] == ["tpe", "random", "grid"]
    assert props["pruner"]["enum"] == ["median", "hyperband", "none"]


@pytest.mark.slow
def test_train_ignores_the_search_and_says_so(tmp_path: Path) -> None:
    from helpers import make_npz, run_dirs

    data = make_npz(tmp_path / "d.npz", 200, 50)
    path = spec_with(tmp_path, GOOD)
    result = cli(
        "train", path, "--data", data, "--runs-dir", tmp_path / "runs",
        "--set", "train.epochs=1", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "train ignores the spec's search: section" in result.stderr
    assert "mnistctl tune" in result.stderr
    (run,) = run_dirs(tmp_path / "runs")
    recorded = (run / "spec.yaml").read_text()
    assert "\nsearch:" not in recorded and "units: 32" in recorded
