"""A storage password is never shown or written, in any spelling a driver accepts (issue 23,
item 3): the masking function over a table of URLs, and every form the URL takes on its way
out (the masked text, a refused URL's error line and JSON, a driver's message quoting it, the
``tune`` summary and ``--json`` document), the worker logs' mode, and the summary's URL kept
whole (item 9: not folded by the path shortener).

Every secret below is built from the tokens in ``TOKENS``; none may appear in any output. The
URLs point at 127.0.0.1:9, where nothing listens: opening them fails at once, without a
process or a server.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console

from mnistctl.errors import UserError
from mnistctl.tune.command import TuneResult
from mnistctl.tune.masking import MASK, masked, scrubbed, secrets
from mnistctl.tune.storage import open_storage
from mnistctl.tune.workers import LOG_MODE, open_log
from mnistctl.ui.errors import error_json
from mnistctl.ui.tune_view import render_tune, shown_storage

TOKENS = ("Tok9", "Zq8x", "Xk7w")
HOST = "127.0.0.1:9"

URLS = [
    # the userinfo, as written and with every character a password may hold there
    f"postgresql://me:Tok9secret@{HOST}/db",
    f"postgres://me:Tok9secret@{HOST}/db",
    f"postgresql+psycopg2://me:Tok9secret@{HOST}/db",
    f"postgresql+psycopg://me:Tok9secret@{HOST}/db",
    f"postgresql://me:Tok9:Zq8x@{HOST}/db",
    f"postgresql://me:Tok9/Zq8x?Xk7w@{HOST}/db",
    f"postgresql://me:Tok9#Zq8x@{HOST}/db",
    f"postgresql://me:Tok9%40Zq8x%3A@{HOST}/db",
    f"postgresql://me:Tok9+Zq8x@{HOST}/db",
    f"postgresql://me:Tok9@Zq8x@{HOST}/db",  # an @ unencoded: refused before connecting
    f"postgresql://me:Tok9@Zq8x@Xk7w@{HOST}/db",
    f"postgresql://:Tok9secret@{HOST}/db",
    f"postgresql://user@corp:Tok9secret@{HOST}/db",  # a user name with @ (Azure's)
    f"postgresql://me:Tok9secret@{HOST}/db?password=Zq8xother",
    # the query, where SQLAlchemy hands any key to the driver
    f"postgresql://me@{HOST}/db?password=Tok9secret",
    f"postgresql://me@{HOST}/db?sslmode=disable&password=Tok9secret&connect_timeout=3",
    f"postgresql://me@{HOST}/db?pass%77ord=Tok9secret",
    f"postgresql://me@{HOST}/db?PASSWORD=Tok9secret",
    f"postgresql://me@{HOST}/db?password=Tok9@Zq8x&password=Xk7wmore",
    f"postgresql://me@{HOST}/db?sslpassword=Tok9secret",
    f"postgresql://me@{HOST}/db?passfile=/home/me/Tok9.pgpass",
    f"postgresql://me@{HOST}/db?dbname=postgresql://a:Tok9secret@h/d",
    f"postgresql://me@{HOST}/db?options=password%3DTok9secret",
    f"mysql://me:Tok9secret@{HOST}/db",
    f"mysql+pymysql://me@{HOST}/db?password=Tok9secret",
    # broken URLs, echoed in errors
    "postgresql://me:Tok9secret@127.0.0.1:notaport/db",
    "postgresql://me:Tok9secret",
    # no scheme: what people paste by mistake
    f"me:Tok9secret@{HOST}/db",
    "me:Tok9secret@db.example",
    "host=127.0.0.1 port=9 user=me password=Tok9secret",
    "host=127.0.0.1 password = 'Tok9 Zq8x' user=me",
    "password=Tok9secret",
]


def leaks(text: str) -> list[str]:
    return [token for token in TOKENS if token in text]


def refused(url: str) -> UserError:
    with pytest.raises(UserError) as caught:
        open_storage(url, Path("unused.journal"), workers=1)
    return caught.value


@pytest.mark.parametrize("url", URLS)
def test_a_password_is_in_no_output(url: str) -> None:
    shown = masked(url)
    assert MASK in shown and not leaks(shown), shown
    assert masked(shown) == shown  # masking twice changes nothing
    err = refused(url)  # nothing listens there: every one is refused, in one line
    forms = {
        "masked": shown,
        "error": err.one_line(),
        "error json": json.dumps(error_json(err)),
        "driver message": scrubbed(f"could not connect to {url} (user me, {url!r})", url),
        "summary": shown_storage(shown),
    }
    assert "\n" not in forms["error"]
    assert not {name: leaks(text) for name, text in forms.items() if leaks(text)}, forms


@pytest.mark.parametrize("url", [u for u in URLS if "://" in u])
def test_the_summary_and_json_show_the_url_masked_and_whole(url: str) -> None:
    result = TuneResult(
        study="s", storage=masked(url), metric="val_accuracy", direction="maximize", total=1,
        trials=(), best=None, best_spec=None, folder=Path("runs/s"), ran_here=0,
    )  # fmt: skip
    console = Console(record=True, width=300, color_system=None)
    render_tune(result, console, table=True)
    text = console.export_text()
    assert not leaks(text) and not leaks(json.dumps(result.to_json()))
    assert f"storage {masked(url)}" in text  # not folded into "postgresql:/..."


def test_the_host_user_and_database_stay_visible() -> None:
    assert masked(f"postgresql://me:Tok9@{HOST}/db?sslmode=require&password=x") == (
        f"postgresql://me:***@{HOST}/db?sslmode=require&password=***"
    )
    assert masked(f"postgresql://me:Tok9@Zq8x@{HOST}/db") == f"postgresql://me:***@{HOST}/db"
    assert masked("user:Tok9@db.example") == "user:***@db.example"
    assert masked("host=h password='a b' user=me") == "host=h password=*** user=me"
    for plain in (f"postgresql://me@{HOST}/db", "sqlite:///tmp/study.db", "runs/s/study.journal",
                  f"postgresql://{HOST}/db?sslmode=require", "not a url"):  # fmt: skip
        assert masked(plain) == plain


def test_the_summary_keeps_a_urls_double_slash() -> None:
    """Issue 23, item 9: the summary showed ``postgresql:/postgres:***@...``."""
    url = "postgresql://postgres:***@127.0.0.1:5432/tune"
    assert shown_storage(url) == url
    assert shown_storage(str(Path.cwd() / "runs" / "s" / "study.journal")) == (
        str(Path("runs/s/study.journal"))
    )


def test_secrets_cover_the_decoded_spellings() -> None:
    found = secrets(f"postgresql://me:Tok9%40Zq8x@{HOST}/db?pass%77ord=a%2Bb+c")
    assert {"Tok9%40Zq8x", "Tok9@Zq8x", "a%2Bb+c", "a+b c"} <= set(found)


def test_a_driver_message_with_a_short_password_is_left_out() -> None:
    url = f"postgresql://me:ab@{HOST}/db"
    assert "ab" not in scrubbed("failed for 'ab' at host", url)
    assert scrubbed("connection refused", url) == "connection refused"


def test_an_at_in_the_password_is_refused_with_the_way_to_write_it() -> None:
    err = refused(f"postgresql://me:Tok9@Zq8x@{HOST}/db")
    assert "%40" in err.one_line() and "PGPASSWORD" in err.one_line()


def test_a_worker_log_is_for_its_owner_only(tmp_path: Path) -> None:
    old = tmp_path / "workers" / "worker-0.log"
    old.parent.mkdir()
    old.write_text("an older log\n")
    old.chmod(0o644)
    for path in (old, tmp_path / "workers" / "worker-1.log"):
        os.close(open_log(path))
        assert stat.S_IMODE(path.stat().st_mode) == LOG_MODE == 0o600
    assert old.read_text() == "an older log\n"  # appended to, not replaced
