"""Does ``train.precision: auto`` pick the fastest precision on this machine?

For every spec in ``specs/``: ``mnistctl train`` in float32 and in mixed_bfloat16 (and, with
``--fp16``, mixed_float16), a few epochs on the same data, the epoch time read from the
per-epoch lines (median of the epochs after the first, which includes tracing); then what
``auto`` chooses for that spec with a fresh cache (``mnistctl.ml.precision.choose`` in a fresh
process, as ``train`` calls it: it measures), how long deciding took, and whether auto's pick is
within 5 % of the fastest epoch time. Prints the CPU model and the flags that matter first.

    .venv/bin/python bench/precision.py --train-samples 10000 --epochs 3
    .venv/bin/python bench/precision.py --quick        # smoke check: dnn, 2,000 images, 2 epochs
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import (
    REPO,
    default_data,
    machine_info,
    print_machine,
    require_path,
    run_child,
    table,
    temp_dir,
    warm_up,
    write_json,
)

sys.path.insert(0, str(REPO))

EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+: .*\(([\d.]+) s\)$", re.M)
WITHIN = 1.05  # auto's pick is "right" when its epoch time is within 5 % of the fastest


def cpu_description() -> tuple[str, list[str]]:
    """The CPU model name and the flags ``auto``'s cache key uses, from ``lscpu``."""
    from mnistctl.ml.precision import CPU_FLAGS

    model, flags = "unknown", set[str]()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = Path("/proc/cpuinfo").read_text(errors="replace")
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name" or (key.strip() == "model name" and model == "unknown"):
            model = value.strip()
        elif key.strip().lower() == "flags" and not flags:
            flags = set(value.split())
    return model, [f for f in CPU_FLAGS if f in flags]


def decide(spec: Path, cache: Path) -> None:
    """Child mode: what ``auto`` chooses for ``spec`` with the cache in ``cache``; one JSON line."""
    from mnistctl.ml.precision import choose, detect_machine
    from mnistctl.ml.precision_cache import PrecisionCache
    from mnistctl.spec import load_spec

    loaded = load_spec(spec)
    machine = detect_machine()  # imports TensorFlow: not part of deciding
    started = time.monotonic()
    choice = choose("auto", loaded, cache=PrecisionCache(cache), machine=machine)
    seconds = time.monotonic() - started
    print(json.dumps({**choice.__dict__, "seconds": seconds, "machine": machine.key()}))


def epoch_seconds(stderr: str) -> list[float]:
    return [float(m.group(2)) for m in EPOCH_LINE.finditer(stderr)]


def train_epoch_time(spec: Path, precision: str, args: argparse.Namespace, runs: Path) -> float:
    cmd = [
        sys.executable, "-m", "mnistctl", "train", str(spec),
        "--data", str(args.data), "--runs-dir", str(runs), "--json",
        "--set", f"train.epochs={args.epochs}",
        "--set", f"train.precision={precision}",
        "--set", f"data.train_samples={args.train_samples}",
        "--set", "data.validation_split=0",
        "--set", "train.callbacks=[]",  # early stopping would need validation; speed only
    ]  # fmt: skip
    result = run_child(cmd)
    seconds = epoch_seconds(result.stderr_tail)[1:]
    if result.returncode or not seconds:
        print(result.stderr_tail, file=sys.stderr)
        sys.exit(f"failed: {' '.join(cmd)}")
    return statistics.median(seconds)


def auto_choice(spec: Path, runs: Path) -> dict[str, Any]:
    cache = runs / f"cache-{spec.stem}"  # fresh: auto measures
    result = run_child([sys.executable, str(Path(__file__)), "--decide", str(spec), str(cache)])
    if result.returncode or not result.data:
        print(result.stderr_tail, file=sys.stderr)
        sys.exit(f"auto failed for {spec.stem}")
    return result.data


def bench_spec(
    spec: Path, precisions: list[str], args: argparse.Namespace, runs: Path
) -> dict[str, Any]:
    times: dict[str, list[float]] = {p: [] for p in precisions}
    for _ in range(args.rounds):
        for precision in precisions:
            seconds = train_epoch_time(spec, precision, args, runs)
            times[precision].append(seconds)
            print(f"  {spec.stem:18} {precision:15} {seconds:8.2f} s/epoch", flush=True)
    auto = auto_choice(spec, runs)
    print(f"  {spec.stem:18} auto: {auto['policy']} ({auto['reason']})", flush=True)
    epoch = {p: statistics.median(t) for p, t in times.items()}
    fastest = min(epoch.values())
    picked = epoch.get(auto["policy"])
    return {
        "spec": spec.stem,
        "epoch_seconds": epoch,
        "auto": auto,
        "auto_within_5pct": None if picked is None else picked <= fastest * WITHIN,
    }


def row(result: dict[str, Any], precisions: list[str]) -> list[str]:
    epoch, auto, ok = result["epoch_seconds"], result["auto"], result["auto_within_5pct"]
    f32 = epoch["float32"]
    cells = [result["spec"], f"{f32:.2f}"]
    cells += [f"{epoch[p]:.2f} (x{f32 / epoch[p]:.2f})" for p in precisions[1:]]
    verdict = "n/a" if ok is None else ("yes" if ok else "NO")
    return [*cells, auto["policy"], f"{auto['seconds']:.1f}", verdict]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fp16", action="store_true", help="also mixed_float16 (GPUs)")
    parser.add_argument("--specs", default="", help="comma-separated spec names (default all)")
    parser.add_argument("--quick", action="store_true", help="smoke check: numbers meaningless")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--decide", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decide:
        decide(*args.decide)
        return
    if args.quick:
        args.epochs, args.train_samples, args.rounds = 2, 2000, 1
        args.specs = args.specs or "dnn"
    args.data = require_path(args.data or default_data())
    info = machine_info()
    print_machine(info)
    model, flags = cpu_description()
    print(f"lscpu:   {model}; flags that matter: {' '.join(flags) or 'none'}")
    specs = sorted((REPO / "specs").glob("*.yaml"))
    if args.specs:
        specs = [s for s in specs if s.stem in set(args.specs.split(","))]
    precisions = ["float32", "mixed_bfloat16", *(["mixed_float16"] if args.fp16 else [])]
    warm_up()
    with temp_dir("mnistctl-precision-") as runs:
        results = [bench_spec(spec, precisions, args, runs) for spec in specs]
    print()
    headers = ["spec", "float32 s/epoch", *(f"{p} s/epoch" for p in precisions[1:])]
    headers += ["auto picks", "deciding s", "auto within 5%"]
    print(table(headers, [row(r, precisions) for r in results]))
    right = sum(1 for r in results if r["auto_within_5pct"])
    print(f"auto within 5 % of the fastest: {right}/{len(results)} specs")
    if args.out:
        info["lscpu"] = {"model": model, "flags": flags}
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        write_json(args.out, {"machine": info, "args": settings, "results": results})


if __name__ == "__main__":
    main()
