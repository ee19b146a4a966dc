"""Per-class F1 of a run for ``compare``: from its saved evaluation.json, else from its
test_predictions.npz (both without loading a model), else by evaluating it now (and saving the
evaluation for the next time)."""

from __future__ import annotations

import math
from pathlib import Path

from mnistctl.errors import UserError
from mnistctl.runs import layout
from mnistctl.runs.atomic import read_json
from mnistctl.runs.catalog import RunInfo
from mnistctl.runs.record import RunRecord
from mnistctl.runs.scores import per_class
from mnistctl.runs.testset import read_test_predictions


def per_class_f1(
    info: RunInfo, label: str, n: int, data: Path | None, warnings: list[str]
) -> tuple[tuple[float, ...] | None, str | None]:
    """From the run's evaluation.json or test_predictions.npz (no model loaded); else the run
    is evaluated now and the file saved."""
    saved = _saved_f1(info.run_dir / layout.EVALUATION, n) or _predicted_f1(info.run_dir, n)
    if saved is not None:
        return saved, None
    if not (info.run_dir / layout.MODEL).is_file():
        return None, f"not evaluated: no model.keras ({info.shown_status})"
    from mnistctl.commands.evaluate import evaluate_run, save_evaluation

    result = evaluate_run(info.run_dir, data=data, runs_dir=None)
    try:
        save_evaluation(result)
    except UserError as err:
        warnings.append(f"{label}: the evaluation was not saved: {err.one_line()}")
    rows = sorted(result.per_class, key=lambda row: int(row["label"]))
    return tuple(float(row["f1"]) for row in rows), None


def _predicted_f1(run_dir: Path, n: int) -> tuple[float, ...] | None:
    """Per-class F1 from the run's checked test_predictions.npz of ``n`` classes; None
    otherwise (an older run has none; a damaged one is evaluated again)."""
    try:
        found = read_test_predictions(run_dir, RunRecord.load(run_dir))
    except (FileNotFoundError, UserError):
        return None
    if found.classes != n:
        return None
    return tuple(float(row["f1"]) for row in per_class(found.confusion(), [""] * n))


def _saved_f1(path: Path, n: int) -> tuple[float, ...] | None:
    """Per-class F1 of a readable evaluation.json with ``n`` classes; None otherwise."""
    if not path.is_file():
        return None
    try:
        saved = read_json(path)
    except UserError:
        return None
    rows = saved.get("per_class") if isinstance(saved, dict) else None
    if not isinstance(rows, list) or len(rows) != n:
        return None
    by_label: dict[int, float] = {}
    for row in rows:
        label, f1 = (row.get("label"), row.get("f1")) if isinstance(row, dict) else (None, None)
        if not isinstance(label, int) or not isinstance(f1, int | float) or isinstance(f1, bool):
            return None
        by_label[label] = float(f1)
    if sorted(by_label) != list(range(n)) or not all(map(math.isfinite, by_label.values())):
        return None
    return tuple(by_label[i] for i in range(n))
