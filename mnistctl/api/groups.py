"""A group of runs in the Python API: what ``mnistctl.train(spec, seeds=[0, 1, 2])`` returns.

``RunGroup`` is a sequence of ``Run`` (the group's runs on disk, in seed order) with the
group's numbers: ``mean(metric)``, ``sd(metric)`` (sample standard deviation over the completed
runs; metric names as in ``mnistctl runs --json`` rows: ``test_accuracy``,
``best_val_accuracy``, ``test_loss``, ``best_val_loss``) and ``summary`` (the group's JSON, as
``compare --json`` gives it). The training itself is ``commands/seeds.py``'s, as the CLI's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from mnistctl.api.common import _data_path, _keras_policy_kept, _tensorflow
from mnistctl.api.runs import Run, _reporter
from mnistctl.spec import Spec as SpecLanguageSpec

if TYPE_CHECKING:
    from mnistctl.commands.seeds import GroupResult
    from mnistctl.runs.groups import Group


class RunGroup(Sequence[Run]):
    """The runs of one spec trained once per seed: ``group[0]`` is the first seed's ``Run``."""

    def __init__(self, group: Group, training: GroupResult | None = None) -> None:
        self._group = group
        self._runs = [Run(info.run_dir) for info in group.runs]
        self.training = training  # what the training call did (None when opened)

    @property
    def name(self) -> str:
        """``<spec name>-seeds-<UTC stamp of its first run>``, as ``mnistctl runs`` shows it."""
        return self._group.name

    @property
    def seeds(self) -> tuple[int, ...]:
        return self._group.seeds

    def mean(self, metric: str = "test_accuracy") -> float | None:
        """The mean of ``metric`` over the completed runs (None without any)."""
        return self._group.metric(metric).mean

    def sd(self, metric: str = "test_accuracy") -> float | None:
        """The sample standard deviation of ``metric`` over the completed runs (None for
        fewer than two)."""
        return self._group.metric(metric).sd

    @property
    def summary(self) -> dict[str, Any]:
        """``{"group", "n", "runs", "metrics": {NAME: {"mean", "sd", "n"}}, ...}``."""
        return self._group.to_json()

    @overload
    def __getitem__(self, index: int) -> Run: ...
    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...
    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    def __repr__(self) -> str:
        return f"RunGroup({self.name!r}, {len(self)} runs)"


def train_group(
    spec: SpecLanguageSpec | Path, seeds: Sequence[int], data: Any, runs_dir: Path
) -> RunGroup:
    """``train(spec, seeds=...)``: the seeds checked, each spec loaded with its seed, trained
    one after another; Ctrl-C raises ``KeyboardInterrupt`` once the run in flight is kept."""
    from mnistctl.runs.groups import check_seeds
    from mnistctl.spec import load_spec

    chosen = check_seeds(list(seeds), "seeds")
    file = spec.file if isinstance(spec, SpecLanguageSpec) else str(spec)
    overrides = list(spec.overrides) if isinstance(spec, SpecLanguageSpec) else []
    from mnistctl.runs.groups import check_seed_overrides

    check_seed_overrides(overrides)
    path = _data_path(data)
    specs = [load_spec(file, [*overrides, f"train.seed={s}"], check_data=True, data=path)
             for s in chosen]  # fmt: skip
    with _tensorflow(), _keras_policy_kept():
        from mnistctl.commands.seeds import train_seeds

        result = train_seeds(specs, chosen, data=path, runs_dir=runs_dir, reporter=_reporter())
    if result.exit_code:
        last = result.trained[-1][1]
        raise KeyboardInterrupt(
            f"interrupted: seed {result.trained[-1][0]} kept {last.epochs_completed} epoch(s) "
            f"in {last.run_dir}; finish the group with 'mnistctl train --resume "
            f"{last.run_dir}' (or that run alone: mnistctl.resume({str(last.run_dir)!r}))"
        )
    return RunGroup(result.group, result)
