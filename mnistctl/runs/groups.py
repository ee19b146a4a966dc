"""Groups of runs: one spec trained once per seed (``mnistctl train SPEC --seeds 0 1 2``).

Each run of a group is an ordinary run directory (``runs/<spec name>/<UTC stamp>/``) whose
record (``metrics.json``) names its group: ``"group": {"name": "<spec name>-seeds-<UTC stamp of
the group's first run>", "seeds": [0, 1, 2], "seed": <this run's seed>}`` (``GroupTag``; runs
trained alone have no such key). ``RunInfo.group`` (``runs/catalog.py``) is that name.

For whoever shows or compares groups (``runs``, ``compare``, the HTML report):

- ``collect(infos)``: the groups among listed runs, each a ``Group``; ``group_of(run_dir)``:
  the group of one run, its members found beside it (``runs/<spec name>/``); ``find_group``:
  a group by its name in a runs directory.
- ``Group.metric(NAME)``: a ``stats.Spread`` (n, mean, sample sd) of a metric over the group's
  completed runs; NAME as in ``runs --json`` rows (``METRICS``). ``Group.curves()``: the
  members' histories; ``stats.bands`` turns them into mean ± sd per epoch (a band).
- ``check_group(group)``: "is this a group": the members' resolved specs (``spec.yaml``) are
  the same except ``train.seed``; a UserError that says what else differs if not.
- ``stats.welch(a, b)``: whether two groups' means differ by more than the seeds' spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError
from mnistctl.runs import layout
from mnistctl.runs.catalog import RunInfo, read_run, scan
from mnistctl.runs.history import history_columns, read_history
from mnistctl.runs.layout import HISTORY, SPEC
from mnistctl.runs.record import Status
from mnistctl.runs.stats import Spread, spread

KEY = "group"  # the key of metrics.json
SEED = "train.seed"
METRICS = ("test_accuracy", "best_val_accuracy", "test_loss", "best_val_loss")
MAX = 2**31 - 1  # train.seed's largest


@dataclass(frozen=True)
class GroupTag:
    """What a run of a group records about it."""

    name: str
    seeds: tuple[int, ...]
    seed: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "seeds": list(self.seeds), "seed": self.seed}

    @classmethod
    def from_json(cls, value: Any) -> GroupTag | None:
        """From a record's (already checked) ``group``; None when there is none."""
        if not isinstance(value, Mapping):
            return None
        return cls(str(value["name"]), tuple(int(s) for s in value["seeds"]), int(value["seed"]))


def group_name(spec_name: str, stamp: str) -> str:
    """``dnn-seeds-20260101T120000Z``: the spec's name and the UTC stamp of the first run."""
    return f"{spec_name}-seeds-{stamp}"


