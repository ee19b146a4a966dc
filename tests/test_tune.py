"""``mnistctl tune``: a study end to end, continued, pruned, failing trials, determinism, bad
input, and real processes: two workers on a journal file and on a throwaway PostgreSQL, a
worker killed mid-trial, Ctrl-C.

Tiny data (300 training digits, 100 test), a small dense network, 2 epochs: each trial trains
in a few seconds. The studies run in-process through the CLI (TensorFlow imported once); the
process tests start real ``python -m mnistctl tune`` processes and read the study's storage
as any other process would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import (
    MNISTCTL,
    assert_user_error,
    cli,
    make_npz,
    read_json,
    subprocess_env,
    write_spec,
)

from mnistctl.runs.record import METRICS

# A dense network whose hidden layer starts from ones: with exponential activation it
# diverges in the first epoch (a NaN loss), with relu it trains.
SPEC = """\
name: dense
data:
  dataset: mnist
  validation_split: 0.2
model:
  layers:
    - {type: Input, name: input_tensor, shape: [784]}
    - {type: Dense, name: hidden, units: 16, activation: relu, kernel_initializer: ones}
    - {type: Dense, name: output_tensor, units: 10, activation: softmax}
compile:
  loss: categorical_crossentropy
  optimizer: {type: adam, learning_rate: 0.001}
  metrics: [accuracy]
train:
  batch_size: 32
  epochs: 2
  seed: 0
  precision: float32
search:
  metric: val_accuracy
  trials: 4
  sampler: grid
  pruner: none
  space:
    model.layers.hidden.units: {choice: [8, 16]}
    model.layers.hidden.activation: {choice: [relu, exponential]}
"""

# Values from ranges, sampled at random: for determinism, pruning and the processes.
RANDOM_SPEC = (
    SPEC.replace("name: dense", "name: rand")
    .replace(", kernel_initializer: ones", "")
    .replace("sampler: grid", "sampler: random")
    .replace("pruner: none", "pruner: median")
    .replace(
        """    model.layers.hidden.units: {choice: [8, 16]}
    model.layers.hidden.activation: {choice: [relu, exponential]}""",
        """    model.layers.hidden.units: {int: [8, 32], step: 8}
    compile.optimizer.learning_rate: {float: [0.0005, 0.01], log: true}""",
    )
)

WATCHDOG_S = 120.0

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Kit:
    base: Path
    data: Path
    spec: Path
    random_spec: Path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    base = tmp_path_factory.mktemp("tune")
    data = make_npz(base / "small.npz", 300, 100)
    return Kit(
        base,
        data,
        write_spec(base, SPEC, "dense.yaml"),
        write_spec(base, RANDOM_SPEC, "rand.yaml"),
    )


def tune(kit: Kit, spec: Path, runs: Path, *args: str | Path) -> Any:
    return cli("tune", spec, "--data", kit.data, "--runs-dir", runs, *args)


def tune_json(kit: Kit, spec: Path, runs: Path, *args: str | Path) -> dict[str, Any]:
    result = tune(kit, spec, runs, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@pytest.fixture(scope="module")
def grid_study(kit: Kit) -> dict[str, Any]:
    """The grid's 4 trials: 2 diverge (exponential), 2 complete."""
    return tune_json(kit, kit.spec, kit.base / "runs")


# --- one process, end to end ---------------------------------------------------------------


