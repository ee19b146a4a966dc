"""How ``mnistctl train`` scales with the training set: time and peak memory from 10k to 600k.

Runs ``mnistctl train`` (precision auto, 1 epoch, no validation split) on the first 10k, 30k
and 60k Fashion-MNIST training images (``--set data.train_samples=N``) and on a synthetic 600k
set: Fashion-MNIST tiled 10 times, written as plain IDX files to a temporary folder (with the
real test files beside them). For comparison it also runs the hand-written Keras script (float
arrays in memory) at 60k. Memory is each process's own peak RSS; "over baseline" subtracts the
same trainer's run at the smallest size.

    .venv/bin/python bench/scale.py
    .venv/bin/python bench/scale.py --models dnn,cnn --sizes 10000,60000
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness

IMAGE_BYTES = 28 * 28


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a folder of the four IDX files (default: Debian's Fashion-MNIST)",
    )
    parser.add_argument(
        "--sizes",
        default="10000,30000,60000,600000",
        help="training-set sizes; the first is the baseline; sizes beyond the real set are "
        "made by tiling it",
    )
    parser.add_argument("--models", default="dnn", help="comma-separated: dnn,cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="runs per point (median)")
    parser.add_argument(
        "--script-sizes",
        default="60000",
        help="sizes at which the hand-written script (float32) also runs; '' for none",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write raw results as JSON")
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
        args.script_sizes = sorted({int(s) for s in args.script_sizes.split(",") if s.strip()})
    except ValueError:
        parser.error("--sizes and --script-sizes take comma-separated integers")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.sizes or min(args.sizes) < 1 or set(args.models) - set(harness.MODELS):
        parser.error("--sizes: positive integers; --models: some of dnn,cnn")
    if args.epochs < 1 or args.repeats < 1:
        parser.error("--epochs and --repeats must be at least 1")
    return args


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    sys.exit(f"{folder}: no {stem}[.gz]; --data must be a folder of the four IDX files")


def idx_count(path: Path) -> int:
    """The first dimension an IDX file's header gives (the number of items)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rb") as f:
        head = f.read(8)
    return int.from_bytes(head[4:8], "big")


