"""A real ``mnistctl serve`` process for tests and benchmarks, on a free loopback port.

    with serving(run_dir) as server:
        status, body = server.get_json("/api/info")
        status, body = server.post("/api/predict", png_bytes, "image/png")
    # the server has been stopped: SIGINT first, SIGKILL only if it does not stop in time

Plain standard library (no pytest), so that ``bench/serve_load.py`` uses the same code. Only
127.0.0.1 is ever contacted. Every wait is bounded: the start (``/healthz`` answering), each
request, and the stop. The server's stderr goes to a file (never a pipe that could fill up and
block it) and is read back with ``server.stderr()``; it is part of every failure message.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_DEADLINE_S = 90.0  # TensorFlow's import and the model's warm-up, on 2 busy cores
STOP_DEADLINE_S = 20.0  # after SIGINT, before SIGKILL
REQUEST_TIMEOUT_S = 30.0
PORT_TRIES = 3  # another process may take the free port between finding and binding it

# Environment for the server: unbuffered stderr, TensorFlow's native log quiet, no data override.
_ENV = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# Requests to the local server never go through a proxy set in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """The server did not start, answer or stop as it should (its stderr is in the message)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_command(run: Path | str, port: int, *args: str) -> list[str]:
    """``python -m mnistctl serve RUN --port P ARGS`` with this interpreter."""
    return [sys.executable, "-m", "mnistctl", "serve", str(run), "--port", str(port), *args]


@dataclass
class Server:
    """A started server process and what is needed to talk to it and stop it."""

    proc: subprocess.Popen[bytes]
    port: int
    stderr_path: Path
    cmd: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stderr(self) -> str:
        """Everything the server wrote on stderr so far."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        code = self.proc.poll()
        state = "running" if code is None else f"exited with {code}"
        return f"{' '.join(self.cmd)} ({state}); its stderr:\n{self.stderr()[-4000:]}"

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body); an error status is returned, not
        raised."""
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers=dict(headers or {})
        )
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                return resp.status, _lower(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, _lower(err.headers.items()), err.read()

    def get_json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request("GET", path)
        return status, json.loads(body)

    def post(self, path: str, data: bytes, content_type: str) -> tuple[int, Any]:
        """POST ``data``; (status, the JSON answer)."""
        status, _, body = self.request("POST", path, data, {"Content-Type": content_type})
        return status, json.loads(body)

    def predict(self, image: bytes, content_type: str = "image/png") -> dict[str, Any]:
        """``/api/predict``'s answer for ``image``; a non-200 answer is a ServerError."""
        status, body = self.post("/api/predict", image, content_type)
        if status != 200:
            raise ServerError(f"/api/predict answered {status}: {body}")
        return dict(body)

    # --- life ----------------------------------------------------------------------------------

    def wait_ready(self, deadline_s: float = START_DEADLINE_S, path: str = "/healthz") -> None:
        """Wait until ``GET path`` answers 200; a ServerError if the process exits or the
        deadline passes first."""
        end = time.monotonic() + deadline_s
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"the server exited before it answered: {self.describe()}")
            with contextlib.suppress(OSError):  # refused, reset, timed out: not ready yet
                status, _, _ = self.request("GET", path, timeout=2.0)
                if status == 200:
                    return
            if time.monotonic() > end:
                raise ServerError(
                    f"no answer on {path} after {deadline_s:.0f} s: {self.describe()}"
                )
            time.sleep(0.1)

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> int:
        """SIGINT (Ctrl-C), then SIGKILL if it has not exited within ``deadline_s``; its exit
        code (negative: killed by that signal)."""
        if self.exit_code is not None:
            return self.exit_code
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(deadline_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.exit_code = self.proc.returncode
        return self.exit_code


def _lower(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in items}


def start(
    cmd: Sequence[str],
    port: int,
    *,
    stderr_path: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Server:
    """Start ``cmd`` (which must listen on ``port``); returns at once, see ``wait_ready``."""
    environ = dict(os.environ)
    environ.pop("MNISTCTL_DATA", None)
    environ.update(_ENV)
    environ.update(env or {})
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=err,  # serve prints nothing on stdout; whatever comes is worth seeing
            stderr=err,
        )
    return Server(proc=proc, port=port, stderr_path=stderr_path, cmd=list(cmd))


@contextlib.contextmanager
def serving(
    run: Path | str,
    *args: str,
    log_dir: Path | None = None,
    deadline_s: float = START_DEADLINE_S,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """``mnistctl serve RUN --port <free> ARGS`` started and answering ``/healthz``; stopped
    (SIGINT, then SIGKILL) when the block ends, however it ends.

    ``log_dir``: where the server's stderr file goes (a temporary folder if None). A port taken
    by someone else between finding and binding it is retried on another port.
    """
    with contextlib.ExitStack() as stack:
        folder = log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = _started(run, args, folder, deadline_s, env)
        try:
            yield server
        finally:
            server.stop()


def _started(
    run: Path | str,
    args: Sequence[str],
    folder: Path,
    deadline_s: float,
    env: Mapping[str, str] | None,
) -> Server:
    for attempt in range(1, PORT_TRIES + 1):
        port = free_port()
        log = folder / f"serve-{port}.log"
        server = start(serve_command(run, port, *args), port, stderr_path=log, env=env)
        try:
            server.wait_ready(deadline_s)
            return server
        except ServerError:
            server.stop()
            if attempt < PORT_TRIES and "in use" in server.stderr():
                continue
            raise
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")