def test_a_study_runs_every_trial_into_a_run_directory(kit: Kit, grid_study: dict[str, Any]):
    doc = grid_study
    folder = kit.base / "runs" / "dense-tune"
    assert doc["study"] == "dense-tune" and doc["storage"] == str(folder / "study.journal")
    assert doc["metric"] == "val_accuracy" and doc["direction"] == "maximize"
    trials = doc["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert {json.dumps(t["params"], sort_keys=True) for t in trials} == {
        json.dumps({"model.layers.hidden.units": u, "model.layers.hidden.activation": a},
                   sort_keys=True)
        for u in (8, 16) for a in ("relu", "exponential")
    }  # fmt: skip
    for trial in trials:
        assert set(trial) >= {"number", "state", "value", "params", "run_dir"}
        run = Path(trial["run_dir"])
        assert run.parent == folder and (run / "spec.yaml").is_file()
        spec = yaml.safe_load((run / "spec.yaml").read_text())
        assert "search" not in spec
        hidden = spec["model"]["layers"][1]
        assert hidden["units"] == trial["params"]["model.layers.hidden.units"]
        assert hidden["activation"] == trial["params"]["model.layers.hidden.activation"]
        record = read_json(run / METRICS)
        assert record["tune"]["study"] == "dense-tune"
        assert record["tune"]["trial"] == trial["number"]
        assert record["tune"]["params"] == trial["params"]
        if trial["params"]["model.layers.hidden.activation"] == "exponential":
            # a failing trial: FAIL with its one-line reason, its run diverged; the search went on
            assert trial["state"] == "FAIL" and trial["value"] is None
            assert "training diverged: loss was not a finite number in epoch 1" in trial["reason"]
            assert record["status"] == "diverged"
        else:
            assert trial["state"] == "COMPLETE" and trial["reason"] is None
            assert trial["epochs"] == 2 and record["status"] == "completed"
            assert trial["value"] == record["best"]["val_accuracy"]["value"]  # the best epoch's
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    best = max(complete, key=lambda t: (t["value"], -t["number"]))
    assert doc["best"]["number"] == best["number"] and doc["best"]["value"] == best["value"]
    assert doc["best"]["params"] == best["params"]
    assert doc["best"]["spec"] == str(folder / "best.yaml")
    assert read_json(folder / "study.json") == doc
    plots = {Path(p).name for p in doc["plots"]}
    assert "optimization_history.png" in plots
    assert len(plots) + len(doc["plots_skipped"]) == 4
    for path in doc["plots"]:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_best_spec_is_a_plain_spec_that_validate_and_train_accept(
    kit: Kit, grid_study: dict[str, Any], tmp_path: Path
) -> None:
    best = Path(grid_study["best"]["spec"])
    text = best.read_text()
    assert "search" not in yaml.safe_load(text)
    hidden = yaml.safe_load(text)["model"]["layers"][1]
    assert hidden["units"] == grid_study["best"]["params"]["model.layers.hidden.units"]
    assert cli("validate", best).exit_code == 0
    trained = cli("train", best, "--set", "train.epochs=1", "--runs-dir", tmp_path, "--json")
    assert trained.exit_code == 0, trained.stderr
    assert Path(json.loads(trained.stdout)["run_dir"]).parent == tmp_path / "dense"


def test_runs_lists_the_trials_as_runs(kit: Kit, grid_study: dict[str, Any]) -> None:
    listed = cli("runs", kit.base / "runs" / "dense-tune", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["run_dir"] for r in rows) == sorted(t["run_dir"] for t in grid_study["trials"])
    assert {r["status"] for r in rows} == {"completed", "diverged"}


def test_the_terminal_shows_each_trial_and_the_result(kit: Kit, grid_study: dict[str, Any]):
    again = tune(kit, kit.spec, kit.base / "runs")  # the study is done: nothing to run
    assert again.exit_code == 0, again.stderr
    out = again.stdout
    assert "study dense-tune: 4 trials (2 complete, 2 fail); 0 run by this command" in out
    assert f"best: trial {grid_study['best']['number']}, val_accuracy" in out
    assert f"next: mnistctl train {grid_study['best']['spec']}" in out
    assert "FAIL" in out and "COMPLETE" in out  # the table


def test_the_same_study_with_another_space_or_spec_is_refused(kit: Kit, grid_study: Any) -> None:
    other = write_spec(kit.base, SPEC.replace("choice: [8, 16]", "choice: [8, 32]"), "o.yaml")
    assert_user_error(
        tune(kit, other, kit.base / "runs", "--study", "dense-tune"),
        "study dense-tune searches a different space", "--study NEW",
    )  # fmt: skip
    assert_user_error(
        tune(kit, kit.spec, kit.base / "runs", "--set", "train.epochs=3"),
        "study dense-tune searches a different space", "different spec",
    )  # fmt: skip


# --- determinism, continuing, pruning ----------------------------------------------------------


