"""Training from the picture cache against training from the .npz of the same pictures.

Fashion-MNIST's 70,000 pictures as PNG class folders (``data_read.py`` writes them, or reuses
its copy) and as one ``.npz`` of the same arrays; the CNN of ``specs/cnn.yaml`` (28x28x1)
trained on each, ``--epochs`` epochs of ``--train-samples`` pictures, float32, in fresh
``mnistctl train --json`` processes, alternating, ``--rounds`` times. The folder's cache is
filled first (``mnistctl data``), so its runs read the cache, decode nothing. Goal: the
cache within 5 % of the npz, whole process and training alone.

    python bench/data_train.py [--epochs 2] [--train-samples 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
from data_read import write_folder

MNISTCTL = [sys.executable, "-m", "mnistctl"]


def make_npz(folder: Path, out: Path) -> None:
    """The folder's pictures, as the loader reads them, in one .npz."""
    if out.is_file():
        return
    from mnistctl.data.datasets import DataOptions, load_dataset

    data = load_dataset("mnist", folder, DataOptions())
    np.savez(out, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test,
             y_test=data.y_test)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.gettempdir())
    folder = tmp / "mnistctl-bench-fashion-png"
    write_folder(folder)
    npz = tmp / "mnistctl-bench-fashion.npz"
    make_npz(folder, npz)
    sets = ("--set", f"train.epochs={args.epochs}", "--set", "train.precision=float32",
            "--set", f"data.train_samples={args.train_samples}")  # fmt: skip
    spec = harness.REPO / "specs" / "cnn.yaml"
    with harness.temp_dir("data-train") as work:
        harness.run_child([*MNISTCTL, "data", str(folder), "--no-preview"])  # the cache
        rows: dict[str, list[tuple[float, float, float]]] = {"cache": [], "npz": []}
        for _ in range(args.rounds):
            for name, data in (("cache", folder), ("npz", npz)):
                cmd = [*MNISTCTL, "train", str(spec), "--json", "--data", str(data),
                       "--runs-dir", str(work / name), *sets]  # fmt: skip
                result = harness.run_child(cmd)
                if result.returncode != 0:
                    harness.fail(result)
                fit = float(result.data["train_seconds"])
                rows[name].append((result.wall_seconds, fit, result.peak_rss_mb))
                print(name, f"{result.wall_seconds:.1f} s", flush=True)
    harness.print_machine(harness.machine_info())
    table = []
    for name, got in rows.items():
        wall = statistics.median(r[0] for r in got)
        fit = statistics.median(r[1] for r in got)
        rss = statistics.median(r[2] for r in got)
        table.append((name, f"{wall:.2f}", f"{fit:.2f}", f"{rss:.0f}"))
    print(harness.table(["data", "process s", "training s", "peak RSS MB"], table))
    for i, what in ((0, "whole process"), (1, "training")):
        cache, plain = (statistics.median(r[i] for r in rows[k]) for k in ("cache", "npz"))
        print(f"cache / npz, {what}: {cache / plain:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
