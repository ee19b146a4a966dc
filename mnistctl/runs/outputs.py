"""Where a command may write when it is told where: one rule for every output path.

A command that writes a file or a folder at a path it was given, or at its default place
(``compare --output``, ``export --output``, ``plot``'s pictures), checks the path here first,
before anything slow or anything is written. It may write there only when the path is

- new (missing parent folders are made, as ``mkdir -p``), or
- an earlier output of the same kind, which it replaces: a PNG image (by its signature) where
  it writes a PNG, a folder its own check calls an earlier output (export: an earlier export
  holding nothing export did not write);

and never when

- the path itself is a symbolic link (whatever it points to: a link the command did not make
  is neither followed nor replaced; links among the parent folders are the user's layout and
  are followed, and the run-directory rule below applies to where they lead),
- what is there is not a regular file or a folder (a FIFO, a device such as ``/dev/null``, a
  socket), or is a file where a folder goes and the other way round,
- it lies inside a run directory (a folder with ``spec.yaml`` and ``metrics.json`` or
  ``summary.json``): a run's files are its own, and a replaced ``model.keras`` is a run that no
  longer loads. The one exception is the folder inside a run the command itself writes
  (``RUN/plots`` for ``plot``, ``RUN/export`` for ``export``),
- a parent on the way is a file.

A refusal is one ``UserError`` and nothing was touched. The files are then written through
``atomic.py`` (a temporary name beside the target, renamed into place), so a rename never
writes through a link that appeared since.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mnistctl.errors import Location, UserError
from mnistctl.runs import layout
from mnistctl.runs.record import METRICS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Other:
    """Why an existing output is not an earlier one of the command's: the message's end
    (``refusing to replace <what>``), what is there, and a hint if not the kind's."""

    what: str
    received: str
    hint: str | None = None


@dataclass(frozen=True)
class Kind:
    """What a command writes at the path."""

    folder: bool  # a folder (export) or a file (a PNG)
    expected: str  # "a new file, a folder, or a PNG compare wrote", ...
    hint: str  # how to choose another path
    cannot: str  # the message when a parent is a file: "cannot write the file", ...
    earlier: Callable[[Path], Other | None]  # an existing output: None when it may be replaced


def png_or_other(path: Path) -> Other | None:
    """None for a PNG image (its 8-byte signature); else what the file is."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(PNG_SIGNATURE))
    except OSError as exc:
        return Other("a file that cannot be read", exc.strerror or type(exc).__name__)
    if head == PNG_SIGNATURE:
        return None
    return Other("a file that is not a PNG image", "an existing file that is not a PNG image")


def png_kind(command: str, hint: str) -> Kind:
    """A PNG ``command`` writes; an earlier PNG there is replaced."""
    return Kind(
        folder=False,
        expected=f"a new file, or a PNG image {command} wrote earlier",
        hint=hint,
        cannot="cannot write the file",
        earlier=png_or_other,
    )


def json_kind(command: str, keys: frozenset[str], hint: str) -> Kind:
    """A JSON document ``command`` writes (an object with ``keys``); an earlier one is replaced."""

    def earlier(path: Path) -> Other | None:
        import json

        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict) and keys <= doc.keys():
            return None
        return Other(f"a file {command} did not write", f"an existing file that is not {command}'s")

    return Kind(False, f"a new file, or the JSON {command} wrote earlier", hint,
                "cannot write the file", earlier)  # fmt: skip


def header_kind(command: str, header: str, hint: str) -> Kind:
    """A text file ``command`` writes, starting with ``header``; an earlier one is replaced."""

    def earlier(path: Path) -> Other | None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(header.encode()))
        except OSError as exc:
            return Other("a file that cannot be read", exc.strerror or type(exc).__name__)
        if head == header.encode():
            return None
        return Other(f"a file {command} did not write", f"an existing file that is not {command}'s")

    return Kind(False, f"a new file, or the one {command} wrote earlier", hint,
                "cannot write the file", earlier)  # fmt: skip


def check_output(target: Path, kind: Kind, *, own: Path | None = None) -> None:
    """Raise a one-line ``UserError`` unless ``kind`` may be written at ``target`` (see the
    module's docstring). ``own``: the folder inside a run that this command writes, if any."""
    where = Location(str(target))
    path = Path(target).absolute()

    def refuse(message: str, received: str, hint: str | None = None) -> UserError:
        return UserError(message, where, kind.expected, received, hint or kind.hint)

    link = next((p for p in (path, own) if p is not None and p.is_symlink()), None)
    if link is not None:
        shown = "a symbolic link" if link is path else f"{link} is a symbolic link"
        raise refuse("refusing to write through a symbolic link", shown)
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(
            kind.cannot,
            where,
            expected="a path whose parents are folders",
            received=f"{blocking} is a file",
            hint=kind.hint,
        )
    run = _run_around(path.parent.resolve() / path.name)
    if run is not None and not (own is not None and _within(path, own)):
        raise refuse(
            "refusing to write inside a run directory",
            f"a path inside the run {run}",
            "a run's files are its own; choose a path outside it",
        )
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise refuse("cannot look at the path", exc.strerror or type(exc).__name__) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise refuse(f"refusing to write over {_special(mode)}", _special(mode))
    if stat.S_ISDIR(mode) != kind.folder:
        shown = "a folder" if stat.S_ISDIR(mode) else "a file"
        raise refuse(f"refusing to write over {shown}", f"an existing {shown[2:]}")
    other = kind.earlier(path)
    if other is not None:
        raise refuse(f"refusing to replace {other.what}", other.received, other.hint)


def _run_around(path: Path) -> Path | None:
    """The run directory that is ``path`` or holds it, if any."""
    for folder in (path, *path.parents):
        if (folder / layout.SPEC).is_file() and (
            (folder / METRICS).is_file() or (folder / layout.SUMMARY).is_file()
        ):
            return folder
    return None


def _within(path: Path, own: Path) -> bool:
    resolved = path.parent.resolve() / path.name
    return resolved.is_relative_to(own.resolve())


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file that is not a regular file"
