"""``mnistctl compare``: spec differences, metrics against the first run, per-class F1 and the
overlaid learning curves, on runs built by hand with RunRecord (their evaluation.json written
as ``evaluate`` writes it); refusals; and one real tiny training compared end to end.

Whole-output assertions: the terminal text and the JSON document are compared in full; the
figure is checked on its data (lines, styles, colours, legend), not on PNG bytes.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_user_error, cli, make_npz, read_json, write_spec
from matplotlib.colors import to_hex
from rich.console import Console
from test_runs_list import HISTORY, SHA, edit_metrics, make_run

from mnistctl.commands.compare import compare_runs, flatten, spec_differences
from mnistctl.plots import build_compare_figure, plot_compare
from mnistctl.plots.compare import run_colours
from mnistctl.runs import layout, record
from mnistctl.runs.atomic import write_json
from mnistctl.ui.compare_view import render_compare

STAMP = "20260201T000000Z"
F1_A = [0.9, 0.95, 0.8, 0.85, 0.9, 0.8, 0.9, 0.85, 0.75, 0.8]
F1_B = [0.92, 0.95, 0.78, 0.9, 0.9, 0.85, 0.9, 0.8, 0.8, 0.8]
ENV120 = {"COLUMNS": "120"}


def write_evaluation(run: Path, f1: list[float], accuracy: float = 0.91) -> None:
    """evaluation.json in the shape ``mnistctl evaluate`` saves."""
    write_json(
        run / layout.EVALUATION,
        {
            "run_dir": str(run),
            "name": run.parent.name,
            "loss": 0.3,
            "accuracy": accuracy,
            "test_samples": 100,
            "data": {"source": "test.npz", "sha256": SHA},
            "confusion_matrix": [[10 if i == j else 0 for j in range(10)] for i in range(10)],
            "per_class": [
                {"label": i, "precision": v, "recall": v, "f1": v, "support": 10}
                for i, v in enumerate(f1)
            ],
        },
    )


def text_of(result: Any, width: int = 120) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    render_compare(result, console)
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


@pytest.fixture
def pair(tmp_path: Path, clock: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two evaluated runs: tiny (64 units) and wide (128 units, one more epoch of history)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(layout, "timestamp", lambda: STAMP)
    runs = tmp_path / "runs"
    clock["now"] = "2026-01-01T10:00:00Z"
    a = make_run(runs, "20260101T100000Z", seconds=12.5)
    write_evaluation(a, F1_A)
    clock["now"] = "2026-01-02T10:00:00Z"
    b_history = [
        {"epoch": 1, "loss": 0.8, "accuracy": 0.75, "val_loss": 0.7, "val_accuracy": 0.8},
        {"epoch": 2, "loss": 0.4, "accuracy": 0.88, "val_loss": 0.4, "val_accuracy": 0.9},
        {"epoch": 3, "loss": 0.25, "accuracy": 0.93, "val_loss": 0.42, "val_accuracy": 0.91},
    ]
    b = make_run(runs, "20260102T100000Z", name="wide", units=128, history=b_history,
                 test=(0.27, 0.925), seconds=20.0)  # fmt: skip
    write_evaluation(b, F1_B, accuracy=0.925)
    return [a, b]


def compared(runs: list[Path], **options: Any) -> Any:
    options = {"runs_dir": None, "data": None, "output": None, "show_all": False, **options}
    return compare_runs(runs, **options)


PAIR_TEXT = """\
Runs
┏━━━┳━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃ run  ┃ status    ┃ path                       ┃
┡━━━╇━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 1 │ tiny │ completed │ runs/tiny/20260101T100000Z │
│ 2 │ wide │ completed │ runs/wide/20260102T100000Z │
└───┴──────┴───────────┴────────────────────────────┘
Spec differences (2)
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━━┓
┃ spec value                ┃ tiny ┃ wide ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━┩
│ name                      │ tiny │ wide │
│ model.layers.hidden.units │ 64   │ 128  │
└───────────────────────────┴──────┴──────┘
Metrics (difference to the first run)
┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━┓
┃ metric             ┃      tiny ┃                 wide ┃
┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━┩
│ epochs             │       3/3 │                  3/3 │
│ params             │    50,890 │              101,770 │
│ time               │       12s │                  20s │
│ precision          │   float32 │              float32 │
│ final loss         │    0.3000 │     0.2500 (-0.0500) │
│ final val_loss     │    0.5000 │     0.4200 (-0.0800) │
│ final accuracy     │    90.00% │    93.00% (+3.00 pp) │
│ final val_accuracy │    87.00% │    91.00% (+4.00 pp) │
│ best val_loss      │ 0.4500 @2 │  0.4000 @2 (-0.0500) │
│ best val_accuracy  │ 88.00% @2 │ 91.00% @3 (+3.00 pp) │
│ test loss          │    0.3000 │     0.2700 (-0.0300) │
│ test accuracy      │    91.00% │    92.50% (+1.50 pp) │
└────────────────────┴───────────┴──────────────────────┘
Per-class F1 (difference to the first run)
┏━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓
┃ class    ┃     tiny ┃               wide ┃
┡━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩
│ 0        │    0.900 │     0.920 (+0.020) │
│ 1        │    0.950 │     0.950 (+0.000) │
│ 2        │    0.800 │     0.780 (-0.020) │
│ 3        │    0.850 │     0.900 (+0.050) │
│ 4        │    0.900 │     0.900 (+0.000) │
│ 5        │    0.800 │     0.850 (+0.050) │
│ 6        │    0.900 │     0.900 (+0.000) │
│ 7        │    0.850 │     0.800 (-0.050) │
│ 8        │    0.750 │     0.800 (+0.050) │
│ 9        │    0.800 │     0.800 (+0.000) │
└──────────┴──────────┴────────────────────┘
learning curves: runs/compare-20260201T000000Z.png
"""


def test_pair_text(pair: list[Path]) -> None:
    result = compared(pair)
    assert text_of(result) == PAIR_TEXT
    assert result.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def best(loss: tuple[float, int], acc: tuple[float, int], vloss: tuple[float, int],
         vacc: tuple[float, int]) -> dict[str, Any]:  # fmt: skip
    names = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {
        n: {"value": v, "epoch": e}
        for n, (v, e) in zip(names, (loss, acc, vloss, vacc), strict=True)
    }


def run_json(run: Path, **facts: Any) -> dict[str, Any]:
    out = {
        "run_dir": str(run),
        "name": "tiny",
        "label": "tiny",
        "status": "completed",
        "group": None,
        "seed": None,
        "epochs": 3,
        "epochs_completed": 3,
        "total_params": 50890,
        "seconds": 12.5,
        "precision": "float32",
        "loss": "categorical_crossentropy",
        "data": {"dataset": "mnist", "name": "mnist", "sha256": SHA},
        "final": {"loss": 0.3, "accuracy": 0.9, "val_loss": 0.5, "val_accuracy": 0.87},
        "best": best((0.3, 3), (0.9, 3), (0.45, 2), (0.88, 2)),
        "test": {"loss": 0.3, "accuracy": 0.91},
        "test_accuracy_delta": 0.0,
        "per_class_f1": F1_A,
        "per_class_f1_note": None,
    }
    return out | facts


def test_pair_json(pair: list[Path], tmp_path: Path) -> None:
    result = cli("compare", *pair, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "runs": [
            run_json(pair[0]),
            run_json(
                pair[1], name="wide", label="wide", total_params=101770, seconds=20.0,
                final={"loss": 0.25, "accuracy": 0.93, "val_loss": 0.42, "val_accuracy": 0.91},
                best=best((0.25, 3), (0.93, 3), (0.4, 2), (0.91, 3)),
                test={"loss": 0.27, "accuracy": 0.925}, test_accuracy_delta=0.015,
                per_class_f1=F1_B,
            ),
        ],
        "differences": [
            {"path": "name", "values": ["tiny", "wide"], "differs": True},
            {"path": "model.layers.hidden.units", "values": [64, 128], "differs": True},
        ],
        "structure": {"same": True, "layers": [TINY_LAYERS, WIDE_LAYERS], "aligned": []},
        "per_class_f1": [
            {"label": i, "name": str(i), "f1": [F1_A[i], F1_B[i]]} for i in range(10)
        ],
        "groups": [],
        "rule": None,
        "figure": str(tmp_path / "runs" / f"compare-{STAMP}.png"),
        "warnings": [],
    }  # fmt: skip


TINY_LAYERS = [
    "input_tensor: Input(shape=[784])",
    "hidden: Dense(units=64, activation=relu)",
    "output_tensor: Dense(units=10, activation=softmax)",
]
WIDE_LAYERS = [TINY_LAYERS[0], "hidden: Dense(units=128, activation=relu)", TINY_LAYERS[2]]


def test_show_all_lists_every_value(pair: list[Path]) -> None:
    result = compared(pair, show_all=True)
    differences = [(d.path, d.values, d.differs) for d in result.differences]
    assert differences == [
        ("name", ("tiny", "wide"), True),
        ("description", ("A small dense network for the end-to-end tests",) * 2, False),
        ("data.dataset", ("mnist", "mnist"), False),
        ("data.path", (None, None), False),
        ("data.train_samples", (None, None), False),
        ("data.validation_split", (0.1, 0.1), False),
        ("data.classes", ([str(d) for d in range(10)],) * 2, False),
        ("data.test_split", (None, None), False),
        ("data.prepare", ("mnist_style", "mnist_style"), False),
        ("model.layers.input_tensor.type", ("Input", "Input"), False),
        ("model.layers.input_tensor.shape", ([784], [784]), False),
        ("model.layers.hidden.type", ("Dense", "Dense"), False),
        ("model.layers.hidden.units", (64, 128), True),
        ("model.layers.hidden.activation", ("relu", "relu"), False),
        ("model.layers.output_tensor.type", ("Dense", "Dense"), False),
        ("model.layers.output_tensor.units", (10, 10), False),
        ("model.layers.output_tensor.activation", ("softmax", "softmax"), False),
        ("compile.loss", ("categorical_crossentropy",) * 2, False),
        ("compile.optimizer", ("adam", "adam"), False),
        ("compile.metrics", (["accuracy"], ["accuracy"]), False),
        ("train.batch_size", (32, 32), False),
        ("train.epochs", (3, 3), False),
        ("train.seed", (0, 0), False),
        ("train.precision", ("auto", "auto"), False),
        ("train.shuffle", (True, True), False),
        ("train.tensorboard_histograms", (0, 0), False),
        ("train.callbacks", ([], []), False),
    ]
    table = text_of(result).split("Metrics (")[0].split("Spec values")[1]
    assert table.splitlines()[0] == " (2 of 27 differ)"
    assert "│ model.layers.input_tensor.shape       │ [784]" in table
    assert "│ train.shuffle                         │ true" in table
    assert "│ data.path                             │ null" in table


def test_spec_paths_are_set_paths() -> None:
    spec = {
        "model": {
            "layers": [
                {"type": "Input", "name": "in", "shape": [28, 28, 1]},
                {"type": "Conv2D", "name": "Conv1", "filters": 32,
                 "kernel_regularizer": {"type": "L2", "l2": 0.0001}},
                {"type": "Flatten"},
                {"type": "Dense", "name": "d", "units": 10},
                {"type": "Dense", "name": "d", "units": 5},
            ]
        },
        "train": {"callbacks": [{"type": "EarlyStopping", "patience": 5}], "epochs": 1},
    }  # fmt: skip
    assert flatten(spec) == {
        "model.layers.in.type": "Input",
        "model.layers.in.shape": [28, 28, 1],
        "model.layers.Conv1.type": "Conv2D",
        "model.layers.Conv1.filters": 32,
        "model.layers.Conv1.kernel_regularizer.type": "L2",
        "model.layers.Conv1.kernel_regularizer.l2": 0.0001,
        "model.layers.2.type": "Flatten",  # no name: its index, as --set takes it
        "model.layers.3.type": "Dense",  # a repeated name: the index
        "model.layers.3.name": "d",
        "model.layers.3.units": 10,
        "model.layers.4.type": "Dense",
        "model.layers.4.name": "d",
        "model.layers.4.units": 5,
        "train.callbacks.0.type": "EarlyStopping",
        "train.callbacks.0.patience": 5,
        "train.epochs": 1,
    }
    other = {
        "model": {"layers": [{"type": "Input", "name": "in", "shape": [28, 28, 1]}]},
        "train": {"epochs": 1.0, "seed": True},
    }
    one = {"model": {"layers": [{"type": "Input", "name": "in", "shape": [28, 28, 1]}]},
           "train": {"epochs": 1, "seed": 1}}  # fmt: skip
    diffs = [(d.path, [None if v is not v else v for v in d.values])
             for d in spec_differences([one, other], show_all=False)]  # fmt: skip
    assert diffs == [("train.seed", [1, True])]  # 1 and 1.0 are the same number; True is not 1


TRIO_TEXT = """\
Runs
┏━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃ run                   ┃ status      ┃ path                       ┃
┡━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 1 │ tiny 20260101T100000Z │ completed   │ runs/tiny/20260101T100000Z │
│ 2 │ wide                  │ completed   │ runs/wide/20260102T100000Z │
│ 3 │ tiny 20260103T100000Z │ interrupted │ runs/tiny/20260103T100000Z │
└───┴───────────────────────┴─────────────┴────────────────────────────┘
Spec differences (2)
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓
┃ spec value                ┃ tiny 20260101T100000Z ┃ wide ┃ tiny 20260103T100000Z ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩
│ name                      │ tiny                  │ wide │ tiny                  │
│ model.layers.hidden.units │ 64                    │ 128  │ 64                    │
└───────────────────────────┴───────────────────────┴──────┴───────────────────────┘
Metrics (difference to the first run)
┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓
┃ metric             ┃ tiny 20260101T100000Z ┃                 wide ┃ tiny 20260103T100000Z ┃
┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩
│ epochs             │                   3/3 │                  3/3 │                   2/3 │
│ params             │                50,890 │              101,770 │                50,890 │
│ time               │                   12s │                  20s │                1m 40s │
│ precision          │               float32 │              float32 │                     — │
│ final loss         │                0.3000 │     0.2500 (-0.0500) │      0.5000 (+0.2000) │
│ final val_loss     │                0.5000 │     0.4200 (-0.0800) │      0.4500 (-0.0500) │
│ final accuracy     │                90.00% │    93.00% (+3.00 pp) │     85.00% (-5.00 pp) │
│ final val_accuracy │                87.00% │    91.00% (+4.00 pp) │     88.00% (+1.00 pp) │
│ best val_loss      │             0.4500 @2 │  0.4000 @2 (-0.0500) │   0.4500 @2 (+0.0000) │
│ best val_accuracy  │             88.00% @2 │ 91.00% @3 (+3.00 pp) │  88.00% @2 (+0.00 pp) │
│ test loss          │                0.3000 │     0.2700 (-0.0300) │                     — │
│ test accuracy      │                91.00% │    92.50% (+1.50 pp) │                     — │
└────────────────────┴───────────────────────┴──────────────────────┴───────────────────────┘
Per-class F1 (difference to the first run)
┏━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓
┃ class ┃ tiny 20260101T100000Z ┃           wide ┃ tiny 20260103T100000Z ┃
┡━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩
│ 0     │                 0.900 │ 0.920 (+0.020) │                     — │
│ 1     │                 0.950 │ 0.950 (+0.000) │                     — │
│ 2     │                 0.800 │ 0.780 (-0.020) │                     — │
│ 3     │                 0.850 │ 0.900 (+0.050) │                     — │
│ 4     │                 0.900 │ 0.900 (+0.000) │                     — │
│ 5     │                 0.800 │ 0.850 (+0.050) │                     — │
│ 6     │                 0.900 │ 0.900 (+0.000) │                     — │
│ 7     │                 0.850 │ 0.800 (-0.050) │                     — │
│ 8     │                 0.750 │ 0.800 (+0.050) │                     — │
│ 9     │                 0.800 │ 0.800 (+0.000) │                     — │
└───────┴───────────────────────┴────────────────┴───────────────────────┘
tiny 20260103T100000Z: not evaluated: no model.keras (interrupted)
learning curves: runs/compare-20260201T000000Z.png
"""


@pytest.fixture
def trio(pair: list[Path], clock: dict[str, str]) -> list[Path]:
    """pair, and a second, interrupted run of tiny (no model.keras, no evaluation.json) trained
    on other data."""
    clock["now"] = "2026-01-03T10:00:00Z"
    runs = pair[0].parent.parent
    third = make_run(runs, "20260103T100000Z", history=HISTORY[:2], end="interrupted",
                     data=("mnist_sample", "cd" * 32))  # fmt: skip
    edit_metrics(third, ended="2026-01-03T10:01:40Z")
    return [*pair, third]


def test_three_runs_repeated_names_other_data_no_model(trio: list[Path]) -> None:
    result = compared(trio)
    assert [r.label for r in result.runs] == [
        "tiny 20260101T100000Z",
        "wide",
        "tiny 20260103T100000Z",
    ]
    assert result.warnings == [
        "the runs were trained on different data: tiny 20260101T100000Z: mnist (sha256 "
        "abababababab), wide: mnist (sha256 abababababab), tiny 20260103T100000Z: "
        "mnist_sample (sha256 cdcdcdcdcdcd)"
    ]
    assert text_of(result) == TRIO_TEXT
    doc = result.to_json()
    assert doc["runs"][2]["per_class_f1"] is None
    assert doc["runs"][2]["test_accuracy_delta"] is None
    assert doc["per_class_f1"][0] == {"label": 0, "name": "0", "f1": [0.9, 0.92, None]}


# --- refusals -------------------------------------------------------------------------------------


def test_refusals_are_one_line(pair: list[Path], clock: dict[str, str], tmp_path: Path) -> None:
    a, b = pair
    runs = a.parent.parent
    specs = tmp_path / "runs" / ".." / "specs"
    clock["now"] = "2026-01-05T10:00:00Z"
    sparse = make_run(runs, "20260105T100000Z", name="sparse",
                      loss="sparse_categorical_crossentropy")  # fmt: skip
    no_record = runs / "tiny" / "20260106T100000Z"
    shutil.copytree(a, no_record)
    (no_record / record.METRICS).unlink()
    newer = runs / "tiny" / "20260107T100000Z"
    shutil.copytree(a, newer)
    edit_metrics(newer, format=99)
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    os.mkfifo(tmp_path / "fifo")
    cases: list[tuple[tuple[Any, ...], tuple[str, ...]]] = [
        ((a,), (f"{a}: compare needs at least two runs", "received 1 run")),
        ((a, a), ("the same run given twice: a run compared with itself",)),
        ((newer, specs / "tiny.yaml"), ("a run compared with itself", f"both {newer}")),
        ((b, sparse), ("runs of different tasks cannot be compared", "compile.loss",
                       "'sparse_categorical_crossentropy' (sparse)")),
        ((b, no_record), ("cannot compare a damaged run", "no metrics.json")),
        ((b, newer), ("cannot compare a damaged run", "run record of a newer format (format 99)")),
        ((b, tmp_path / "picture.png"), ("picture.png: no such run directory", "not a spec")),
        ((b, tmp_path / "fifo"), ("fifo: no such run directory", "not a spec")),
        ((b, tmp_path / "nothing"), ("nothing: no such run directory", "nothing there")),
        ((b, tmp_path), ("not a run directory",)),
    ]  # fmt: skip
    for args, fragments in cases:
        assert_user_error(cli("compare", *args), *fragments)
        assert_user_error(cli("compare", *args, "--json"), *fragments)
    assert not list(runs.glob("compare-*.png"))  # nothing was drawn


def test_a_run_with_itself_by_spec_and_folder(pair: list[Path], tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "wide.yaml"  # its latest run is pair[1]
    line = assert_user_error(cli("compare", spec, pair[1]))
    assert line == (
        f"{pair[1]}: the same run given twice: a run compared with itself; expected different "
        f"runs; received {spec} and {pair[1]}, both {pair[1]} (hint: list the runs there are: "
        "mnistctl runs)"
    )


# --- the figure -----------------------------------------------------------------------------------


def lines_of(ax: Any) -> dict[str, tuple[list[float], list[float], str, str]]:
    return {
        ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata()), ln.get_linestyle(),
                         to_hex(ln.get_color()))
        for ln in ax.get_lines()
    }  # fmt: skip


def test_figure_overlays_runs(pair: list[Path]) -> None:
    blue, orange = run_colours(2)
    assert (blue, orange) == ("#1f77b4", "#ff7f0e")  # tab10
    fig = build_compare_figure(
        [
            ("tiny", {"loss": [0.9, 0.5], "val_loss": [0.8, 0.45],
                      "accuracy": [0.7, 0.85], "val_accuracy": [0.75, 0.88]}),
            ("wide", {"loss": [0.8, math.nan, 0.25], "val_loss": [0.7, math.inf, 0.42],
                      "accuracy": [0.75, 0.88, 0.93], "val_accuracy": [0.8, 0.9, 0.91]}),
        ]
    )  # fmt: skip
    loss, acc = fig.axes
    assert (loss.get_title(), acc.get_title()) == ("Loss", "Accuracy")
    got = lines_of(loss)
    assert list(got) == ["tiny (train)", "tiny (val)", "wide (train)", "wide (val)"]
    assert got["tiny (train)"] == ([1, 2], [0.9, 0.5], "--", blue)
    assert got["tiny (val)"] == ([1, 2], [0.8, 0.45], "-", blue)
    x, y, style, colour = got["wide (val)"]
    assert (x, style, colour) == ([1, 2, 3], "-", orange)
    assert y[0] == 0.7 and math.isnan(y[1]) and y[2] == 0.42  # inf: a gap, not drawn
    assert loss.get_xlabel() == "epoch (2 non-finite values not drawn)"
    assert acc.get_xlabel() == "epoch"
    assert lines_of(acc)["wide (train)"] == ([1, 2, 3], [0.75, 0.88, 0.93], "--", orange)
    assert loss.get_xlim() == (0.5, 3.5)
    lo, hi = loss.get_ylim()
    assert lo < 0.25 and 0.9 < hi < 1.1  # the finite values and a margin
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "tiny", "wide", "train (dashed)", "validation (solid)"
    ]  # fmt: skip
    assert fig.get_suptitle() == "Learning curves: tiny vs wide"  # every figure has a title
    handles = legend.legend_handles
    assert [to_hex(h.get_color()) for h in handles[:2]] == [blue, orange]
    assert [h.get_linestyle() for h in handles[2:]] == ["--", "-"]
    assert acc.yaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"


def test_figure_without_history_or_accuracy() -> None:
    fig = build_compare_figure([("a", {}), ("b", {})])
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["no training history recorded"]
    only_loss = build_compare_figure([("a", {"loss": [1.0]}), ("b", {"loss": [math.nan]})])
    (ax,) = only_loss.axes
    assert ax.get_title() == "Loss" and ax.get_xlabel() == "epoch (1 non-finite value not drawn)"
    assert len(run_colours(12)) == 12 and len(set(run_colours(12))) == 12  # tab20 past ten


def test_figure_written_where_asked(pair: list[Path], tmp_path: Path) -> None:
    out = compared(pair, output=tmp_path / "cmp.png").figure
    assert out == tmp_path / "cmp.png" and out.read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "figs").mkdir()
    assert (
        compared(pair, output=tmp_path / "figs").figure
        == tmp_path / "figs" / f"compare-{STAMP}.png"
    )
    other = tmp_path / "elsewhere"
    assert compared(pair, runs_dir=other).figure == other / f"compare-{STAMP}.png"
    assert plot_compare([("a", {"loss": [1.0, 0.5]})], tmp_path / "p.png").is_file()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    assert_user_error(cli("compare", *pair, "--output", blocked / "x.png"), "cannot write the file")


# --- end to end: one real training ---------------------------------------------------------------


def test_real_run_lists_and_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``train`` (300 real digits, 2 epochs), then ``runs`` and ``compare`` on what it wrote: the
    run, a copy of it standing in for a rerun, and a hand-built variant on other data."""
    monkeypatch.chdir(tmp_path)
    data = make_npz(tmp_path / "small.npz", 300, 200)
    spec = write_spec(tmp_path)
    trained = cli("train", spec, "--set", "train.epochs=2", "--data", data, "--json")
    assert trained.exit_code == 0, trained.stderr
    run = Path(json.loads(trained.stdout)["run_dir"])
    metrics, env = read_json(run / "metrics.json"), read_json(run / "env.json")
    history = json.loads(trained.stdout)["history"]
    best_val = max(history["val_accuracy"])
    assert metrics["best"]["val_accuracy"] == {
        "value": best_val,
        "epoch": history["val_accuracy"].index(best_val) + 1,
    }

    listing = cli("runs", "--json")
    assert listing.exit_code == 0, listing.stderr
    assert json.loads(listing.stdout) == [
        {
            "run_dir": str(run),
            "name": "tiny",
            "status": "completed",
            "live": None,
            "epochs": 2,
            "epochs_completed": 2,
            "best_val_accuracy": best_val,
            "test_accuracy": metrics["test"]["accuracy"],
            "test_loss": metrics["test"]["loss"],
            "total_params": 50890,
            "precision": metrics["precision"],
            "started": metrics["started"],
            "seconds": metrics["train_seconds"],
            "best": metrics["best"],
            "data": {"dataset": "mnist", "name": env["data"]["name"],
                     "sha256": env["data"]["sha256"]},
            "loss": "categorical_crossentropy",
            "error": None,
            "damaged": None,
            "group": None,
            "seed": None,
            "group_summary": None,
        }
    ]  # fmt: skip
    table = cli("runs", env=ENV120).stdout.splitlines()
    assert table[0] == "Runs in runs (1 run)"
    assert table[3].split() == [
        "tiny", *metrics["started"][:16].split("T"), "completed", "2/2",
        f"{best_val:.2%}", f"{metrics['test']['accuracy']:.2%}", "50,890",
        metrics["precision"], table[3].split()[-2], f"runs/tiny/{run.name}",
    ]  # fmt: skip

    rerun = run.parent / "20990101T000000Z"  # the same spec trained again (a copy)
    shutil.copytree(run, rerun)
    (rerun / "test_predictions.npz").unlink()  # as a run from before the report had none
    variant = make_run(tmp_path / "runs", "20990102T000000Z", name="narrow", units=32)
    write_evaluation(variant, F1_B)
    result = cli("compare", run, spec, variant, "--json")  # the spec: its latest run, the copy
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("warning: the runs were trained on different data: ")
    doc = json.loads(result.stdout)
    assert [r["label"] for r in doc["runs"]] == [f"tiny {run.name}", f"tiny {rerun.name}", "narrow"]
    assert [r["run_dir"] for r in doc["runs"]] == [str(run), str(rerun), str(variant)]
    assert doc["differences"] == [
        {"path": "name", "values": ["tiny", "tiny", "narrow"], "differs": True},
        {"path": "data.path", "values": [str(data), str(data), None], "differs": True},
        {"path": "model.layers.hidden.units", "values": [64, 64, 32], "differs": True},
        {"path": "train.epochs", "values": [2, 2, 3], "differs": True},
    ]
    # The run's F1 comes from its test_predictions.npz, without a model loaded; the copy that
    # lacks the file is evaluated now and saved as `mnistctl evaluate` saves it: the same numbers.
    assert not (run / "evaluation.json").exists()
    saved = read_json(rerun / "evaluation.json")
    f1 = [row["f1"] for row in saved["per_class"]]
    assert doc["runs"][0]["per_class_f1"] == pytest.approx(f1, abs=1e-12)
    assert doc["runs"][1]["per_class_f1"] == f1
    assert saved["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert doc["runs"][1]["test_accuracy_delta"] == 0.0
    assert doc["per_class_f1"][3]["f1"][2] == F1_B[3]
    figure = Path(doc["figure"])
    assert figure.parent == (tmp_path / "runs").resolve() and figure.is_file()

    shown = cli("compare", run, rerun, "--output", tmp_path / "cmp.png", env=ENV120)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stderr == ""  # same data: no warning
    assert "Spec: no differences (hint: --all shows every value)" in shown.stdout
    assert shown.stdout.endswith("learning curves: cmp.png\n")
