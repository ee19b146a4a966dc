"""What a study leaves beside its trials: ``best.yaml``, the best trial's spec as a plain spec
(its values applied, no ``search:``) that ``validate`` and ``train`` accept as is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from mnistctl.runs.atomic import write_text
from mnistctl.spec import Spec
from mnistctl.tune.objective import concrete_spec
from mnistctl.tune.trials import TrialRow


def best_row(rows: Sequence[TrialRow], direction: str) -> TrialRow | None:
    """The COMPLETE trial with the best value (the first such on a tie)."""
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(done, key=lambda r: (sign * (r.value or 0.0), r.number))


def write_best_spec(
    base: Spec, best: TrialRow, target: Path, *, study: str, metric: str, data: Path | None
) -> Path:
    """The best trial's resolved spec at ``target``, as a run's spec.yaml records it."""
    spec = concrete_spec(base, best.params)
    resolved = spec.resolved_dict()
    data_path = spec.data_path(data)
    resolved["data"]["path"] = str(Path(data_path).expanduser().resolve()) if data_path else None
    header = (
        f"# The best trial of study {study}: trial {best.number}, {metric} {best.value:.6g}.\n"
        f"# {base.file} with the trial's values applied and no search: section; train it with\n"
        f"#   mnistctl train {target}\n"
    )
    write_text(target, header + yaml.safe_dump(resolved, sort_keys=False))
    return target
