"""Shell completion's answer time, as real processes: the shell starts ``mnistctl`` once per Tab.

    .venv/bin/python bench/completion.py [-n 9]

Asks the ``mnistctl`` installed beside this Python for completions the way bash does (click's
protocol: ``_MNISTCTL_COMPLETE=complete_bash`` with ``COMP_WORDS`` and ``COMP_CWORD``), from
the repository's root, N times per line, and prints the median, min and max wall seconds of
each and its first answers. Each line is also asked once under ``python -X importtime`` to list
what it imported: TensorFlow, Keras and pydantic must not be among them. Exits 1 if a median
is over the budget (0.3 s) or a line imported one of those.
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
BUDGET = 0.3
HEAVY = ("tensorflow", "keras", "pydantic")

LINES = [
    "mnistctl ",  # the commands
    "mnistctl ex",
    "mnistctl train --",  # options
    "mnistctl train sp",  # spec files
    "mnistctl evaluate ",  # runs and spec files
    "mnistctl export specs/cnn.yaml --format ",  # choices
    "mnistctl new mine --from c",  # templates
    "mnistctl train specs/cnn.yaml --set ",  # --set paths: the spec loaded and checked
    "mnistctl train specs/cnn.yaml --set model.layers.hidden_1.",
    "mnistctl summary specs/mnist_best.yaml --set train.ep",
    "mnistctl train specs/cnn_dropout.yaml --set model.layers.d",  # a child spec, resolved
]


def mnistctl() -> str:
    exe = Path(sys.executable).parent / ("mnistctl.exe" if os.name == "nt" else "mnistctl")
    if not exe.exists():
        sys.exit(f"error: {exe} not found; install the package in this environment first")
    return str(exe)


def environment(line: str) -> dict[str, str]:
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    return {
        **os.environ,
        "_MNISTCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(cword),
    }


def ask(argv: list[str], line: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, env=environment(line), capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, done


def heavy_imports(exe: str, line: str) -> list[str]:
    _, done = ask([sys.executable, "-X", "importtime", exe], line)
    names = {row.split("|")[-1].strip() for row in done.stderr.splitlines() if "|" in row}
    return sorted(n for n in names if n.split(".")[0] in HEAVY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=9, help="answers per line (default 9)")
    args = parser.parse_args()

    exe = mnistctl()
    width = max(len(line) for line in LINES) + 4
    print(f"{'line (bash, Tab at the end)':<{width}}{'median':>8}{'min':>8}{'max':>8}   answers")
    print("-" * (width + 24 + 30))
    failed = False
    for line in LINES:
        _, first = ask([exe], line)  # warm the file cache once; not counted
        if first.returncode != 0:
            sys.exit(f"error: {line!r} exited {first.returncode}:\n{first.stderr}")
        times = [ask([exe], line)[0] for _ in range(args.n)]
        answers = first.stdout.split()
        shown = " ".join(answers[:3]) + (f" ... ({len(answers)})" if len(answers) > 3 else "")
        median = statistics.median(times)
        print(f"{line!r:<{width}}{median:>8.3f}{min(times):>8.3f}{max(times):>8.3f}   {shown}")
        heavy = heavy_imports(exe, line)
        if heavy:
            print(f"  imported: {', '.join(heavy)}")
        failed |= median > BUDGET or bool(heavy) or not answers
    print(f"(wall seconds, n={args.n}; budget {BUDGET} s an answer)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
