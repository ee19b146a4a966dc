"""The folder an export goes to: refused when it is not an export's, built beside its place and
put there only once the export was checked.

An export is built in a temporary sibling folder (``.NAME.XXXX.tmp``); when its check passed,
a previous export in the target is moved aside, the new folder renamed into place and the old
one deleted. A failed export deletes its temporary folder and leaves the target as it was: no
file there ever looks like a good export that is not one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_error

EXPORT_DIR = "export"  # in a run: export/<format><checkpoint suffix>/
EXPORT_JSON = "export.json"


def default_folder(run_dir: Path, fmt: str, suffix: str) -> Path:
    """``RUN/export/onnx``, ``RUN/export/litert-best``, ..."""
    return run_dir / EXPORT_DIR / f"{fmt}{suffix}"


def check_target(target: Path) -> None:
    """Refuse a target that is not a folder an export may replace: a file, a link, or a
    folder with files that is not an earlier export (no ``export.json``)."""
    where = Location(str(target))
    if target.is_symlink():
        raise UserError(
            "refusing to export into a symbolic link",
            where,
            expected="a new folder, an empty one, or an earlier export",
            received="a symbolic link",
            hint="give the folder it points to as --output",
        )
    if not target.exists():
        return
    if not target.is_dir():
        raise UserError(
            "refusing to export over a file",
            where,
            expected="a new folder, an empty one, or an earlier export",
            received="an existing file",
            hint="choose another --output",
        )
    try:
        entries = list(target.iterdir())
    except OSError as exc:
        raise UserError("cannot read the export folder", where, received=exc.strerror) from None
    if entries and not (target / EXPORT_JSON).is_file():
        raise UserError(
            "refusing to replace a folder that is not an export",
            where,
            expected=f"a new folder, an empty one, or an earlier export (with {EXPORT_JSON})",
            received=f"a folder of {len(entries)} entries and no {EXPORT_JSON}",
            hint="choose another --output",
        )


@contextlib.contextmanager
def building(target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target``, deleted unless ``put_in_place`` took it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # as a folder made by mkdir (mkdtemp's is private)
    except OSError as exc:
        raise _folder_error(target, exc) from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def put_in_place(built: Path, target: Path) -> None:
    """``built`` becomes ``target``. An earlier export there is moved aside first, put back if
    the rename fails, and deleted once the new one is in place (kept aside, never deleted, if
    even putting it back failed)."""
    check_target(target)  # again: it may have changed while the export ran
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
