"""A run's record: its status, its progress and the checksums of the files it wrote.

One object owns ``metrics.json`` (status and results) and ``state.json`` (what a resume needs:
the finished epochs, their history and the checkpoint that holds them); nothing else writes
them. Status moves only along the allowed transitions:

    created -> training -> completed | interrupted | failed | diverged
    interrupted | failed | training (its process gone) -> training   (train --resume)

Every write is atomic (``atomic.py``), so a reader never sees half a record, and the record
never claims an epoch whose checkpoint is not on disk (the checkpoint is written first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from mnistctl import filedata
from mnistctl.errors import Location, UserError
from mnistctl.filedata import Shape, closed, map_of
from mnistctl.runs import liveness
from mnistctl.runs.atomic import write_json
from mnistctl.runs.history import History as History  # the record's methods take one
from mnistctl.runs.history import best_of
from mnistctl.runs.liveness import OWNER_SCHEMA, Owner

METRICS = "metrics.json"
STATE = "state.json"
FORMAT = 2  # the record's format version (1: before owners and checksums)


class Status(StrEnum):
    CREATED = "created"
    TRAINING = "training"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    COMPLETED = "completed"
    DIVERGED = "diverged"


_LEGACY = {"running": Status.TRAINING}  # format 1 wrote "running"

_NEXT: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.TRAINING, Status.FAILED, Status.INTERRUPTED}),
    Status.TRAINING: frozenset(
        {Status.TRAINING, Status.COMPLETED, Status.INTERRUPTED, Status.FAILED, Status.DIVERGED}
    ),
    Status.INTERRUPTED: frozenset({Status.TRAINING}),
    Status.FAILED: frozenset({Status.TRAINING}),
    Status.DIVERGED: frozenset(),
    Status.COMPLETED: frozenset(),
}


# --- the shapes of metrics.json and state.json (what this module writes; checked on read) -------

_COUNT = {"type": "integer", "minimum": 0}
_EPOCH = {"type": "integer", "minimum": 1}
_TEXT = {"type": "string"}
_NUMBER = {"type": "number"}
_RESULT = {"type": ["number", "null"]}  # null: not a finite number (jsondata.plain)
_CHECKPOINT = {"type": "string", "pattern": r"^checkpoint-[1-9][0-9]*\.keras$"}
_NAMES = {"type": "array", "items": _TEXT}
_INIT_FROM = closed(  # runs of format 2 before fine-tuning have none: the key is optional
    run_dir=_TEXT,
    checkpoint={"enum": ["best", "last"]},
    file=_TEXT,
    epoch={"type": ["integer", "null"], "minimum": 1},
    copied=_NAMES,
    fresh=_NAMES,
    fresh_reasons=map_of(_TEXT),
)

# metrics.json. Open at the top: format 1 (before owners and checksums) wrote a "pid", and a
# run's starter and its end add facts (``create(about=...)``, ``completed(**results)``); each
# key there has the type its readers rely on. The parts this module builds are closed.
RECORD_SHAPE = Shape(
    "run record",
    {
        "type": "object",
        "required": ["status"],
        "properties": {
            "format": {"type": "integer", "minimum": 1},  # newer than FORMAT: refused first
            "status": {"enum": [*(s.value for s in Status), *_LEGACY]},
            "epochs": _COUNT,
            "epochs_completed": _COUNT,
            **dict.fromkeys(("created", "started", "ended", "error", "note", "precision"), _TEXT),
            "owner": OWNER_SCHEMA,
            "pid": {"type": "integer"},  # format 1's owner
            "files": map_of({"type": "string", "pattern": "^[0-9a-f]{64}$"}),  # name -> sha256
            "warnings": {"type": "array", "items": _TEXT},
            "final": map_of(_RESULT),  # the last epoch's row of the history
            "best": map_of(closed(value=_NUMBER, epoch=_EPOCH)),  # per metric
            "best_checkpoint": closed(file=_TEXT, epoch=_EPOCH, monitor=_TEXT, value=_RESULT),
            "final_checkpoint": {"enum": ["best", "last"]},
            "diverged_epoch": _EPOCH,
            "stopped_early": {"type": ["object", "null"]},
            "train_seconds": _RESULT,
            "samples_per_second": _RESULT,
            "test": map_of(_RESULT),
            "tune": {"type": "object"},  # mnistctl tune: the study and trial (tune/objective.py)
            "init_from": _INIT_FROM,  # model.init_from: the run it started from (ml/finetune.py)
            "group": closed(name=_TEXT, seeds={"type": "array", "items": _COUNT}, seed=_COUNT),
        },
    },
)

# state.json: what a resume continues from (``epoch_finished``); nothing else is in it.
STATE_SHAPE = Shape(
    "run state",
    {
        **closed(
            epochs_completed=_COUNT,
            checkpoint=_CHECKPOINT,
            history={"type": "array", "items": map_of(_NUMBER)},
            best=closed(checkpoint=_CHECKPOINT, epoch=_EPOCH, monitor=_TEXT, value=_NUMBER),
            callbacks={"type": "object"},  # each callback's state (ml/callbacks.py)
        ),
        "required": ["epochs_completed", "checkpoint", "history"],
    },
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ResumeState:
    """What a resumed run continues from."""

    epochs_completed: int
    checkpoint: str  # file name inside the run; "" before the first epoch
    history: History
    # the best epoch so far: {"checkpoint": "checkpoint-E.keras", "epoch": E, "monitor", "value"}
    best: dict[str, Any] | None = None
    callbacks: dict[str, Any] = field(default_factory=dict)  # callbacks' state (ml/callbacks.py)


class RunRecord:
    """The record of one run directory; see the module's docstring."""

    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self._data = data

    # --- reading ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        run_dir: Path,
        *,
        epochs: int,
        files: list[str],
        warnings: list[str] | None = None,
        about: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """A new run's record, with the checksums of the files already written; ``about``:
        facts from whoever started the run (``mnistctl tune``: its study and trial)."""
        record = cls(
            run_dir,
            {
                "format": FORMAT,
                "status": Status.CREATED.value,
                "epochs": epochs,
                "epochs_completed": 0,
                "created": now(),
                "files": {},
            },
        )
        if warnings:
            record._data["warnings"] = list(warnings)
        for key, value in (about or {}).items():
            record._data.setdefault(key, value)
        for name in files:
            record._checksum(name)
        record._write()
        return record

    @classmethod
    def load(cls, run_dir: Path) -> RunRecord:
        """The record as on disk; a run without one (killed at once, or made by hand) reads as
        interrupted with nothing done."""
        path = run_dir / METRICS
        if not path.exists():
            return cls(run_dir, {"status": Status.INTERRUPTED.value, "epochs_completed": 0})
        return cls.from_json(run_dir, filedata.read(path))

    @classmethod
    def from_json(cls, run_dir: Path, data: Any) -> RunRecord:
        """The record from the parsed ``metrics.json``: of a format this version reads, then of
        the shape ``RECORD_SHAPE`` declares (format 1's status "running" read as training)."""
        path = run_dir / METRICS
        if not isinstance(data, dict):  # not even an object: the file is no record at all
            raise UserError(
                "damaged JSON file",
                Location(str(path)),
                expected="an object",
                received=type(data).__name__,
            )
        version = data.get("format", 1)
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT:
            raise UserError(
                "run record of a newer format",
                Location(str(path)),
                expected=f"format {FORMAT} or older",
                received=f"format {repr(version)[:20]}",
                hint="upgrade mnistctl to read this run",
            )
        RECORD_SHAPE.check(data, path)
        if data["status"] in _LEGACY:
            data["status"] = _LEGACY[data["status"]].value
        return cls(run_dir, data)

    @property
    def status(self) -> Status:
        return Status(self._data["status"])

    @property
    def epochs_completed(self) -> int:
        return int(self._data.get("epochs_completed", 0))

    @property
    def owner(self) -> Owner | None:
        owner = Owner.from_json(self._data.get("owner"))
        if owner is None and self._data.get("pid") is not None:  # format 1: a pid only
            owner = Owner(self._data["pid"], liveness.current().host, None, None)
        return owner

    def get(self, key: str) -> Any:
        return self._data.get(key)

    @property
    def best_checkpoint(self) -> dict[str, Any] | None:
        """``{"file": "best.keras", "epoch", "monitor", "value"}`` once the run has kept a best
        epoch (it has validation or EarlyStopping); None otherwise."""
        best = self._data.get("best_checkpoint")
        return dict(best) if best is not None else None

    @property
    def final_checkpoint(self) -> str:
        """Which model the run ends with, as Keras's fit does: ``best`` when EarlyStopping
        restores the best weights, else ``last``. Commands load this one by default."""
        return str(self._data.get("final_checkpoint", "last"))

    def to_json(self) -> dict[str, Any]:
        return dict(self._data)

    def is_live(self) -> bool | None:
        """Whether the process training this run is alive (None: on another host)."""
        if self.status is not Status.TRAINING or self.owner is None:
            return False
        return liveness.is_alive(self.owner)

    def resume_state(self, epochs: int) -> ResumeState:
        """state.json, of its declared shape and consistent with the spec's ``epochs``; nothing
        done when there is none."""
        path = self.run_dir / STATE
        if not path.exists():
            return ResumeState(0, "", [])
        state = filedata.read(path)
        STATE_SHAPE.check(state, path)
        damage = _inconsistent(state, epochs)
        if damage is not None:
            raise damage.error(path, STATE_SHAPE.what)
        done = state["epochs_completed"]
        history = [dict(row) for row in state["history"][:done]]
        best, callbacks = state.get("best"), state.get("callbacks", {})
        return ResumeState(done, state["checkpoint"] if done else "", history, best, callbacks)

    def verify(self, name: str) -> None:
        """Refuse a file of the run that is not the one the run wrote (by its checksum)."""
        recorded = (self._data.get("files") or {}).get(name)
        path = self.run_dir / name
        if not recorded or not path.is_file():
            return  # not recorded (an older run) or missing: the caller reports what it needs
        if sha256(path) != recorded:
            raise UserError(
                "a file of the run has changed since the run wrote it",
                Location(str(path)),
                expected=f"the file the run wrote (sha256 {recorded[:12]}…)",
                received="a different file",
                hint="restore it, or train a new run: mnistctl refuses files it did not write",
            )

    # --- transitions -----------------------------------------------------------------------

    def start_training(self, first_epoch: int) -> None:
        self._move(Status.TRAINING)
        self._data.update(
            owner=liveness.current().to_json(),
            epochs_completed=first_epoch,
            started=self._data.get("started") or now(),
        )
        self._data.pop("pid", None)
        self._data.pop("error", None)
        self._write()

    def epoch_finished(
        self,
        history: History,
        checkpoint: str,
        *,
        best: dict[str, Any] | None = None,
        callbacks: dict[str, Any] | None = None,
    ) -> None:
        """After the checkpoint of the last epoch in ``history`` is on disk. ``best`` names the
        best epoch's checkpoint (kept on disk until the run ends), ``callbacks`` the state of
        the spec's callbacks after this epoch: what a resume restores."""
        self._checksum(checkpoint)
        keep = {checkpoint, best["checkpoint"] if best else checkpoint}
        for name in list(self._data["files"]):
            if name.startswith("checkpoint-") and name not in keep:
                del self._data["files"][name]
        state: dict[str, Any] = {
            "epochs_completed": len(history),
            "checkpoint": checkpoint,
            "history": history,
        }
        if best:
            state["best"] = best
        if callbacks:
            state["callbacks"] = callbacks
        write_json(self.run_dir / STATE, state)
        self._data.update(epochs_completed=len(history), final=history[-1], best=best_of(history))
        self._write()

    def best_saved(self, name: str, epoch: int, monitor: str, value: float) -> None:
        """After ``name`` (best.keras) was written with the weights of ``epoch`` (1-based), the
        best so far by ``monitor``."""
        self._checksum(name)
        self._data["best_checkpoint"] = {
            "file": name,
            "epoch": epoch,
            "monitor": monitor,
            "value": value,
        }
        self._write()

    def set_final_checkpoint(self, which: str) -> None:
        """``best`` or ``last``: see ``final_checkpoint``."""
        self._data["final_checkpoint"] = which
        self._write()

    def file_written(self, name: str) -> None:
        """Record the checksum of a file the run has just written (model.keras, ...)."""
        self._checksum(name)
        self._write()

    def file_moved(self, old: str, new: str) -> None:
        files = self._data.setdefault("files", {})
        if old in files:
            files[new] = files.pop(old)
        else:
            self._checksum(new)
        self._write()

    def interrupted(self, history: History) -> None:
        self._end(Status.INTERRUPTED, history)

    def failed(self, reason: str, history: History) -> None:
        self._data["error"] = reason[:500]
        self._end(Status.FAILED, history)

    def diverged(self, epoch: int, metric: str, history: History) -> None:
        self._data["error"] = f"{metric} was not a finite number in epoch {epoch}"
        self._data["diverged_epoch"] = epoch
        self._end(Status.DIVERGED, history)

    def completed(self, history: History, **results: Any) -> None:
        self._data.update(results)
        self._end(Status.COMPLETED, history)

    def forget_checkpoints(self) -> None:
        """The state of a finished run is no longer needed: drop it from the record."""
        files = self._data.get("files") or {}
        for name in [n for n in files if n.startswith("checkpoint-")]:
            del files[name]
        self._write()

    # --- internals -------------------------------------------------------------------------

    def _end(self, status: Status, history: History) -> None:
        self._move(status)
        self._data.update(epochs_completed=len(history), ended=now())
        if history:
            self._data.update(final=history[-1], best=best_of(history))
        self._data.pop("owner", None)
        self._data.pop("pid", None)
        self._write()

    def _move(self, status: Status) -> None:
        if status not in _NEXT[self.status]:
            raise UserError(
                f"a {self.status.value} run cannot become {status.value}",
                Location(str(self.run_dir / METRICS)),
                hint="train a new run",
            )
        self._data["status"] = status.value

    def _checksum(self, name: str) -> None:
        self._data.setdefault("files", {})[name] = sha256(self.run_dir / name)

    def _write(self) -> None:
        self._data["format"] = FORMAT
        write_json(self.run_dir / METRICS, self._data)


def _inconsistent(state: dict[str, Any], epochs: int) -> filedata.Damage | None:
    """What in a well-shaped state.json does not add up (what a schema cannot say), or None."""
    done, rows, best = state["epochs_completed"], state["history"], state.get("best")
    checks: list[tuple[bool, tuple[str, ...], str, str]] = [
        (done <= epochs, ("epochs_completed",), f"at most the spec's {epochs} epochs", str(done)),
        (
            not done or state["checkpoint"] == f"checkpoint-{done}.keras",
            ("checkpoint",),
            f"'checkpoint-{done}.keras'",
            repr(state["checkpoint"])[:60],
        ),
        (len(rows) >= done, ("history",), f"{done} epochs", f"{len(rows)}"),
    ]
    if best is not None:
        epoch = best["epoch"]
        checks.append((epoch <= done, ("best", "epoch"), f"1..{done}", str(epoch)))
        checks.append(
            (
                best["checkpoint"] == f"checkpoint-{epoch}.keras",
                ("best", "checkpoint"),
                f"'checkpoint-{epoch}.keras'",
                repr(best["checkpoint"])[:60],
            )
        )
    return next((filedata.Damage(p, e, r) for ok, p, e, r in checks if not ok), None)
