"""Where a study lives: a storage URL (or none) as an Optuna storage, or a one-line refusal.

- none: Optuna's journal file, ``RUNS/<study>/study.journal``; every process on this machine
  (and on machines that share the folder) appends to it under a lock (``journal.py``).
- ``postgresql://`` (``postgresql+psycopg2://``, ``postgresql+psycopg://``) and ``mysql://``
  (``mysql+pymysql://``, ...; where a driver is installed): Optuna's RDB storage, shared by
  processes on many machines, with heartbeats, so that a trial whose process stopped beating
  is failed and retried by the next process that asks for a trial.
- ``sqlite:///FILE``: one process only; SQLite locks under parallel writers.

Opening a database connects at once, with a connect timeout: a wrong or unreachable URL is one
line within seconds, never a traceback. A URL is shown and written only through
``masking.masked``, and a driver's message only through ``masking.scrubbed``: no password, in
any spelling, leaves this module.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError
from mnistctl.tune.masking import masked, scrubbed

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
    shown: str  # for people and files: the journal's path, or the URL with its secrets masked
    # what worker processes are given, through their environment (None: the default journal)
    url: str | None = field(default=None, repr=False)
    notices: list[str] = field(default_factory=list, compare=False)  # the journal's repairs

    @property
    def heartbeats(self) -> bool:
        return self.kind in ("postgresql", "mysql")

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message) without the URL's secrets."""
        return scrubbed(text, self.url)

    def take_notices(self) -> list[str]:
        """What happened to the storage since the last call (a damaged tail cut off)."""
        taken = list(self.notices)
        self.notices.clear()
        return taken


def open_storage(url: str | None, journal: Path, *, workers: int) -> OpenedStorage:
    """The storage ``url`` names (None: the journal file ``journal``), opened and checked."""
    if url is None or url == "":
        return _journal(journal)
    where = Location("--storage")
    given = url
    if "://" not in url:
        raise UserError("not a storage URL", where, expected=ACCEPTED, received=masked(url))
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
        _check_sqlite_file(url, given)
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
    _check_parsed(url, given)
    return _rdb(url, given, kind, {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}})


def _check_parsed(url: str, given: str) -> None:
    """Refused before connecting: a URL SQLAlchemy cannot read, and a password with an ``@``
    in it, which SQLAlchemy (and libpq) would cut at that ``@``, taking the rest for the host
    (and the driver's error would then quote part of the password)."""
    from sqlalchemy.engine import make_url

    where = Location("--storage")
    try:
        host = make_url(url).host
    except Exception as exc:
        raise UserError(
            "not a storage URL", where, expected=ACCEPTED,
            received=f"{masked(given)}: {scrubbed(_first_line(exc), given)}",
        ) from None  # fmt: skip
    if host is not None and "@" in host:
        raise UserError(
            "the URL's password holds an @, which ends the password in a URL",
            where,
            expected="each @ in a password written as %40",
            received=masked(given),
            hint="write the password percent-encoded, or leave it out of the URL and give it "
            "through PGPASSWORD or ~/.pgpass",
        )


def _check_sqlite_file(url: str, given: str) -> None:
    """Refused: an SQLite database in memory (``sqlite://``, ``sqlite:///:memory:``, a
    ``mode=memory`` URI), which vanishes with this process and is not shared with workers."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return  # SQLAlchemy says what is wrong when it opens it
    database = (parsed.database or "").strip()
    name = database.removeprefix("file:") if parsed.query.get("uri") else database
    mode = parsed.query.get("mode", ())
    memory = "memory" in (mode if isinstance(mode, tuple) else (mode,))
    if name in ("", ":memory:") or memory or "mode=memory" in database:
        raise UserError(
            "an SQLite database in memory vanishes with this process, and the study with it",
            Location("--storage"),
            expected="sqlite:///FILE (a file the study lives in)",
            received=masked(given),
            hint="leave --storage out for a journal file in the runs directory",
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _journal(path: Path) -> OpenedStorage:
    from mnistctl.tune.journal import open_journal

    storage, backend = open_journal(path)
    return OpenedStorage(storage, "journal", str(path), None, backend.notices)


def _rdb(url: str, given: str, kind: str, engine_kwargs: dict[str, Any]) -> OpenedStorage:
    """``url``: what SQLAlchemy opens (its driver named); ``given``: what the user wrote."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    shown = masked(given)
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
            received=f"{shown}: {scrubbed(_first_line(exc), given)}",
            hint="check the host, port, user and database name, and that the server runs",
        ) from None
    return OpenedStorage(storage, kind, shown, given)


def _first_line(exc: BaseException) -> str:
    """The driver's own reason (SQLAlchemy wraps it in ``orig``), on one line."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    line = text[0] if text else type(inner).__name__
    return line[:300]
