"""``mnistctl train SPEC --seeds 0 1 2``: one spec trained once per seed, one run after another,
as a group (``runs/groups.py``); and ``train --resume RUN`` on a run of a group.

Each run is an ordinary run (``commands/train.py``) with ``train.seed`` set to its seed, whose
record names the group: ``<spec name>-seeds-<UTC stamp of the first run>``, the seeds, its
seed. Everything is checked before the first run starts: the seeds (whole numbers >= 0, each
once), that no ``--set train.seed=`` fights them, and the spec with each seed. Ctrl-C stops
the run in flight as ``train`` does (its finished epochs kept, the run interrupted) and then
the group: no further seed starts, exit 130.

Resuming a group: ``train --resume RUN``, RUN any run of the group, finishes the whole group,
in seed order: each unfinished run (interrupted, failed, or training with its process gone) is
continued, each seed without a run is trained (its spec: a run's resolved spec with that seed),
completed and diverged runs are left as they are. Returns a ``GroupResult``; never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.commands.train import Hooks, TrainResult, resume_run, train_loaded
from mnistctl.errors import Location, UserError
from mnistctl.ml.training import Reporter
from mnistctl.runs import layout
from mnistctl.runs.catalog import RunInfo
from mnistctl.runs.groups import (
    SEED,
    Group,
    GroupTag,
    check_group,
    check_seed_overrides,
    check_seeds,
    group_name,
    group_of,
)
from mnistctl.runs.record import Status
from mnistctl.runs.stats import RULE
from mnistctl.spec import Spec, load_spec


@dataclass(frozen=True)
class GroupResult:
    """What a group's training did: this command's runs (in seed order) and the group as it
    is on disk now (``group``: all its runs, their mean ± sd)."""

    name: str
    seeds: tuple[int, ...]
    trained: list[tuple[int, TrainResult]]  # (seed, its train result), this command's
    group: Group
    exit_code: int = 0  # 130 when Ctrl-C stopped the group
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``completed`` when every seed has a completed run; else ``incomplete``."""
        done = {r.seed for r in self.group.complete}
        return "completed" if all(s in done for s in self.seeds) else "incomplete"

    def to_json(self) -> dict[str, Any]:
        """The ``train --seeds --json`` document: the runs' train documents, and the group."""
        return {
            "group": self.name,
            "status": self.status,
            "seeds": list(self.seeds),
            "runs": [{"seed": seed, **result.to_json()} for seed, result in self.trained],
            "summary": self.group.to_json(),
            "notes": list(self.notes),
            "rule": RULE,
        }


def train_group(
    spec_path: Path,
    overrides: Sequence[str],
    seeds: Sequence[Any],
    *,
    data: Path | None,
    runs_dir: Path,
    reporter: Reporter,
) -> GroupResult:
    """``mnistctl train SPEC --seeds ...``: see the module's docstring."""
    chosen = check_seeds(seeds)
    check_seed_overrides(overrides)
    specs = [load_spec(spec_path, [*overrides, f"{SEED}={s}"], check_data=True, data=data)
             for s in chosen]  # fmt: skip
    if specs[0].search is not None:
        reporter.note(
            "note: train ignores the spec's search: section and trains the values in it as "
            f"written; to search them: mnistctl tune {spec_path}"
        )
    return train_seeds(specs, chosen, data=data, runs_dir=runs_dir, reporter=reporter)


def train_seeds(
    specs: Sequence[Spec],
    seeds: Sequence[int],
    *,
    data: Path | None,
    runs_dir: Path,
    reporter: Reporter,
    name: str | None = None,
    every: Sequence[int] | None = None,
) -> GroupResult:
    """Train ``specs`` (one per seed of ``seeds``, that seed set) one after another as the
    group ``name`` (by default named after its first run), whose seeds are ``every`` (by
    default ``seeds``); stop at the first interrupted run."""
    every = tuple(every or seeds)
    trained: list[tuple[int, TrainResult]] = []
    for k, (spec, seed) in enumerate(zip(specs, seeds, strict=True)):
        reporter.note(f"seed {seed} ({k + 1} of {len(seeds)}): training {spec.name}")

        hooks = Hooks(about_run=_tagger(name, spec.name, every, seed))
        result = train_loaded(spec, data=data, runs_dir=runs_dir, reporter=reporter, hooks=hooks)
        trained.append((seed, result))
        name = name or _named(result.run_dir)
        if result.status != Status.COMPLETED.value or result.exit_code:
            return _result(name, every, trained, result.exit_code or 130, result.run_dir)
    assert name is not None
    return _result(name, every, trained, 0, trained[0][1].run_dir)


