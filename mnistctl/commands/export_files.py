"""The folder an export goes to: refused when it is not an export's (the one rule for output
paths, ``runs/outputs.py``; a folder holding files export did not write is refused, never
emptied), built beside its place and put there only once the export was checked.

An export is built in a temporary sibling folder (``.NAME.XXXX.tmp``); when its check passed,
a previous export in the target is moved aside, the new folder renamed into place and the old
one deleted. A failed export deletes its temporary folder and leaves the target as it was: no
file there ever looks like a good export that is not one.

An export killed with SIGKILL cannot delete its temporary folder; its name says whose it is
(``.NAME.PID-START.XXXXXXXX.tmp``: the pid and the process's start time), so the next export
beside it deletes those whose process is gone, and never one that a running export builds.
Such folders from before the owner was in the name are deleted once a day old.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from mnistctl.errors import Location, UserError
from mnistctl.runs import liveness, outputs
from mnistctl.runs.atomic import read_json, write_error

EXPORT_DIR = "export"  # in a run: export/<format><checkpoint suffix>/
EXPORT_JSON = "export.json"
UNOWNED_STALE_S = 24 * 3600  # a temporary folder without an owner in its name: stale after


def default_folder(run_dir: Path, fmt: str, suffix: str) -> Path:
    """``RUN/export/onnx``, ``RUN/export/litert-best``, ..."""
    return run_dir / EXPORT_DIR / f"{fmt}{suffix}"


def check_target(target: Path, artifact: str, own: Path | None = None) -> None:
    """The one rule for output paths (``runs/outputs.py``) for an export folder: refused when
    it is a link, a file, inside a run directory other than ``own`` (the exported run's
    ``export/``), or a folder that is not an earlier export holding only what export wrote.
    ``artifact``: the new export's file (``model.onnx``, ...)."""
    outputs.check_output(target, _kind(artifact), own=own)


def _kind(artifact: str) -> outputs.Kind:
    return outputs.Kind(
        folder=True,
        expected=f"a new folder, an empty one, or an earlier export (with {EXPORT_JSON})",
        hint="choose another --output",
        cannot="cannot make the export folder",
        earlier=lambda folder: _not_an_export(folder, artifact),
    )


def _not_an_export(folder: Path, artifact: str) -> outputs.Other | None:
    """None for an empty folder or an earlier export holding only what export wrote (its
    ``export.json`` and the artifact it names, or this export's); else what it is.

    Files a user added to an export folder are refused, not carried over or deleted: the
    folder is replaced as a whole, in one rename, so that no one ever sees a new artifact
    beside an old ``export.json``; carrying the user's files into the new folder would be
    several renames that can fail halfway, and deleting them is losing them."""
    try:
        entries = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        return outputs.Other("a folder that cannot be read", exc.strerror or "unreadable")
    if not entries:
        return None
    if EXPORT_JSON not in entries:
        return outputs.Other(
            "a folder that is not an export",
            f"a folder of {len(entries)} entries and no {EXPORT_JSON}",
        )
    written = {EXPORT_JSON, artifact, _earlier_artifact(folder / EXPORT_JSON)}
    added = [name for name in entries if name not in written]
    if not added:
        return None
    shown = ", ".join(added[:3]) + (f" and {len(added) - 3} more" if len(added) > 3 else "")
    return outputs.Other(
        "an export folder holding files export did not write",
        f"{len(added)} entr{'y' if len(added) == 1 else 'ies'} export did not write: {shown}",
        "an export replaces its whole folder: move them out of it, or choose another --output",
    )


def _earlier_artifact(export_json: Path) -> str:
    """The artifact an earlier export's ``export.json`` names (``file``); "" if none."""
    try:
        doc = read_json(export_json)
    except UserError:
        return ""
    name = doc.get("file") if isinstance(doc, dict) else None
    return name if isinstance(name, str) and name not in ("", ".", "..") and "/" not in name else ""


@contextlib.contextmanager
def building(target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target``, deleted unless ``put_in_place`` took it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        me = liveness.current()
        tmp = Path(
            tempfile.mkdtemp(
                prefix=f".{target.name}.{me.pid}-{me.start or 0}.", suffix=".tmp", dir=target.parent
            )
        )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # as a folder made by mkdir (mkdtemp's is private)
    except OSError as exc:
        raise _folder_error(target, exc) from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def clean_stale(target: Path) -> list[Path]:
    """Delete the temporary folders beside ``target`` that killed exports to it left: this
    user's folders whose process is gone, or, without an owner in the name, a day old.
    Returns those deleted."""
    me = liveness.current()
    name = re.compile(re.escape(f".{target.name}.") + r"(?:(\d+)-(\d+)\.)?[a-z0-9_]{8}\.tmp")
    deleted: list[Path] = []
    try:
        entries = [e for e in os.scandir(target.parent) if e.name.startswith(f".{target.name}.")]
    except OSError:
        return deleted
    for entry in entries:
        match = name.fullmatch(entry.name)
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if match is None or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if match[1] is None:
            stale = time.time() - info.st_mtime > UNOWNED_STALE_S
        else:
            pid, start = int(match[1]), int(match[2]) or None
            mine = pid == me.pid and start in (None, me.start)
            owner = liveness.Owner(pid, me.host, None, start)
            stale = not mine and liveness.is_alive(owner) is False
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            deleted.append(Path(entry.path))
    return deleted


def put_in_place(built: Path, target: Path, artifact: str, own: Path | None = None) -> None:
    """``built`` becomes ``target``. An earlier export there is moved aside first, put back if
    the rename fails, and deleted once the new one is in place (kept aside, never deleted, if
    even putting it back failed)."""
    check_target(target, artifact, own)  # again: it may have changed while the export ran
    aside: Path | None = None
    placed = False
    try:
        if target.exists():
            aside = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, aside / "export")
        try:
            os.replace(built, target)
            placed = True
        except OSError:
            if aside is not None:
                os.replace(aside / "export", target)
            raise
    except OSError as exc:
        raise write_error(target, exc) from None
    finally:
        if aside is not None and (placed or not (aside / "export").exists()):
            shutil.rmtree(aside, ignore_errors=True)


def _folder_error(target: Path, exc: OSError) -> UserError:
    """Why the export folder cannot be made: a file where a folder should be, or the OS's
    reason (read-only, disk full, no permission)."""
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return UserError(
            "cannot make the export folder",
            Location(str(target)),
            expected="a path whose parents are folders",
            received=f"{blocking} is a file",
            hint="choose another --output",
        )
    return UserError(
        "cannot make the export folder",
        Location(str(target)),
        received=exc.strerror or type(exc).__name__,
        hint=write_error(target, exc).hint,
    )
