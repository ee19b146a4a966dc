"""Bad training recipes: each is one located line (file:line:col, what, expected, received, a
hint where one helps), exit 1, and ``train`` writes nothing. Never imports TensorFlow."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_user_error, cli, write_spec

BASE = """\
data: {dataset: mnist, validation_split: SPLIT}
model:
  layers:
    - {type: Input, shape: [28, 28, 1]}
    - {type: Conv2D, filters: 4, kernel_size: 3LAYER_EXTRA}
    - EXTRA_LAYER
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
compile:
  optimizer: {type: adam, learning_rate: LR}
train:
  callbacks: CALLBACKS
"""


def spec_text(
    *,
    lr: str = "0.001",
    callbacks: str = "[]",
    split: str = "0.1",
    layer_extra: str = "",
    extra_layer: str = "{type: MaxPooling2D}",
) -> str:
    return (
        BASE.replace("SPLIT", split)
        .replace("LAYER_EXTRA", layer_extra)
        .replace("EXTRA_LAYER", extra_layer)
        .replace("LR", lr)
        .replace("CALLBACKS", callbacks)
    )


CASES = {
    "unknown schedule": (
        {"lr": "{type: CosineDecy, initial_learning_rate: 0.1, decay_steps: 10}"},
        ["10:", "unknown learning-rate schedule type", "did you mean 'CosineDecay'?"],
    ),
    "unknown callback": (
        {"callbacks": "[{type: EarlyStoping}]"},
        ["12:", "unknown callback type", "did you mean 'EarlyStopping'?"],
    ),
    "unknown regularizer": (
        {"layer_extra": ", kernel_regularizer: {type: L3}"},
        ["5:", "unknown regularizer type", "one of L1, L2, L1L2"],
    ),
    "schedule argument misspelt": (
        {"lr": "{type: CosineDecay, initial_learning_rate: 0.1, decay_step: 10}"},
        ["10:", "unknown argument 'decay_step' for CosineDecay", "did you mean 'decay_steps'?"],
    ),
    "a schedule where a number is expected": (
        {
            "lr": "{type: ExponentialDecay, initial_learning_rate: 0.1, decay_steps: "
            "{type: CosineDecay}, decay_rate: 0.5}"
        },
        ["10:", "wrong type for decay_steps", "expected an integer", "received a mapping"],
    ),
    "a word where a rate or schedule is expected": (
        {"lr": "cosine"},
        ["10:", "wrong type for learning_rate", "a learning-rate schedule {type: ..."],
    ),
    "a number where a regularizer is expected": (
        {"layer_extra": ", kernel_regularizer: 0.01"},
        ["5:", "wrong type for kernel_regularizer", "expected a mapping"],
    ),
    "zero steps": (
        {"lr": "{type: CosineDecay, initial_learning_rate: 0.1, decay_steps: 0}"},
        ["10:", "decay_steps is too small", ">= 1"],
    ),
    "negative steps": (
        {"lr": "{type: PolynomialDecay, initial_learning_rate: 0.1, decay_steps: -5}"},
        ["10:", "decay_steps is too small", "received -5"],
    ),
    "boundaries and values mismatched": (
        {"lr": "{type: PiecewiseConstantDecay, boundaries: [100, 200], values: [0.1, 0.01]}"},
        ["10:", "one more value than boundaries", "3 values for 2 boundaries", "received 2"],
    ),
    "boundaries not increasing": (
        {
            "lr": "{type: PiecewiseConstantDecay, boundaries: [200, 100], "
            "values: [0.1, 0.01, 0.001]}"
        },
        ["10:", "boundaries must increase", "a step after 200", "received 100"],
    ),
    "cosine from zero without warmup": (
        {"lr": "{type: CosineDecay, initial_learning_rate: 0, decay_steps: 100}"},
        ["10:", "never trains", "warmup_target"],
    ),
    "monitor without validation": (
        {"split": "0", "callbacks": "[{type: EarlyStopping, monitor: val_accuracy}]"},
        [
            "12:",
            "monitors 'val_accuracy', which this run will not have",
            "one of loss, accuracy",
            "validation_split > 0",
        ],
    ),
    "Keras's default monitor without validation": (
        {"split": "0", "callbacks": "[{type: ReduceLROnPlateau}]"},
        ["12:", "monitors 'val_loss'", "(keras's default)", "validation_split > 0"],
    ),
    "monitor misspelt": (
        {"callbacks": "[{type: EarlyStopping, monitor: val_acuracy}]"},
        ["12:", "monitors 'val_acuracy'", "did you mean 'val_accuracy'?"],
    ),
    "negative patience": (
        {"callbacks": "[{type: EarlyStopping, patience: -1}]"},
        ["12:", "patience is too small", ">= 0", "received -1"],
    ),
    "factor of one": (
        {"callbacks": "[{type: ReduceLROnPlateau, factor: 1}]"},
        ["12:", "factor is too large", "< 1"],
    ),
    "verbose is the tool's": (
        {"callbacks": "[{type: EarlyStopping, verbose: 1}]"},
        [
            "12:",
            "unknown argument 'verbose' for EarlyStopping",
            "mnistctl leaves Keras's 'verbose' out",
            "shows progress itself",
        ],
    ),
    "plateau on a schedule": (
        {
            "lr": "{type: CosineDecay, initial_learning_rate: 0.1, decay_steps: 10}",
            "callbacks": "[{type: ReduceLROnPlateau}]",
        },
        ["12:", "cannot change a learning rate that a schedule sets"],
    ),
    "two early stoppings": (
        {"callbacks": "[{type: EarlyStopping}, {type: EarlyStopping, monitor: loss}]"},
        ["12:", "a second EarlyStopping"],
    ),
    "regularizer on a layer without weights": (
        {"extra_layer": "{type: MaxPooling2D, kernel_regularizer: {type: L2}}"},
        [
            "6:",
            "unknown argument 'kernel_regularizer' for MaxPooling2D",
            "no weights to regularize",
        ],
    ),
    "negative penalty": (
        {"layer_extra": ", kernel_regularizer: {type: L2, l2: -0.1}"},
        ["5:", "l2 is too small", ">= 0"],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_recipe_is_one_located_line(tmp_path: Path, case: str) -> None:
    changes, fragments = CASES[case]
    spec = write_spec(tmp_path, spec_text(**changes), "bad.yaml")
    result = cli("validate", spec)
    line = assert_user_error(result, *fragments, lines=None)
    assert line.startswith(f"{spec}:"), line


@pytest.mark.parametrize("case", ["monitor without validation", "boundaries and values mismatched"])
def test_train_writes_nothing_for_a_bad_recipe(tmp_path: Path, case: str) -> None:
    changes, fragments = CASES[case]
    spec = write_spec(tmp_path, spec_text(**changes), "bad.yaml")
    result = cli("train", spec, "--runs-dir", tmp_path / "runs", "--json")
    assert_user_error(result, *fragments, lines=None)
    assert not (tmp_path / "runs").exists()


def test_a_good_recipe_validates(tmp_path: Path) -> None:
    text = spec_text(
        lr="{type: CosineDecay, initial_learning_rate: 0.0, warmup_target: 0.002, "
        "warmup_steps: 100, decay_steps: 4000}",
        callbacks="[{type: EarlyStopping, monitor: val_accuracy, patience: 5, "
        "restore_best_weights: true}]",
        layer_extra=", kernel_regularizer: {type: L1L2, l1: 0.0, l2: 0.0001}",
    )
    result = cli("validate", write_spec(tmp_path, text, "good.yaml"))
    assert result.exit_code == 0, result.stderr
