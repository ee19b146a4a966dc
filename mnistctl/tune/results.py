"""What a study leaves beside its trials: ``best.yaml``, the best trial's spec as a plain spec
(its values applied, no ``search:``) that ``validate`` and ``train`` accept as is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_text
from mnistctl.runs.outputs import check_output, header_kind, json_kind, png_kind
from mnistctl.spec import Spec
from mnistctl.tune.names import StudyPaths
from mnistctl.tune.objective import concrete_spec
from mnistctl.tune.trials import TrialRow


def best_row(rows: Sequence[TrialRow], direction: str) -> TrialRow | None:
    """The COMPLETE trial with the best value (the first such on a tie)."""
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(done, key=lambda r: (sign * (r.value or 0.0), r.number))


BEST_HEADER = "# The best trial of study "
RESULT_KEYS = frozenset({"study", "storage", "trials", "best"})  # what study.json holds


def check_study_files(paths: StudyPaths) -> None:
    """Before any trial: tune may write its own files (best.yaml, study.json, plots/*.png)
    where the study's folder says (``runs/outputs.py``'s rule), or the study is refused in one
    line now, not after its trials."""
    from mnistctl.tune.plots import PLOTS

    hint = "give the study another name (--study NEW) or another --runs-dir"
    check_output(paths.best_spec, header_kind("tune", BEST_HEADER, hint))
    check_output(paths.result, json_kind("tune", RESULT_KEYS, hint))
    for name in PLOTS:
        check_output(paths.plots / f"{name}.png", png_kind("tune", hint))


def write_best_spec(
    base: Spec, best: TrialRow, target: Path, *, study: str, metric: str, data: Path | None
) -> Path:
    """The best trial's resolved spec at ``target``, as a run's spec.yaml records it."""
    spec = concrete_spec(base, best.params)
    resolved = spec.resolved_dict()
    data_path = spec.data_path(data)
    resolved["data"]["path"] = str(Path(data_path).expanduser().resolve()) if data_path else None
    header = (
        f"{BEST_HEADER}{study}: trial {best.number}, {metric} {best.value:.6g}.\n"
        f"# {base.file} with the trial's values applied and no search: section; train it with\n"
        f"#   mnistctl train {target}\n"
    )
    write_text(target, header + yaml.safe_dump(resolved, sort_keys=False))
    return target


def every_trial_failed(
    rows: Sequence[TrialRow], study: str, metric: str, folder: Path
) -> UserError | None:
    """The error when the study has trials and every one of them failed (none complete,
    pruned, running or queued): ``tune`` then exits 1 with the reasons, each once."""
    if not rows or any(r.state != "FAIL" for r in rows):
        return None
    by_reason: dict[str, list[int]] = {}
    for row in rows:
        by_reason.setdefault(row.reason or "no reason recorded", []).append(row.number)
    parts = []
    for reason, numbers in by_reason.items():
        shown = ", ".join(str(n) for n in numbers[:5]) + (", ..." if len(numbers) > 5 else "")
        parts.append(f"trial{'s' if len(numbers) > 1 else ''} {shown}: {reason}")
    return UserError(
        f"every trial of study {study} failed ({len(rows)} of {len(rows)})",
        Location(str(folder)),
        expected=f"at least one trial that reports {metric}",
        received="; ".join(parts)[:600],
        hint=f"the trials' runs: mnistctl runs {folder}; fix the spec or its search space, "
        "then run again with a new --study",
    )
