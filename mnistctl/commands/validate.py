"""``mnistctl validate``: every check short of TensorFlow, for each spec given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.errors import UserError, UserErrors
from mnistctl.spec import load_spec


@dataclass(frozen=True)
class ValidateResult:
    file: Path
    name: str | None = None
    layers: int = 0
    total_params: int = 0
    errors: UserErrors | None = None

    @property
    def valid(self) -> bool:
        return self.errors is None

    def message(self) -> str:
        return (
            f"{self.file}: ok ({self.name}: {self.layers} layers, {self.total_params:,} parameters)"
        )

    def to_json(self) -> dict[str, Any]:
        if self.errors is not None:
            return {
                "file": str(self.file),
                "valid": False,
                "errors": [e.one_line() for e in self.errors.errors],
            }
        return {
            "file": str(self.file),
            "valid": True,
            "name": self.name,
            "total_params": self.total_params,
        }


def validate_specs(
    paths: Sequence[Path], overrides: Sequence[str], *, data: Path | None = None
) -> list[ValidateResult]:
    """Each spec checked, its fit to local data too (``data``: --data, else its data.path):
    the classes counted and headers read from the files, never a picture decoded."""
    results = []
    for path in paths:
        try:
            spec = load_spec(path, overrides, check_data=True, data=data)
        except (UserError, UserErrors) as err:
            errors = err if isinstance(err, UserErrors) else UserErrors([err])
            results.append(ValidateResult(path, errors=errors))
            continue
        results.append(ValidateResult(path, spec.name, len(spec.info.layers), spec.info.total))
    return results
