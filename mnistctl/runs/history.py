"""A run's history: one row per finished epoch, kept as ``history.csv``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_text
from mnistctl.spec.options import lower_is_better

History = list[dict[str, float]]


def write_history(target: Path, rows: Sequence[Mapping[str, float]]) -> None:
    keys: list[str] = ["epoch"]
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    out.writeheader()
    for row in rows:
        out.writerow({k: row.get(k, "") for k in keys})
    write_text(target, buf.getvalue())


def read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [
                {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
                for row in csv.DictReader(fh)
            ]
    except (ValueError, OSError, csv.Error) as exc:
        raise UserError(
            "damaged history file",
            Location(str(path)),
            expected="a CSV of epochs and metrics",
            received=str(exc),
        ) from None


def history_columns(rows: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """Rows (one per epoch) -> Keras-style history {metric: [per epoch]}."""
    out: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            if k != "epoch":
                out.setdefault(k, []).append(float(v))
    return out


def best_of(history: History) -> dict[str, dict[str, float | int]]:
    """Per metric of ``history`` (rows of finished epochs): its best finite value and the epoch
    (1-based) that reached it first; max for accuracy-like metrics, min for loss-like ones."""
    best: dict[str, dict[str, float | int]] = {}
    for index, row in enumerate(history):
        epoch = row.get("epoch", index + 1)
        for metric, value in row.items():
            if metric == "epoch" or not _finite(value):
                continue
            seen = best.get(metric)
            lower = lower_is_better(metric)
            if seen is None or (value < seen["value"] if lower else value > seen["value"]):
                best[metric] = {"value": float(value), "epoch": int(epoch)}
    return best


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
