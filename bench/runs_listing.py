"""How fast ``mnistctl runs`` lists a thousand runs.

    .venv/bin/python bench/runs_listing.py [--runs 1000] [-n 5] [--keep DIR]

Creates N realistic run folders in a temporary runs directory (10 specs; the record files as
``mnistctl train`` writes them: the resolved spec, summary.json of a real spec, env.json,
history.csv and a metrics.json made by ``RunRecord``; mostly completed runs, some interrupted,
failed and diverged, some "training" with a process long gone, some format-1 records without
best values (their history.csv is read) and a few damaged folders), then times:

- ``mnistctl runs --runs-dir DIR`` and ``mnistctl runs --runs-dir DIR --json`` as real
  processes (start-up included), with ``mnistctl --help`` for the start-up alone;
- ``list_runs`` in-process (the listing itself: reading, sorting), and the table rendering.

Prints the median, min and max wall seconds of each.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnistctl.commands.runs_list import list_runs  # noqa: E402
from mnistctl.runs.history import write_history  # noqa: E402
from mnistctl.runs.record import RunRecord  # noqa: E402
from mnistctl.spec import load_spec  # noqa: E402

SPECS = ("cnn", "dnn", "lenet5", "batchnorm", "cnn_dropout")


def template(spec_name: str, folder: Path) -> dict[str, str]:
    """The files of one completed 10-epoch run of ``specs/<spec_name>.yaml``, as text."""
    spec = load_spec(ROOT / "specs" / f"{spec_name}.yaml")
    run = folder / spec_name
    run.mkdir(parents=True)
    (run / "spec.yaml").write_text(
        "# The resolved spec of this run: overrides applied, defaults filled in.\n"
        + yaml.safe_dump(spec.resolved_dict(), sort_keys=False)
    )
    (run / "summary.json").write_text(json.dumps(spec.info.to_json(spec.name), indent=2))
    record = RunRecord.create(run, epochs=10, files=["spec.yaml"])
    record.start_training(0)
    history: list[dict[str, float]] = []
    for epoch in range(1, 11):
        history.append(
            {
                "epoch": epoch,
                "accuracy": 0.9 + epoch / 200,
                "loss": 0.3 / epoch,
                "val_accuracy": 0.89 + epoch / 210,
                "val_loss": 0.32 / epoch,
            }
        )
        (run / f"checkpoint-{epoch}.keras").write_bytes(b"checkpoint")
        record.epoch_finished(history, f"checkpoint-{epoch}.keras")
    write_history(run / "history.csv", history)
    record.completed(
        history, train_seconds=42.5, test={"loss": 0.05, "accuracy": 0.98}, precision="float32"
    )
    env = {"python": "3.12", "data": {"dataset": "mnist", "name": "mnist", "sha256": "ab" * 32}}
    (run / "env.json").write_text(json.dumps(env, indent=2))
    return {p.name: p.read_text() for p in run.iterdir() if p.suffix in (".yaml", ".json", ".csv")}


def make_runs(runs_dir: Path, n: int) -> None:
    rng = random.Random(0)
    work = Path(tempfile.mkdtemp(prefix="templates-"))
    try:
        templates = {name: template(name, work) for name in SPECS}
    finally:
        shutil.rmtree(work)
    for i in range(n):
        spec_name = SPECS[i % len(SPECS)]
        files = dict(templates[spec_name])
        name = f"{spec_name}-{i % 10}"
        stamp = f"2026{1 + i % 12:02d}{1 + i % 28:02d}T{i % 24:02d}{i % 60:02d}{(i * 7) % 60:02d}Z"
        run = runs_dir / name / f"{stamp}-{i}"
        run.mkdir(parents=True)
        metrics = json.loads(files["metrics.json"])
        _vary(metrics, i, rng)
        files["metrics.json"] = json.dumps(metrics, indent=2)
        if i % 97 == 13:
            files["metrics.json"] = files["metrics.json"][:40]  # damaged: cut short
        if i % 101 == 7:
            del files["metrics.json"]  # killed before its record: damaged
        for file_name, text in files.items():
            (run / file_name).write_text(text)
        (run / "model.keras").write_bytes(b"not read")


def _vary(metrics: dict[str, Any], i: int, rng: random.Random) -> None:
    metrics["test"]["accuracy"] = round(0.95 + rng.random() * 0.04, 4)
    metrics["train_seconds"] = round(10 + rng.random() * 100, 3)
    kind = i % 20
    if kind == 1:
        metrics.update(status="interrupted", epochs_completed=4)
        del metrics["test"], metrics["train_seconds"]
    elif kind == 2:
        metrics.update(status="failed", error="OSError: disk full")
    elif kind == 3:
        metrics.update(
            status="training", owner={"pid": 999_999, "host": socket.gethostname(), "start": 1}
        )
        del metrics["ended"], metrics["train_seconds"]
    elif kind == 4:  # a format-1 record: no best values (history.csv is read), "running"
        metrics.update(status="running", pid=999_999)
        for key in ("format", "best", "owner", "ended", "train_seconds"):
            metrics.pop(key, None)


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {result.returncode}:\n{result.stderr.decode()}")
    return elapsed


def in_process(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def row(label: str, times: list[float], width: int) -> str:
    median = statistics.median(times)
    return f"{label:<{width}}{median:>9.3f}{min(times):>9.3f}{max(times):>9.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="run folders (default 1000)")
    parser.add_argument("-n", type=int, default=5, help="timings per measurement (default 5)")
    parser.add_argument("--keep", type=Path, help="create the runs here and keep them")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="mnistctl-runs-bench-"))
    runs_dir = base / "runs"
    try:
        t0 = time.perf_counter()
        make_runs(runs_dir, args.runs)
        print(f"created {args.runs} run folders in {time.perf_counter() - t0:.1f}s: {runs_dir}")
        report(runs_dir, args.n)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


def report(runs_dir: Path, n: int) -> None:
    from rich.console import Console

    from mnistctl.ui.runs_view import render_runs

    exe = str(Path(sys.executable).parent / "mnistctl")
    env = dict(os.environ, COLUMNS="120")
    cli = [exe, "runs", "--runs-dir", str(runs_dir)]

    def listing() -> object:
        return list_runs(None, runs_dir=runs_dir, status=None, sort="started", limit=None)

    def rendered() -> None:
        render_runs(list_runs(None, runs_dir=runs_dir, status=None, sort="started", limit=None),
                    Console(file=io.StringIO(), width=120))  # fmt: skip

    measures: list[tuple[str, Callable[[], float]]] = [
        ("mnistctl --help (start-up only)", lambda: timed([exe, "--help"], env)),
        ("mnistctl runs --runs-dir DIR", lambda: timed(cli, env)),
        ("mnistctl runs --runs-dir DIR --json", lambda: timed([*cli, "--json"], env)),
        ("list_runs (in-process)", lambda: in_process(listing)),
        ("list_runs + render_runs (in-process)", lambda: in_process(rendered)),
    ]
    found = list_runs(None, runs_dir=runs_dir, status=None, sort="started", limit=None).runs
    print(f"listed {len(found)} runs ({sum(1 for r in found if r.damaged)} damaged)")
    width = max(len(label) for label, _ in measures) + 2
    print(f"{'measurement':<{width}}{'median':>9}{'min':>9}{'max':>9}   (wall seconds, n={n})")
    print("-" * (width + 27))
    for label, measure in measures:
        measure()  # warm the file cache and imports once; not counted
        print(row(label, [measure() for _ in range(n)], width))


if __name__ == "__main__":
    main()
