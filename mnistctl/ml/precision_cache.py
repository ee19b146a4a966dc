"""What ``train.precision: auto`` measured, remembered per machine, TensorFlow and model.

One small JSON file, ``precision.json`` in ``$MNISTCTL_CACHE_DIR``, else
``$XDG_CACHE_HOME/mnistctl``, else ``~/.cache/mnistctl``:

    {"version": 1, "entries": {KEY: {"ms_per_step": {"float32": 41.2, ...},
                                     "dropped": {}, "policy": "...", "measured": "...Z", ...}}}

Safe against concurrent writers: every change is a read-modify-write under an exclusive
``fcntl.flock`` on ``precision.json.lock``, and the file is replaced atomically
(``runs/atomic.py``), so a reader never sees half a file. Safe against damage: a file or entry
not of the shape this module writes (``CACHE_SHAPE``, ``ENTRY_SHAPE``) is ignored (a miss) and
rewritten on the next change; the cache never raises. ``measuring()`` is a second lock, held
while one process times models, so that two processes starting at once neither disturb each
other's timings nor measure twice.
No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mnistctl import filedata
from mnistctl.errors import UserError
from mnistctl.filedata import Shape
from mnistctl.runs.atomic import write_json

FILE = "precision.json"
FORMAT = 1
MAX_ENTRIES = 200  # the most recently measured are kept
MAX_BYTES = 1 << 20  # a bigger file is not one this module wrote: ignored
WRITE_WAIT_S = 10.0  # a read-modify-write takes milliseconds; past this, skip remembering
MEASURE_WAIT_S = 60.0  # another process measuring takes seconds; past this, measure anyway
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
ABOUT = ("machine", "tensorflow", "spec")  # an entry's facts for people reading the file

# the file, and each entry in it (a damaged entry is a miss; the others are kept)
CACHE_SHAPE = Shape(
    "precision cache",
    {
        "type": "object",
        "required": ["version", "entries"],
        "additionalProperties": False,
        "properties": {"version": {"const": FORMAT}, "entries": {"type": "object"}},
    },
)
ENTRY_SHAPE = Shape(
    "precision cache entry",
    {
        "type": "object",
        "required": ["ms_per_step", "measured"],
        "properties": {
            "ms_per_step": {
                "type": "object",
                "required": ["float32"],
                "additionalProperties": False,
                "properties": {p: {"type": "number", "exclusiveMinimum": 0} for p in POLICIES},
            },
            "dropped": {
                "type": "object",
                "additionalProperties": False,
                "properties": {p: {"type": "string"} for p in POLICIES},
            },
            "measured": {"type": "string"},
            "policy": {"type": "string"},
            **{key: {"type": "string"} for key in ABOUT},
        },
    },
)


@dataclass(frozen=True)
class Entry:
    """One measurement: milliseconds per training step of each policy that ran, the policies
    dropped (and why), when (ISO 8601 UTC), and what was decided then (for people reading)."""

    ms_per_step: dict[str, float]
    measured: str
    dropped: dict[str, str] = field(default_factory=dict)
    policy: str = ""
    about: dict[str, str] = field(default_factory=dict)  # machine, tensorflow, spec: readable

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "ms_per_step": {k: round(v, 3) for k, v in self.ms_per_step.items()},
            "dropped": dict(self.dropped),
            "measured": self.measured,
            **self.about,
        }


def cache_dir() -> Path:
    """Where the cache lives (not created here)."""
    given = os.environ.get("MNISTCTL_CACHE_DIR")
    if given:
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mnistctl"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PrecisionCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else cache_dir()
        self.path = self.folder / FILE

    def get(self, key: str) -> Entry | None:
        """The entry for ``key``, or None (none, or damaged)."""
        return _entry(self._read().get(key))

    def put(self, key: str, entry: Entry) -> bool:
        """Remember ``entry`` under ``key``, keeping every other valid entry; False if it could
        not be written (no lock in time, read-only folder, disk full): never an error."""
        with self._locked(self.path.with_name(FILE + ".lock"), WRITE_WAIT_S) as held:
            if not held:
                return False
            entries = {k: v for k, v in self._read().items() if ENTRY_SHAPE.is_valid(v)}
            entries.pop(key, None)
            entries[key] = entry.to_json()  # newest last
            while len(entries) > MAX_ENTRIES:
                del entries[next(iter(entries))]
            try:
                write_json(self.path, {"version": FORMAT, "entries": entries})
            except UserError:
                return False
            return True

    @contextlib.contextmanager
    def measuring(self) -> Iterator[bool]:
        """Hold the measuring lock while timing (True), or go on without it after
        ``MEASURE_WAIT_S`` or when it cannot be taken at all (False)."""
        lock = self.path.with_name(FILE + ".measuring.lock")
        with self._locked(lock, MEASURE_WAIT_S) as held:
            yield held

    def _read(self) -> dict[str, Any]:
        """The entries as stored (each still to be checked); {} for a missing or damaged file."""
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                return {}
            data = filedata.loads(raw.decode("utf-8"))
        except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError included
            return {}
        return dict(data["entries"]) if CACHE_SHAPE.is_valid(data) else {}

    @contextlib.contextmanager
    def _locked(self, lock: Path, wait_s: float) -> Iterator[bool]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fh: IO[bytes] = open(lock, "ab")  # noqa: SIM115 (closed below)
        except OSError:
            yield False
            return
        with fh:
            held = _flock(fh, wait_s)
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(fh, fcntl.LOCK_UN)


def _flock(fh: IO[bytes], wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        except OSError:  # a file system without locks
            return False


def _entry(value: Any) -> Entry | None:
    """An entry as this module writes it (``ENTRY_SHAPE``), or None."""
    if not ENTRY_SHAPE.is_valid(value):
        return None
    return Entry(
        ms_per_step={k: float(v) for k, v in value["ms_per_step"].items()},
        measured=value["measured"],
        dropped=dict(value.get("dropped", {})),
        policy=value.get("policy", ""),
        about={k: value[k] for k in ABOUT if k in value},
    )