def check_seeds(seeds: Sequence[Any], where: str = "--seeds") -> tuple[int, ...]:
    """The seeds of a group: whole numbers >= 0, each once, at least one; a UserError if not."""
    if not seeds:
        raise UserError(
            "no seeds given", Location(where), expected="one or more seeds, e.g. --seeds 0 1 2"
        )
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= MAX]
    if bad:
        raise UserError(
            "a seed must be a whole number 0 or more",
            Location(where),
            expected=f"seeds such as 0 1 2 (at most {MAX})",
            received=", ".join(repr(s) for s in bad[:5]),
        )
    repeated = sorted({s for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise UserError(
            "a seed given twice: its runs would be the same run",
            Location(where),
            expected="each seed once",
            received=" ".join(str(s) for s in seeds),
            hint=f"leave out the repeated {', '.join(map(str, repeated))}",
        )
    return tuple(int(s) for s in seeds)


def check_seed_overrides(overrides: Sequence[str]) -> None:
    """Refuse ``--set train.seed=...`` beside ``--seeds``: the seeds set it, run by run."""
    for item in overrides:
        if item.partition("=")[0].strip() == SEED:
            raise UserError(
                f"--seeds sets {SEED} for each run: it cannot be set too",
                Location("--set"),
                expected=f"--seeds, or --set {SEED}=N, not both",
                received=f"--set {item}",
                hint=f"leave out --set {item}",
            )


@dataclass(frozen=True)
class Group:
    """A group's runs as found (ordered by seed), and the seeds it was started with."""

    name: str
    seeds: tuple[int, ...]  # as the group was started
    runs: tuple[RunInfo, ...]

    @property
    def spec_name(self) -> str:
        return self.runs[0].name if self.runs else self.name.rpartition("-seeds-")[0]

    @property
    def complete(self) -> tuple[RunInfo, ...]:
        return tuple(r for r in self.runs if r.status == Status.COMPLETED.value)

    @property
    def missing_seeds(self) -> tuple[int, ...]:
        """The group's seeds without a run (not started yet, or their folder removed)."""
        have = {r.seed for r in self.runs}
        return tuple(s for s in self.seeds if s not in have)

    def metric(self, name: str) -> Spread:
        """Mean and sample sd of ``name`` (``METRICS``) over the completed runs."""
        return spread(metric_of(run, name) for run in self.complete)

    def curves(self) -> list[dict[str, list[float]]]:
        """The completed runs' histories (``{"loss": [...], ...}``), those readable."""
        out = []
        for run in self.complete:
            try:
                out.append(history_columns(read_history(run.run_dir / HISTORY)))
            except UserError:
                continue
        return out

    def to_json(self) -> dict[str, Any]:
        """The contract's group summary: ``group``, ``n`` (completed runs), ``runs`` (their
        folders), ``metrics`` (NAME: mean, sd), and what is missing."""
        return {
            "group": self.name,
            "n": len(self.complete),
            "runs": [str(r.run_dir) for r in self.complete],
            "metrics": {name: self.metric(name).to_json() for name in METRICS},
            "seeds": list(self.seeds),
            "found": len(self.runs),
            "incomplete": [str(r.run_dir) for r in self.runs if r not in self.complete],
            "missing_seeds": list(self.missing_seeds),
        }


def metric_of(run: RunInfo, name: str) -> float | None:
    """A run's value of ``name``: ``test_accuracy``, ``test_loss``, ``best_val_accuracy``, or
    ``best_<history column>``."""
    if name in ("test_accuracy", "test_loss", "seconds"):
        value: float | None = getattr(run, name)
        return value
    if name.startswith("best_"):
        best = run.best.get(name.removeprefix("best_"))
        return best.value if best is not None else None
    return None


def collect(infos: Iterable[RunInfo]) -> list[Group]:
    """The groups of ``infos`` in the order first met, each with its members among them."""
    members: dict[str, list[RunInfo]] = {}
    for info in infos:
        if info.group is not None:
            members.setdefault(info.group, []).append(info)
    return [_group(name, runs) for name, runs in members.items()]


def _group(name: str, runs: list[RunInfo]) -> Group:
    seeds = max((r.group_seeds for r in runs), key=len, default=())
    ordered = sorted(runs, key=lambda r: (r.seed if r.seed is not None else -1, r.stamp))
    return Group(name, tuple(seeds), tuple(ordered))


def group_of(run_dir: Path) -> Group | None:
    """The group of the run in ``run_dir`` with its members (the runs of the same group in
    its spec's folder); None when the run is not of a group."""
    info = read_run(run_dir)
    if info.group is None:
        return None
    found = [r for r in scan(run_dir.parent) if r.group == info.group]
    if not any(r.run_dir == info.run_dir for r in found):
        found.append(info)
    return _group(info.group, found)


def find_group(name: str, runs_dir: Path) -> Group | None:
    """The group called ``name`` in ``runs_dir`` (in its spec's folder there); None if none."""
    spec_name = name.rpartition("-seeds-")[0]
    folder = runs_dir / spec_name
    if not spec_name or "/" in spec_name or not folder.is_dir():
        return None
    found = [r for r in scan(folder) if r.group == name]
    return _group(name, found) if found else None


def check_group(group: Group) -> None:
    """Refuse a "group" whose runs differ in their resolved specs beyond ``train.seed`` (their
    spec.yaml edited, or a record naming the wrong group): it is not one spec over seeds."""
    import yaml

    from mnistctl.runs.specdiff import spec_differences

    readable = [r for r in group.runs if not r.damaged]
    specs = []
    for run in readable:
        try:
            specs.append(yaml.safe_load((run.run_dir / SPEC).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raise UserError("cannot read a run's spec", Location(str(run.run_dir / SPEC))) from None
    for run, spec in zip(readable[1:], specs[1:], strict=True):
        other = [d for d in spec_differences([specs[0], spec], show_all=False) if d.path != SEED]
        if other:
            shown = ", ".join(d.path for d in other[:3]) + (" ..." if len(other) > 3 else "")
            raise UserError(
                f"not a group: its runs differ in more than {SEED}",
                Location(str(run.run_dir / SPEC)),
                expected=f"the spec of {readable[0].run_dir} but for {SEED}",
                received=f"{len(other)} other difference(s): {shown}",
                hint="compare them as runs: mnistctl compare RUN RUN",
            )


# --- runs named on a command line ----------------------------------------------------------------


def named_runs(
    args: Sequence[Path],
    runs_dir: Path | None,
    *,
    whole_groups: bool,
    warnings: list[str],
    twice: str = "the same run given twice",
    once: str = "each run once",
) -> list[Path]:
    """Each RUN argument of ``compare`` and ``report`` as absolute run directories, each once:
    a group's name stands for its runs (a warning for its seeds without a readable run), a run
    directory or a spec's latest run for itself, or with ``whole_groups`` for all of its group.
    ``twice`` and ``once``: how a run given twice is refused, and what was expected."""
    seen: dict[Path, Path] = {}
    for arg in args:
        found = _group_runs(arg, runs_dir, warnings)
        if found is None:
            run = layout.find_run(arg, runs_dir).resolve()
            group = group_of(run) if whole_groups else None
            found = [r.run_dir.resolve() for r in group.runs] if group else [run]
        for run in found:
            if run in seen:
                raise UserError(
                    twice,
                    Location(str(arg)),
                    expected=once,
                    received=f"{seen[run]} and {arg}, both {run}",
                    hint="list the runs there are: mnistctl runs",
                )
            seen[run] = arg
    return list(seen)


def _group_runs(arg: Path, runs_dir: Path | None, warnings: list[str]) -> list[Path] | None:
    """The runs of the group named ``arg`` (not a path that exists); None if ``arg`` is no
    group's name."""
    name = str(arg)
    if arg.exists() or "-seeds-" not in name or len(arg.parts) != 1:
        return None
    base = runs_dir if runs_dir is not None else Path("runs")
    group = find_group(name, base)
    if group is None:
        raise UserError(
            "no such group of runs",
            Location(name),
            expected=f"a group's name as 'mnistctl runs' shows it, in {base}",
            received="no run of that group there",
            hint="list the runs there are: mnistctl runs",
        )
    if group.missing_seeds:
        seeds = " ".join(map(str, group.missing_seeds))
        warnings.append(f"{name}: no readable run of seed {seeds} (not trained yet, or damaged)")
    return [r.run_dir.resolve() for r in group.runs]
