"""How fast ``mnistctl predict`` reads a folder of ten thousand pictures with the CNN.

    .venv/bin/python bench/predict_bulk.py [--count 10000] [--style mixed] [-n 3] [--keep DIR]
        [--run RUN] [--predict-variants]

Writes ``--count`` real MNIST test digits (``../shared/data/mnist-5k-10k.npz``, x_test) as PNG
files into a temporary folder. ``--style``: ``plain`` (28x28 white on black, as in MNIST),
``photo`` (dark on light paper and enlarged 4x to 112x112, bilinear, like a scan or a cropped
photo of handwriting), or ``mixed`` (the default: every other file plain, the others photo).
Trains a CNN run quickly (``specs/cnn.yaml``, 1 epoch on 2,000 digits, in a temporary runs
directory; ``--run`` uses an existing CNN run instead), then times, each round:

- ``mnistctl predict RUN FOLDER --json`` as a real process, checking that it printed one
  prediction per file in name order. Its wall time is split by the marks the command writes
  when ``MNISTCTL_PHASES_FILE`` is set (``mnistctl/phases.py``): start-up, importing
  TensorFlow and checking the run (the pictures are prepared meanwhile, in worker processes),
  waiting for the last pictures, loading the model, predicting, writing the output, and the
  interpreter's exit;
- in-process, TensorFlow imported and the model loaded once: preparing the folder
  (``expand_images`` + ``prepare_images``, one worker per CPU), predicting the prepared digits
  (``model_outputs``, batches of PREDICT_BATCH), and both: the pipeline without start-up;
- ``load_digits`` on the first ``--sample`` files, one core, in a fresh process set up like a
  worker: the cost of preparing one picture.

``--predict-variants`` also times, each in a fresh process, the first (and in such a process
the only) prediction of the 10,000 prepared digits by ``model.predict`` and by
``model_outputs``. Prints seconds and images/s (median of ``-n`` rounds). The goal: >= 2,000
images/s for the whole command on 2 cores. Run it on a quiet machine (it prints the load
average).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import numpy as np

sys.path.insert(0, str(harness.REPO))

from mnistctl.commands.common import open_run
from mnistctl.commands.predict import PREDICT_BATCH, model_outputs
from mnistctl.data import imagesets
from mnistctl.data.imagesets import expand_images, prepare_images
from mnistctl.procs import usable_cpus

STYLES = ("mixed", "plain", "photo")

# The command's marks, in order, and the part of its wall time that ends at each.
PHASES = {
    "run": "start-up, import TensorFlow, check the run",
    "prepared": "wait for the last pictures",
    "model": "load the model",
    "predicted": "predict",
    "done": "write the output",
}
EXIT = "exit (the interpreter, TensorFlow's teardown)"

ONE_CORE = """
import json, sys, time
from mnistctl.data.images import load_digits
paths = sys.argv[1:]
load_digits(paths[:20])  # Pillow's plugins and numpy warm
started = time.process_time()
done = load_digits(paths)
print(json.dumps({"seconds": time.process_time() - started, "count": len(done)}))
"""

PREDICT_VARIANT = """
import json, sys, time
from pathlib import Path
import numpy as np
from mnistctl.commands.common import open_run
from mnistctl.commands.predict import PREDICT_BATCH, model_outputs
model = open_run(Path(sys.argv[1]), None).load_model()
x = np.load(sys.argv[2])
started = time.perf_counter()
if sys.argv[3] == "model.predict":
    model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
else:
    model_outputs(model, x)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


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


