"""Which models does reduced precision speed up on this machine?

For every spec in ``specs/``: ``mnistctl train`` in float32 and in mixed_bfloat16 (and, with
``--fp16``, mixed_float16), a few epochs on the same data; the speed of the epochs after the
first (which includes tracing) read from the per-epoch lines, and the model's multiply-adds per
sample. This is the measurement behind ``MIN_MACS_FOR_BF16`` in ``mnistctl/precision.py``.

    .venv/bin/python bench/precision.py --train-samples 10000 --epochs 3
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

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

EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+: .*\(([\d.]+) s\)$", re.M)


def macs_of(spec: Path) -> int:
    sys.path.insert(0, str(REPO))
    from mnistctl.spec import load_spec

    return load_spec(spec).model_info.macs


def epoch_seconds(stderr: str) -> list[float]:
    return [float(m.group(2)) for m in EPOCH_LINE.finditer(stderr)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fp16", action="store_true", help="also mixed_float16")
    parser.add_argument("--specs", default="", help="comma-separated spec names (default all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    data = require_path(args.data or default_data())
    info = machine_info()
    print_machine(info)
    specs = sorted((REPO / "specs").glob("*.yaml"))
    if args.specs:
        wanted = set(args.specs.split(","))
        specs = [s for s in specs if s.stem in wanted]
    precisions = ["float32", "mixed_bfloat16", *(["mixed_float16"] if args.fp16 else [])]
    warm_up()
    rows, raw = [], []
    with temp_dir("mnistctl-precision-") as runs:
        for spec in specs:
            speed: dict[str, list[float]] = {p: [] for p in precisions}
            for _ in range(args.rounds):
                for precision in precisions:
                    cmd = [
                        sys.executable, "-m", "mnistctl", "train", str(spec),
                        "--data", str(data), "--runs-dir", str(runs), "--json",
                        "--set", f"train.epochs={args.epochs}",
                        "--set", f"train.precision={precision}",
                        "--set", f"data.train_samples={args.train_samples}",
                        "--set", "data.validation_split=0",
                    ]  # fmt: skip
                    result = run_child(cmd)
                    seconds = epoch_seconds(result.stderr_tail)[1:]
                    if result.returncode or not seconds:
                        print(result.stderr_tail, file=sys.stderr)
                        sys.exit(f"failed: {' '.join(cmd)}")
                    rate = args.train_samples / statistics.median(seconds)
                    speed[precision].append(rate)
                    raw.append(
                        {
                            "spec": spec.stem,
                            "precision": precision,
                            "samples_per_s": rate,
                            "test": result.data.get("test", {}),
                        }
                    )
                    print(f"  {spec.stem:18} {precision:15} {rate:10,.0f} samples/s", flush=True)
            macs = macs_of(spec)
            f32 = statistics.median(speed["float32"])
            row = [spec.stem, f"{macs / 1e6:.2f}M", f"{f32:,.0f}"]
            for precision in precisions[1:]:
                row.append(f"x{statistics.median(speed[precision]) / f32:.2f}")
            rows.append(row)
    print()
    headers = ["spec", "MACs/sample", "float32 samples/s", *(f"{p} vs f32" for p in precisions[1:])]
    print(table(headers, rows))
    if args.out:
        write_json(args.out, {"machine": info, "results": raw})


if __name__ == "__main__":
    main()
