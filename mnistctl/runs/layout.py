"""Where runs live: ``runs/<spec name>/<UTC timestamp>/``; creating and finding them.

A RUN argument is a run directory, a file inside one (its ``spec.yaml``: that run), or a spec
file meaning that spec's latest run (by the time it was created, not by its name).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnistctl.errors import Location, UserError
from mnistctl.filedata import Shape
from mnistctl.runs.record import METRICS, RunRecord

if TYPE_CHECKING:
    from mnistctl.spec import Spec

SPEC = "spec.yaml"
MODEL = "model.keras"  # the last epoch
BEST = "best.keras"  # the best epoch by the monitored metric (record: best_checkpoint)
SUMMARY = "summary.json"
ENV = "env.json"
HISTORY = "history.csv"
EVALUATION = "evaluation.json"  # of the model the run ends with; evaluation-best.json, ...
PLOTS = "plots"
NATIVE_LOG = "tensorflow.log"
RUN_FILES = (SPEC, MODEL, HISTORY, METRICS, SUMMARY, ENV)  # every completed run has these
CHECKPOINTS = ("best", "last")  # --checkpoint: best.keras, or model.keras (the last epoch)

_TEXT = {"type": "string"}
# What readers of summary.json and env.json rely on (``mnistctl runs``, ``train --resume``);
# their writers (the spec's ``info.to_json``, ml/training.py's ``environment``) write more.
SUMMARY_SHAPE = Shape(
    "run summary",
    {"type": "object", "properties": {"name": _TEXT, "total_params": {"type": "integer"}}},
)
ENV_SHAPE = Shape(
    "run environment",
    {
        "type": "object",
        "properties": {
            "precision": {"type": "object", "properties": {"policy": _TEXT}},
            "data": {
                "type": "object",
                "properties": {"dataset": _TEXT, "name": _TEXT, "sha256": _TEXT},
            },
        },
    },
)


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


@dataclass(frozen=True)
class Checkpoint:
    """The model file a command loads (checked against the record), and what it holds."""

    name: str  # "best" (best.keras) or "last" (model.keras)
    path: Path
    epoch: int | None  # the epoch (1-based) whose weights it holds, when known
    epochs: int  # the epochs the run has finished
    monitor: str | None = None  # best: the metric it is the best by, and its value
    value: float | None = None
    default: bool = True  # the model the run ends with, which commands load by default

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def suffix(self) -> str:
        """Added to the names of files made from this model (evaluation, plots): none for the
        default model, ``-best`` or ``-last`` for the other, so neither replaces the other's."""
        return "" if self.default else f"-{self.name}"

    def evaluation_path(self, run: Path) -> Path:
        """``evaluation.json``, or ``evaluation-best.json`` / ``evaluation-last.json``."""
        return run / f"{Path(EVALUATION).stem}{self.suffix}.json"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "epoch": self.epoch,
            "monitor": self.monitor,
            "value": self.value,
            "default": self.default,
        }


def checkpoint(
    run: Path, record: RunRecord | None = None, which: str | None = None, spec: Spec | None = None
) -> Checkpoint:
    """The model ``which`` names (``best``, ``last``; None: the one the run ends with, its
    ``final_checkpoint``), its file checked against the record; ``spec`` (the run's) words
    why a run keeps no best model."""
    record = record or RunRecord.load(run)
    default = record.final_checkpoint if record.best_checkpoint is not None else "last"
    name = default if which is None else str(which)
    if name not in CHECKPOINTS:
        raise UserError(
            "unknown checkpoint",
            Location(str(run)),
            expected="best (best.keras) or last (model.keras)",
            received=repr(name)[:40],
        )
    if name == "last":
        done = record.epochs_completed
        return Checkpoint(
            "last", model_path(run, record), done or None, done, default=default == "last"
        )
    return _best(run, record, spec, default == "best")


def _best(run: Path, record: RunRecord, spec: Spec | None, default: bool) -> Checkpoint:
    best = record.best_checkpoint
    if best is None:
        raise _no_best(run, record, spec)
    path = run / BEST
    epoch = best.get("epoch")
    epoch = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > 0 else None
    if not path.is_file():
        raise UserError(
            "the run has no best.keras",
            Location(str(run)),
            expected=f"best.keras, the best epoch{f' ({epoch})' if epoch else ''} its record names",
            received="no such file",
            hint="use --checkpoint last, or restore the file",
        )
    try:
        record.verify(BEST)
    except UserError as err:
        raise replace(err, hint="restore it, or use --checkpoint last") from None
    monitor, value = best.get("monitor"), best.get("value")
    return Checkpoint(
        "best",
        path,
        epoch,
        record.epochs_completed,
        monitor if isinstance(monitor, str) else None,
        _finite(value),
        default,
    )


def _no_best(run: Path, record: RunRecord, spec: Spec | None) -> UserError:
    """Why the run keeps no best.keras: nothing to choose it by, or not (yet) written."""
    if spec is not None and not spec.data.validation_split and not spec.train.early_stopping:
        return UserError(
            "this run keeps no best.keras: it had no validation data and no EarlyStopping",
            Location(str(run)),
            hint="use --checkpoint last, or train with data.validation_split > 0",
        )
    return UserError(
        "this run keeps no best.keras",
        Location(str(run)),
        expected="a run that kept its best epoch (mnistctl keeps one when it validates)",
        received=(
            f"a run still training ({record.epochs_completed} epoch(s) done so far)"
            if record.is_live() is not False
            else "a run whose record names no best epoch"
        ),
        hint="use --checkpoint last",
    )


def _finite(value: object) -> float | None:
    """``value`` as a float if it is a finite number; None otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
