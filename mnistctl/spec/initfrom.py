"""``model.init_from``: the run whose weights start a model (fine-tuning), as the spec says it.

Plain data: the run is only named here (a path, made absolute against the spec file's folder, as
``data.path`` is); ``ml/finetune.py`` opens and checks it when a run is trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistctl.errors import Location

CHECKPOINTS = ("best", "last")


@dataclass(frozen=True)
class InitFrom:
    """``init_from: RUN`` or ``{run: RUN, checkpoint: best|last}``, resolved."""

    run: str  # absolute: a run directory, or a spec file meaning its latest run
    checkpoint: str | None  # best | last; None: the model the run ends with
    where: Location = field(
        default_factory=Location
    )  # model.init_from in the spec: where errors about it point

    def to_spec(self) -> str | dict[str, Any]:
        """As a resolved spec records it: the same form, with the absolute path."""
        if self.checkpoint is None:
            return self.run
        return {"run": self.run, "checkpoint": self.checkpoint}


def init_from(value: Any, spec_file: str | Path, where: Location) -> InitFrom | None:
    """The (schema-checked) ``model.init_from`` value, its path relative to ``spec_file``'s
    folder made absolute; None when the spec has none."""
    if value is None:
        return None
    run, checkpoint = (
        (value, None) if isinstance(value, str) else (value["run"], value.get("checkpoint"))
    )
    path = Path(str(run)).expanduser()
    if not path.is_absolute():
        path = Path(spec_file).parent / path
    return InitFrom(str(path.resolve()), checkpoint, where)
