"""What a trial costs beyond its training, and whether memory stays flat across trials.

One worker process (this one: TensorFlow imported once) runs a study of ``--trials`` (20)
trials of a small dense network on ``--train-samples`` real digits, through the same code as
``mnistctl tune`` (``tune/command.py``'s ``tune_spec``). Per trial: its wall time in the loop
(from the end of the previous trial to the end of this one: dead-worker check, counting,
sampling, storage, spec, run directory, data, build, compile, fit, test set, record, clearing
Keras's session), the fit's own seconds (``train_seconds`` of the run's record), the
difference (the overhead; goal <= 1 s), and the process's RSS after the trial (goal: flat).

    .venv/bin/python bench/tune_overhead.py --out bench/out/tune_overhead.json
    .venv/bin/python bench/tune_overhead.py --trials 5           # smoke
    .venv/bin/python bench/tune_overhead.py --no-clear           # without clear_session
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from harness import (
    SHARED_NPZ,
    machine_info,
    median,
    print_machine,
    table,
    temp_dir,
    write_json,
)

GOAL_OVERHEAD_S = 1.0

SPEC = {
    "name": "dense",
    "data": {"dataset": "mnist", "validation_split": 0.2},
    "model": {
        "layers": [
            {"type": "Input", "name": "input_tensor", "shape": [784]},
            {"type": "Dense", "name": "hidden", "units": 64, "activation": "relu"},
            {"type": "Dense", "name": "output_tensor", "units": 10, "activation": "softmax"},
        ]
    },
    "compile": {
        "loss": "categorical_crossentropy",
        "optimizer": {"type": "adam", "learning_rate": 0.001},
        "metrics": ["accuracy"],
    },
    "train": {"batch_size": 64, "epochs": 2, "seed": 0, "precision": "float32"},
    "search": {
        "metric": "val_accuracy",
        "sampler": "random",
        "pruner": "none",
        "space": {
            "model.layers.hidden.units": {"int": [16, 128], "step": 16},
            "compile.optimizer.learning_rate": {"float": [0.0003, 0.01], "log": True},
        },
    },
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Clock:
    """A watcher that notes when each trial starts and ends, and the RSS after it."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.begins: dict[int, float] = {}
        self.ended: dict[int, float] = {}
        self.rss: dict[int, float] = {}

    def configure(self, metric: str, direction: str, paths: Sequence[str]) -> None:
        self.t0 = time.monotonic()

    def started(self, number: int, params: Mapping[str, Any]) -> None:
        self.begins[number] = time.monotonic()

    def epoch(self, number: int, epoch: int, epochs: int, value: float | None) -> None:
        pass

    def finished(self, rows: list[Any]) -> None:
        now = time.monotonic()
        for row in rows:
            if row.state != "RUNNING" and row.number not in self.ended:
                self.ended[row.number] = now
                self.rss[row.number] = rss_mb()
                print(f"trial {row.number}: {row.state} rss {self.rss[row.number]:.0f} MB",
                      flush=True)  # fmt: skip

    def note(self, text: str) -> None:
        print(text, flush=True)


def small_data(folder: Path, n_train: int, n_test: int) -> Path:
    if not SHARED_NPZ.is_file():
        sys.exit(f"no data: expected {SHARED_NPZ}")
    with np.load(SHARED_NPZ) as npz:
        arrays = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    path = folder / "small.npz"
    np.savez(path, x_train=arrays["x_train"][:n_train], y_train=arrays["y_train"][:n_train],
             x_test=arrays["x_test"][:n_test], y_test=arrays["y_test"][:n_test])  # fmt: skip
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=1000)
    parser.add_argument("--test-samples", type=int, default=500)
    parser.add_argument("--no-clear", action="store_true", help="skip clear_session (compare)")
    parser.add_argument(
        "--full-gc", action="store_true", help="also a full garbage collection after each trial"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)

    from mnistctl.runs.atomic import read_json
    from mnistctl.tune import study as study_module
    from mnistctl.tune.command import TuneRequest, tune_spec

    if args.no_clear:
        study_module.free_memory = lambda: None
    elif args.full_gc:
        import keras

        study_module.free_memory = lambda: keras.backend.clear_session(free_memory=True)
    start_rss = rss_mb()
    with temp_dir("tune-overhead-") as folder:
        data = small_data(folder, args.train_samples, args.test_samples)
        spec = {**SPEC, "train": {**SPEC["train"], "epochs": args.epochs}}  # type: ignore[dict-item]
        spec_path = folder / "dense.yaml"
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        clock = Clock()
        begun = time.monotonic()
        result = tune_spec(
            TuneRequest(spec=spec_path, trials=args.trials, data=data, runs_dir=folder / "runs",
                        plots=False),
            clock,  # type: ignore[arg-type]
        )  # fmt: skip
        total = time.monotonic() - begun
        rows = []
        previous = clock.t0
        for trial in result.trials:
            n = trial.number
            wall = clock.ended[n] - previous
            previous = clock.ended[n]
            record = read_json(Path(trial.run_dir) / "metrics.json") if trial.run_dir else {}
            fit = float(record.get("train_seconds") or float("nan"))
            before = clock.begins[n] - (clock.ended.get(n - 1, clock.t0))
            rows.append({"trial": n, "state": trial.state, "wall": wall, "fit": fit,
                         "overhead": wall - fit, "before_trial": before,
                         "rss_mb": clock.rss[n]})  # fmt: skip
    print(table(["trial", "state", "wall s", "fit s", "overhead s", "pre-trial s", "RSS MB"],
                [[r["trial"], r["state"], r["wall"], r["fit"], r["overhead"], r["before_trial"],
                  r["rss_mb"]] for r in rows]))  # fmt: skip
    later = rows[1:]  # the first trial pays TensorFlow's start (tracing, kernels)
    overhead = median(r["overhead"] for r in later)
    rss = [r["rss_mb"] for r in rows]
    tail = rss[len(rss) // 4 :] if len(rss) >= 4 else rss
    slope = float(np.polyfit(range(len(tail)), tail, 1)[0]) if len(tail) >= 2 else float("nan")
    print(
        f"overhead per trial beyond fit (median of trials 2..{len(rows)}): {overhead:.2f} s "
        f"(goal <= {GOAL_OVERHEAD_S} s); first trial {rows[0]['overhead']:.2f} s"
    )
    print(
        f"RSS: {start_rss:.0f} MB before, {rss[0]:.0f} after trial 0, {rss[-1]:.0f} after trial "
        f"{len(rss) - 1}; slope over the last {len(tail)} trials {slope:+.2f} MB/trial "
        f"({'clear_session off' if args.no_clear else 'clear_session between trials'}"
        f"{', full gc' if args.full_gc else ''})"
    )
    print(f"study wall time {total:.1f} s for {len(rows)} trials")
    ok = overhead <= GOAL_OVERHEAD_S
    if args.out:
        write_json(args.out, {"machine": info, "args": vars(args) | {"out": str(args.out)},
                              "trials": rows, "overhead_median_s": overhead,
                              "rss_slope_mb_per_trial": slope, "pass": ok})  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
