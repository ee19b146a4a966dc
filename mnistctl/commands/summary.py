"""``mnistctl summary``: per-layer output shapes and parameter counts, and the training plan
(steps per epoch, the schedule) when the data's size is known. Never imports TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnistctl.spec import Spec
from mnistctl.spec.model import ModelInfo
from mnistctl.spec.plan import TrainingPlan, plan_for


@dataclass(frozen=True)
class SummaryResult:
    """A spec's layers as ``summary`` shows them; ``to_json`` is the ``summary --json``
    document."""

    name: str
    info: ModelInfo
    plan: TrainingPlan | None  # steps per epoch and the schedule, when the data's size is known

    def to_json(self) -> dict[str, Any]:
        """``{"name", "layers": [{"name", "type", "output_shape", "params"}], "total_params",
        "training"}``."""
        return {
            **self.info.to_json(self.name),
            "training": self.plan.to_json() if self.plan else None,
        }


def summarize(spec: Spec) -> SummaryResult:
    return SummaryResult(spec.name, spec.info, plan_for(spec))
