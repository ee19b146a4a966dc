"""Where a study lives: a storage URL (or none) as an Optuna storage, or a one-line refusal.

- none: Optuna's journal file, ``RUNS/<study>/study.journal``; every process on this machine
  (and on machines that share the folder) appends to it under a lock.
- ``postgresql://`` (``postgresql+psycopg2://``, ``postgresql+psycopg://``) and ``mysql://``
  (``mysql+pymysql://``, ...; where a driver is installed): Optuna's RDB storage, shared by
  processes on many machines, with heartbeats, so that a trial whose process stopped beating
  is failed and retried by the next process that asks for a trial.
- ``sqlite:///FILE``: one process only; SQLite locks under parallel writers.

Opening a database connects at once, with a connect timeout: a wrong or unreachable URL is one
line within seconds, never a traceback.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError

HEARTBEAT_S = 5  # a running trial's process writes a heartbeat this often (RDB storages)
GRACE_S = 15  # and is taken for dead after this long without one
MAX_RETRY = 3  # a trial whose process died is retried this many times at most
CONNECT_TIMEOUT_S = 5
ACCEPTED = (
    "none (a journal file in the runs directory), postgresql://USER@HOST/DB, "
    "mysql://USER@HOST/DB, or sqlite:///FILE (one process only)"
)
SQLITE_PARALLEL = (
    "SQLite locks under parallel writers (Optuna's docs); use the journal file (default) or "
    "PostgreSQL"
)

# dialect+driver -> the module that driver needs, and what to install
_DRIVERS: dict[str, tuple[str, str]] = {
    "postgresql+psycopg2": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg": ("psycopg", "psycopg[binary]"),
    "postgresql+pg8000": ("pg8000", "pg8000"),
    "mysql+mysqldb": ("MySQLdb", "mysqlclient"),
    "mysql+pymysql": ("pymysql", "pymysql"),
    "mysql+mysqlconnector": ("mysql.connector", "mysql-connector-python"),
}
# a URL without a driver gets the first one installed (SQLAlchemy's own default differs
# between its versions: psycopg 3 since 2.1)
_DEFAULT_DRIVERS = {
    "postgresql": ("postgresql+psycopg2", "postgresql+psycopg", "postgresql+pg8000"),
    "mysql": ("mysql+pymysql", "mysql+mysqldb", "mysql+mysqlconnector"),
}


@dataclass(frozen=True)
class OpenedStorage:
    storage: Any  # an optuna.storages.BaseStorage
    kind: str  # journal | postgresql | mysql | sqlite
    shown: str  # for people: the journal's path, or the URL with its password masked
    url: str | None  # what worker processes are given (None: the default journal)

    @property
    def heartbeats(self) -> bool:
        return self.kind in ("postgresql", "mysql")


def open_storage(url: str | None, journal: Path, *, workers: int) -> OpenedStorage:
    """The storage ``url`` names (None: the journal file ``journal``), opened and checked."""
    if url is None or url == "":
        return _journal(journal)
    where = Location("--storage")
    given = url
    if "://" not in url:
        raise UserError("not a storage URL", where, expected=ACCEPTED, received=_masked(url))
    scheme = url.split("://", 1)[0].lower()
    if scheme == "postgres":  # what Heroku and others write; SQLAlchemy spells it out
        url, scheme = "postgresql" + url[len("postgres") :], "postgresql"
    if scheme == "sqlite":
        if workers > 1:
            raise UserError(
                SQLITE_PARALLEL,
                where,
                expected="one worker process with sqlite://",
                received=f"--workers {workers}",
                hint="leave --storage out, or give postgresql://USER@HOST/DB",
            )
        return _rdb(url, given, "sqlite", {})
    if scheme in _DEFAULT_DRIVERS:
        found = [d for d in _DEFAULT_DRIVERS[scheme] if _installed(_DRIVERS[d][0])]
        if not found:
            first = _DEFAULT_DRIVERS[scheme][0]
            raise UserError(
                f"{scheme}:// needs a database driver that is not installed",
                where,
                expected="one of the Python modules "
                + ", ".join(_DRIVERS[d][0] for d in _DEFAULT_DRIVERS[scheme]),
                received="none",
                hint=f"pip install {_DRIVERS[first][1]}",
            )
        url, scheme = found[0] + url[len(scheme) :], found[0]
    if scheme not in _DRIVERS:
        raise UserError(
            "unsupported storage", where, expected=ACCEPTED, received=f"{scheme}:// URL"
        )
    module, package = _DRIVERS[scheme]
    if not _installed(module):
        raise UserError(
            f"{scheme}:// needs a database driver that is not installed",
            where,
            expected=f"the Python module {module}",
            received="none",
            hint=f"pip install {package}",
        )
    kind = scheme.split("+", 1)[0]
    return _rdb(url, given, kind, {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}})


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _journal(path: Path) -> OpenedStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(path)))
    except OSError as exc:
        raise UserError(
            "cannot open the study's journal",
            Location(str(path)),
            received=exc.strerror or type(exc).__name__,
            hint="check that the runs directory is writable",
        ) from None
    except Exception as exc:  # a damaged journal: Optuna replays it and fails
        raise UserError(
            "cannot read the study's journal",
            Location(str(path)),
            expected="a journal file written by Optuna",
            received=_first_line(exc),
            hint="move the file away to start the study afresh",
        ) from None
    return OpenedStorage(storage, "journal", str(path), None)


def _rdb(url: str, given: str, kind: str, engine_kwargs: dict[str, Any]) -> OpenedStorage:
    """``url``: what SQLAlchemy opens (its driver named); ``given``: what the user wrote."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    shown = _masked(given)
    beats = kind in ("postgresql", "mysql")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_S if beats else None,
                grace_period=GRACE_S if beats else None,
                heartbeat_stale_trial_callback=(
                    RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY) if beats else None
                ),
            )
    except Exception as exc:  # SQLAlchemy's: refused, unknown host, auth, no such database
        raise UserError(
            "cannot open the study storage",
            Location("--storage"),
            expected=f"a reachable {kind} database",
            received=f"{shown}: {_first_line(exc)}",
            hint="check the host, port, user and database name, and that the server runs",
        ) from None
    return OpenedStorage(storage, kind, shown, given)


def _masked(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:
        head, sep, tail = url.partition("://")
        if sep and "@" in tail:
            cred, _, host = tail.rpartition("@")
            if ":" in cred:
                return f"{head}://{cred.split(':', 1)[0]}:***@{host}"
        return url


def _first_line(exc: BaseException) -> str:
    """The driver's own reason (SQLAlchemy wraps it in ``orig``), on one line."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    line = text[0] if text else type(inner).__name__
    return line[:300]
