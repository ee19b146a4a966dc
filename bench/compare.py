"""mnistctl against the hand-written Keras scripts: wall time, training speed, memory, accuracy.

For each model and each pair, runs in turn (same data, epochs, batch size, seed; no validation
split): the hand-written script in float32, ``mnistctl train`` with ``train.precision=float32``,
``mnistctl train`` with ``train.precision=auto``. Each run is a fresh process, measured from
outside (wall time, the child's own peak RSS) and by its own report (training seconds, test
accuracy). Prints medians and, per pair, the ratios mnistctl / script.

    .venv/bin/python bench/compare.py --epochs 2 --pairs 3
    .venv/bin/python bench/compare.py --data ../shared/data/mnist-5k-10k.npz --models dnn
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness

# mode -> (trainer, precision); "script" is the hand-written notebook code
MODES: dict[str, tuple[str, str]] = {
    "script": ("script", "float32"),
    "f32": ("mnistctl", "float32"),
    "auto": ("mnistctl", "auto"),
    "script-bf16": ("script", "mixed_bfloat16"),
}
LABELS = {
    "script": "hand-written, float32",
    "f32": "mnistctl, float32",
    "auto": "mnistctl, auto",
    "script-bf16": "hand-written, mixed_bfloat16",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a .npz or a folder of IDX files (default: Debian's Fashion-MNIST if installed, "
        "else ../shared/data/mnist-5k-10k.npz)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=3, help="rounds of all modes, alternated")
    parser.add_argument("--models", default="dnn,cnn", help="comma-separated: dnn,cnn")
    parser.add_argument(
        "--modes",
        default="script,f32,auto",
        help="comma-separated, run in this order in each pair: " + ",".join(MODES),
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=None, help="first N training samples")
    parser.add_argument("--out", type=Path, default=None, help="also write raw results as JSON")
    args = parser.parse_args(argv)
    args.models = _choices(parser, "--models", args.models, harness.MODELS)
    args.modes = _choices(parser, "--modes", args.modes, tuple(MODES))
    if args.epochs < 1 or args.pairs < 1:
        parser.error("--epochs and --pairs must be at least 1")
    return args


def _choices(
    parser: argparse.ArgumentParser, flag: str, value: str, allowed: Sequence[str]
) -> list[str]:
    picked = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in picked if v not in allowed]
    if bad or not picked:
        parser.error(f"{flag}: expected some of {','.join(allowed)}, got {value!r}")
    return picked


def run_one(
    model: str, mode: str, data: Path, runs_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    trainer, precision = MODES[mode]
    common = {
        "epochs": args.epochs,
        "precision": precision,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "train_samples": args.train_samples,
    }
    if trainer == "script":
        cmd = harness.script_cmd(model, data, **common)
    else:
        cmd = harness.mnistctl_cmd(model, data, runs_dir, **common)
    result, record = harness.measure(cmd, trainer, args.epochs)
    record.update(
        model=model,
        mode=mode,
        trainer=trainer,
        wall_seconds=round(result.wall_seconds, 3),
        peak_rss_mb=round(result.peak_rss_mb, 1),
        samples_per_second=record["samples"] * args.epochs / record["train_seconds"],
    )
    return record


def summarize(records: list[dict[str, Any]], models: list[str], modes: list[str]) -> list[Any]:
    rows = []
    for model in models:
        for mode in modes:
            rs = [r for r in records if r["model"] == model and r["mode"] == mode]
            if not rs:
                continue
            wall = harness.median(r["wall_seconds"] for r in rs)
            train = harness.median(r["train_seconds"] for r in rs)
            accs = [r["test_accuracy"] for r in rs]
            rows.append(
                [
                    model,
                    LABELS[mode],
                    rs[0]["precision"] or "-",
                    len(rs),
                    f"{wall:.1f}",
                    f"{train:.1f}",
                    f"{wall - train:.1f}",
                    f"{harness.median(r['samples_per_second'] for r in rs):,.0f}",
                    f"{harness.median(r['peak_rss_mb'] for r in rs):,.0f}",
                    f"{harness.median(accs):.4f}"
                    + (f" ({min(accs):.4f}-{max(accs):.4f})" if len(accs) > 1 else ""),
                ]
            )
    return rows


def pair_ratios(
    records: list[dict[str, Any]], model: str, mode: str, base: str, key: str
) -> list[float]:
    """Per pair: ``mode``'s ``key`` over ``base``'s (records come in pair order)."""
    a = [r[key] for r in records if r["model"] == model and r["mode"] == mode]
    b = [r[key] for r in records if r["model"] == model and r["mode"] == base]
    return [x / y for x, y in zip(a, b, strict=False) if y]


def ratio_lines(records: list[dict[str, Any]], model: str, modes: list[str]) -> list[str]:
    lines: list[str] = []

    def med(mode: str, base: str, key: str) -> float:
        return harness.median(pair_ratios(records, model, mode, base, key))

    if "script" not in modes:
        return lines
    for mode in ("f32", "auto", "script-bf16"):
        if mode not in modes:
            continue
        wall = med(mode, "script", "wall_seconds")
        sps = med(mode, "script", "samples_per_second")
        rss = med(mode, "script", "peak_rss_mb")
        lines.append(
            f"  {LABELS[mode]:<30} / hand-written float32: wall time x{wall:.2f}, "
            f"training samples/s x{sps:.2f}, peak RSS x{rss:.2f}"
        )
    if "auto" in modes:
        sps = med("auto", "script", "samples_per_second")
        wall = 1 / med("auto", "script", "wall_seconds")
        lines.append(
            f"  speed-up of mnistctl auto over hand-written float32: training x{sps:.2f}, "
            f"whole process x{wall:.2f}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data = harness.require_path(args.data) if args.data else harness.default_data()
    info = harness.machine_info()
    harness.print_machine(info)
    print(
        f"data:    {data}\nsettings: epochs {args.epochs}, batch {args.batch_size}, seed "
        f"{args.seed}, train samples {args.train_samples or 'all'}, validation split 0, "
        f"{args.pairs} pair(s) of {'/'.join(args.modes)}"
    )
    sys.stdout.flush()
    harness.warm_up()
    records: list[dict[str, Any]] = []
    with harness.temp_dir("mnistctl-bench-") as runs_dir:
        for model in args.models:
            for pair in range(args.pairs):
                for mode in args.modes:
                    r = run_one(model, mode, data, runs_dir, args)
                    r["pair"] = pair
                    records.append(r)
                    print(
                        f"  {model} pair {pair + 1}/{args.pairs} {mode:<11} wall "
                        f"{r['wall_seconds']:6.1f} s  train {r['train_seconds']:6.1f} s  "
                        f"{r['samples_per_second']:8.0f} samples/s  RSS "
                        f"{r['peak_rss_mb']:6.0f} MB  acc {r['test_accuracy']:.4f}",
                        file=sys.stderr,
                        flush=True,
                    )
    print()
    headers = [
        "model",
        "trainer",
        "precision",
        "runs",
        "wall s",
        "train s",
        "other s",
        "train samples/s",
        "peak RSS MB",
        "test acc (min-max)",
    ]
    print(harness.table(headers, summarize(records, args.models, args.modes), left=3))
    print("\nmedians over runs; 'other s' = wall - train: start-up, data, build, test, saving")
    print("ratios: median over pairs of (mnistctl run / the script run of the same pair)")
    for model in args.models:
        lines = ratio_lines(records, model, args.modes)
        if lines:
            print(f"{model}:")
            print("\n".join(lines))
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        settings = {
            "data": str(data),
            "epochs": args.epochs,
            "pairs": args.pairs,
            "models": args.models,
            "modes": args.modes,
            "batch_size": args.batch_size,
            "seed": args.seed,
            "train_samples": args.train_samples,
            "validation_split": 0,
        }
        harness.write_json(args.out, {"machine": info, "settings": settings, "runs": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
