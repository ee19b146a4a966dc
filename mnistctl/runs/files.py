"""Run directories: creating them, finding them, and writing their files atomically.

``runs/<spec name>/<UTC timestamp>/`` holds spec.yaml, model.keras, history.csv, metrics.json,
summary.json, env.json and plots/. Every file is written to a temporary name in the same folder
and renamed into place, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError

RUN_FILES = ("spec.yaml", "model.keras", "history.csv", "metrics.json", "summary.json", "env.json")
CHECKPOINT = "checkpoint.keras"  # the model and optimizer after the last finished epoch
STATE = "state.json"  # how many epochs the checkpoint holds


# --- atomic writes ---------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it into place if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: Path, value: Any) -> None:
    write_text(target, json.dumps(value, indent=2) + "\n")


def write_with(target: Path, writer: Callable[[Path], None], suffix: str = "") -> None:
    """Atomically write ``target`` with a function that writes to a given path."""
    with atomic_path(target, suffix) as tmp:
        tmp.unlink()  # some writers (Keras) refuse to overwrite
        writer(tmp)


def write_history(target: Path, rows: Sequence[Mapping[str, float]]) -> None:
    keys: list[str] = ["epoch"]
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    out.writeheader()
    for row in rows:
        out.writerow({k: row.get(k, "") for k in keys})
    write_text(target, buf.getvalue())


def read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [
                {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
                for row in csv.DictReader(fh)
            ]
    except (ValueError, OSError, csv.Error) as exc:
        raise UserError(
            "damaged history file",
            Location(str(path)),
            expected="a CSV of epochs and metrics",
            received=str(exc),
        ) from None


def history_columns(rows: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """Rows (one per epoch) -> Keras-style history {metric: [per epoch]}."""
    out: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            if k != "epoch":
                out.setdefault(k, []).append(float(v))
    return out


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("missing file", Location(str(path))) from None
    except (OSError, ValueError) as exc:
        raise UserError("damaged JSON file", Location(str(path)), received=str(exc)) from None


# --- run directories -------------------------------------------------------------------------


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_run_dir(runs_dir: Path, name: str) -> Path:
    """Create ``runs_dir/name/<timestamp>/``, refusing any name that would leave runs_dir."""
    base = runs_dir.resolve()
    parent = (base / name).resolve()
    if parent.parent != base or name in ("", ".", ".."):
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
        (candidate / "plots").mkdir()
        return candidate
    raise UserError("too many runs in the same second", Location(str(parent)))


def find_run(arg: Path, runs_dir: Path | None = None) -> Path:
    """A run directory, or a spec file meaning that spec's latest run."""
    where = Location(str(arg))
    if arg.is_dir():
        if (arg / "spec.yaml").is_file():
            return arg
        runs = _runs_under(arg)
        if runs:
            return runs[-1]
        raise UserError(
            "not a run directory",
            where,
            expected="a folder with spec.yaml, model.keras, ... from 'mnistctl train'",
            received="a folder without spec.yaml",
        )
    if arg.is_file() and arg.suffix in (".yaml", ".yml"):
        from mnistctl.spec import load_spec

        spec = load_spec(arg)
        folder = (runs_dir or Path("runs")) / spec.name
        runs = _runs_under(folder)
        if not runs:
            raise UserError(
                f"no runs of spec {spec.name!r} yet",
                where,
                expected=f"a run in {folder}/",
                received="none",
                hint=f"train it first: mnistctl train {arg}",
            )
        return runs[-1]
    raise UserError(
        "no such run directory",
        where,
        expected="a run directory (runs/<name>/<timestamp>) or a spec file",
        received="nothing there" if not arg.exists() else "a file that is not a spec",
    )


def _runs_under(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and (p / "spec.yaml").is_file()),
        key=lambda p: p.name,
    )


def load_run_spec(run: Path, overrides: Sequence[str] = ()) -> Any:
    """The run's resolved spec (as checked as any spec)."""
    from mnistctl.spec import load_spec

    path = run / "spec.yaml"
    if not path.is_file():
        raise UserError("not a run directory: spec.yaml is missing", Location(str(run)))
    return load_spec(path, overrides)


def model_path(run: Path) -> Path:
    path = run / "model.keras"
    if not path.is_file():
        status = _status(run)
        raise UserError(
            "the run has no model.keras",
            Location(str(run)),
            expected="a run that finished at least one epoch",
            received=f"a run marked {status!r}" if status else "no model file",
            hint="train it (or resume it with 'mnistctl train --resume RUN')",
        )
    return path


def _status(run: Path) -> str | None:
    try:
        status = json.loads((run / "metrics.json").read_text()).get("status")
        return str(status) if status is not None else None
    except (OSError, ValueError, AttributeError):
        return None