def test_one_process_proposes_and_reaches_the_same_values_twice(kit: Kit) -> None:
    one = ("--set", "train.epochs=1")
    first = tune_json(kit, kit.random_spec, kit.base / "det1", "--trials", "2", *one)
    second = tune_json(kit, kit.random_spec, kit.base / "det2", "--trials", "2", *one)

    def seen(doc: dict[str, Any]) -> list[Any]:
        return [(t["number"], t["state"], t["params"], t["value"]) for t in doc["trials"]]

    assert seen(first) == seen(second)
    assert len({json.dumps(t["params"]) for t in first["trials"]}) == 2
    # continuing: --trials is the total; the same command again runs only what is missing
    more = tune_json(kit, kit.random_spec, kit.base / "det1", "--trials", "3", *one)
    assert [t["number"] for t in more["trials"]] == [0, 1, 2] and more["ran_here"] == 1
    assert seen(more)[:2] == seen(first)
    assert more["trials"][2]["params"] not in [t["params"] for t in first["trials"]]
    done = tune_json(kit, kit.random_spec, kit.base / "det1", "--trials", "2", *one)
    assert done["ran_here"] == 0 and len(done["trials"]) == 3


def test_a_clearly_losing_trial_is_pruned_and_its_run_completes(kit: Kit) -> None:
    """Three finished trials that reached 0.99 in every epoch (added to the study as Optuna
    adds any trial), then a real one: far below their median after epoch 1, it is pruned."""
    import optuna

    from mnistctl.spec import load_spec
    from mnistctl.tune.names import StudyPaths
    from mnistctl.tune.storage import open_storage
    from mnistctl.tune.study import open_study

    runs = kit.base / "pruning"
    overrides = ["train.epochs=3"]
    spec = load_spec(kit.random_spec, overrides)
    assert spec.search is not None
    paths = StudyPaths(runs.resolve(), "rand-tune")
    study = open_study(open_storage(None, paths.journal, workers=1), "rand-tune", spec,
                       spec.search)  # fmt: skip
    units = optuna.distributions.IntDistribution(8, 32, step=8)
    for n in range(3):
        study.add_trial(
            optuna.trial.create_trial(
                params={"model.layers.hidden.units": 8 * (n + 1)},
                distributions={"model.layers.hidden.units": units},
                value=0.99,
                intermediate_values={1: 0.99, 2: 0.99, 3: 0.99},
            )
        )
    doc = tune_json(kit, kit.random_spec, runs, "--trials", "4", "--set", overrides[0])
    trial = doc["trials"][3]
    assert trial["state"] == "PRUNED" and trial["epochs"] == 1
    record = read_json(Path(trial["run_dir"]) / METRICS)
    assert record["status"] == "completed" and record["epochs_completed"] == 1
    assert record["note"] == "pruned at epoch 1 of 3"


def test_a_study_whose_every_trial_failed_exits_1_with_the_reasons(
    kit: Kit, tmp_path: Path
) -> None:
    """Issue 23, item 9: exit 0 when every trial failed; now exit 1, each reason once."""
    result = tune(kit, kit.spec, tmp_path, "--trials", "2", "--set",
                  "search.space={model.layers.hidden.units: {choice: [8, 16]}, "
                  "model.layers.hidden.activation: {choice: [exponential]}}")  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after a line per trial, the error
    assert "every trial of study dense-tune failed (2 of 2)" in line
    assert "trials 0, 1: training diverged" in line
    assert read_json(tmp_path / "dense-tune" / "study.json")["best"] is None


def test_a_fifo_at_study_json_is_refused_before_any_trial(kit: Kit, tmp_path: Path) -> None:
    """Tune's own files go through runs/outputs.py's rule: refused in one line, at once."""
    (tmp_path / "dense-tune").mkdir()
    os.mkfifo(tmp_path / "dense-tune" / "study.json")
    result = tune(kit, kit.spec, tmp_path)
    assert_user_error(result, "study.json: refusing to write over a FIFO (named pipe)")
    assert sorted(p.name for p in (tmp_path / "dense-tune").iterdir()) == ["study.json"]


# --- bad input ---------------------------------------------------------------------------------


def test_trials_zero_is_a_usage_error(kit: Kit) -> None:
    result = tune(kit, kit.spec, kit.base / "bad", "--trials", "0")
    assert result.exit_code == 2 and "--trials must be at least 1" in result.stderr
    assert cli("tune", kit.spec, "--workers", "0").exit_code == 2


