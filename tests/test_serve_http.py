"""``mnistctl serve``'s HTTP surface, apart from the model: HEAD, every error body as JSON.

The app is the real one (its preparation workers included) around a stand-in model that
answers from the prepared input's ink, so that no TensorFlow is needed and answers to the same
picture sent two ways can be compared.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from mnistctl.runs.layout import Checkpoint
from mnistctl.serve.app import create_app
from mnistctl.serve.model import ServeInfo
from mnistctl.serve.server import bind, config

pytestmark = pytest.mark.slow  # the app starts its preparation workers (processes)

PNG = {"Content-Type": "image/png"}
STATIC = sorted(p.name for p in (resources.files("mnistctl.serve") / "static").iterdir())
GET_ROUTES = ["/", "/healthz", "/api/info", *(f"/static/{name}" for name in STATIC)]


class StandIn:
    """A model's place: probabilities from the prepared input's ink per column group."""

    info = ServeInfo(
        name="stand-in",
        run_dir=Path("/nowhere"),
        test_accuracy=0.5,
        total_params=10,
        input_shape=(28, 28, 1),
        class_names=tuple(str(i) for i in range(10)),
        checkpoint=Checkpoint("last", Path("/nowhere/model.keras"), 1, 1),
    )

    def __call__(self, digits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        ink = digits.reshape(len(digits), 28, 28)[:, :, :20].sum(axis=1).reshape(-1, 10, 2)
        scores = ink.sum(axis=2).astype(np.float64) + 1e-3
        rows: npt.NDArray[np.float64] = scores / scores.sum(axis=1, keepdims=True)
        return rows


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(StandIn(), prepare_workers=1)) as test_client:
        yield test_client


def digit_png() -> bytes:
    img = Image.new("L", (28, 28), 0)
    img.paste(255, (10, 4, 16, 24))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --- HEAD ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_answers_where_get_does(client: TestClient, path: str) -> None:
    """HEAD of every GET route: GET's status and headers, no body (monitors and proxies ask
    ``HEAD /healthz``)."""
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200, (path, got.text)
    assert head.status_code == 200, (path, head.text)
    assert head.content == b""
    for name in ("content-type", "content-length"):
        assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert "default-src 'self'" in head.headers["content-security-policy"]


# --- every error body is {"error": ...} ---------------------------------------------------------

ROUTES = [*GET_ROUTES, "/api/predict"]
OTHER_METHODS = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]
BAD_REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    # unknown paths, the static mount's included
    *(
        ("GET", path, {})
        for path in (
            "/nothing", "/api", "/api/", "/api/nothing", "/api/predict/",
            "/index.html", "/static", "/static/", "/static/nothing.js",
            "/%00", "/static/%00", "/" + "x" * 5000, "/static/" + "y" * 5000,
        )
    ),
    # out of /static/, spelled every way
    *(
        ("GET", path, {})
        for path in (
            "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
            "/static/%2e%2e%2f%2e%2e%2f__init__.py", "/static/..%5capp.py",
            "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/./../app.py",
        )
    ),
    # wrong methods on each route
    *((method, path, {}) for path in GET_ROUTES for method in OTHER_METHODS),
    *((method, "/api/predict", {}) for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")),
    # bad query values and headers
    ("POST", "/api/predict?digit=maybe", PNG),
    ("POST", "/api/predict?digit=%00", PNG),
    ("POST", "/api/predict?digit=2", PNG),
    ("POST", "/api/predict", {"Content-Type": "image/png", "Content-Length": "ten"}),
    ("POST", "/api/predict", {"Content-Type": "text/html"}),
    # what the static files answer themselves: Range requests they cannot satisfy
    *(
        ("GET", "/static/icon.svg", {"Range": value})
        for value in ("bytes=99999-", "bytes=abc", "chars=1-2", "bytes=5-1", "bytes=-0")
    ),
    ("HEAD", "/static/icon.svg", {"Range": "bytes=99999-"}),
    ("HEAD", "/nothing", {}),
]  # fmt: skip


def _named(request: tuple[str, str, dict[str, str]]) -> str:
    method, path, headers = request
    return f"{method} {path[:40]} {' '.join(headers.values())}".strip()


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=_named)
def test_every_error_is_json(client: TestClient, request_: tuple[str, str, dict[str, str]]) -> None:
    """Each bad request: a 4xx with ``{"error": "one line"}`` as JSON (HEAD: its headers, no
    body), whichever layer refuses it: a route, the router, the static files or their ranges."""
    method, path, headers = request_
    body = digit_png() if method in ("POST", "PUT", "PATCH") else None
    response = client.request(method, path, headers=headers, content=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.headers
    assert "default-src 'self'" in response.headers["content-security-policy"]
    if method == "HEAD":
        assert response.content == b""
        return
    answer = response.json()
    assert set(answer) == {"error"}, answer
    message = answer["error"]
    assert isinstance(message, str) and message and "\n" not in message, message
    assert len(message) < 1000, message


# --- what uvicorn's HTTP parser refuses -----------------------------------------------------

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
]


def _answer(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_request_the_parser_refuses_is_json_too(http: str) -> None:
    """A request uvicorn cannot parse (it never reaches the app): 400 with ``{"error": ...}``,
    with either HTTP parser; the server goes on serving."""
    pytest.importorskip(http)
    import uvicorn

    bound = bind("127.0.0.1", 0)
    server = uvicorn.Server(config(create_app(StandIn(), prepare_workers=1), http=http))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [bound.sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started
        for raw in MALFORMED:
            status, headers, body = _answer(bound.port, raw)
            assert status == 400, (raw, body)
            assert headers["content-type"] == "application/json", (raw, headers)
            message = json.loads(body)["error"]
            assert "bad HTTP request" in message and "\n" not in message, message
        status, _, body = _answer(
            bound.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 200 and json.loads(body) == {"status": "ok"}
        for path, want in (("/healthz", 200), ("/", 200), ("/nothing", 404)):  # HEAD: no body
            raw = f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            status, headers, body = _answer(bound.port, raw)
            assert (status, body) == (want, b""), (path, status, body)
            assert int(headers["content-length"]) > 0, headers
    finally:
        server.should_exit = True
        thread.join(30)
        bound.sock.close()


def test_a_png_with_large_text_is_served(client: TestClient) -> None:
    """Text chunks are metadata (tests/test_png_text.py): the server reads the picture too."""
    from test_png_text import PLAIN, itxt, with_chunks, ztxt

    data = with_chunks(PLAIN, [ztxt(b"Comment", 3 * 2**20)], [itxt(b"Late", 3 * 2**20)])
    plain = client.post("/api/predict?digit=1", content=PLAIN, headers=PNG)
    texted = client.post("/api/predict?digit=1", content=data, headers=PNG)
    assert plain.status_code == 200 and texted.status_code == 200, texted.text
    assert texted.json() == plain.json()


# --- HTML forms (multipart/form-data) ---------------------------------------------------------

BOUNDARY = "----mnistctl-test-boundary"


def form(*parts: tuple[str, str | None, bytes], end: bool = True) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of ``(name, filename or None, data)`` parts, and its header."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        kind = "Content-Type: image/png\r\n" if filename is not None else ""
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode()
        out += data + b"\r\n"
    if end:
        out += f"--{BOUNDARY}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def huge_png_header() -> bytes:
    from test_png_text import chunk

    header = struct.pack(">IIBBBBB", 6000, 5000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 99))


def test_a_form_posts_its_file(client: TestClient) -> None:
    """An HTML form's upload: the picture is its one file field, whatever its name; text
    fields beside it are ignored. The answer is the raw body's."""
    picture = digit_png()
    raw = client.post("/api/predict?digit=1", content=picture, headers=PNG)
    assert raw.status_code == 200
    by_httpx = client.post("/api/predict?digit=1", files={"file": ("d.png", picture, "image/png")})
    assert by_httpx.status_code == 200, by_httpx.text
    assert by_httpx.json() == raw.json()
    for parts in (
        [("image", "seven.png", picture)],
        [("note", None, b"hello"), ("upload", "", picture), ("more", None, b"x" * 1000)],
        [("file", "d.png", picture.replace(b"\r\n", b"\r\n"))],
    ):
        body, headers = form(*parts)
        answer = client.post("/api/predict?digit=1", content=body, headers=headers)
        assert answer.status_code == 200, (parts[0][0], answer.text)
        assert answer.json() == raw.json()


