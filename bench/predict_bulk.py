"""How fast ``mnistctl predict`` reads a folder of ten thousand pictures with the CNN.

    .venv/bin/python bench/predict_bulk.py [--count 10000] [--style mixed] [-n 3] [--keep DIR]

Writes ``--count`` real MNIST test digits (``../shared/data/mnist-5k-10k.npz``, x_test) as PNG
files into a temporary folder. ``--style``: ``plain`` (28x28 white on black, as in MNIST),
``photo`` (dark on light paper and enlarged 4x to 112x112, bilinear, like a scan or a cropped
photo of handwriting), or ``mixed`` (the default: every other file plain, the others photo).
Trains a CNN run quickly (``specs/cnn.yaml``, 1 epoch on 2,000 digits, in a temporary runs
directory), then times:

- ``mnistctl predict RUN FOLDER --json`` as a real process (start-up, TensorFlow, model and
  output included), checking that it printed one prediction per file in name order;
- in-process: preparing the folder (``expand_images`` + ``prepare_images``, one worker per
  CPU), preparing a sample one at a time (``load_digit``, one core), loading the model, and
  ``predict_digits`` on the prepared digits (batches of PREDICT_BATCH).

Prints images/s for each (median of ``-n`` rounds). The goal: >= 2,000 images/s for the whole
command on 2 cores. Run it on a quiet machine (it prints the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import numpy as np

sys.path.insert(0, str(harness.REPO))

from mnistctl.commands.common import open_run
from mnistctl.commands.predict import PREDICT_BATCH, predict_digits
from mnistctl.data.images import load_digit
from mnistctl.data.imagesets import cpu_count, expand_images, prepare_images

STYLES = ("mixed", "plain", "photo")


def write_digits(folder: Path, count: int, style: str) -> list[Path]:
    """``count`` real test digits as PNG files named in their order (00000.png, ...)."""
    from PIL import Image

    with np.load(harness.SHARED_NPZ, allow_pickle=False) as npz:
        digits = np.asarray(npz["x_test"])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = digits[i % len(digits)]
        img = Image.fromarray(pixels, mode="L")
        if style == "photo" or (style == "mixed" and i % 2):
            img = Image.fromarray(255 - pixels, mode="L").resize(
                (112, 112), Image.Resampling.BILINEAR
            )
        path = folder / f"{i:05d}.png"
        img.save(path, format="PNG")
        paths.append(path)
    return paths


def train_run(work: Path) -> Path:
    """A CNN run trained for one epoch on 2,000 digits (its accuracy does not matter here)."""
    return harness.train_cnn(
        work, "--set", "train.epochs=1", "--set", "data.train_samples=2000",
        "--data", str(harness.SHARED_NPZ),
    )  # fmt: skip


def time_command(run: Path, folder: Path, paths: list[Path]) -> float:
    """Wall seconds of ``mnistctl predict RUN FOLDER --json``, its output checked."""
    cmd = [sys.executable, "-m", "mnistctl", "predict", str(run), str(folder), "--json"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=harness.child_env(), capture_output=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"FAILED (exit {proc.returncode}): {proc.stderr.decode()[-3000:]}")
    rows = json.loads(proc.stdout)
    if [row["file"] for row in rows] != [str(p) for p in paths]:
        sys.exit("FAILED: predict did not list every file once, in name order")
    return wall


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def in_process(run: Path, folder: Path, sample: list[Path]) -> dict[str, float]:
    """Seconds of each part, in this process."""
    prep_s, batch = timed(lambda: prepare_images(expand_images([folder])))
    assert not batch.errors, batch.errors[0]
    serial_s, _ = timed(lambda: [load_digit(p) for p in sample])
    opened = open_run(run, None)
    load_s, _ = timed(opened.load_model)
    predict_digits(opened, batch.names[:PREDICT_BATCH], batch.digits[:PREDICT_BATCH])  # warm
    predict_s, _ = timed(lambda: predict_digits(opened, batch.names, batch.digits))
    return {
        "prepare_parallel": prep_s,
        "prepare_one_core_per_image": serial_s / len(sample),
        "load_model": load_s,
        "predict": predict_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="pictures (default 10,000)")
    parser.add_argument("--style", choices=STYLES, default="mixed")
    parser.add_argument("-n", "--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=500, help="files prepared one at a time")
    parser.add_argument("--keep", type=Path, help="keep the pictures and the run here")
    parser.add_argument("--out", type=Path, help="write the raw results here (JSON)")
    args = parser.parse_args()

    info = harness.machine_info()
    harness.print_machine(info)
    harness.require_path(harness.SHARED_NPZ)
    with harness.temp_dir("mnistctl-predict-bulk-", keep=bool(args.keep)) as tmp:
        work = args.keep or tmp
        folder = work / "digits"
        paths = write_digits(folder, args.count, args.style)
        run = train_run(work)
        harness.warm_up()
        n = args.count
        rounds: list[dict[str, float]] = []
        for _ in range(args.rounds):
            parts = in_process(run, folder, paths[: args.sample])
            parts["command"] = time_command(run, folder, paths)
            rounds.append(parts)
        med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        per_core = 1 / med["prepare_one_core_per_image"]
        rows = [
            ["mnistctl predict RUN FOLDER --json (process)", med["command"], n / med["command"]],
            [f"prepare, {cpu_count()} workers (in-process)", med["prepare_parallel"],
             n / med["prepare_parallel"]],
            ["prepare, one at a time, one core", n / per_core, per_core],
            ["load the model", med["load_model"], float("nan")],
            [f"predict_digits, batches of {PREDICT_BATCH}", med["predict"], n / med["predict"]],
            ["prepare + predict (in-process)", med["prepare_parallel"] + med["predict"],
             n / (med["prepare_parallel"] + med["predict"])],
        ]  # fmt: skip
        print(f"\n{n:,} pictures ({args.style}), specs/cnn.yaml, median of {args.rounds}:")
        print(harness.table(["what", "seconds", "images/s"], rows))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.out:
            harness.write_json(args.out, {"machine": info, "style": args.style, "rounds": rounds})


if __name__ == "__main__":
    main()
