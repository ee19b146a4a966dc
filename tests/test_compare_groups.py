"""``mnistctl compare`` of groups of runs (``train --seeds``) and across model structures, on runs
built by hand with RunRecord (``test_runs_list.make_run``; a group is what the record names):
mean ± sd per metric, Welch's verdict, groups named by name or by ``--groups``, refusals (not
a group, no such group); the layer lists aligned when the structures differ; the numbers
(``runs/stats.py``) against known values; the figure's bands."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import assert_user_error, cli
from rich.console import Console
from test_runs_list import HISTORY, edit_metrics, make_run

from mnistctl.commands.compare import compare_runs
from mnistctl.plots import build_compare_figure
from mnistctl.runs import layout
from mnistctl.runs.atomic import write_json
from mnistctl.runs.history import write_history
from mnistctl.runs.record import RunRecord
from mnistctl.runs.specdiff import as_compared, compare_specs, layer_row
from mnistctl.runs.stats import CANNOT_SAY, LARGER, WITHIN, bands, spread, t_two_tailed, welch
from mnistctl.spec import load_spec
from mnistctl.ui.compare_view import render_compare

ROOT = Path(__file__).resolve().parent.parent
TINY_ACC = (0.91, 0.92, 0.93)
WIDE_ACC = (0.95, 0.96, 0.955)


def group_of_runs(
    runs: Path, name: str, units: int, accuracies: tuple[float, ...], day: int, **facts: Any
) -> tuple[str, list[Path]]:
    """A group as ``train --seeds`` leaves it: one completed run per seed (0, 1, ...)."""
    stamps = [f"202601{day:02d}T10000{k}Z" for k in range(len(accuracies))]
    group = f"{name}-seeds-{stamps[0]}"
    seeds = list(range(len(accuracies)))
    made = []
    for seed, (stamp, acc) in enumerate(zip(stamps, accuracies, strict=True)):
        run = make_run(runs, stamp, name=name, units=units, test=(1 - acc, acc), **facts)
        edit_metrics(run, group={"name": group, "seeds": seeds, "seed": seed})
        made.append(run)
    return group, made


@pytest.fixture
def two_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, list[Path]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(layout, "timestamp", lambda: "20260301T000000Z")
    runs = tmp_path / "runs"
    tiny, a = group_of_runs(runs, "tiny", 64, TINY_ACC, 1)
    wide, b = group_of_runs(runs, "wide", 128, WIDE_ACC, 2)
    for run in [*a, *b]:  # per-class F1 saved, as evaluate saves it: nothing to evaluate
        write_json(run / layout.EVALUATION, {"per_class": [
            {"label": i, "precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 10}
            for i in range(10)]})  # fmt: skip
    return tiny, wide, [*a, *b]


def text_of(result: Any, width: int = 100) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    render_compare(result, console)
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


def test_two_groups_by_name(two_groups: tuple[str, str, list[Path]]) -> None:
    tiny, wide, runs = two_groups
    result = cli("compare", tiny, wide, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["run_dir"] for r in doc["runs"]] == [str(r) for r in runs]
    assert [(r["group"], r["seed"]) for r in doc["runs"]] == [
        (tiny, 0), (tiny, 1), (tiny, 2), (wide, 0), (wide, 1), (wide, 2)
    ]  # fmt: skip
    first, second = doc["groups"]
    assert (first["group"], first["label"], first["n"], first["seeds"]) == (
        tiny,
        "tiny",
        3,
        [0, 1, 2],
    )
    assert first["runs"] == [str(r) for r in runs[:3]]
    acc = first["metrics"]["test_accuracy"]
    assert acc["mean"] == pytest.approx(0.92) and acc["sd"] == pytest.approx(0.01)
    assert acc["n"] == 3 and acc["vs_first"] is None
    other = second["metrics"]["test_accuracy"]
    assert other["mean"] == pytest.approx(0.955) and other["sd"] == pytest.approx(0.005)
    verdict = other["vs_first"]
    assert verdict["difference"] == pytest.approx(0.035)
    assert verdict["t"] == pytest.approx(0.035 / math.sqrt(0.01**2 / 3 + 0.005**2 / 3))
    assert verdict["verdict"] == LARGER and verdict["p"] < 0.05
    assert set(first["metrics"]) == {"test_accuracy", "best_val_accuracy", "test_loss",
                                     "best_val_loss"}  # fmt: skip
    # the same validation curves in both groups: no spread, no difference
    assert second["metrics"]["best_val_accuracy"]["vs_first"]["verdict"] == WITHIN
    assert doc["rule"].startswith("Welch's t-test, two-sided, alpha 0.05")
    assert doc["structure"]["same"] is True


def test_two_groups_text(two_groups: tuple[str, str, list[Path]]) -> None:
    tiny, wide, _ = two_groups
    text = text_of(compare_runs([Path(tiny), Path(wide)], runs_dir=None, data=None,
                                output=None, show_all=False))  # fmt: skip
    assert "│ 1 │ tiny seed 0 │ completed │ runs/tiny/20260101T100000Z │" in text
    assert "Spec differences between the groups" in text
    assert "│ model.layers.hidden.units │ 64   │ 128  │" in text
    assert "train.seed" not in text  # the seeds differ within each group only
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("│ test_accuracy"))
    assert [c.strip() for c in lines[at].split("│")[2:4]] == [
        "92.00% ± 1.00 pp",
        "95.50% ± 0.50 pp",
    ]
    assert "+3.50 pp" in lines[at + 1]
    assert re.search(r"larger than the spread \(p (= 0\.0\d\d|< 0\.001)\)", lines[at + 2])
    assert "Welch's t-test, two-sided, alpha 0.05" in text
    assert "Per-class F1 (mean over each group's runs)" in text


def test_groups_option_and_a_lone_run(two_groups: tuple[str, str, list[Path]]) -> None:
    tiny, _, runs = two_groups
    lone = make_run(runs[0].parent.parent, "20260105T100000Z", name="lone", units=32)
    shutil.copy(runs[0] / layout.EVALUATION, lone / layout.EVALUATION)
    result = compare_runs([runs[1], lone], runs_dir=None, data=None, output=None,
                          show_all=False, whole_groups=True)  # fmt: skip
    assert [r.info.run_dir for r in result.runs] == [*runs[:3], lone]
    assert result.groups is not None
    assert [(g.name, g.label, g.runs) for g in result.groups] == [
        (tiny, "tiny", (0, 1, 2)), (None, "lone", (3,))
    ]  # fmt: skip
    verdict = result.groups[1].verdicts["test_accuracy"]  # type: ignore[index]
    assert verdict.verdict == CANNOT_SAY and verdict.why == "a group of one run: no spread"
    assert result.to_json()["groups"][1]["metrics"]["test_accuracy"]["sd"] is None
    assert "cannot say" in text_of(result)
    plain = compare_runs([runs[1], lone], runs_dir=None, data=None, output=None, show_all=False)
    assert len(plain.runs) == 2 and plain.groups and len(plain.groups) == 2  # runs of a group


def test_not_a_group_and_incomplete_members(two_groups: tuple[str, str, list[Path]]) -> None:
    tiny, wide, runs = two_groups
    base = runs[0].parent.parent
    stray = make_run(base, "20260101T100009Z", name="tiny", units=16)  # other units
    edit_metrics(stray, group={"name": tiny, "seeds": [0, 1, 2, 3], "seed": 3})
    line = assert_user_error(cli("compare", tiny, wide), "not a group: its runs differ in more")
    assert "model.layers.hidden.units" in line and "mnistctl compare RUN RUN" in line
    shutil.rmtree(stray)
    stopped = make_run(base, "20260101T100009Z", name="tiny", history=HISTORY[:2],
                       end="interrupted")  # fmt: skip
    edit_metrics(stopped, group={"name": tiny, "seeds": [0, 1, 2, 3], "seed": 3})
    result = compare_runs([Path(tiny), Path(wide)], runs_dir=None, data=None, output=None,
                          show_all=False)  # fmt: skip
    assert result.groups is not None and result.groups[0].metrics["test_accuracy"].n == 3
    assert result.warnings[0] == (
        "tiny: 1 of its 4 runs compared not completed: its mean and sd are of the completed runs"
    )


def test_group_refusals(two_groups: tuple[str, str, list[Path]]) -> None:
    tiny, _, runs = two_groups
    assert_user_error(cli("compare", tiny, "tiny-seeds-20990101T000000Z"), "no such group of runs")
    assert_user_error(cli("compare", tiny, runs[0]), "the same run given twice")
    one = cli("compare", runs[0], "--groups")  # one run, its group: three runs of one group
    assert one.exit_code == 0, one.stderr
    shutil.rmtree(runs[2])  # a damaged or removed member: its seed is missing, said
    result = compare_runs([Path(tiny), runs[3]], runs_dir=None, data=None, output=None,
                          show_all=False)  # fmt: skip
    assert "no readable run of seed 2" in result.warnings[0]


# --- structure -----------------------------------------------------------------------------------


def test_dnn_and_cnn_read_as_structure() -> None:
    specs = [as_compared(load_spec(ROOT / "specs" / f"{n}.yaml")) for n in ("dnn", "cnn")]
    got = compare_specs(specs, show_all=False)
    assert [d.path for d in got.differences] == ["name", "description", "train.epochs"]
    assert not got.structure.same
    rows = [(r.op, r.first, r.other) for r in got.structure.aligned[0]]
    assert rows[0] == ("changed", "input_tensor: Input(shape=[784])",
                       "input_tensor: Input(shape=[28, 28, 1])")  # fmt: skip
    assert ("changed", "hidden_1: Dense(units=256, activation=sigmoid)",
            "hidden_1: Dense(units=128)") in rows  # fmt: skip
    # the 10-unit output layers side by side, not the DNN's 256-unit hidden_2 and the CNN's
    assert ("changed", "output_tensor: Dense(units=10, activation=softmax)",
            "hidden_2: Dense(units=10)") in rows  # fmt: skip
    assert ("only_first", "hidden_2: Dense(units=256, activation=sigmoid)", None) in rows
    assert ("only_other", None, "Flatten()") in rows
    assert len([r for r in rows if r[1]]) == 6 and len([r for r in rows if r[2]]) == 11
    assert got.structure.to_json()["aligned"][0]["rows"][0]["op"] == "changed"


def test_same_structure_keeps_set_paths() -> None:
    one = as_compared(load_spec(ROOT / "specs" / "cnn.yaml"))
    two = json.loads(json.dumps(one))
    two["model"]["layers"][1]["filters"] = 64
    got = compare_specs([one, two], show_all=False)
    assert got.structure.same and got.structure.aligned == ()
    assert [(d.path, d.values) for d in got.differences] == [
        ("model.layers.Conv1.filters", (32, 64))
    ]
    renamed = json.loads(json.dumps(one))
    renamed["model"]["layers"][1]["name"] = "first_conv"  # a renamed layer: structure
    assert not compare_specs([one, renamed], show_all=False).structure.same
    assert layer_row({"type": "Add", "name": "sum", "inputs": ["a", "b"]}) == (
        'sum: Add(inputs=["a", "b"])'
    )


def run_of_spec(runs: Path, spec_path: Path, stamp: str) -> Path:
    """A completed run of any spec, as ``train`` writes one (no model)."""
    spec = load_spec(spec_path)
    run = runs / spec.name / stamp
    (run / layout.PLOTS).mkdir(parents=True)
    (run / layout.SPEC).write_text(yaml.safe_dump(spec.resolved_dict(), sort_keys=False))
    write_json(run / layout.SUMMARY, spec.info.to_json(spec.name))
    rec = RunRecord.create(run, epochs=3, files=[layout.SPEC])
    rec.start_training(0)
    write_history(run / layout.HISTORY, HISTORY)
    (run / "checkpoint-3.keras").write_bytes(b"checkpoint")
    rec.epoch_finished(HISTORY, "checkpoint-3.keras")
    rec.completed(HISTORY, test={"loss": 0.3, "accuracy": 0.9})
    write_json(run / layout.EVALUATION, {"per_class": [
        {"label": i, "f1": 0.9} for i in range(10)]})  # fmt: skip
    return run


def test_compare_dnn_and_cnn_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    dnn = run_of_spec(tmp_path / "runs", ROOT / "specs" / "dnn.yaml", "20260101T000000Z")
    cnn = run_of_spec(tmp_path / "runs", ROOT / "specs" / "cnn.yaml", "20260102T000000Z")
    result = cli("compare", dnn, cnn, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "model.layers" not in out  # no name-paired layer paths
    assert "Layers: the structures differ (~ changed, - only in dnn, + only in cnn)" in out
    assert "│ ~ │ output_tensor: Dense(units=10," in out
    assert "│ hidden_2: Dense(units=10)" in out
    assert "│ train.epochs │ 20" in out
    doc = json.loads(cli("compare", dnn, cnn, "--json").stdout)
    assert doc["structure"]["same"] is False and len(doc["structure"]["layers"][1]) == 11
    assert [d["path"] for d in doc["differences"]] == ["name", "description", "train.epochs"]
    assert doc["groups"] == [] and doc["rule"] is None

    # A structure with layers in common: the legend names the mark of those too.
    drop = run_of_spec(tmp_path / "runs", ROOT / "specs" / "cnn_dropout.yaml", "20260103T000000Z")
    out = cli("compare", cnn, drop, env={"COLUMNS": "100"}).stdout
    assert "Layers: the structures differ (= same, ~ changed, - only in cnn, + only in" in out
    assert "│ = │ input_tensor: Input(shape=[28, 28, 1])" in out


# --- the numbers ---------------------------------------------------------------------------------


def test_spread_and_welch_against_known_values() -> None:
    assert spread([1.0, 2.0, 3.0, None, math.nan]) == spread([1.0, 2.0, 3.0])
    s = spread([1.0, 2.0, 3.0])
    assert (s.n, s.mean, s.sd) == (3, 2.0, 1.0)
    assert spread([4.0]).sd is None and spread([]).mean is None
    # Student's t two-sided tails (R: 2 * pt(-abs(t), df))
    assert t_two_tailed(2.0, 4) == pytest.approx(0.1161165, abs=1e-6)
    assert t_two_tailed(2.776445, 4) == pytest.approx(0.05, abs=1e-6)
    assert t_two_tailed(12.7062, 1) == pytest.approx(0.05, abs=1e-5)
    assert t_two_tailed(1.959964, 1e6) == pytest.approx(0.05, abs=1e-5)
    assert t_two_tailed(0.0, 3) == 1.0 and t_two_tailed(math.inf, 3) == 0.0
    # Welch by hand: means 2.5 and 5.125, variances 5/3 and 23.1875/3, n 4 each
    v = welch(spread([1, 2, 3, 4]), spread([2, 4, 6, 8.5]))
    va, vb = 5 / 3 / 4, 23.1875 / 3 / 4
    assert v.t == pytest.approx(2.625 / math.sqrt(va + vb))
    assert v.df == pytest.approx((va + vb) ** 2 / (va**2 / 3 + vb**2 / 3))
    assert v.p == pytest.approx(tail_by_simpson(v.t or 0, v.df or 0), abs=1e-6)
    assert v.verdict == WITHIN
    same = welch(spread([0.9, 0.9]), spread([0.95, 0.95]))
    assert same.verdict == LARGER and same.p == 0.0  # no spread at all, a difference
    assert welch(spread([0.9, 0.9]), spread([0.9, 0.9])).verdict == WITHIN
    assert welch(spread([]), spread([0.9, 0.8])).why == "no value in one group"


def tail_by_simpson(t: float, df: float, steps: int = 20000) -> float:
    """P(|T| >= t) by Simpson's rule on Student's t density over [0, t]: another way."""
    norm = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    h = t / steps
    f = [norm * (1 + (k * h) ** 2 / df) ** (-(df + 1) / 2) for k in range(steps + 1)]
    inner = h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))
    return 1 - 2 * inner


def test_bands_and_the_figure() -> None:
    got = bands([{"loss": [1.0, 0.5]}, {"loss": [3.0]}])["loss"]
    assert got.mean == [2.0, 0.5] and got.n == [2, 1]
    assert got.low[0] == pytest.approx(2 - math.sqrt(2)) and got.low[1] == got.high[1] == 0.5
    group = [{"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.7],
              "val_accuracy": [0.45, 0.65]},
             {"loss": [0.9, 0.4], "val_loss": [1.0, 0.7], "accuracy": [0.55, 0.8],
              "val_accuracy": [0.5, 0.6]}]  # fmt: skip
    fig = build_compare_figure([("tiny", group), ("lone", group[0])])
    assert fig.get_suptitle() == "Learning curves: tiny vs lone"
    loss, acc = fig.axes
    assert len(loss.collections) == 2 and len(acc.collections) == 2  # a band per tiny curve
    styles = {ln.get_label(): ln.get_linestyle() for ln in loss.get_lines()}
    assert styles == {"tiny (train)": "--", "tiny (val)": "-", "lone (train)": "--",
                      "lone (val)": "-"}  # fmt: skip
    assert list(loss.get_lines()[0].get_ydata()) == pytest.approx([0.95, 0.45])
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "tiny (mean of 2 runs)", "lone", "train (dashed)", "validation (solid)",
        "mean ± sd over seeds",
    ]  # fmt: skip
