"""The runs on disk as rows: each run's small record files read into a typed ``RunInfo``.

Only ``metrics.json``, ``summary.json``, ``env.json``, ``spec.yaml`` (as text: its loss) and,
for runs whose record keeps no best values, ``history.csv`` are read: never a model, never
TensorFlow, never a YAML parse, so a thousand runs list in a fraction of a second. Each JSON
file is read through its declared shape (``RECORD_SHAPE``, ``SUMMARY_SHAPE``, ``ENV_SHAPE``), so
its facts are used as they are. A folder that is not a readable run (no spec.yaml, no record, a
damaged or foreign JSON file, a record of a newer format) is a row with ``damaged`` saying why,
never an exception.

Where runs are looked for: a run directory itself; a spec's folder (``runs/<name>/``, whose
sub-folders are runs); or a runs directory (``runs/``, whose sub-sub-folders are runs). Files
and hidden entries (``.name``) at those levels are not runs and are passed over.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnistctl import filedata
from mnistctl.errors import Location, UserError
from mnistctl.filedata import Shape
from mnistctl.runs.history import best_of, read_history
from mnistctl.runs.layout import ENV, ENV_SHAPE, HISTORY, SPEC, SUMMARY, SUMMARY_SHAPE
from mnistctl.runs.record import METRICS, RunRecord, Status

MAX_BYTES = 8 << 20  # a record file larger than this was not written by mnistctl
DAMAGED = "damaged"
STAMP = re.compile(r"[0-9]{8}T[0-9]{6}Z(-[0-9]+)?")
# the loss in a spec.yaml as ``yaml.safe_dump`` writes it (``compile:`` then ``  loss: name``)
_LOSS = re.compile(r"^compile:[ \t]*\n(?:(?:[ \t].*)?\n)*?  loss:[ \t]*['\"]?([\w.-]+)", re.M)


class _Damaged(Exception):
    """Why a folder is not a readable run."""


@dataclass(frozen=True)
class Best:
    value: float
    epoch: int


@dataclass(frozen=True)
class RunInfo:
    """One run as its record files describe it; ``damaged`` says why a folder could not be read
    (then ``status`` is "damaged" and the other facts are unknown)."""

    run_dir: Path
    name: str
    status: str  # a Status value, or "damaged"
    live: bool | None = False  # a training run's process: alive, gone, or on another host
    epochs: int | None = None
    epochs_completed: int | None = None
    final: Mapping[str, float] = field(default_factory=dict)
    best: Mapping[str, Best] = field(default_factory=dict)
    test_loss: float | None = None
    test_accuracy: float | None = None
    total_params: int | None = None
    precision: str | None = None
    started: str | None = None  # UTC, ISO 8601
    seconds: float | None = None
    dataset: str | None = None  # the spec's data set (mnist, fashion_mnist, ...)
    data_name: str | None = None
    data_sha256: str | None = None
    loss: str | None = None
    error: str | None = None  # why a failed or diverged run stopped
    damaged: str | None = None
    group: str | None = None  # the name of its group (train --seeds; runs/groups.py), if any
    group_seeds: tuple[int, ...] = ()  # the seeds its group was started with
    seed: int | None = None  # its seed, as its group records it

    @property
    def best_val_accuracy(self) -> float | None:
        best = self.best.get("val_accuracy")
        return best.value if best else None

    @property
    def shown_status(self) -> str:
        """The status in words: a training run whose process is gone says so."""
        if self.status != Status.TRAINING.value or self.live:
            return self.status
        return "training (process gone)" if self.live is False else "training (other machine)"

    @property
    def stamp(self) -> str:
        """When the run was created, as its folder says (``20260101T120000Z``), else ""."""
        return self.run_dir.name if STAMP.fullmatch(self.run_dir.name) else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "name": self.name,
            "status": self.status,
            "live": self.live if self.status == Status.TRAINING.value else None,
            "epochs": self.epochs,
            "epochs_completed": self.epochs_completed,
            "best_val_accuracy": self.best_val_accuracy,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "total_params": self.total_params,
            "precision": self.precision,
            "started": self.started,
            "seconds": self.seconds,
            "best": {k: {"value": b.value, "epoch": b.epoch} for k, b in self.best.items()},
            "data": {"dataset": self.dataset, "name": self.data_name, "sha256": self.data_sha256},
            "loss": self.loss,
            "error": self.error,
            "damaged": self.damaged,
            "group": self.group,
            "seed": self.seed,
        }


# --- finding runs ------------------------------------------------------------------------------


def scan(folder: Path) -> list[RunInfo]:
    """Every run in ``folder`` (a run, a spec's folder or a runs directory; see the module's
    docstring), in no particular order. An unreadable ``folder`` is a one-line error."""
    dirs, files = _entries(folder)
    if SPEC in files:
        return [read_run(folder)]
    if _is_spec_folder(folder, dirs):
        return [read_run(folder / name) for name in _run_names(folder, dirs)]
    found: list[RunInfo] = []
    for spec_dir in dirs:
        try:
            names, _ = _entries(folder / spec_dir)
        except UserError as err:
            reason = f"{err.message}: {err.received}" if err.received else err.message
            found.append(damaged(folder / spec_dir, reason, name=spec_dir))
            continue
        found.extend(
            read_run(folder / spec_dir / name) for name in _run_names(folder / spec_dir, names)
        )
    return found


def _run_names(folder: Path, dirs: list[str]) -> list[str]:
    """The sub-folders that may be runs (each listed, damaged or not): named by timestamp, or
    holding a file every run writes first (spec.yaml, metrics.json); not a folder that holds
    neither, such as a study's ``plots/`` beside its trials (``mnistctl tune``)."""
    return [
        n
        for n in dirs
        if STAMP.fullmatch(n) or any(os.path.lexists(folder / n / f) for f in (SPEC, METRICS))
    ]