BAD_FORMS: dict[str, tuple[tuple[bytes, dict[str, str]], int, str]] = {
    "no file, text only": (form(("note", None, b"hello")), 400, "the form has no file"),
    "no fields": (form(), 400, "the form has no file"),
    "two files": (
        form(("a", "a.png", digit_png()), ("b", "b.png", digit_png())),
        400,
        "several files",
    ),
    "no boundary": ((b"--x\r\n", {"Content-Type": "multipart/form-data"}), 400, "no boundary"),
    "cut short": (form(("file", "d.png", digit_png()), end=False), 400, "cut short"),
    "not a form": ((b"hello, I am text", form()[1]), 400, "form"),
    "too many fields": (form(*[("f", None, b"x")] * 100), 400, "too many fields"),
    "an empty file": (form(("file", "d.png", b"")), 400, "image is empty"),
    "a text file": (form(("file", "d.txt", b"hello\n")), 400, "not an image file"),
    "over the pixel limit": (form(("file", "big.png", huge_png_header())), 413, "too large"),
    "over the byte limit, sent without a length": (
        form(("file", "big.png", bytes(11 * 2**20))),
        413,
        "more than",
    ),
    "over the byte limit": (
        form(("file", "big.png", bytes(11 * 2**20))),
        413,
        "Content-Length",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FORMS))
def test_a_bad_form_is_one_line(client: TestClient, case: str) -> None:
    (body, headers), status, fragment = BAD_FORMS[case]
    content = iter([body]) if "without a length" in case else body  # iterated: sent chunked
    response = client.post("/api/predict", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    assert fragment.lower() in message.lower() and "\n" not in message, message
    assert client.post("/api/predict", content=digit_png(), headers=PNG).status_code == 200


def test_fastapis_own_validation_is_json_too() -> None:
    """A route with a typed parameter (none of the served ones has one today): FastAPI's 422
    is ``{"error": "one line"}`` too, not its ``{"detail": [...]}``."""
    app = create_app(StandIn(), prepare_workers=1)

    @app.get("/typed")
    async def typed(n: int) -> dict[str, int]:
        return {"n": n}

    with TestClient(app) as test_client:
        for query in ("", "?n=seven"):
            response = test_client.get(f"/typed{query}")
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/json"
            message = response.json()["error"]
            assert "invalid request" in message and "\n" not in message, message
