"""How long Ctrl-C takes to end ``mnistctl train``: from SIGINT (sent during epoch 2) to the
process's exit, with the run closed (record, model.keras) by then.

    .venv/bin/python bench/interrupt.py [--repeats 3] [--repo PATH]

``--repo`` runs another checkout's code (PYTHONPATH) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mnist-5k-10k.npz"


def once(repo: Path) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(repo), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mnistctl", "train", str(repo / "specs" / "cnn.yaml"),
             "--data", str(DATA), "--runs-dir", tmp, "--set", "train.epochs=5",
             "--set", "data.train_samples=2000"],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("epoch 1/"):
                break
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        seconds = time.monotonic() - sent
        (metrics,) = Path(tmp).glob("cnn/*/metrics.json")
        status = json.loads(metrics.read_text())["status"]
        return seconds, f"exit {proc.returncode}, {status}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=ROOT)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeats):
        seconds, what = once(args.repo.resolve())
        times.append(seconds)
        print(f"SIGINT to exit: {seconds:.2f} s ({what})")
    print(f"median {statistics.median(times):.2f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