@pytest.mark.parametrize(
    ("storage", "workers", "fragments"),
    [
        ("postgresql://postgres@127.0.0.1:9/nodb", "1",
         ("cannot open the study storage", "127.0.0.1", "port 9", "refused")),
        ("postgresql://me:s3cret@127.0.0.1:9/nodb", "1", ("me:***@127.0.0.1",)),
        ("redis://127.0.0.1/0", "1", ("unsupported storage", "postgresql://")),
        ("not a url", "1", ("not a storage URL",)),
        ("sqlite:///study.db", "2", ("SQLite locks under parallel writers", "--workers 2")),
    ],
)  # fmt: skip
def test_a_wrong_storage_is_one_line(
    kit: Kit, tmp_path: Path, storage: str, workers: str, fragments: tuple[str, ...]
) -> None:
    result = tune(kit, kit.spec, tmp_path, "--storage", storage, "--workers", workers)
    line = assert_user_error(result, "--storage", *fragments)
    assert "s3cret" not in line and not (tmp_path / "dense-tune").exists()


def test_sqlite_serves_one_process(kit: Kit, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    doc = tune_json(kit, kit.random_spec, tmp_path, "--storage", url, "--trials", "1",
                    "--set", "train.epochs=1")  # fmt: skip
    assert doc["storage"] == url and [t["state"] for t in doc["trials"]] == ["COMPLETE"]


@pytest.mark.parametrize("name", ["a/b", "..", "-x", "x" * 65, "a b", "é"])
def test_a_study_name_must_name_a_folder(kit: Kit, tmp_path: Path, name: str) -> None:
    assert_user_error(tune(kit, kit.spec, tmp_path, "--study", name), "a study name names a folder")


def test_a_spec_without_search_is_refused_with_a_hint(kit: Kit, tmp_path: Path) -> None:
    plain = write_spec(tmp_path, SPEC.split("search:")[0], "plain.yaml")
    assert_user_error(tune(kit, plain, tmp_path), "no search: section", "hint")


# --- real processes ----------------------------------------------------------------------------


def load_trials(journal: Path, study: str) -> list[Any]:
    """The study's trials, read from its journal as another process reads them."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    return list(optuna.load_study(study_name=study, storage=storage).get_trials())


def wait_for(check: Callable[[], Any], proc: subprocess.Popen[str], what: str) -> Any:
    deadline = time.monotonic() + WATCHDOG_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the process ended ({proc.returncode}) before {what}: {proc.stderr}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"no {what} after {WATCHDOG_S} s")


def start_tune(kit: Kit, runs: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*MNISTCTL, "tune", str(kit.random_spec), "--data", str(kit.data), "--runs-dir",
         str(runs), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
    )  # fmt: skip


def training(journal: Path) -> Callable[[], Any]:
    """A RUNNING trial whose run has finished an epoch (it is in the middle of training)."""

    def check() -> Any:
        try:
            trials = load_trials(journal, "rand-tune")
        except (OSError, KeyError):  # not created yet
            return None
        for trial in trials:
            if trial.state.name == "RUNNING" and trial.intermediate_values:
                return trial
        return None

    return check


def test_a_killed_worker_loses_nothing_its_trial_is_retried(kit: Kit) -> None:
    runs = kit.base / "killed"
    journal = runs / "rand-tune" / "study.journal"
    args = ("--trials", "1", "--set", "train.epochs=4")
    proc = start_tune(kit, runs, *args)
    victim = wait_for(training(journal), proc, "a trial in training")
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: as a lost machine
    proc.wait(timeout=WATCHDOG_S)
    doc = tune_json(kit, kit.random_spec, runs, *args)
    died, retry = doc["trials"]
    assert died["number"] == victim.number and died["state"] == "FAIL"
    assert died["reason"] == "worker died" and died["retried"]
    assert retry["state"] in ("COMPLETE", "PRUNED") and retry["retry_of"] == died["number"]
    assert retry["params"] == died["params"] and retry["run_dir"] != died["run_dir"]
    assert doc["best"]["number"] == retry["number"]


def test_ctrl_c_stops_the_trial_and_keeps_the_study(kit: Kit) -> None:
    runs = kit.base / "interrupted"
    journal = runs / "rand-tune" / "study.journal"
    proc = start_tune(kit, runs, "--trials", "2", "--set", "train.epochs=4")
    wait_for(training(journal), proc, "a trial in training")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WATCHDOG_S)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted: the study is intact" in out
    first, queued = load_trials(journal, "rand-tune")
    assert first.state.name == "FAIL" and first.user_attrs["fail_reason"] == "interrupted"
    assert queued.state.name == "WAITING" and queued.user_attrs["retry_of"] == first.number
    assert queued.system_attrs["fixed_params"] == first.params  # the same values, next time
    assert read_json(Path(first.user_attrs["run_dir"]) / METRICS)["status"] == "interrupted"


def two_workers(kit: Kit, runs: Path, *args: str) -> dict[str, Any]:
    doc = tune_json(kit, kit.random_spec, runs, "--trials", "4", "--workers", "2",
                    "--set", "train.epochs=1", *args)  # fmt: skip
    trials = doc["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]  # N in total, none twice
    assert {t["state"] for t in trials} <= {"COMPLETE", "PRUNED"}, trials
    assert len({t["pid"] for t in trials}) == 2  # both workers contributed
    assert os.getpid() not in {t["pid"] for t in trials}
    return doc


def test_two_workers_share_a_journal_file(kit: Kit) -> None:
    runs = kit.base / "workers"
    doc = two_workers(kit, runs)
    assert doc["ran_here"] == 4
    logs = sorted((runs / "rand-tune" / "workers").glob("worker-*.log"))
    assert [p.name for p in logs] == ["worker-0.log", "worker-1.log"]


def test_two_workers_share_a_postgresql_database(kit: Kit) -> None:
    from pg import server

    with server() as url:
        doc = two_workers(kit, kit.base / "pg", "--storage", url)
        assert doc["storage"] == url


def test_workers_killed_by_a_signal_are_each_named_with_the_signal(kit: Kit) -> None:
    """Issue 23, item 9: a worker killed by SIGKILL read 'stopped with an error'."""
    runs = kit.base / "killed-workers"
    proc = start_tune(kit, runs, "--workers", "2", "--trials", "2", "--set", "train.epochs=4")
    lines = wait_for(lambda: (w := worker_command_lines(proc)) and len(w) == 2 and w, proc,
                     "two workers")  # fmt: skip
    for pid in lines:
        os.kill(pid, signal.SIGKILL)
    _out, err = proc.communicate(timeout=WATCHDOG_S)
    assert proc.returncode == 1 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert "workers 0, 1 stopped before the study's end" in line, err
    for index in (0, 1):
        assert f"worker {index} killed by signal 9 (SIGKILL) (log " in line
        assert f"--worker {index} --trials 2" in line  # its command line


PASSWORD, QUERY_PASSWORD = "Pw7:s3cr/et", "Qy9secret"


def worker_command_lines(parent: subprocess.Popen[str]) -> dict[int, bytes]:
    """The command lines of ``parent``'s worker processes, as ``ps`` shows them to anyone."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent.pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return {pid: line for pid, line in found.items() if b"--worker" in line}


def test_two_workers_never_show_the_storage_password(kit: Kit) -> None:
    """Issue 23, item 3: not on a worker's command line, not in its log (its owner's only),
    not in the output, study.json or any trial's record, spelt in the userinfo or the query."""
    from pg import server

    from mnistctl.tune.workers import STORAGE_ENV

    runs = kit.base / "secret"
    with server() as plain_url:
        url = plain_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
        url += f"?password={QUERY_PASSWORD}"  # trust authentication: any password will do
        proc = start_tune(kit, runs, "--storage", url, "--workers", "2", "--trials", "2",
                          "--set", "train.epochs=1", "--json")  # fmt: skip
        lines = wait_for(lambda: (w := worker_command_lines(proc)) and len(w) == 2 and w, proc,
                         "two workers")  # fmt: skip
        environ = {pid: Path(f"/proc/{pid}/environ").read_bytes() for pid in lines}
        out, err = proc.communicate(timeout=WATCHDOG_S)
    assert proc.returncode == 0, err
    secrets = (PASSWORD, QUERY_PASSWORD, "s3cr")
    for pid, line in lines.items():
        assert not [s for s in secrets if s.encode() in line], line
        assert f"{STORAGE_ENV}=".encode() in environ[pid]  # how the worker got it
    doc = json.loads(out)
    assert doc["storage"] == plain_url.replace("postgres@", "postgres:***@", 1) + "?password=***"
    assert len(doc["trials"]) == 2 and {t["state"] for t in doc["trials"]} <= {"COMPLETE", "PRUNED"}
    logs = sorted((runs / "rand-tune" / "workers").glob("worker-*.log"))
    assert len(logs) == 2
    assert {oct(p.stat().st_mode & 0o777) for p in logs} == {"0o600"}
    written = [p for p in (runs / "rand-tune").rglob("*") if p.is_file()]
    assert runs / "rand-tune" / "study.json" in written
    assert len([p for p in written if p.name == METRICS]) == 2
    for path in written:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path
    assert not [s for s in secrets if s in out or s in err]
