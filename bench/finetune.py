"""Fine-tuning's worth: a CNN trained on MNIST, fine-tuned on a small new task, against the same
model trained from scratch on it.

1. ``specs/cnn.yaml`` trained on the bundled MNIST sample (``mnist_sample``: 5,000 digits,
   ``--source-epochs``, float32): the source run.
2. The new task: ``--per-class`` (150) Fashion-MNIST training pictures of each of its 10
   classes (the first ones of Debian's ``dataset-fashion-mnist``), tested on its first
   ``--test`` (2,000) test pictures, written as a small ``.npz``.
3. On it, the same CNN, ``--epochs`` each, no validation split, seeds ``--seeds``:
   ``scratch`` (Keras's initialisation), ``all`` (every layer from the MNIST run: the softmax
   over digits becomes a start for the 10 garments), ``convs`` (the two convolutions from the
   MNIST run, the dense layers renamed so they start fresh) and ``frozen`` (as ``convs``, the
   convolutions ``trainable: false``).

Every training is a ``mnistctl train --json`` process (``harness.run_child``); the table gives
test accuracy per seed, the mean and the training seconds.

    .venv/bin/python bench/finetune.py --seeds 0 1 2 --out bench/out/finetune.json
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness
import numpy as np
import yaml

VARIANTS = ("scratch", "all", "convs", "frozen")
CONVS = ("Conv1", "Conv2")
HEAD = {"hidden_1": "new_hidden_1", "hidden_2": "new_hidden_2"}  # renamed: they start fresh


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8, help="on the new task")
    parser.add_argument("--batch-size", type=int, default=32, help="on the new task")
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--keep", action="store_true", help="keep the runs (path printed)")
    parser.add_argument("--out", type=Path, default=None, help="also write raw results as JSON")
    return parser.parse_args(argv)


# --- data ------------------------------------------------------------------------------------


def _idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as a numpy array."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read(folder: Path, stem: str) -> np.ndarray:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return _idx(folder / name)
    sys.exit(f"no {stem}[.gz] in {folder}")


def small_task(out: Path, per_class: int, n_test: int) -> dict[str, Any]:
    """The first ``per_class`` Fashion-MNIST training pictures of each class, in the data's
    order, and its first ``n_test`` test pictures, as ``out`` (.npz)."""
    folder = harness.fashion_mnist_dir()
    if folder is None:
        sys.exit("no Fashion-MNIST: apt-get install dataset-fashion-mnist")
    x, y = _read(folder, harness.IDX_TRAIN[0]), _read(folder, harness.IDX_TRAIN[1])
    keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)]))
    x_test, y_test = _read(folder, harness.IDX_TEST[0]), _read(folder, harness.IDX_TEST[1])
    np.savez(out, x_train=x[keep], y_train=y[keep], x_test=x_test[:n_test], y_test=y_test[:n_test])
    return {"source": str(folder), "train": len(keep), "test": min(n_test, len(x_test))}


# --- specs -----------------------------------------------------------------------------------


def target_spec(variant: str, source_run: Path, data: Path, args: argparse.Namespace) -> str:
    """specs/cnn.yaml made for the new task, as ``variant`` starts it."""
    spec = yaml.safe_load(harness.SPECS["cnn"].read_text(encoding="utf-8"))
    spec["name"] = f"fashion_{variant}"
    spec["data"] = {"dataset": "mnist", "path": str(data), "validation_split": 0.0}
    spec["train"].update(epochs=args.epochs, batch_size=args.batch_size, precision="float32")
    layers = spec["model"]["layers"]
    if variant != "scratch":
        spec["model"]["init_from"] = {"run": str(source_run), "checkpoint": "last"}
    if variant in ("convs", "frozen"):
        for layer in layers:
            if layer.get("name") in HEAD:
                layer["name"] = HEAD[layer["name"]]
    if variant == "frozen":
        for layer in layers:
            if layer.get("name") in CONVS:
                layer["trainable"] = False
    return yaml.safe_dump(spec, sort_keys=False)


def train(spec: Path, runs: Path, *sets: str) -> tuple[harness.ChildResult, str]:
    cmd = [sys.executable, "-m", "mnistctl", "train", str(spec), "--runs-dir", str(runs)]
    for item in sets:
        cmd += ["--set", item]
    result = harness.run_child([*cmd, "--json"])
    if not result.ok():
        harness.fail(result)
    init = next((x for x in result.stderr_tail.splitlines() if x.startswith("init_from ")), "")
    return result, init


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = harness.machine_info()
    harness.print_machine(info)
    harness.warm_up()
    with harness.temp_dir("mnistctl-finetune-", keep=args.keep) as work:
        if args.keep:
            print(f"work folder: {work}")
        data = work / "fashion-small.npz"
        task = small_task(data, args.per_class, args.test)
        print(f"new task: {task['train']} Fashion-MNIST pictures, {task['test']} test pictures")
        src, _ = train(
            harness.SPECS["cnn"],
            work / "runs",
            "data.dataset=mnist_sample",
            f"train.epochs={args.source_epochs}",
            "train.precision=float32",
        )
        source_run = Path(src.data["run_dir"])
        source_acc = src.data["test"]["accuracy"]
        print(
            f"source: specs/cnn.yaml on mnist_sample, {args.source_epochs} epochs: "
            f"MNIST test accuracy {source_acc:.4f} ({src.data['train_seconds']:.0f} s)"
        )
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
        for seed in args.seeds:
            for variant in args.variants:
                spec = work / f"{variant}.yaml"
                spec.write_text(target_spec(variant, source_run, data, args), encoding="utf-8")
                res, init = train(spec, work / "runs", f"train.seed={seed}")
                acc = res.data["test"]["accuracy"]
                results[variant].append(
                    {
                        "seed": seed,
                        "test_accuracy": acc,
                        "train_seconds": res.data["train_seconds"],
                        "init_from": res.data.get("init_from"),
                    }
                )
                print(
                    f"  seed {seed} {variant:8s} test accuracy {acc:.4f}"
                    + (f"   [{init[:150]}...]" if init and seed == args.seeds[0] else "")
                )
    rows = []
    for variant, runs in results.items():
        accs = [r["test_accuracy"] for r in runs]
        rows.append(
            [
                variant,
                *(f"{a:.4f}" for a in accs),
                f"{statistics.mean(accs):.4f}",
                f"{statistics.mean(r['train_seconds'] for r in runs):.1f}",
            ]
        )
    print()
    print(harness.table(["start", *(f"seed {s}" for s in args.seeds), "mean", "train s"], rows))
    if args.out:
        harness.write_json(
            args.out,
            {
                "machine": info,
                "task": task,
                "source_test_accuracy": source_acc,
                "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "results": results,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
