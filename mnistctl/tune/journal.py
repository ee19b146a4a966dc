"""The default storage: Optuna's journal file, ``RUNS/<study>/study.journal``, kept readable.

A crash or a full disk can leave the journal's last line cut short. Optuna skips such a line
when it reads the file, but its next append lands right after it: the cut line and the new
record become one line in the middle, which no later command can read. So here every append
first cuts off the tail Optuna does not read (a last line without its newline, or one that is
no JSON record), and so does opening the journal; both under Optuna's own journal lock, which
every writer holds while it appends, so no worker is mid-write meanwhile. What was cut is said
in one line (``notices``). A journal damaged in its middle (by an older mnistctl, or by hand)
is one line too, never a traceback: Optuna cannot replay it, and mnistctl does not guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from mnistctl.errors import Location, UserError

CHUNK = 65536


class RepairingJournal(JournalFileBackend):  # type: ignore[misc]  # Optuna is untyped here
    """Optuna's journal file backend that never appends onto a damaged last line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = JournalFileSymlinkLock(str(path))
        super().__init__(str(path), lock_obj=self.lock)
        self.notices: list[str] = []

    def repair(self) -> None:
        """Cut off the tail Optuna does not read, under the journal's lock."""
        self.lock.acquire()
        try:
            self._cut_tail()
        finally:
            self.lock.release()

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        self.lock.acquire()
        try:
            self._cut_tail()
            with open(self.path, "ab") as out:
                out.write(text.encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
        finally:
            self.lock.release()

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        try:
            yield from super().read_logs(log_number_from)
        except ValueError as exc:  # JSONDecodeError, or Optuna's "Invalid log format."
            raise damaged(self.path, exc) from None

    def _cut_tail(self) -> None:
        with open(self.path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            start = last_line_start(f, size)
            f.seek(start)
            last = f.read(size - start)
            if not last or (last.endswith(b"\n") and _is_record(last)):
                return
            f.truncate(start)
            f.flush()
            os.fsync(f.fileno())
        self.notices.append(
            f"{self.path}: cut off its last line, {len(last)} bytes cut short (by a crash or a "
            "full disk), which Optuna skips; the study is as Optuna read it"
        )


def last_line_start(f: BinaryIO, size: int) -> int:
    """Where the last line of the file ``f`` (``size`` bytes) starts: after the newline before
    it (its own final newline, if any, aside)."""
    end = size - 1 if size else 0  # a final newline ends the last line; it does not start it
    while end > 0:
        begin = max(0, end - CHUNK)
        f.seek(begin)
        found = f.read(end - begin).rfind(b"\n")
        if found >= 0:
            return begin + found + 1
        end = begin
    return 0


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _first_line(exc: BaseException) -> str:
    """What Optuna's exception says, in one line: its first, or its type's name."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def damaged(path: Path, exc: BaseException) -> UserError:
    return UserError(
        "the study's journal is damaged before its last line, so Optuna cannot read it",
        Location(str(path)),
        expected="one JSON record per line, as Optuna writes them",
        received=_first_line(exc),
        hint="move the file away to start the study afresh (the trials' runs stay)",
    )


def open_journal(path: Path) -> tuple[Any, RepairingJournal]:
    """The journal storage at ``path`` (created when new), its damaged tail cut off first."""
    from optuna.storages import JournalStorage

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = RepairingJournal(path)
        backend.repair()
    except OSError as exc:
        raise UserError(
            "cannot open the study's journal",
            Location(str(path)),
            received=exc.strerror or type(exc).__name__,
            hint="check that the runs directory is writable",
        ) from None
    try:
        return JournalStorage(backend), backend
    except UserError:
        raise
    except Exception as exc:  # Optuna replays the records and fails on one
        raise UserError(
            "cannot read the study's journal",
            Location(str(path)),
            expected="a journal file written by Optuna",
            received=_first_line(exc),
            hint="move the file away to start the study afresh (the trials' runs stay)",
        ) from None
