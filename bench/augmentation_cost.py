"""What does augmentation cost per epoch?

Trains a spec (``specs/mnist_best.yaml`` by default) as it is and without its augmentation
layers (RandomRotation, RandomTranslation, RandomZoom, GaussianNoise: dropped from the chain,
which they must be part of), a few epochs each on the same data, and compares the median epoch
time after the first (which includes tracing), read from the per-epoch lines. Prints the
machine first: timings are only meaningful on an otherwise idle machine.

    .venv/bin/python bench/augmentation_cost.py
    .venv/bin/python bench/augmentation_cost.py --spec specs/fashion_best.yaml --epochs 2 \\
        --data /usr/share/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml
from harness import REPO, machine_info, print_machine, run_child, table, temp_dir

AUGMENTATION = {"RandomRotation", "RandomTranslation", "RandomZoom", "GaussianNoise"}
EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+: .*\(([\d.]+) s\)$", re.M)


def without_augmentation(spec: dict[str, Any]) -> dict[str, Any]:
    layers = spec["model"]["layers"]
    dropped = [layer for layer in layers if layer["type"] in AUGMENTATION]
    if any("inputs" in layer for layer in layers) or not dropped:
        raise SystemExit("the spec must be a plain chain with augmentation layers in it")
    out = dict(spec)
    out["model"] = {**spec["model"], "layers": [x for x in layers if x not in dropped]}
    return out


def epoch_seconds(spec: Path, epochs: int, data: Path | None, runs: Path) -> list[float]:
    cmd = [
        sys.executable, "-m", "mnistctl", "train", str(spec), "--set", f"train.epochs={epochs}",
        "--runs-dir", str(runs), "--json",
    ]  # fmt: skip
    if data is not None:
        cmd += ["--data", str(data)]
    result = run_child(cmd)
    if not result.ok():
        raise SystemExit(f"training failed:\n{result.stderr_tail}")
    return [float(s) for _, s in EPOCH_LINE.findall(result.stderr_tail)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "specs" / "mnist_best.yaml")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    print_machine(machine_info())
    spec = yaml.safe_load(args.spec.read_text())
    rows = []
    with temp_dir("mnistctl-augcost-") as tmp:
        plain = Path(tmp) / f"{args.spec.stem}_plain.yaml"
        plain.write_text(yaml.safe_dump(without_augmentation(spec), sort_keys=False))
        times = {}
        for label, path in (("with augmentation", args.spec), ("without", plain)):
            seconds = epoch_seconds(path, args.epochs, args.data, Path(tmp) / "runs")
            times[label] = statistics.median(seconds[1:] or seconds)
            rows.append([label, f"{seconds[0]:.1f}", f"{times[label]:.2f}"])
    cost = times["with augmentation"] / times["without"] - 1
    print(table(["model", "first epoch s", "median epoch s (after the first)"], rows))
    print(f"augmentation costs {cost * 100:+.1f} % per epoch")


if __name__ == "__main__":
    main()
