"""``mnistctl report``: size and build time for 1 and 5 runs.

    .venv/bin/python bench/report.py [-n 5] [--runs RUN ...] [--keep]

Without ``--runs``, five runs are trained first on the bundled ``mnist_sample`` (each with its
full 10,000-digit test set, so the confusion cells are as full as they get): ``specs/cnn.yaml``
with seeds 0, 1, 2 and ``specs/dnn.yaml`` with seeds 0, 1, 2 epochs of 2,000 digits. Then, for
the first run alone and for all five together, ``-n`` rounds of:

- ``mnistctl report ... --json`` as a process (the whole command: Python's start-up, the CLI,
  reading the runs, the page, writing it), its wall time and peak RSS;
- the command's own time, as ``report_runs`` measures it (``seconds`` in its JSON);

and the page's size, and what it holds (pictures, charts). Goals (issue 22): <= 3 s for one
run, <= 3 MB, no TensorFlow (checked: the process's modules). Medians; the machine and its
load are printed first.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import harness

GOAL_SECONDS, GOAL_BYTES = 3.0, 3 * 1024 * 1024
NO_TF = (
    "import sys, runpy; sys.argv = ['mnistctl', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('mnistctl', run_name='__main__')\n"
    "except SystemExit: pass\n"
    "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
    "assert not heavy, heavy\n"
)


def train_runs(work: Path) -> list[Path]:
    runs = []
    for spec, seed in (("cnn", 0), ("cnn", 1), ("cnn", 2), ("dnn", 0), ("dnn", 1)):
        cmd = [
            *(sys.executable, "-m", "mnistctl", "train", str(harness.SPECS[spec])),
            *("--set", "data.dataset=mnist_sample", "--set", "data.train_samples=2000"),
            *("--set", "train.epochs=2", "--set", f"train.seed={seed}"),
            *("--runs-dir", str(work / "runs"), "--json"),
        ]
        result = harness.run_child(cmd)
        if not result.ok():
            harness.fail(result)
        runs.append(Path(result.data["run_dir"]))
        print(f"trained {spec} seed {seed}: {runs[-1]}", flush=True)
    return runs


def measure(runs: list[Path], out: Path, rounds: int) -> dict[str, float | int]:
    walls, own, rss = [], [], []
    size, pictures, charts = 0, 0, 0
    for _ in range(rounds):
        cmd = [sys.executable, "-c", NO_TF, "report", *map(str, runs), "--output", str(out)]
        result = harness.run_child([*cmd, "--json"])
        if not result.ok():
            harness.fail(result)
        walls.append(result.wall_seconds)
        rss.append(result.peak_rss_mb)
        own.append(float(result.data["seconds"]))
        html = out.read_text(encoding="utf-8")
        size = len(html.encode())
        pictures = len(re.findall(r"<img ", html))
        charts = html.count('<svg class="chart"')
    return {
        "runs": len(runs),
        "process_s": harness.median(walls),
        "report_s": harness.median(own),
        "peak_rss_mb": harness.median(rss),
        "bytes": size,
        "pictures": pictures,
        "charts": charts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--runs", nargs="+", type=Path, help="report these runs (1 and all)")
    parser.add_argument("--keep", action="store_true", help="keep the trained runs and pages")
    args = parser.parse_args()
    harness.print_machine(harness.machine_info())
    with harness.temp_dir("mnistctl-report-", keep=args.keep) as work:
        runs = args.runs or train_runs(work)
        rows = [measure(runs[:1], work / "one.html", args.n)]
        if len(runs) > 1:
            rows.append(measure(runs, work / "all.html", args.n))
        if args.keep:
            print(f"pages: {work / 'one.html'}, {work / 'all.html'}")
    headers = ["runs", "process s", "report s", "peak RSS MB", "MB", "pictures", "charts"]
    print()
    print(harness.table(headers, [
        [r["runs"], r["process_s"], r["report_s"], r["peak_rss_mb"], f"{r['bytes'] / 2**20:.2f}",
         r["pictures"], r["charts"]]
        for r in rows
    ]))  # fmt: skip
    one = rows[0]
    ok = float(one["process_s"]) <= GOAL_SECONDS and int(one["bytes"]) <= GOAL_BYTES
    print(
        f"\none run: {one['process_s']:.2f} s for the whole command (goal <= {GOAL_SECONDS} s), "
        f"{int(one['bytes']) / 2**20:.2f} MB (goal <= 3 MB), no TensorFlow: "
        + ("PASS" if ok else "FAIL")
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
