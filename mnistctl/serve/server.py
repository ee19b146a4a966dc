"""The listening socket and uvicorn: bound here first (a busy port is one clear line, before
TensorFlow starts), then handed to uvicorn, which serves until Ctrl-C or SIGTERM.

Ctrl-C finishes the requests in progress and leaves as an interrupted command does (exit 130,
no traceback); SIGTERM does the same and raises ``Terminated`` (the command exits 143, as
``train`` does on SIGTERM).
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import json
import signal
import socket
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from mnistctl.errors import UserError, visible

SHUTDOWN_S = 5  # longest wait for requests in progress when stopping
BACKLOG = 2048


@dataclass(frozen=True)
class Bound:
    """A listening socket and where it listens."""

    sock: socket.socket
    host: str  # as given
    port: int  # the real port (``--port 0`` picks a free one)
    loopback: bool  # reachable from this machine only

    @property
    def url(self) -> str:
        """Where a browser on this machine finds the page."""
        address = str(self.sock.getsockname()[0])
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_unspecified:  # every interface: this machine reaches it on loopback
            address = "127.0.0.1" if ip.version == 4 else "::1"
        return (
            f"http://[{address}]:{self.port}/"
            if ":" in address
            else f"http://{address}:{self.port}/"
        )


def bind(host: str, port: int) -> Bound:
    """A socket listening on ``host``:``port``; a busy port, a port that needs privileges or a
    host that is not this machine's is one user-facing line."""
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV
        )
    except socket.gaierror as exc:
        raise UserError(
            "cannot listen on this host",
            expected="an address or name of this machine, e.g. 127.0.0.1",
            received=f"--host {host!r}: {exc.strerror}",
            hint="the default, --host 127.0.0.1, serves this machine only",
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while in TIME_WAIT
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port) from None
    return Bound(sock, host, sock.getsockname()[1], _is_loopback(str(address[0])))


def _bind_error(exc: OSError, host: str, port: int) -> UserError:
    if exc.errno == errno.EADDRINUSE:
        return UserError(
            f"port {port} is in use",
            expected="a free port",
            received=f"{host}:{port} is taken by another program",
            hint=f"choose another port, e.g. --port {port + 1 if 0 < port < 65535 else 8001}",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UserError(
            f"not allowed to listen on port {port}",
            expected="a port this user may open (1024 or above)",
            received=f"{host}:{port}",
            hint="choose a port of 1024 or above, e.g. --port 8000",
        )
    return UserError(
        "cannot listen there",
        expected="an address of this machine and a free port",
        received=f"{host}:{port}: {exc.strerror or type(exc).__name__}",
        hint="the default, --host 127.0.0.1, serves this machine only",
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def fastest() -> tuple[str, str]:
    """uvicorn's HTTP parser and event loop: httptools and uvloop when they are installed
    (they took a fifth off the server's CPU time per request at concurrency 32:
    docs/serving.md, "Under load"), else the pure-Python h11 and asyncio."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return http, loop


class Terminated(Exception):
    """SIGTERM, raised once uvicorn has finished the requests in progress."""


def _terminated(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


def config(app: Any, http: str | None = None) -> Any:
    """uvicorn's configuration for ``app``: its fastest parts (``fastest``; ``http`` names the
    parser instead), quiet (warnings and errors only, no access log), and a request the parser
    refuses answered as every other refusal is (``json_refusing``)."""
    import uvicorn

    fast_http, loop = fastest()
    return uvicorn.Config(
        app,
        http=json_refusing(http or fast_http),
        ws="none",
        loop=loop,
        lifespan="on",
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_S,
    )


def json_refusing(http: str) -> Any:
    """uvicorn's HTTP protocol ``http`` (h11, httptools), answering a request its parser
    refuses (a malformed request line or header) with ``{"error": "one line"}`` as JSON, as
    the app answers every other refusal, instead of uvicorn's plain text."""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    base = import_from_string(HTTP_PROTOCOLS[http])
    if not callable(getattr(base, "send_400_response", None)):
        return base  # another uvicorn: its own answer

    class JsonRefusing(base):  # type: ignore[misc, valid-type]
        def send_400_response(self, msg: str) -> None:
            self.transport.write(bad_request(msg))
            self.transport.close()

    JsonRefusing.__name__ = JsonRefusing.__qualname__ = f"JsonRefusing{base.__name__}"
    return JsonRefusing


def bad_request(said: str) -> bytes:
    """A whole HTTP 400 answer (closing the connection) to a request the parser refused."""
    err = UserError(
        "bad HTTP request",
        expected="a well-formed HTTP/1.1 request",
        received=said or "a request the server cannot parse",
    )
    body = json.dumps({"error": visible(err.one_line())}).encode()
    head = (
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def run(app: Any, bound: Bound) -> None:
    """Serve ``app`` on ``bound`` until Ctrl-C (KeyboardInterrupt) or SIGTERM (Terminated),
    each raised after a graceful stop. uvicorn's own lines are quiet: warnings and errors only,
    no access log."""
    import uvicorn

    server = uvicorn.Server(config(app))
    # uvicorn stops gracefully on a signal, then raises it again with the handler it found.
    main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        server.run(sockets=[bound.sock])
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        bound.sock.close()
