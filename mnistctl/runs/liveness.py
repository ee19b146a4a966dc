"""Who is training a run: a process named by host, boot, pid and the process's start time.

A pid alone is not enough: after a crash or a reboot the same number may belong to another
process, and a run marked "training" could then never be resumed. The start time (clock ticks
since boot, from /proc) and the boot id tell the process that wrote the record from any other.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# An owner as ``Owner.to_json`` writes it, in a run's record and a tune trial's attributes.
OWNER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["pid", "host"],
    "additionalProperties": False,
    "properties": {
        "pid": {"type": "integer", "minimum": 0},
        "host": {"type": "string"},
        "boot": {"type": ["string", "null"]},
        "start": {"type": ["integer", "null"]},
    },
}


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    boot: str | None  # the kernel's boot id, where there is one
    start: int | None  # the process's start time in clock ticks since boot, where known

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "boot": self.boot, "start": self.start}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Owner | None:
        """The owner of ``to_json``'s object, read through the shape of the file that holds it
        (``OWNER_SCHEMA``); None for none."""
        if value is None:
            return None
        return cls(value["pid"], value["host"], value.get("boot"), value.get("start"))


def current() -> Owner:
    """This process."""
    pid = os.getpid()
    return Owner(pid, socket.gethostname(), _boot_id(), _start_ticks(pid))


def is_alive(owner: Owner) -> bool | None:
    """True: that very process still runs; False: it is gone; None: it runs on another host
    (this machine cannot tell)."""
    me = current()
    if owner.host != me.host:
        return None
    if owner.boot is not None and me.boot is not None and owner.boot != me.boot:
        return False  # the machine has rebooted since
    if owner.pid == me.pid and owner.start == me.start:
        return False  # this process: nothing else is training it
    if not _pid_exists(owner.pid):
        return False
    if owner.start is None:
        return True  # an old record: the pid is all there is
    return _start_ticks(owner.pid) == owner.start


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (after the command name, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None