def time_command(run: Path, folder: Path, paths: list[Path]) -> dict[str, float]:
    """``mnistctl predict RUN FOLDER --json``: its wall seconds (its output checked) and the
    seconds of each phase (NaN for a mark it did not write)."""
    cmd = [sys.executable, "-m", "mnistctl", "predict", str(run), str(folder), "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        marks_file = Path(tmp) / "phases.jsonl"
        env = dict(harness.child_env(), MNISTCTL_PHASES_FILE=str(marks_file))
        started = time.time()
        proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
        ended = time.time()
        marks = _marks(marks_file)
    if proc.returncode != 0:
        sys.exit(f"FAILED (exit {proc.returncode}): {proc.stderr.decode()[-3000:]}")
    rows = json.loads(proc.stdout)
    if [row["file"] for row in rows] != [str(p) for p in paths]:
        sys.exit("FAILED: predict did not list every file once, in name order")
    parts: dict[str, float] = {"command": ended - started}
    before = started
    for name in PHASES:
        at = marks.get(name, math.nan)
        parts[name] = at - before
        before = at if not math.isnan(at) else before
    parts["exit"] = ended - marks.get("done", math.nan)
    return parts


def _marks(path: Path) -> dict[str, float]:
    """The time of each mark in a phases file (the first of each name)."""
    marks: dict[str, float] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            mark = json.loads(line)
            marks.setdefault(mark["phase"], float(mark["t"]))
    return marks


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def in_process(model: Any, folder: Path) -> tuple[dict[str, float], np.ndarray]:
    """Seconds of preparing the folder and predicting its digits, in this process (the
    model's function traced once per call, as in the command), and the digits."""
    prep_s, batch = timed(lambda: prepare_images(expand_images([folder])))
    assert not batch.errors, batch.errors[0]
    inputs = batch.digits.reshape(-1, 28, 28, 1)
    predict_s, _ = timed(lambda: model_outputs(model, inputs))
    return {"prepare": prep_s, "predict": predict_s}, inputs


def one_core(sample: list[Path]) -> float:
    """Seconds of CPU per picture for ``load_digits`` in a fresh process set up like a
    worker (its environment: one thread for numpy, memory kept)."""
    env = {**harness.child_env(), **imagesets.WORKER_ENV}
    cmd = [sys.executable, "-c", ONE_CORE, *map(str, sample)]
    out = subprocess.run(cmd, env=env, cwd=harness.REPO, capture_output=True, check=True)
    result = json.loads(out.stdout)
    return float(result["seconds"]) / int(result["count"])


def predict_variant(run: Path, inputs_file: Path, variant: str) -> float:
    """Seconds of the first prediction of the inputs by ``variant`` in a fresh process."""
    cmd = [sys.executable, "-c", PREDICT_VARIANT, str(run), str(inputs_file), variant]
    out = subprocess.run(
        cmd, env=harness.child_env(), cwd=harness.REPO, capture_output=True, check=True
    )
    return float(json.loads(out.stdout.decode().strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="pictures (default 10,000)")
    parser.add_argument("--style", choices=STYLES, default="mixed")
    parser.add_argument("-n", "--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=1000, help="files prepared on one core")
    parser.add_argument("--keep", type=Path, help="keep the pictures and the run here")
    parser.add_argument("--run", type=Path, help="an existing CNN run (default: train one)")
    parser.add_argument("--predict-variants", action="store_true")
    parser.add_argument("--out", type=Path, help="write the raw results here (JSON)")
    args = parser.parse_args()

    info = harness.machine_info()
    harness.print_machine(info)
    harness.require_path(harness.SHARED_NPZ)
    with harness.temp_dir("mnistctl-predict-bulk-", keep=bool(args.keep)) as tmp:
        work = args.keep or tmp
        folder = work / "digits"
        paths = write_digits(folder, args.count, args.style)
        run = args.run or train_run(work)
        harness.warm_up()
        model = open_run(run, None).load_model()
        model_outputs(model, np.zeros((1, 28, 28, 1), np.float32))  # TensorFlow's own start
        rounds: list[dict[str, float]] = []
        for _ in range(args.rounds):
            parts, inputs = in_process(model, folder)
            parts["one_core_per_image"] = one_core(paths[: args.sample])
            parts.update(time_command(run, folder, paths))
            if args.predict_variants:
                inputs_file = work / "inputs.npy"
                np.save(inputs_file, inputs)
                for variant in ("model.predict", "model_outputs"):
                    parts[f"first {variant}"] = predict_variant(run, inputs_file, variant)
            rounds.append(parts)
            print(f"round {len(rounds)}: " + ", ".join(f"{k} {v:.3g}" for k, v in parts.items()))
        med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(f"\n{args.count:,} pictures ({args.style}), specs/cnn.yaml, median of {args.rounds}:")
        print(harness.table(["what", "seconds", "images/s"], _rows(med, args.count)))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.out:
            harness.write_json(args.out, {"machine": info, "style": args.style, "rounds": rounds})


def _rows(med: dict[str, float], n: int) -> list[list[Any]]:
    nan = float("nan")
    rows: list[list[Any]] = [
        ["mnistctl predict RUN FOLDER --json (a process)", med["command"], n / med["command"]]
    ]
    rows += [[f"  {label}", med[name], nan] for name, label in PHASES.items()]
    rows.append([f"  {EXIT}", med["exit"], nan])
    both = med["prepare"] + med["predict"]
    rows += [
        [f"in-process: prepare ({usable_cpus()} workers)", med["prepare"], n / med["prepare"]],
        [f"in-process: predict (batches of {PREDICT_BATCH})", med["predict"], n / med["predict"]],
        ["in-process: prepare + predict", both, n / both],
        ["prepare one picture, one core (ms)", 1000 * med["one_core_per_image"],
         1 / med["one_core_per_image"]],
    ]  # fmt: skip
    rows += [
        [f"first prediction in a fresh process: {variant}", med[key], n / med[key]]
        for key in med
        if key.startswith("first ")
        for variant in [key.removeprefix("first ")]
    ]
    return rows


if __name__ == "__main__":
    main()
