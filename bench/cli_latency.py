"""Wall-clock latency of the spec commands, as real processes.

    .venv/bin/python bench/cli_latency.py [-n 7]

Runs ``mnistctl --help``, ``mnistctl validate`` on each example spec and ``mnistctl summary
specs/cnn.yaml`` N times each, using the ``mnistctl`` installed beside this Python, and prints
the median, min and max wall seconds of each; then ``python -c "import tensorflow"`` once, the
cost these commands avoid by never importing TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mnistctl() -> str:
    exe = Path(sys.executable).parent / ("mnistctl.exe" if os.name == "nt" else "mnistctl")
    if not exe.exists():
        sys.exit(f"error: {exe} not found; install the package in this environment first")
    return str(exe)


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {result.returncode}:\n{result.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=7, help="runs per command (default 7)")
    args = parser.parse_args()

    exe = mnistctl()
    commands: list[tuple[str, list[str]]] = [("mnistctl --help", [exe, "--help"])]
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        rel = spec.relative_to(ROOT)
        commands.append((f"mnistctl validate {rel}", [exe, "validate", str(rel)]))
    commands.append(("mnistctl summary specs/cnn.yaml", [exe, "summary", "specs/cnn.yaml"]))

    width = max(len(label) for label, _ in commands) + 2
    print(f"{'command':<{width}}{'median':>9}{'min':>9}{'max':>9}   (wall seconds, n={args.n})")
    print("-" * (width + 27))
    for label, argv in commands:
        timed(argv)  # warm the file cache once; not counted
        times = [timed(argv) for _ in range(args.n)]
        print(
            f"{label:<{width}}{statistics.median(times):>9.3f}{min(times):>9.3f}{max(times):>9.3f}"
        )

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    print("-" * (width + 27))
    label = 'python -c "import tensorflow" (once)'
    print(f"{label:<{width}}{elapsed:>9.3f}")


if __name__ == "__main__":
    main()
