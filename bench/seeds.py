"""What seeds show: the DNN and the CNN on the bundled sample, several seeds each, compared.

    .venv/bin/python bench/seeds.py [--specs dnn cnn] [--seeds 0 1 2] [--epochs N] [--keep DIR]

For each spec (``specs/<name>.yaml``, on ``dataset: mnist_sample``: 5,000 real training
digits, 4,500 after the validation split, and the 10,000 test digits), one process
``mnistctl train SPEC --seeds ... --json`` (a group: one run per seed, one after another, at
the spec's own epochs unless ``--epochs``), then ``mnistctl compare GROUP GROUP --json`` as a
process: per group the test and best validation accuracy of every seed, their mean and sample
standard deviation, and compare's verdict (Welch's t-test, two-sided, alpha 0.05) on whether
the difference between the two specs is larger than the seeds' spread. Prints a table, the
verdicts and the wall seconds of each command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MNISTCTL = [sys.executable, "-m", "mnistctl"]


def run(args: list[str]) -> tuple[dict[str, Any], float]:
    """``mnistctl ARGS --json`` as a process: its document and wall seconds."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    start = time.monotonic()
    done = subprocess.run([*MNISTCTL, *args, "--json"], capture_output=True, text=True, env=env)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"mnistctl {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout), seconds


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} CPUs visible, load average {load:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=["dnn", "cnn"])
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    parser.add_argument("--epochs", type=int, help="instead of each spec's own epochs")
    parser.add_argument("--keep", type=Path, help="keep the runs in this folder")
    opts = parser.parse_args()
    runs_dir = opts.keep or Path(tempfile.mkdtemp(prefix="mnistctl-seeds-"))
    print(f"machine: {machine()}")
    groups, timings = [], {}
    for name in opts.specs:
        sets = ["--set", "data.dataset=mnist_sample"]
        if opts.epochs:
            sets += ["--set", f"train.epochs={opts.epochs}"]
        doc, seconds = run(["train", str(ROOT / "specs" / f"{name}.yaml"), "--seeds",
                            *opts.seeds, *sets, "--runs-dir", str(runs_dir)])  # fmt: skip
        groups.append(doc["group"])
        timings[f"train {name} --seeds {' '.join(opts.seeds)}"] = seconds
        epochs = doc["runs"][0]["epochs"]
        per_seed = ", ".join(
            f"seed {r['seed']}: {r['test']['accuracy']:.4f} ({r['train_seconds']:.0f} s)"
            for r in doc["runs"]
        )
        print(f"{name}: {epochs} epochs; test accuracy {per_seed}")
    compared, seconds = run(["compare", *groups, "--runs-dir", str(runs_dir),
                             "--output", str(runs_dir / "seeds.png")])  # fmt: skip
    timings["compare (per-class F1: each run evaluated)"] = seconds
    print()
    print(f"{'spec':8} {'n':>2}  {'test accuracy':>22}  {'best val accuracy':>22}")
    for group in compared["groups"]:
        m = group["metrics"]
        cells = [_mean_sd(m[k]) for k in ("test_accuracy", "best_val_accuracy")]
        print(f"{group['label']:8} {group['n']:>2}  {cells[0]:>22}  {cells[1]:>22}")
    print()
    first = compared["groups"][0]["label"]
    for group in compared["groups"][1:]:
        for metric in ("test_accuracy", "best_val_accuracy", "test_loss"):
            v = group["metrics"][metric]["vs_first"]
            p = f"p = {v['p']:.2g}" if v["p"] is not None else v["why"]
            t = f"t = {v['t']:.2f}, df = {v['df']:.1f}, " if v["t"] is not None else ""
            print(f"{group['label']} - {first}, {metric}: {v['difference']:+.4f} "
                  f"({t}{p}): {v['verdict']}")  # fmt: skip
    print(f"rule: {compared['rule']}")
    print()
    for what, secs in timings.items():
        print(f"{secs:7.1f} s  {what}")
    print(f"runs in {runs_dir}; figure {runs_dir / 'seeds.png'}")
    if opts.keep is None:
        shutil.rmtree(runs_dir, ignore_errors=True)


def _mean_sd(spread: dict[str, Any]) -> str:
    if spread["mean"] is None:
        return "—"
    sd = f" ± {spread['sd']:.4f}" if spread["sd"] is not None else " (n = 1)"
    return f"{spread['mean']:.4f}{sd}"


if __name__ == "__main__":
    main()