def _entries(folder: Path) -> tuple[list[str], set[str]]:
    """The visible sub-folders (sorted) and file names of ``folder``."""
    dirs: list[str] = []
    files: set[str] = set()
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    dirs.append(entry.name)
                else:
                    files.add(entry.name)
    except FileNotFoundError:
        raise UserError("no such folder", Location(str(folder))) from None
    except OSError as exc:
        raise UserError(
            "cannot read the folder",
            Location(str(folder)),
            received=exc.strerror or type(exc).__name__,
            hint="check that it exists and that you may read it",
        ) from None
    return sorted(dirs), files


def _is_spec_folder(folder: Path, dirs: list[str]) -> bool:
    """Whether the sub-folders of ``folder`` are runs (named by timestamp, or holding a spec)."""
    return any(STAMP.fullmatch(name) for name in dirs) or any(
        (folder / name / SPEC).is_file() for name in dirs
    )


# --- one run -----------------------------------------------------------------------------------


def damaged(run_dir: Path, reason: str, name: str | None = None) -> RunInfo:
    """A folder that is not a readable run, named by its spec's folder unless ``name``."""
    return RunInfo(run_dir, name or run_dir.parent.name or run_dir.name, DAMAGED, damaged=reason)


def read_run(run_dir: Path) -> RunInfo:
    """The run in ``run_dir`` from its record files; a damaged row when they cannot be read."""
    try:
        return _read(run_dir)
    except _Damaged as exc:
        return damaged(run_dir, str(exc))
    except UserError as err:  # the record's own checks
        return damaged(run_dir, _reason(err))


def undamaged(info: RunInfo, doing: str, hint: str) -> RunInfo:
    """``info``, or the one-line refusal to ``doing`` (compare, report) a damaged run."""
    if info.damaged:
        raise UserError(
            f"cannot {doing} a damaged run",
            Location(str(info.run_dir)),
            expected="a run written by 'mnistctl train'",
            received=info.damaged,
            hint=hint,
        )
    return info


def labels(infos: Sequence[RunInfo]) -> list[str]:
    """What runs side by side are called (compare, report): the spec's name; with the run's
    time when names repeat; numbered if that repeats too."""
    names = [info.name for info in infos]
    shown = [
        f"{info.name} {info.run_dir.name}" if names.count(info.name) > 1 else info.name
        for info in infos
    ]
    return [
        f"{label} #{i + 1}" if shown.count(label) > 1 else label for i, label in enumerate(shown)
    ]


def _reason(err: UserError) -> str:
    name = Path(err.location.file).name if err.location.file else ""
    text = f"{name}: {err.message}" if name else err.message
    if err.received is not None:
        text += f" ({err.received})"
    return text


