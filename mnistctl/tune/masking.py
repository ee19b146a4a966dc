"""A storage URL without its secrets: the one function every display and every file uses.

A password reaches a database driver in many spellings, and each must stay hidden wherever the
URL is shown or written (the terminal, ``--json``, ``study.json``, every trial's record, error
lines, worker logs):

- in the userinfo, ``postgresql://USER:PASSWORD@HOST/DB``, the password possibly holding ``:``,
  ``/``, ``?`` or ``@`` itself: everything from the first ``:`` of the userinfo to the *last*
  ``@`` is hidden (a URL with ``@`` in its path or query is then hidden a little too much,
  never too little);
- in the query, ``?password=...`` (which SQLAlchemy hands to psycopg2 as is), and any key that
  names a secret (``sslpassword``, ``passfile``, ``passwd``, ``pwd``, ``token``, ...), its name
  percent-decoded and in any case (``?pass%77ord=``); a query value that itself holds a URL or a
  connection string with a secret is hidden whole;
- without a scheme, what people paste by mistake: ``USER:PASSWORD@HOST`` or libpq's
  ``host=... password='...'``.

``masked`` returns the text with each secret replaced by ``***``; ``scrubbed`` hides a URL's
secrets inside another text (a driver's error message). Nothing here reads a file a URL names.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_plus

MASK = "***"
SECRET_KEY_PARTS = ("pass", "pwd", "secret", "token", "credential", "auth")
SHORT_SECRET = 4  # a message holding a secret shorter than this, or a piece this long of
# one, is left out, not patched
LEFT_OUT = "(the driver's message is left out: it would show the password, or part of it)"

_QUERY_PARAM = re.compile(r"[?&;]([^?&;=#]*)=([^&;]*)")
_NOT_A_PORT = re.compile(r"[^:/?#]*:(?!\d*(?:[/?#]|$))([^/?#]*)")
_CONNINFO_PARAM = re.compile(r"([A-Za-z_][\w%]*)\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)")


def is_secret_key(key: str) -> bool:
    """A query or connection-string key whose value is a secret (``sslpassword``, ...)."""
    name = unquote_plus(key).strip().lower()
    return any(part in name for part in SECRET_KEY_PARTS)


def masked(text: str) -> str:
    """``text`` (a storage URL, or whatever was given as one) with every secret as ``***``."""
    spans = _secret_spans(text)
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], MASK]
        at = end
    out.append(text[at:])
    return "".join(out)


def secrets(text: str) -> list[str]:
    """The secrets of ``text``, as written and percent-decoded (and as SQLAlchemy reads the
    URL's password and query), longest first."""
    found = {text[start:end] for start, end in _secret_spans(text)}
    found |= {unquote(s) for s in found} | {unquote_plus(s) for s in found}
    found |= {s.strip("'") for s in found}  # a connection string's quoted value
    found |= _driver_secrets(text)
    found.discard("")
    return sorted(found, key=lambda s: (-len(s), s))


def scrubbed(message: str, url: str | None) -> str:
    """``message`` (a driver's error, say) without any secret of ``url``: each replaced by
    ``***``; a message that would still show a part of one (a secret too short to replace
    safely, or a piece of one that a driver read apart, as the host after an ``@``) is left
    out whole."""
    if not url:
        return message
    found = secrets(url)
    for secret in found:
        if len(secret) < SHORT_SECRET and secret in message:
            return LEFT_OUT
        message = message.replace(secret, MASK)
    message = masked(message)
    if any(_shares_a_piece(message, secret) for secret in found):
        return LEFT_OUT
    return message


def _shares_a_piece(message: str, secret: str) -> bool:
    n = SHORT_SECRET
    return any(secret[i : i + n] in message for i in range(len(secret) - n + 1))


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text``'s secrets are, merged and sorted."""
    spans: list[tuple[int, int]] = []
    scheme_end = text.find("://")
    rest_at = scheme_end + 3 if scheme_end >= 0 else 0
    at = text.rfind("@", rest_at)
    if at >= 0:  # userinfo: from its first ':' to the last '@'
        colon = text.find(":", rest_at, at)
        if colon >= 0:
            spans.append((colon + 1, at))
    elif scheme_end >= 0:  # no '@': a "port" that is not a number may be a password
        port = _NOT_A_PORT.match(text, rest_at)
        if port is not None:
            spans.append(port.span(1))
    for match in _QUERY_PARAM.finditer(text, rest_at):
        key, value = match.group(1), match.group(2)
        if is_secret_key(key) or (value and _holds_secret(unquote_plus(value))):
            spans.append(match.span(2))
    if scheme_end < 0:  # libpq's key=value connection string
        for match in _CONNINFO_PARAM.finditer(text):
            if is_secret_key(match.group(1)):
                spans.append(match.span(2))
    return _merged([(s, e) for s, e in spans if e > s])


def _holds_secret(value: str) -> bool:
    return bool(("@" in value or "=" in value) and _secret_spans(value))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _driver_secrets(text: str) -> set[str]:
    """The password and secret query values as SQLAlchemy parses ``text`` (what the driver
    gets, and may quote back)."""
    try:
        from sqlalchemy.engine import make_url

        url = make_url(text)
    except Exception:  # not a URL SQLAlchemy reads, or SQLAlchemy absent
        return set()
    found = {str(url.password)} if url.password is not None else set()
    for key, value in url.query.items():
        if is_secret_key(key):
            found |= {value} if isinstance(value, str) else set(value)
    return found
