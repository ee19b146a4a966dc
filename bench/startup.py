"""Where the time goes before a TensorFlow command does its work, as real processes.

    .venv/bin/python bench/startup.py [-n 5] [--repo PATH] [--out FILE]

Each process runs with ``MNISTCTL_PHASES_FILE`` set, so mnistctl appends a timestamp at the end
of each start-up phase (``mnistctl/phases.py``); this harness notes the time just before it
starts the process, so each phase's duration is the gap between two marks. Per round, in turn:

- ``python -c "import tensorflow"``: TensorFlow's own import time (it imports Keras too), from
  the process's start to the import's end, the yardstick of the issue's goal: time to the
  first training step <= this + 1.5 s;
- the quick start, ``mnistctl train specs/cnn.yaml --set data.dataset=mnist_sample``, stopped
  with Ctrl-C as soon as its first training step is done: ``warm`` with the precision choice
  already remembered (every run after the first on a machine), ``cold`` with an empty cache
  (the first run ever: ``auto`` measures the precisions first);
- ``mnistctl evaluate RUN`` (the 10,000 test digits) and ``mnistctl predict RUN one.png`` on a
  1-epoch CNN run made first.

Prints the median of each phase over ``-n`` rounds and each command's total. ``--repo PATH``
runs the mnistctl of another checkout (``python -m mnistctl`` with PATH first on the path; it
needs the phase marks) for a before/after comparison. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness

GOAL_SECONDS = 1.5  # time to the first step may exceed TensorFlow's own import by this much
TIMEOUT = 600.0
WORK = "evaluated"  # the phase that is the command's work, not its start-up

LABELS = {
    "python": "Python up, mnistctl.entry imported",
    "cli": "the CLI (Typer app, options)",
    "imports": "imports: TensorFlow, Keras, the command's code",
    "spec": "spec read and checked",
    "data": "data loaded",
    "run_dir": "run directory and record written",
    "precision": "precision chosen (auto)",
    "build": "model built",
    "compile": "compiled (optimizer variables made)",
    "pipeline": "input pipeline (tf.data)",
    "fit_setup": "fit set-up until the first batch",
    "first_step": "first training step (trace + run)",
    "run": "run found, record and spec read",
    "images": "picture prepared",
    "model": "model loaded and checked",
    "evaluated": "10,000 test digits through the model",
    "done": "results shown and written",
    "exit": "the process ended (interpreter teardown)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--repo", type=Path, help="run the mnistctl of this checkout")
    parser.add_argument("--out", type=Path, help="write the raw marks and medians as JSON")
    args = parser.parse_args()
    repo = (args.repo or harness.REPO).resolve()
    info = harness.machine_info()
    harness.print_machine(info)
    print(f"mnistctl from: {repo}\n")
    with tempfile.TemporaryDirectory(prefix="mnistctl-startup-") as tmp:
        work = Path(tmp)
        run_dir, picture = _setup(work, repo)
        warm_cache = work / "cache-warm"
        _train_to_first_step(repo, work, warm_cache)  # remembers the precision: warm from now
        commands: dict[str, list[str]] = {
            "train (warm)": _train_cmd(work),
            "train (cold)": _train_cmd(work),
            "evaluate": ["evaluate", str(run_dir), "--json"],
            "predict 1 image": ["predict", str(run_dir), str(picture), "--json"],
        }
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        tf_import: list[float] = []
        for round_no in range(args.n):
            tf_import.append(_import_tensorflow())
            for name, argv in commands.items():
                if name.startswith("train"):
                    cache = warm_cache if "warm" in name else work / f"cache-cold-{round_no}"
                    marks = _train_to_first_step(repo, work, cache)
                else:
                    marks = _run(repo, argv, work / "cache-warm")
                samples[name].append(marks)
            print(f"round {round_no + 1}/{args.n} done", flush=True)
    report = _report(samples, tf_import)
    if args.out:
        harness.write_json(
            args.out, {"machine": info, "tf_import": tf_import, "samples": samples, **report}
        )


def _setup(work: Path, repo: Path) -> tuple[Path, Path]:
    """A 1-epoch CNN run and one real test digit as a PNG."""
    import numpy as np
    from PIL import Image

    cmd = [
        *(sys.executable, "-m", "mnistctl", "train", str(harness.SPECS["cnn"])),
        *("--set", "data.dataset=mnist_sample", "--set", "train.epochs=1"),
        *("--runs-dir", str(work / "runs"), "--json"),
    ]
    env = _env(repo, work / "cache-setup")
    result = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    data = harness.parse_json(result.stdout)
    if result.returncode != 0 or "run_dir" not in data:
        sys.exit(f"setup training failed:\n{result.stderr[-2000:]}")
    with np.load(harness.REPO / "mnistctl" / "data" / "mnist_sample.npz") as npz:
        digit = npz["x_test"][0]
    picture = work / "digit.png"
    Image.fromarray(digit).save(picture)
    return Path(data["run_dir"]), picture


def _train_cmd(work: Path) -> list[str]:
    return [
        *("train", str(harness.SPECS["cnn"]), "--set", "data.dataset=mnist_sample"),
        *("--runs-dir", str(work / "runs-startup"), "--json"),
    ]


def _env(repo: Path, cache: Path, phases: Path | None = None) -> dict[str, str]:
    env = harness.child_env()
    env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
    env["MNISTCTL_CACHE_DIR"] = str(cache)
    if phases is not None:
        env["MNISTCTL_PHASES_FILE"] = str(phases)
    return env


def _import_tensorflow() -> float:
    """Seconds from starting ``python -c "import tensorflow"`` to the import's end (not the
    interpreter's teardown after it, 1.3 to 1.5 s here: mnistctl skips that one)."""
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", "import tensorflow, time; print(time.time())"],
        env=harness.child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.split()[-1]) - started


