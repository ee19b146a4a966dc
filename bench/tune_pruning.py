"""Pruning's worth: the same study over the CNN with the median pruner and without.

A study of ``--trials`` (12) trials over ``specs/cnn.yaml`` (learning rate, hidden units,
first-layer filters), trained on ``--train-samples`` digits of the bundled ``mnist_sample``
(its 5,000 real training digits; validation 20 %) for ``--epochs`` epochs, once with
``pruner: median`` and once with ``pruner: none``, same sampler and seed. Each study is one
``mnistctl tune --json`` process. Reported: epochs actually run (all trials), the best
validation accuracy, wall time. Goal: >= 40 % fewer epochs with the pruner, for a best value
within 0.5 points.

    .venv/bin/python bench/tune_pruning.py --out bench/out/tune_pruning.json
    .venv/bin/python bench/tune_pruning.py --trials 4 --epochs 2 --train-samples 300   # smoke
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from harness import REPO, machine_info, print_machine, run_child, table, temp_dir, write_json

GOAL_FEWER = 0.40  # at least this share of the epochs saved
GOAL_POINTS = 0.5  # the best value within this many points (percent) of no pruning


def study_spec(epochs: int, trials: int, pruner: str, seed: int, train_samples: int) -> dict:
    spec = yaml.safe_load((REPO / "specs" / "cnn.yaml").read_text())
    spec["data"].update(validation_split=0.2, train_samples=train_samples)
    spec["compile"]["optimizer"] = {"type": "adam", "learning_rate": 0.001}
    spec["train"].update(epochs=epochs, seed=0, batch_size=64)
    spec["search"] = {
        "metric": "val_accuracy",
        "trials": trials,
        "sampler": "tpe",
        "pruner": pruner,
        "seed": seed,
        "space": {
            "compile.optimizer.learning_rate": {"float": [0.00003, 0.03], "log": True},
            "model.layers.hidden_1.units": {"choice": [16, 64, 128]},
            "model.layers.Conv1.filters": {"int": [8, 32], "step": 8},
        },
    }
    return spec


def small_data(folder: Path, test_samples: int) -> Path:
    """The bundled sample's training digits and the first ``test_samples`` test digits (each
    trial's run evaluates the test set; the full 10,000 would dominate the wall time)."""
    from mnistctl.data.sample import read_sample

    arrays, _ = read_sample()
    path = folder / "sample.npz"
    np.savez(
        path,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"][:test_samples],
        y_test=arrays["y_test"][:test_samples],
    )
    return path


def run_study(folder: Path, data: Path, pruner: str, args: argparse.Namespace) -> dict[str, Any]:
    spec = study_spec(args.epochs, args.trials, pruner, args.seed, args.train_samples)
    spec_path = folder / f"cnn-{pruner}.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    cmd = [sys.executable, "-m", "mnistctl", "tune", str(spec_path), "--data", str(data),
           "--runs-dir", str(folder / f"runs-{pruner}"), "--json"]  # fmt: skip
    result = run_child(cmd)
    if result.returncode != 0 or not result.data:
        sys.exit(f"{pruner}: exit {result.returncode}\n{result.stderr_tail}")
    trials = result.data["trials"]
    best = result.data["best"] or {}
    return {
        "pruner": pruner,
        "trials": len(trials),
        "pruned": sum(1 for t in trials if t["state"] == "PRUNED"),
        "failed": sum(1 for t in trials if t["state"] == "FAIL"),
        "epochs_run": sum(t["epochs"] for t in trials),
        "epochs_max": len(trials) * args.epochs,
        "best_value": best.get("value"),
        "best_params": best.get("params"),
        "wall_seconds": round(result.wall_seconds, 1),
        "peak_rss_mb": round(result.peak_rss_mb),
        "per_trial": [
            {k: t[k] for k in ("number", "state", "value", "epochs", "seconds", "params")}
            for t in trials
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-samples", type=int, default=1000)
    parser.add_argument("--test-samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)
    with temp_dir("tune-pruning-", keep=args.keep) as folder:
        data = small_data(folder, args.test_samples)
        results = [run_study(folder, data, p, args) for p in ("median", "none")]
        if args.keep:
            print(f"runs kept in {folder}")
    pruned, full = results
    saved = 1 - pruned["epochs_run"] / max(full["epochs_run"], 1)
    gap = None
    if pruned["best_value"] is not None and full["best_value"] is not None:
        gap = 100 * (full["best_value"] - pruned["best_value"])
    rows = [
        [r["pruner"], r["trials"], r["pruned"], r["failed"], f"{r['epochs_run']}/{r['epochs_max']}",
         "-" if r["best_value"] is None else f"{r['best_value']:.4f}", r["wall_seconds"]]
        for r in results
    ]  # fmt: skip
    print(table(["pruner", "trials", "pruned", "failed", "epochs run", "best val_acc", "wall s"],
                rows))  # fmt: skip
    ok = saved >= GOAL_FEWER and gap is not None and gap <= GOAL_POINTS
    print(
        f"epochs saved by the median pruner: {100 * saved:.0f} % "
        f"(goal >= {100 * GOAL_FEWER:.0f} %); best value "
        f"{'-' if gap is None else f'{gap:+.2f}'} points below no pruning "
        f"(goal <= {GOAL_POINTS}): {'PASS' if ok else 'FAIL'}"
    )
    if args.out:
        write_json(args.out, {"machine": info, "args": vars(args) | {"out": str(args.out)},
                              "results": results, "epochs_saved": saved, "gap_points": gap,
                              "pass": ok})  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
