"""``mnistctl export`` on the seed's models and a recipe: is every format the Keras model, how
big is it, and how fast does its runtime read a digit?

    .venv/bin/python bench/export_check.py [--specs cnn,dnn,mnist_best] [--formats ...]
        [--epochs 1] [--check-samples N] [--out bench/out/export.json] [--keep DIR]

Trains each spec briefly on the bundled sample (``--set data.dataset=mnist_sample``: 5,000
digits, no network; the recipe's augmentation included), then runs ``mnistctl export RUN
--format F --json`` for every format as a real process, each checking the artifact on the full
10,000-digit test set in its own runtime. Table: spec, format, size, max probability
difference from Keras, argmax agreement, the exported model's test accuracy, the runtime's
latency per image (batch of 1, median of 50 calls) and throughput (batches of 256), the
conversion time and the whole command's wall time.

Accuracy after an epoch or two is not the point (the recipe needs 30); agreement is. Run it on
a quiet machine for the speed columns (it prints the load average).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import harness

SPECS = {
    "cnn": harness.REPO / "specs" / "cnn.yaml",
    "dnn": harness.REPO / "specs" / "dnn.yaml",
    "mnist_best": harness.REPO / "specs" / "mnist_best.yaml",
}
FORMATS = ("saved_model", "onnx", "litert")


def train(spec: Path, runs_dir: Path, epochs: int) -> Path:
    cmd = [
        sys.executable, "-m", "mnistctl", "train", str(spec),
        "--set", "data.dataset=mnist_sample", "--set", f"train.epochs={epochs}",
        "--runs-dir", str(runs_dir), "--json",
    ]  # fmt: skip
    result = harness.run_child(cmd)
    if not result.ok():
        harness.fail(result)
    return Path(result.data["run_dir"])


def export(run: Path, fmt: str, check_samples: int | None) -> tuple[dict[str, Any], float]:
    cmd = [sys.executable, "-m", "mnistctl", "export", str(run), "--format", fmt, "--json"]
    if check_samples:
        cmd += ["--check-samples", str(check_samples)]
    result = harness.run_child(cmd)
    if not result.ok():
        harness.fail(result)
    return result.data, result.wall_seconds


def row(spec: str, doc: dict[str, Any], wall: float) -> list[Any]:
    check, speed = doc["check"], doc["speed"]
    return [
        spec,
        doc["format"],
        f"{doc['size_bytes'] / 1000:,.1f} KB",
        f"{check['max_abs_diff']:.1e}",
        f"{check['argmax_agree']}/{check['samples']}",
        f"{check['accuracy']:.4f}",
        f"{speed['latency_ms_per_image']:.3f}",
        f"{speed['throughput_images_per_s']:,.0f}",
        f"{doc['convert_seconds']:.1f}",
        f"{wall:.1f}",
        doc["precision"]["trained"],
    ]


HEADERS = [
    "spec", "format", "size", "max diff", "agree", "accuracy", "ms/image", "images/s",
    "convert s", "wall s", "trained in",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default=",".join(SPECS))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--check-samples", type=int, default=None, help="default: all 10,000")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    args = parser.parse_args()
    specs = [s for s in args.specs.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    unknown = [s for s in specs if s not in SPECS] + [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"unknown spec or format: {', '.join(unknown)}")

    info = harness.machine_info()
    harness.print_machine(info)
    harness.warm_up()
    rows, raw = [], []
    with harness.temp_dir("mnistctl-export-bench-", keep=args.keep is not None) as tmp:
        runs_dir = args.keep or tmp
        for spec in specs:
            run = train(SPECS[spec], runs_dir, args.epochs)
            print(f"{spec}: trained {args.epochs} epoch(s) -> {run}", flush=True)
            for fmt in formats:
                doc, wall = export(run, fmt, args.check_samples)
                rows.append(row(spec, doc, wall))
                raw.append({"spec": spec, "wall_seconds": wall, **doc})
                print(harness.table(HEADERS, rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(harness.table(HEADERS, rows, left=2))
    print(
        "\nmax diff: largest |probability difference| from the float32 Keras model over the "
        "checked test images (tolerance 1e-4); ms/image: batch of 1, median of 50 calls; "
        "images/s: batches of 256; wall s: the whole 'mnistctl export' process."
    )
    if args.out:
        harness.write_json(args.out, {"machine": info, "epochs": args.epochs, "exports": raw})


if __name__ == "__main__":
    main()