def write_tiled(source: Path, target: Path, factor: int) -> int:
    """The training IDX files of ``source`` tiled ``factor`` times (plain), plus its test files."""
    from mnistctl.data.datasets import read_idx  # NumPy only, no TensorFlow

    target.mkdir(parents=True, exist_ok=True)
    images = read_idx(_idx_file(source, harness.IDX_TRAIN[0]))
    labels = read_idx(_idx_file(source, harness.IDX_TRAIN[1]))
    n = len(images) * factor
    with open(target / harness.IDX_TRAIN[0], "wb") as f:
        f.write(bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28)))
        for _ in range(factor):
            f.write(images.tobytes())
    with open(target / harness.IDX_TRAIN[1], "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + n.to_bytes(4, "big"))
        for _ in range(factor):
            f.write(labels.tobytes())
    for stem in harness.IDX_TEST:
        src = _idx_file(source, stem)
        shutil.copyfile(src, target / src.name)
    return n


def measure(
    trainer: str,
    model: str,
    data: Path,
    samples: int | None,
    runs_dir: Path,
    epochs: int,
) -> dict[str, Any]:
    if trainer == "script":
        cmd = harness.script_cmd(model, data, epochs=epochs, train_samples=samples)
    else:
        cmd = harness.mnistctl_cmd(
            model, data, runs_dir, epochs=epochs, precision="auto", train_samples=samples
        )
    result, record = harness.measure(cmd, trainer, epochs)
    record.update(
        wall_seconds=round(result.wall_seconds, 3),
        peak_rss_mb=round(result.peak_rss_mb, 1),
    )
    return record


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    source = harness.require_path(args.data) if args.data else harness.fashion_mnist_dir()
    if source is None or not source.is_dir():
        sys.exit(
            "needs a folder of IDX files: install Debian's dataset-fashion-mnist "
            "(apt-get install dataset-fashion-mnist) or pass --data FOLDER"
        )
    real = idx_count(_idx_file(source, harness.IDX_TRAIN[0]))
    info = harness.machine_info()
    harness.print_machine(info)
    print(f"data:    {source} ({real:,} training images); epochs {args.epochs}, no validation")
    sys.stdout.flush()
    harness.warm_up()

    records: list[dict[str, Any]] = []
    with harness.temp_dir("mnistctl-scale-") as tmp:
        factor = -(-max(args.sizes) // real)
        synthetic = None
        if factor > 1:
            synthetic = tmp / f"tiled-x{factor}"
            n = write_tiled(source, synthetic, factor)
            print(f"synthetic: {n:,} training images ({factor} x the real set) in {synthetic}")
            sys.stdout.flush()
        plan = [("mnistctl", size) for size in args.sizes]
        plan += [("script", size) for size in args.script_sizes]
        for model in args.models:
            for trainer, size in plan:
                data = source if size <= real else synthetic
                assert data is not None
                limit = None if size in (real, real * factor) else size
                for repeat in range(args.repeats):
                    r = measure(trainer, model, data, limit, tmp / "runs", args.epochs)
                    r.update(model=model, trainer=trainer, size=size, repeat=repeat)
                    records.append(r)
                    print(
                        f"  {model} {trainer:<8} {size:>8,} samples: wall {r['wall_seconds']:7.1f}"
                        f" s  train {r['train_seconds']:7.1f} s  RSS {r['peak_rss_mb']:7.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )
                shutil.rmtree(tmp / "runs", ignore_errors=True)

    rows = []
    for model in args.models:
        base_rss = harness.median(
            r["peak_rss_mb"]
            for r in records
            if r["model"] == model and r["trainer"] == "mnistctl" and r["size"] == min(args.sizes)
        )
        for trainer in ("mnistctl", "script"):
            mine = [r for r in records if r["model"] == model and r["trainer"] == trainer]
            for size in sorted({r["size"] for r in mine}):
                rs = [r for r in mine if r["size"] == size]
                wall = harness.median(r["wall_seconds"] for r in rs)
                train = harness.median(r["train_seconds"] for r in rs)
                rss = harness.median(r["peak_rss_mb"] for r in rs)
                label = "mnistctl auto" if trainer == "mnistctl" else "hand-written f32"
                rows.append(
                    [
                        model,
                        label,
                        f"{size:,}",
                        f"{size * (IMAGE_BYTES + 1) / 1e6:,.0f}",
                        f"{size * IMAGE_BYTES * 4 / 1e6:,.0f}",
                        f"{wall:.1f}",
                        f"{train:.1f}",
                        f"{size * args.epochs / train:,.0f}",
                        f"{rss:,.0f}",
                        f"{rss - base_rss:+,.0f}",
                    ]
                )
    print()
    headers = [
        "model",
        "trainer",
        "samples",
        "uint8 MB",
        "float32 MB",
        "wall s",
        "train s",
        "samples/s",
        "peak RSS MB",
        "over baseline MB",
    ]
    print(harness.table(headers, rows, left=2))
    print(
        f"\nuint8 MB: the raw training images and labels (785 bytes each); float32 MB: the images"
        f" as float32 arrays, as a notebook holds them. Baseline: mnistctl at "
        f"{min(args.sizes):,} samples. The test set (10,000 images, 7.9 MB) is read in every run."
    )
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        settings = {
            "data": str(source),
            "sizes": args.sizes,
            "script_sizes": args.script_sizes,
            "models": args.models,
            "epochs": args.epochs,
            "repeats": args.repeats,
            "precision": "auto",
            "validation_split": 0,
        }
        harness.write_json(args.out, {"machine": info, "settings": settings, "runs": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
