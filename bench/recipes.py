"""How accurate are the recipes, and how long do they take to train here?

For each recipe (``specs/mnist_best.yaml`` on the bundled ``mnist_sample``;
``specs/fashion_best.yaml`` on the full Fashion-MNIST from Debian's
``dataset-fashion-mnist``), ``mnistctl train --json`` with three seeds, one after the other;
prints each run (test accuracy, training minutes as the run records them, epochs run) and a
table of mean, min and max test accuracy and minutes, with the machine first (timings are only
meaningful on an otherwise idle machine).

    .venv/bin/python bench/recipes.py                       # both recipes, seeds 0 1 2
    .venv/bin/python bench/recipes.py --recipe mnist_best --seeds 0
    .venv/bin/python bench/recipes.py --quick               # smoke check: 1 epoch, 1 seed
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from harness import (
    REPO,
    fashion_mnist_dir,
    machine_info,
    print_machine,
    run_child,
    table,
    temp_dir,
    write_json,
)

RECIPES = {
    "mnist_best": {"goal": 0.990, "least": 0.985, "minutes": 10, "data": None},
    "fashion_best": {"goal": 0.935, "least": 0.925, "minutes": 20, "data": "fashion"},
}


def train_once(recipe: str, seed: int, runs: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "mnistctl", "train", str(REPO / "specs" / f"{recipe}.yaml"),
        "--set", f"train.seed={seed}", "--runs-dir", str(runs), "--json", *extra,
    ]  # fmt: skip
    if RECIPES[recipe]["data"] == "fashion":
        folder = fashion_mnist_dir()
        if folder is None:
            raise SystemExit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist")
        cmd += ["--data", str(folder)]
    result = run_child(cmd)
    if not result.ok():
        raise SystemExit(f"{recipe} seed {seed} failed:\n{result.stderr_tail}")
    doc = result.data
    return {
        "recipe": recipe,
        "seed": seed,
        "test_accuracy": doc["test"]["accuracy"],
        "train_minutes": doc["train_seconds"] / 60,
        "wall_minutes": result.wall_seconds / 60,
        "epochs_run": doc["epochs_run"],
        "stopped_early": doc.get("stopped_early"),
        "precision": doc["precision"],
    }


def summarize(recipe: str, rows: list[dict[str, Any]]) -> list[Any]:
    acc = [r["test_accuracy"] for r in rows]
    minutes = [r["train_minutes"] for r in rows]
    goal = RECIPES[recipe]
    return [
        recipe,
        len(rows),
        f"{statistics.mean(acc):.4f}",
        f"{min(acc):.4f}",
        f"{max(acc):.4f}",
        f"{statistics.mean(minutes):.1f}",
        f"{max(minutes):.1f}",
        f">= {goal['goal']} (least {goal['least']}), <= {goal['minutes']} min",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=list(RECIPES), action="append")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="1 epoch, seed 0: a smoke check")
    parser.add_argument("--out", type=Path, help="write every run's numbers here as JSON")
    args = parser.parse_args()
    recipes = args.recipe or list(RECIPES)
    seeds = [0] if args.quick else args.seeds
    extra = ["--set", "train.epochs=1"] if args.quick else []
    info = machine_info()
    print_machine(info)
    rows: list[dict[str, Any]] = []
    with temp_dir("mnistctl-recipes-") as tmp:
        for recipe in recipes:
            for seed in seeds:
                row = train_once(recipe, seed, Path(tmp) / "runs", extra)
                rows.append(row)
                print(
                    f"{recipe} seed {seed}: test accuracy {row['test_accuracy']:.4f}, "
                    f"{row['train_minutes']:.1f} min training ({row['wall_minutes']:.1f} min "
                    f"in all), {row['epochs_run']} epochs",
                    flush=True,
                )
    print()
    headers = ["recipe", "seeds", "mean", "min", "max", "min/run", "max min", "goal"]
    print(table(headers, [summarize(r, [x for x in rows if x["recipe"] == r]) for r in recipes]))
    if args.out:
        write_json(args.out, {"machine": info, "runs": rows})


if __name__ == "__main__":
    main()
