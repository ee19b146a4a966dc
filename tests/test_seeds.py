"""``train SPEC --seeds``: a group trained for real (300 real digits, 2 epochs, 784-64-10), Ctrl-C
in its second run, then ``train --resume`` on that run finishing the whole group; ``runs`` and
``compare`` of the group; ``mnistctl.train(spec, seeds=...)``. One group per module, shared."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TINY_SPEC, cli, make_npz, read_json, write_spec
from rich.console import Console

import mnistctl
from mnistctl.ui.progress import PlainReporter

EPOCHS = ["--set", "train.epochs=2"]


class CtrlCInRun(PlainReporter):
    """The CLI's plain progress; Ctrl-C after the first epoch of the ``at``-th run."""

    def __init__(self, at: int) -> None:
        super().__init__(Console(file=io.StringIO()))
        self.at, self.runs = at, 0

    def start(self, first_epoch: int, epochs: int, steps: int) -> None:
        self.runs += 1
        super().start(first_epoch, epochs, steps)

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        super().epoch_end(epoch, logs, seconds)
        if self.runs == self.at:
            raise KeyboardInterrupt


@dataclass
class Kit:
    base: Path
    spec: Path
    data: Path
    stopped: Any  # the GroupResult of the interrupted group
    resumed: dict[str, Any]  # train --resume's JSON


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    from mnistctl.commands.seeds import train_group

    base = tmp_path_factory.mktemp("seeds")
    data = make_npz(base / "data.npz", 300, 100)
    spec = write_spec(base, TINY_SPEC, "tiny.yaml")
    stopped = train_group(spec, ["train.epochs=2"], [0, 1, 2], data=data,
                          runs_dir=base / "runs", reporter=CtrlCInRun(at=2))  # fmt: skip
    seed1 = stopped.trained[1][1].run_dir
    result = cli("train", "--resume", seed1, "--json")
    assert result.exit_code == 0, result.stderr
    return Kit(base, spec, data, stopped, json.loads(result.stdout))


def test_ctrl_c_stops_the_group(kit: Kit) -> None:
    stopped = kit.stopped
    assert stopped.exit_code == 130 and stopped.status == "incomplete"
    assert [(seed, r.status, r.epochs_completed) for seed, r in stopped.trained] == [
        (0, "completed", 2), (1, "interrupted", 1)
    ]  # fmt: skip
    assert stopped.group.missing_seeds == (2,)  # seed 2 never started
    assert stopped.name == f"tiny-seeds-{stopped.trained[0][1].run_dir.name}"


def test_resume_finishes_the_group(kit: Kit) -> None:
    doc = kit.resumed
    assert doc["group"] == kit.stopped.name and doc["status"] == "completed"
    assert [(r["seed"], r["status"], r["epochs_run"]) for r in doc["runs"]] == [
        (0, "completed", 0), (1, "completed", 1), (2, "completed", 2)
    ]  # fmt: skip
    summary = doc["summary"]
    assert summary["n"] == 3 and summary["missing_seeds"] == [] and summary["incomplete"] == []
    acc = summary["metrics"]["test_accuracy"]
    assert 0 < acc["mean"] < 1 and acc["sd"] is not None
    assert doc["rule"].startswith("Welch's t-test")
    for seed, run in enumerate(summary["runs"]):
        record = read_json(Path(run) / "metrics.json")
        assert record["group"] == {"name": doc["group"], "seeds": [0, 1, 2], "seed": seed}
        resolved = yaml.safe_load((Path(run) / "spec.yaml").read_text())
        assert resolved["train"]["seed"] == seed and resolved["train"]["epochs"] == 2
    again = cli("train", "--resume", summary["runs"][0], "--json")  # nothing left to do
    assert again.exit_code == 0, again.stderr
    assert [r["epochs_run"] for r in json.loads(again.stdout)["runs"]] == [0, 0, 0]


def test_runs_and_compare_of_the_group(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(kit.base)
    table = cli("runs", env={"COLUMNS": "100"})
    assert table.exit_code == 0, table.stderr
    row = table.stdout.splitlines()[3].split()
    assert row[:5] == ["tiny", "×3", "seeds", "3/3", "completed"] and row[-1] == kit.stopped.name
    compared = cli("compare", kit.stopped.name, "--json")  # one group: its three runs
    assert compared.exit_code == 0, compared.stderr
    doc = json.loads(compared.stdout)
    assert len(doc["runs"]) == 3 and [g["n"] for g in doc["groups"]] == [3]
    assert doc["groups"][0]["metrics"]["test_accuracy"]["mean"] == pytest.approx(
        kit.resumed["summary"]["metrics"]["test_accuracy"]["mean"]
    )
    assert Path(doc["figure"]).is_file()


def test_cli_and_api_train_groups(kit: Kit) -> None:
    result = cli("train", kit.spec, "--seeds", "5", *EPOCHS, "--data", kit.data, "--json",
                 "--runs-dir", kit.base / "cli-runs")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["seeds"] == [5] and doc["summary"]["n"] == 1
    assert doc["runs"][0]["seed"] == 5 and doc["runs"][0]["status"] == "completed"
    assert doc["summary"]["metrics"]["test_accuracy"]["sd"] is None
    spec = mnistctl.load_spec(kit.spec, overrides=["train.epochs=1"])
    group = mnistctl.train(spec, kit.data, kit.base / "api-runs", seeds=[7, 8])
    assert len(group) == 2 and group.seeds == (7, 8) and isinstance(group[0], mnistctl.Run)
    assert [r.status for r in group] == ["completed", "completed"]
    assert group.mean() == pytest.approx(sum(r.test_accuracy or 0 for r in group) / 2)
    assert group.sd() is not None and group.summary["n"] == 2
    assert group.name.startswith("tiny-seeds-") and group[1].metrics["group"]["seed"] == 8
    with pytest.raises(mnistctl.Error, match="a seed given twice"):
        mnistctl.train(spec, kit.data, kit.base / "api-runs", seeds=[1, 1])
