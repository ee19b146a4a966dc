"""What a spec's training will be, before it starts: images and optimizer steps per epoch, and
where its learning-rate schedule goes over the run. ``summary`` shows it (when the data's size
is known without loading it), ``train`` says it and records its warnings. No TensorFlow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mnistctl.spec.schedules import Plan, epoch_steps, plan

if TYPE_CHECKING:
    from mnistctl.spec.loader import Spec


@dataclass(frozen=True)
class TrainingPlan:
    images: int  # training images per epoch (after train_samples and validation_split)
    batch_size: int
    steps_per_epoch: int
    epochs: int
    schedule: Plan | None

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.schedule.warnings if self.schedule else ()

    def lines(self) -> list[str]:
        out = [
            f"{self.steps_per_epoch:,} optimizer steps per epoch ({self.images:,} images, batch "
            f"{self.batch_size}); {self.epochs} epochs = {self.total_steps:,} steps"
        ]
        if self.schedule is not None:
            out.append(self.schedule.describe())
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "images_per_epoch": self.images,
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "total_steps": self.total_steps,
            "warnings": list(self.warnings),
        }
        if self.schedule is not None:
            s = self.schedule
            out["learning_rate"] = {"first": s.start, "last": s.end, "constant_from": s.settles}
        return out


def training_plan(spec: Spec, images: int) -> TrainingPlan:
    """The plan for ``spec`` on a data set of ``images`` training images."""
    n, steps = epoch_steps(
        images,
        train_samples=spec.data.train_samples,
        validation_split=spec.data.validation_split,
        batch_size=spec.train.batch_size,
    )
    schedule = spec.compile.optimizer_args.get("learning_rate")
    sched_plan = None
    if isinstance(schedule, Mapping):
        sched_plan = plan(schedule, steps, spec.train.epochs)
    return TrainingPlan(n, spec.train.batch_size, steps, spec.train.epochs, sched_plan)


def plan_for(spec: Spec) -> TrainingPlan | None:
    """The plan on the spec's own data, when its size is known without loading it (the
    built-in data sets, a local file's header); None otherwise."""
    from mnistctl.data.sizes import train_size

    images = train_size(spec.data.dataset, spec.data_path(), spec.data.test_split)
    return training_plan(spec, images) if images else None
