"""Where runs live: ``runs/<spec name>/<UTC timestamp>/``; creating and finding them.

A RUN argument is a run directory, a file inside one (its ``spec.yaml``: that run), or a spec
file meaning that spec's latest run (by the time it was created, not by its name).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mnistctl.errors import Location, UserError
from mnistctl.runs.record import METRICS, RunRecord

if TYPE_CHECKING:
    from mnistctl.spec import Spec

SPEC = "spec.yaml"
MODEL = "model.keras"  # the last epoch
BEST = "best.keras"  # the best epoch by the monitored metric (record: best_checkpoint)
SUMMARY = "summary.json"
ENV = "env.json"
HISTORY = "history.csv"
EVALUATION = "evaluation.json"
PLOTS = "plots"
NATIVE_LOG = "tensorflow.log"
RUN_FILES = (SPEC, MODEL, HISTORY, METRICS, SUMMARY, ENV)  # every completed run has these


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_run_dir(runs_dir: Path, name: str) -> Path:
    """Create ``runs_dir/name/<timestamp>/``, refusing any name that would leave runs_dir."""
    base = runs_dir.resolve()
    parent = base / name
    if name in ("", ".", "..") or "/" in name or os.sep in name or parent.parent != base:
        raise UserError(
            "invalid run name",
            Location(str(runs_dir)),
            expected="a plain folder name inside the runs directory",
            received=repr(name),
        )
    stamp = timestamp()
    for n in range(1000):
        candidate = parent / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(
                "cannot create the run directory", Location(str(candidate)), received=exc.strerror
            ) from None
        (candidate / PLOTS).mkdir()
        return candidate
    raise UserError("too many runs in the same second", Location(str(parent)))


def find_run(arg: Path, runs_dir: Path | None = None) -> Path:
    """A run directory, a file inside one, or a spec file meaning that spec's latest run."""
    where = Location(str(arg))
    if arg.is_dir():
        if (arg / SPEC).is_file():
            return arg
        runs = runs_under(arg)
        if runs:
            return runs[-1]
        raise UserError(
            "not a run directory",
            where,
            expected="a folder with spec.yaml, model.keras, ... from 'mnistctl train'",
            received="a folder without spec.yaml",
        )
    if arg.is_file() and _inside_run(arg):
        return arg.parent  # a run's own spec.yaml (or another of its files) means that run
    if arg.is_file() and arg.suffix in (".yaml", ".yml"):
        return _latest_of_spec(arg, runs_dir)
    raise UserError(
        "no such run directory",
        where,
        expected="a run directory (runs/<name>/<timestamp>) or a spec file",
        received="nothing there" if not arg.exists() else "a file that is not a spec",
    )


def _inside_run(path: Path) -> bool:
    folder = path.parent
    return (folder / SPEC).is_file() and (
        (folder / METRICS).is_file() or (folder / SUMMARY).is_file()
    )


def _latest_of_spec(arg: Path, runs_dir: Path | None) -> Path:
    from mnistctl.spec import load_spec

    spec = load_spec(arg)
    folder = (runs_dir or Path("runs")) / spec.name
    runs = runs_under(folder)
    if not runs:
        raise UserError(
            f"no runs of spec {spec.name!r} yet",
            Location(str(arg)),
            expected=f"a run in {folder}/",
            received="none",
            hint=f"train it first: mnistctl train {arg}",
        )
    return runs[-1]


def runs_under(folder: Path) -> list[Path]:
    """The run directories in ``folder``, oldest first by the time they were created (the
    name's timestamp, then its same-second counter: ``...Z-9`` before ``...Z-11``)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and (p / SPEC).is_file()]
    return sorted(found, key=_creation_key)


def _creation_key(run: Path) -> tuple[str, int, str]:
    stamp, _, counter = run.name.partition("-")
    return (stamp, int(counter) if counter.isascii() and counter.isdigit() else 0, run.name)


def load_run_spec(run: Path, record: RunRecord | None = None) -> Spec:
    """The run's resolved spec, checked as any spec, and refused if the run did not write it."""
    from mnistctl.spec import load_spec

    path = run / SPEC
    if not path.is_file():
        raise UserError("not a run directory: spec.yaml is missing", Location(str(run)))
    (record or RunRecord.load(run)).verify(SPEC)
    return load_spec(path)


def model_path(run: Path, record: RunRecord | None = None) -> Path:
    """The run's final model, checked against the record."""
    path = run / MODEL
    record = record or RunRecord.load(run)
    if not path.is_file():
        live = record.is_live()
        raise UserError(
            "the run has no model.keras",
            Location(str(run)),
            expected="a run that finished at least one epoch",
            received=(
                f"a run still training ({record.epochs_completed} epoch(s) done so far)"
                if live or live is None
                else f"a run marked {record.status.value!r}"
            ),
            hint="wait for it to finish"
            if live or live is None
            else "train it (or resume it with 'mnistctl train --resume RUN')",
        )
    record.verify(MODEL)
    return path
