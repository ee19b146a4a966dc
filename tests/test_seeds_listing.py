"""``mnistctl runs`` with groups of seeds, and the group record, on runs built by hand: a group is
one row (mean ± sd, how many runs and how many completed, its name), ``--each`` lists every
run, ``--json`` keeps one row per run with ``group``, ``seed`` and ``group_summary``; a record's
``group`` is checked on read; the ``--seeds`` refusals come before anything trains."""

# ruff: noqa: E501  (whole-output expectations hold table lines as printed)

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_user_error, cli
from test_compare_groups import TINY_ACC, group_of_runs
from test_runs_list import edit_metrics, make_run

from mnistctl.cli.seeds_option import spread_seeds
from mnistctl.runs.catalog import read_run
from mnistctl.runs.groups import GroupTag, check_seeds, find_group, group_name, group_of

ENV120 = {"COLUMNS": "120"}


@pytest.fixture
def listed(tmp_path: Path, clock: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A group of three tiny runs (one interrupted), a group of one wide run, a lone run."""
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    clock["now"] = "2026-01-01T10:00:00Z"
    _, made = group_of_runs(runs, "tiny", 64, TINY_ACC, 1)
    edit_metrics(made[2], status="interrupted", test=None)
    clock["now"] = "2026-01-02T10:00:00Z"
    group_of_runs(runs, "wide", 128, (0.95,), 2)
    clock["now"] = "2026-01-03T10:00:00Z"
    make_run(runs, "20260103T100000Z", name="lone", units=32)
    return runs


TABLE = """\
Runs in runs (5 runs, 2 groups: a group of seeds is one row, mean ± sd)
name           started (UTC)     status         epochs     best val         test   params  time  path
────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
lone           2026-01-03 10:00  completed         3/3       88.00%       91.00%   25,450   12s  runs/lone/20260103T100000Z
wide ×1 seed   2026-01-02 10:00  1/1 completed     3/3       88.00%       95.00%  101,770   12s  wide-seeds-20260102T100000Z
tiny ×3 seeds  2026-01-01 10:00  2/3 completed     3/3  88.00±0.00%  91.50±0.71%   50,890   38s  tiny-seeds-20260101T100000Z
"""


def test_a_group_is_one_row(listed: Path) -> None:
    result = cli("runs", env={"COLUMNS": "130"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == TABLE
    by_test = cli("runs", "--sort", "test_accuracy", env=ENV120).stdout.splitlines()
    assert [line.split()[0] for line in by_test[3:]] == ["wide", "tiny", "lone"]
    limited = cli("runs", "--limit", "2", env=ENV120).stdout.splitlines()
    assert len(limited) == 5 and limited[-1].startswith("wide")


def test_each_and_status_list_runs(listed: Path) -> None:
    each = cli("runs", "--each", env=ENV120).stdout.splitlines()
    assert each[0] == "Runs in runs (5 runs)" and len(each) == 8
    assert [line.split()[0] for line in each[3:]] == ["lone", "wide", "tiny", "tiny", "tiny"]
    stopped = cli("runs", "--status", "interrupted", env=ENV120).stdout.splitlines()
    assert stopped[0] == "Runs in runs (1 of 5 runs)"
    assert stopped[3].split()[-1] == "runs/tiny/20260101T100002Z"
    one = cli("runs", listed / "tiny" / "20260101T100001Z", env=ENV120).stdout.splitlines()
    assert one[0].endswith("(1 run)") and one[3].split()[-1] == "runs/tiny/20260101T100001Z"


def test_json_keeps_one_row_per_run(listed: Path) -> None:
    doc = json.loads(cli("runs", "--json").stdout)
    tiny = "tiny-seeds-20260101T100000Z"
    assert [(r["name"], r["group"], r["seed"]) for r in doc] == [
        ("lone", None, None),
        ("wide", "wide-seeds-20260102T100000Z", 0),
        ("tiny", tiny, 0),
        ("tiny", tiny, 1),
        ("tiny", tiny, 2),
    ]
    assert doc[0]["group_summary"] is None
    summary = doc[2]["group_summary"]
    assert doc[3]["group_summary"] == doc[4]["group_summary"] == summary
    assert summary["n"] == 2 and summary["found"] == 3 and summary["seeds"] == [0, 1, 2]
    assert summary["runs"] == [doc[2]["run_dir"], doc[3]["run_dir"]]
    assert summary["incomplete"] == [doc[4]["run_dir"]] and summary["missing_seeds"] == []
    acc = summary["metrics"]["test_accuracy"]
    assert acc["mean"] == pytest.approx(0.915) and acc["sd"] == pytest.approx(0.00707107)
    assert doc[1]["group_summary"]["metrics"]["test_accuracy"] == {"mean": 0.95, "sd": None, "n": 1}


def test_group_records_and_finding_groups(listed: Path) -> None:
    run = listed / "tiny" / "20260101T100001Z"
    info = read_run(run)
    assert (info.group, info.group_seeds, info.seed) == (
        "tiny-seeds-20260101T100000Z",
        (0, 1, 2),
        1,
    )
    group = group_of(run)
    assert group is not None and [r.seed for r in group.runs] == [0, 1, 2]
    assert len(group.complete) == 2 and group.missing_seeds == ()
    assert find_group("tiny-seeds-20260101T100000Z", listed) == group
    assert find_group("tiny-seeds-20990101T000000Z", listed) is None
    assert find_group("nothing-seeds-x", listed) is None
    assert group_of(listed / "lone" / "20260103T100000Z") is None
    assert group_name("cnn", "20260101T000000Z") == "cnn-seeds-20260101T000000Z"
    assert GroupTag.from_json({"name": "g", "seeds": [0, 1], "seed": 1}) == GroupTag("g", (0, 1), 1)
    for bad in ({"name": "g", "seeds": [0, -1], "seed": 0}, {"name": "g", "seeds": [0]},
                {"name": "g", "seeds": [0], "seed": 0, "x": 1}, "g"):  # fmt: skip
        edit_metrics(run, group=bad)
        assert "damaged run record" in (read_run(run).damaged or ""), bad
    edit_metrics(run, group={"name": "", "seeds": [0], "seed": 0})
    assert read_run(run).group is None  # a group without a name is none


def test_seeds_are_checked() -> None:
    assert check_seeds([2, 0, 1]) == (2, 0, 1)
    cases = [
        ([], "no seeds given"),
        ([0, 1, 0], "a seed given twice: its runs would be the same run"),
        ([0, -3], "a seed must be a whole number 0 or more"),
        ([True], "a seed must be a whole number 0 or more"),
    ]
    for seeds, message in cases:
        with pytest.raises(Exception, match=message):
            check_seeds(seeds)
    assert spread_seeds(["s.yaml", "--seeds", "0", "1", "--json"]) == [
        "s.yaml", "--seeds", "0", "--seeds", "1", "--json"
    ]  # fmt: skip
    assert spread_seeds(["--seeds", "--json"]) == ["--seeds", "--json"]
    assert spread_seeds(["--seeds", "1", "--", "2"]) == ["--seeds", "1", "--", "2"]


def test_seeds_refusals_before_training(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"  # never read: every refusal comes first
    cases = [
        (("--seeds", "0", "1", "0"), "--seeds: a seed given twice", "received 0 1 0"),
        (("--seeds", "0", "-1"), "--seeds: a seed must be a whole number 0 or more", "received -1"),
        (
            ("--seeds", "0", "1", "--set", "train.seed=4"),
            "--set: --seeds sets train.seed for each run",
        ),
    ]
    for args, *fragments in cases:
        assert_user_error(cli("train", spec, *args), *fragments)
        assert_user_error(cli("train", spec, *args, "--json"), *fragments)
    both = cli("train", "--resume", tmp_path, "--seeds", "1")
    assert both.exit_code == 2 and "--seeds cannot change a run being resumed" in both.stderr
    not_a_number = cli("train", spec, "--seeds", "x")
    assert not_a_number.exit_code == 2
    assert not (tmp_path / "runs").exists()
