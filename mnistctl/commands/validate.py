"""``mnistctl validate``: every check short of TensorFlow, for each spec given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mnistctl.errors import UserError, UserErrors, visible
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


@dataclass(frozen=True)
class ResolvedSpec:
    """``validate SPEC --resolved``: the spec with its ``extends``, ``set``, ``edit`` and the
    command line's ``--set`` applied, as a plain spec (``Spec.plain_dict``)."""

    file: Path
    spec: dict[str, Any]
    overrides: tuple[str, ...]
    result: ValidateResult

    def to_json(self) -> dict[str, Any]:
        return self.spec

    def to_yaml(self) -> str:
        """YAML a spec file could hold: a comment saying where it comes from, then the spec,
        one layer a line as the example specs write them."""
        header = f"# {visible(str(self.file))} resolved: a plain spec (no extends, set or edit)\n"
        if self.overrides:
            header += "# Overrides: " + " ".join(f"--set {visible(o)}" for o in self.overrides)
            header += "\n"
        spec = dict(self.spec)
        model = spec.get("model")
        if isinstance(model, dict) and isinstance(model.get("layers"), list):
            layers = [_Flow(x) if isinstance(x, dict) else x for x in model["layers"]]
            spec["model"] = {**model, "layers": layers}
        text = yaml.dump(
            spec,
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        return header + text


class _Flow(dict[str, Any]):
    """A mapping written on one line: ``{type: Dense, name: hidden_1, units: 128}``."""


class _Dumper(yaml.SafeDumper):
    pass


def _flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    """Long text (a description) folded over lines, as the example specs write it."""
    style = ">" if len(data) > 80 and data.isprintable() and data == data.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    """A list of plain values on one line: ``[28, 28, 1]``."""
    flat = not any(isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(str, _text)


def resolve_spec(path: Path, overrides: Sequence[str], *, data: Path | None = None) -> ResolvedSpec:
    """``path`` checked as ``validate`` checks it (raises UserErrors), and resolved."""
    spec = load_spec(path, overrides, check_data=True, data=data)
    result = ValidateResult(path, spec.name, len(spec.info.layers), spec.info.total)
    return ResolvedSpec(path, spec.plain_dict(), tuple(overrides), result)