def _read(run: Path) -> RunInfo:
    """The run's facts from its record files, each read through its declared shape."""
    folder = os.fspath(run)
    spec_text = _read_file(folder, SPEC)
    if spec_text is None:
        raise _Damaged("not a run: no spec.yaml")
    data = _json(folder, METRICS)
    if data is None:
        raise _Damaged("no metrics.json (the run record): stopped before it began, or not a run")
    record = RunRecord.from_json(run, data)
    summary = _json(folder, SUMMARY, SUMMARY_SHAPE) or {}
    env_data = (_json(folder, ENV, ENV_SHAPE) or {}).get("data", {})
    test = data.get("test", {})
    live = record.is_live() if record.status is Status.TRAINING else False
    started = data.get("started") or data.get("created") or None
    match = _LOSS.search(spec_text)
    group = data.get("group") or {}
    return RunInfo(
        run_dir=run,
        name=summary.get("name") or run.parent.name,
        status=record.status.value,
        live=live,
        epochs=data.get("epochs"),
        epochs_completed=data.get("epochs_completed"),
        final={
            k: float(v) for k, v in data.get("final", {}).items() if k != "epoch" and v is not None
        },
        best=_best(run, data),
        test_loss=_float(test.get("loss")),
        test_accuracy=_float(test.get("accuracy")),
        total_params=summary.get("total_params"),
        precision=data.get("precision") or None,
        started=started,
        seconds=_seconds(data, started, live is True),
        dataset=env_data.get("dataset") or None,
        data_name=env_data.get("name") or None,
        data_sha256=env_data.get("sha256") or None,
        loss=match.group(1) if match else None,
        error=data.get("error") or None,
        group=group.get("name") or None,
        group_seeds=tuple(group.get("seeds", ())),
        seed=group.get("seed"),
    )


def _read_file(folder: str, name: str) -> str | None:
    """The text of a small regular file of the run; None when there is none."""
    try:
        fd = os.open(f"{folder}/{name}", os.O_RDONLY | os.O_NONBLOCK)  # a FIFO: no wait
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Damaged(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Damaged(f"{name} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _Damaged(f"{name} is too large ({info.st_size:,} bytes)")
        chunks = [os.read(fd, info.st_size + 1)]
        if len(chunks[0]) > info.st_size:  # grown since: read on, as far as the limit
            while chunks[-1] and sum(map(len, chunks)) <= MAX_BYTES:
                chunks.append(os.read(fd, 1 << 16))
    except OSError as exc:
        raise _Damaged(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise _Damaged(f"{name} is not UTF-8 text") from None


def _json(folder: str, name: str, shape: Shape | None = None) -> dict[str, Any] | None:
    """A JSON object file of the run, of ``shape`` if given; None when there is none."""
    text = _read_file(folder, name)
    if text is None:
        return None
    try:
        value = filedata.loads(text)
    except ValueError as exc:
        raise _Damaged(f"{name}: damaged JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _Damaged(f"{name}: not a JSON object (a {type(value).__name__})")
    if shape is not None and (damage := shape.damage(value)) is not None:
        raise _Damaged(_reason(damage.error(f"{folder}/{name}", shape.what)))
    return value


def _best(run: Path, data: dict[str, Any]) -> dict[str, Best]:
    """The record's best values per metric; for older runs, computed from history.csv."""
    kept = data.get("best")
    if kept is not None:
        return {metric: Best(float(e["value"]), e["epoch"]) for metric, e in kept.items()}
    if not data.get("epochs_completed"):
        return {}
    try:
        rows = read_history(run / HISTORY)
    except UserError as err:
        raise _Damaged(_reason(err)) from None
    return {k: Best(float(v["value"]), int(v["epoch"])) for k, v in best_of(rows).items()}


def _seconds(data: dict[str, Any], started: str | None, live: bool) -> float | None:
    """Training seconds as recorded, else from start to end (or to now, while training)."""
    recorded = _float(data.get("train_seconds"))
    if recorded is not None:
        return recorded
    begin = _when(started)
    end = _when(data.get("ended")) or (datetime.now(UTC) if live else None)
    if begin is None or end is None or end < begin:
        return None
    return round((end - begin).total_seconds(), 3)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _float(value: float | None) -> float | None:
    """A number of a record (null where it was not finite), as a float."""
    return None if value is None else float(value)