def _tagger(
    name: str | None, spec_name: str, seeds: tuple[int, ...], seed: int
) -> Callable[[Path], Mapping[str, Any]]:
    """The ``group`` a new run's record gets: named after the run itself when it is the first
    of its group (``name`` None)."""

    def about(run: Path) -> Mapping[str, Any]:
        return {"group": GroupTag(name or group_name(spec_name, run.name), seeds, seed).to_json()}

    return about


def _named(run_dir: Path) -> str:
    group = group_of(run_dir)
    assert group is not None, "a run of a group records its group"
    return group.name


def _result(
    name: str,
    seeds: tuple[int, ...],
    trained: list[tuple[int, TrainResult]],
    exit_code: int,
    member: Path,
    notes: Sequence[str] = (),
) -> GroupResult:
    group = group_of(member)
    assert group is not None
    return GroupResult(name, seeds, trained, group, exit_code, tuple(notes))


# --- resuming a group ---------------------------------------------------------------------------


def resume_group(
    run_arg: Path, *, runs_dir: Path | None, data: Path | None, reporter: Reporter
) -> GroupResult | None:
    """``train --resume RUN`` where RUN is a run of a group: the whole group finished (see the
    module's docstring); None when RUN is not a run of a group."""
    run = layout.find_run(run_arg, runs_dir).resolve()
    group = group_of(run)
    if group is None:
        return None
    check_group(group)
    _none_training(group)
    trained: list[tuple[int, TrainResult]] = []
    notes: list[str] = []
    for seed in group.seeds:
        member = _member(group, seed)
        if member is not None and member.status == Status.DIVERGED.value:
            notes.append(f"seed {seed}: {member.run_dir} diverged; left as it is")
            continue
        if member is not None:
            if member.status != Status.COMPLETED.value:
                reporter.note(f"seed {seed}: continuing {member.run_dir}")
            result = resume_run(member.run_dir, runs_dir=None, data=data, reporter=reporter)
        else:
            spec = _seed_spec(group, seed, data)
            reporter.note(f"seed {seed}: no run yet; training {spec.name}")
            done = train_seeds([spec], [seed], data=data, runs_dir=run.parent.parent,
                               reporter=reporter, name=group.name, every=group.seeds)  # fmt: skip
            result = done.trained[0][1]
        trained.append((seed, result))
        if result.exit_code:
            return _result(group.name, group.seeds, trained, result.exit_code, run, notes)
    return _result(group.name, group.seeds, trained, 0, run, notes)


def _member(group: Group, seed: int) -> RunInfo | None:
    """The group's run of ``seed`` (its latest, should there be several); None if none."""
    runs = [r for r in group.runs if r.seed == seed]
    return runs[-1] if runs else None


def _none_training(group: Group) -> None:
    for run in group.runs:
        if run.status == Status.TRAINING.value and run.live is not False:
            raise UserError(
                "a run of the group is still training",
                Location(str(run.run_dir)),
                expected="a group whose runs are finished, interrupted or killed",
                received=f"seed {run.seed}: {run.shown_status}",
                hint="resume the group once that run has ended",
            )


def _seed_spec(group: Group, seed: int, data: Path | None) -> Spec:
    """The spec of a run of the group, with ``seed``."""
    source = next((r for r in group.runs if not r.damaged), None)
    if source is None:
        raise UserError("no readable run in the group", Location(group.name))
    spec_file = source.run_dir / layout.SPEC
    return load_spec(spec_file, [f"{SEED}={seed}"], check_data=True, data=data)