def _run(repo: Path, argv: list[str], cache: Path) -> dict[str, float]:
    """One command to its end: its marks, in seconds since it was started."""
    with _phases_file() as phases:
        started = time.time()
        result = subprocess.run(
            [sys.executable, "-m", "mnistctl", *argv],
            cwd=repo,
            env=_env(repo, cache, phases),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        ended = time.time()
        if result.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-2000:]}")
        return {**_marks(phases, started), "exit": ended - started}


def _train_to_first_step(repo: Path, work: Path, cache: Path) -> dict[str, float]:
    """The quick start until its first training step is done, then Ctrl-C (the run is closed
    as interrupted); its marks up to ``first_step``."""
    with _phases_file() as phases:
        started = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mnistctl", *_train_cmd(work)],
            cwd=repo,
            env=_env(repo, cache, phases),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + TIMEOUT
        while "first_step" not in _marks(phases, started):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                sys.exit(f"train ended before its first step ({proc.returncode}):\n{err[-2000:]}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=TIMEOUT)
        marks = _marks(phases, started)
        return {k: v for k, v in marks.items() if k not in ("done",)}


@contextlib.contextmanager
def _phases_file() -> Iterator[Path]:
    """A fresh file for one process's marks, removed afterwards."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        phases = Path(f.name)
    try:
        yield phases
    finally:
        phases.unlink(missing_ok=True)


def _marks(path: Path, started: float) -> dict[str, float]:
    """Each phase's end in seconds since ``started`` (the main process's marks only)."""
    marks: dict[str, float] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return marks
    pid = None
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line being written
        pid = pid if pid is not None else item["pid"]
        if item["pid"] == pid and item["phase"] not in marks:
            marks[item["phase"]] = item["t"] - started
    return marks


def _report(samples: dict[str, list[dict[str, float]]], tf_import: list[float]) -> dict[str, Any]:
    """Median duration of each phase per command; totals; the goal."""
    tf_median = harness.median(tf_import)
    order: list[str] = []
    for rounds in samples.values():
        for marks in rounds:
            for name in sorted(marks, key=marks.__getitem__):
                if name not in order:
                    order.append(name)
    durations: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    for command, rounds in samples.items():
        per_phase: dict[str, list[float]] = {}
        for marks in rounds:
            previous = 0.0
            for name in sorted(marks, key=marks.__getitem__):
                per_phase.setdefault(name, []).append(marks[name] - previous)
                previous = marks[name]
        durations[command] = {name: harness.median(v) for name, v in per_phase.items()}
        totals[command] = harness.median(max(marks.values()) for marks in rounds)
    commands = list(samples)
    rows: list[list[Any]] = []
    for name in order:
        cells = [f"{durations[c][name]:.2f}" if name in durations[c] else "" for c in commands]
        rows.append([f"{name}: {LABELS.get(name, name)}", *cells])
    rows.append(["total (median of totals)", *(f"{totals[c]:.2f}" for c in commands)])
    rows.append(
        ["beyond TensorFlow's import", *(f"{totals[c] - tf_median:+.2f}" for c in commands)]
    )
    print()
    print(harness.table(["phase (seconds, median)", *commands], rows))
    print(
        f'\npython -c "import tensorflow": {tf_median:.2f} s median '
        f"({', '.join(f'{t:.2f}' for t in tf_import)})"
    )
    goal = tf_median + GOAL_SECONDS
    for command in commands:
        work = durations[command].get(WORK, 0.0)  # evaluate's pass over the test set
        start_up = totals[command] - work
        verdict = "met" if start_up <= goal else "missed"
        what = "first step done" if command.startswith("train") else "exited"
        print(
            f"{command}: {what} at {totals[command]:.2f} s"
            + (f", start-up {start_up:.2f} s without the {work:.2f} s of {WORK}" if work else "")
            + f"; goal <= {goal:.2f} s (TensorFlow's import + {GOAL_SECONDS}): {verdict}"
        )
    return {"durations": durations, "totals": totals, "tf_import_median": tf_median}


if __name__ == "__main__":
    main()
