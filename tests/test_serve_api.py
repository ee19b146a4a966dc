"""``mnistctl serve``: the JSON API, its refusals, the batcher, the page's files, the process.

The app is the real one on a real (small, trained) CNN, called through FastAPI's TestClient;
one test starts the real command as a process and stops it with Ctrl-C. Every bad request is
a 4xx with ``{"error": "one line"}``, and a good request is answered right after it.
"""

from __future__ import annotations

import base64
import html.parser
import io
import json
import re
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from helpers import (
    assert_user_error,
    cli,
    digit_png,
    real_arrays,
    within_watchdog,
)
from PIL import Image
from rich.console import Console

from mnistctl.commands.common import open_run
from mnistctl.data.inputs import MNIST_TARGET, input_from_bytes, load_inputs
from mnistctl.serve import command as serve_command
from mnistctl.serve.app import create_app
from mnistctl.serve.batcher import Batcher
from mnistctl.serve.limits import MAX_BODY_BYTES, MAX_PIXELS, Limits
from mnistctl.serve.model import ServedModel, ServeInfo, load_served
from mnistctl.serve.server import bind
from mnistctl.serve.workers import default_workers

PNG = {"Content-Type": "image/png"}
TOLERANCE = 1e-5


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(conv_run: Path) -> ServedModel:
    return load_served(open_run(conv_run, None))


@pytest.fixture(scope="module")
def client(served: ServedModel) -> Iterator[TestClient]:
    with TestClient(create_app(served)) as test_client:
        yield test_client


class Counting:
    """The served model, counting its calls and their batch sizes (the batcher's seam)."""

    def __init__(self, model: ServedModel, fail: bool = False) -> None:
        self.model = model
        self.fail = fail
        self.sizes: list[int] = []

    @property
    def info(self) -> ServeInfo:
        return self.model.info

    def __call__(self, digits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        self.sizes.append(len(digits))
        if self.fail:
            raise RuntimeError("the model broke")
        return self.model(digits)


def png_bytes(index: int, *, invert: bool = False, scale: int = 1) -> bytes:
    """Real test digit ``index`` as PNG bytes (dark on light and enlarged on request)."""
    img = real_arrays()["x_test"][index]
    im = Image.fromarray(255 - img if invert else img, mode="L")
    if scale != 1:
        im = im.resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def image_bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels, with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 100_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def predict_ok(client: TestClient, body: bytes, query: str = "") -> dict[str, Any]:
    response = client.post(f"/api/predict{query}", content=body, headers=PNG)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def assert_refused(response: Any, status: int, *fragments: str) -> str:
    """The status, a JSON ``{"error": one line}`` holding every fragment (any case)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), (fragment, message)
    return message


# --- answers -----------------------------------------------------------------------------------


def test_answers_equal_mnistctl_predict(client: TestClient, conv_run: Path, tmp_path: Path) -> None:
    """Same preparation, same model: the API answers as ``mnistctl predict`` does."""
    x = real_arrays()["x_test"]
    files = [
        digit_png(tmp_path / f"{i}.png", x[i], invert=i % 3 == 1, scale=4 if i % 3 == 1 else 1)
        for i in range(8)
    ]
    result = cli("predict", conv_run, *files, "--json")
    assert result.exit_code == 0, result.stderr
    for row, path in zip(json.loads(result.stdout), files, strict=True):
        answer = predict_ok(client, path.read_bytes())
        assert set(answer) == {"label", "class", "probabilities"}
        assert answer["label"] == row["label"], path
        np.testing.assert_allclose(answer["probabilities"], row["probabilities"], atol=TOLERANCE)
        assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)


def test_digit_is_the_prepared_input(client: TestClient, tmp_path: Path) -> None:
    """``?digit=1``: the 28x28 input the model saw, exactly ``predict``'s preparation."""
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(5, invert=True, scale=3))
    answer = predict_ok(client, path.read_bytes(), "?digit=1")
    assert set(answer) == {"label", "class", "probabilities", "digit"}
    seen = np.asarray(answer["digit"], dtype=np.float32)
    assert seen.shape == (28, 28) and seen.min() >= 0.0 and seen.max() <= 1.0
    np.testing.assert_array_equal(seen, load_inputs([path], MNIST_TARGET)[0])
    np.testing.assert_array_equal(seen, input_from_bytes(path.read_bytes(), MNIST_TARGET))
    assert "digit" not in predict_ok(client, path.read_bytes(), "?digit=0")


def test_a_jpeg_photo_and_other_image_types(client: TestClient) -> None:
    rgb = Image.open(io.BytesIO(png_bytes(3, invert=True, scale=6))).convert("RGB")
    for fmt, kind in (("JPEG", "image/jpeg"), ("BMP", "image/bmp"), ("WEBP", "image/webp")):
        body = image_bytes(rgb, fmt)
        response = client.post("/api/predict", content=body, headers={"Content-Type": kind})
        assert response.status_code == 200, (fmt, response.text)
        np.testing.assert_allclose(
            response.json()["probabilities"],
            predict_ok(client, body)["probabilities"],  # the declared type is not trusted
            atol=TOLERANCE,
        )


def test_info_and_health(client: TestClient, conv_run: Path) -> None:
    info = client.get("/api/info").json()
    record = json.loads((conv_run / "metrics.json").read_text())
    summary = json.loads((conv_run / "summary.json").read_text())
    assert info["name"] == "conv"
    assert info["run_dir"] == str(conv_run.resolve())
    assert info["test_accuracy"] == record["test"]["accuracy"]
    assert info["total_params"] == summary["total_params"]
    assert info["input_shape"] == [28, 28, 1]
    assert info["class_names"] == [str(i) for i in range(10)]
    assert info["checkpoint"]["name"] == "last" and info["checkpoint"]["file"] == "model.keras"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_another_checkpoint_has_its_own_accuracy(conv_run: Path) -> None:
    """--checkpoint best: the record's test accuracy is the other model's, so it is not shown
    until ``mnistctl evaluate --checkpoint best`` has saved one."""
    opened = open_run(conv_run, None, "best")
    model = load_served(opened, warm_batch=2)
    assert model.info.checkpoint.name == "best" and model.info.test_accuracy is None
    (conv_run / "evaluation-best.json").write_text(json.dumps({"accuracy": 0.5}))
    try:
        assert load_served(opened, warm_batch=2).info.test_accuracy == 0.5
    finally:
        (conv_run / "evaluation-best.json").unlink()


# --- bad requests ------------------------------------------------------------------------------


Case = tuple[Callable[[TestClient], Any], int, tuple[str, ...]]


def _bad_cases() -> dict[str, Case]:
    """Each bad request: how to send it, its status, what its error line says."""
    digit = png_bytes(0)
    big_picture = image_bytes(Image.new("L", (40, 40), 0))

    def post(body: bytes | Iterator[bytes], headers: dict[str, str] | None = None) -> Any:
        return lambda c: c.post(
            "/api/predict", content=body, headers=PNG if headers is None else headers
        )

    def streamed(total: int) -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(total // 2**20):
            yield b"\x00" * 2**20

    blank = image_bytes(Image.new("L", (28, 28), 0))
    return {
        "empty body": (post(b""), 400, ("request: image is empty", "0 bytes")),
        "not an image": (post(b"hello, I am text\n"), 400, ("not an image file", "a text file")),
        "truncated": (post(digit[: len(digit) // 2]), 400, ("damaged or truncated",)),
        "no content type": (post(digit, {}), 415, ("not declared as an image", "no Content-Type")),
        "text content type": (
            post(digit, {"Content-Type": "text/plain"}),
            415,
            ("Content-Type: text/plain",),
        ),
        "url-encoded form": (
            lambda c: c.post("/api/predict", data={"file": "d.png"}),
            415,
            ("application/x-www-form-urlencoded", "multipart/form-data"),
        ),
        "blank picture": (post(blank), 422, ("no digit found",)),
        "decompression bomb": (post(png_header_only(100_000, 100_000)), 413, ("too large",)),
        "over the pixel limit": (
            post(png_header_only(6000, 5000)),
            413,
            ("too large", f"at most {MAX_PIXELS:,} pixels", "6000 x 5000"),
        ),
        "50 MB body": (
            lambda c: c.post("/api/predict", content=bytes(50 * 2**20), headers=PNG),
            413,
            ("too large", "Content-Length: 52,428,800"),
        ),
        "11 MB streamed without a length": (
            post(streamed(11 * 2**20)),
            413,
            ("too large", f"more than {MAX_BODY_BYTES:,} bytes"),
        ),
        "GET predict": (lambda c: c.get("/api/predict"), 405, ("method not allowed", "POST")),
        "PUT predict": (lambda c: c.put("/api/predict", content=digit, headers=PNG), 405, ()),
        "DELETE info": (lambda c: c.delete("/api/info"), 405, ("GET",)),
        "POST info": (lambda c: c.post("/api/info", content=big_picture, headers=PNG), 405, ()),
        "unknown path": (lambda c: c.get("/api/nothing"), 404, ("no such page", "/api/nothing")),
        "unknown static file": (lambda c: c.get("/static/nothing.js"), 404, ("no such page",)),
        "bad query": (
            lambda c: c.post("/api/predict?digit=maybe", content=digit, headers=PNG),
            422,
            ("invalid query parameter 'digit'", "'maybe'"),
        ),
    }


BAD = [
    "empty body", "not an image", "truncated", "no content type", "text content type",
    "url-encoded form", "blank picture", "decompression bomb", "over the pixel limit", "50 MB body",
    "11 MB streamed without a length", "GET predict", "PUT predict", "DELETE info", "POST info",
    "unknown path", "unknown static file", "bad query",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_requests_are_refused_and_serving_goes_on(client: TestClient, case: str) -> None:
    cases = _bad_cases()
    assert set(cases) == set(BAD)
    send, status, fragments = cases[case]
    assert_refused(send(client), status, *fragments)
    assert predict_ok(client, png_bytes(1))["label"] in range(10)  # still serving


def test_decoding_too_long_is_refused_and_its_worker_replaced(served: ServedModel) -> None:
    """A picture whose decoding passes the time limit: 422 (the request itself was whole); the
    worker process decoding it is killed, another takes its place, and serving goes on."""
    rng = np.random.default_rng(0)
    blobs = np.kron(rng.integers(0, 2, (1000, 1000), dtype=np.uint8), np.ones((5, 5), np.uint8))
    buf = io.BytesIO()  # 25 megapixels of colour blobs: seconds to prepare
    Image.fromarray(blobs * 255, mode="L").convert("RGB").save(buf, "PNG", compress_level=1)
    slow = buf.getvalue()
    # a limit well below the time it takes to prepare, and well above that of the small
    # digits that follow
    app = create_app(served, limits=Limits(decode_s=0.15), prepare_workers=2)
    preparers = app.state.preparers
    before = set(preparers.pids)
    with TestClient(app) as client:
        assert_refused(client.post("/api/predict", content=slow, headers=PNG), 422, "took too long")
        assert preparers.replaced == 1
        after = set(preparers.pids)
        assert len(after) == 2 and len(before - after) == 1, (before, after)
        for i in range(3):
            assert predict_ok(client, png_bytes(i))["label"] in range(10)


def test_a_failing_model_is_a_500_and_serving_goes_on(served: ServedModel) -> None:
    broken = Counting(served, fail=True)
    app = create_app(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/predict", content=png_bytes(0), headers=PNG)
        assert_refused(response, 500, "internal error", "RuntimeError: the model broke")
        assert client.get("/healthz").json() == {"status": "ok"}
        broken.fail = False
        assert predict_ok(client, png_bytes(0))["label"] in range(10)


# --- batching ----------------------------------------------------------------------------------


def post_together(app: FastAPI, bodies: list[bytes]) -> list[dict[str, Any]]:
    """Every body posted at once, each from its own thread; the answers, in order."""
    answers: list[Any] = [None] * len(bodies)
    start = threading.Barrier(len(bodies))
    with TestClient(app) as client:

        def one(i: int) -> None:
            start.wait()
            answers[i] = client.post("/api/predict", content=bodies[i], headers=PNG)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert all(a is not None and a.status_code == 200 for a in answers), answers
    return [a.json() for a in answers]


def test_concurrent_requests_each_get_their_own_answer(
    client: TestClient, served: ServedModel
) -> None:
    bodies = [png_bytes(i, invert=i % 4 == 0, scale=2 if i % 4 == 0 else 1) for i in range(32)]
    alone = [predict_ok(client, body) for body in bodies]
    counting = Counting(served)
    together = post_together(create_app(counting, wait_s=0.2), bodies)
    for one, other in zip(alone, together, strict=True):
        assert one["label"] == other["label"]
        np.testing.assert_allclose(one["probabilities"], other["probabilities"], atol=TOLERANCE)
    assert sum(counting.sizes) == 32
    assert len(counting.sizes) < 32 and max(counting.sizes) > 1, counting.sizes  # batched


def _rows(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """A stand-in model: each input's row is its first ten pixels (so rows can be told apart)."""
    return x.reshape(len(x), -1)[:, :10].astype(np.float64)


def _digit(value: float) -> npt.NDArray[np.float32]:
    return np.full((28, 28), value, np.float32)


def test_the_batcher_waits_only_for_requests_being_prepared() -> None:
    sizes: list[int] = []
    batcher = Batcher(lambda x: (sizes.append(len(x)), _rows(x))[1], wait_s=60.0)
    try:
        # alone: answered at once, although the batcher would wait a minute for others
        with batcher.expecting() as slot:
            future = slot.submit(_digit(0.5))
        assert within_watchdog(lambda: future.result(), 10)[0] == 0.5  # type: ignore[index]
        # one queued while another is being prepared: both in one call
        with batcher.expecting() as first, batcher.expecting() as second:
            b = second.submit(_digit(0.25))
            a = first.submit(_digit(0.75))
        assert within_watchdog(lambda: (a.result()[0], b.result()[0]), 10) == (0.75, 0.25)
        # a request that fails while being prepared (never submitted) is not waited for
        with batcher.expecting(), batcher.expecting() as other:
            c = other.submit(_digit(0.125))
        assert within_watchdog(lambda: c.result()[0], 10) == 0.125
        assert sizes == [1, 2, 1]
    finally:
        batcher.close()


def test_the_batcher_keeps_to_its_largest_batch_and_survives_errors() -> None:
    sizes: list[int] = []

    def infer(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        sizes.append(len(x))
        if np.any(x < 0):
            raise ValueError("negative pixels")
        return _rows(x)

    batcher = Batcher(infer, max_batch=4, wait_s=60.0)
    try:
        slots = [batcher.expecting() for _ in range(10)]
        opened = [s.__enter__() for s in slots]
        futures = [slot.submit(_digit(i / 10)) for i, slot in enumerate(opened)]
        for s in slots:
            s.__exit__(None, None, None)
        got = within_watchdog(lambda: [f.result()[0] for f in futures], 10)
        assert got == pytest.approx([i / 10 for i in range(10)])
        assert sum(sizes) == 10 and max(sizes) <= 4
        with batcher.expecting() as slot:
            bad = slot.submit(_digit(-1.0))
        failure = within_watchdog(lambda: bad.exception(), 10)
        assert isinstance(failure, ValueError) and str(failure) == "negative pixels"
        with batcher.expecting() as slot:
            good = slot.submit(_digit(0.5))
        assert within_watchdog(lambda: good.result()[0], 10) == 0.5
    finally:
        batcher.close()


# --- the page ----------------------------------------------------------------------------------

PAGE_IDS = {
    "pad", "clear", "file", "drop", "guesses", "top", "seen", "run-name", "test-accuracy",
    "params", "status",
}  # fmt: skip
STATIC = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "index.html": "text/html",
    "icon.svg": "image/svg+xml",
}
# a URL to another host: with a scheme, or protocol-relative (an SVG's xmlns is not fetched)
FOREIGN = re.compile(r"(?:https?:)?//[a-z0-9-]+\.[a-z0-9.-]+", re.IGNORECASE)
XMLNS = re.compile(r'xmlns="[^"]*"')


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict[str, str | None]]] = {}
        self.labels_for: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.by_id[str(found["id"])] = (tag, found)
        if tag == "label" and found.get("for"):
            self.labels_for.add(str(found["for"]))


def test_the_page_and_its_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    parsed = _Elements()
    parsed.feed(page.text)
    assert set(parsed.by_id) >= PAGE_IDS, PAGE_IDS - set(parsed.by_id)
    assert parsed.by_id["pad"][0] == "canvas" and parsed.by_id["seen"][0] == "canvas"
    assert parsed.by_id["clear"][0] == "button" and parsed.by_id["guesses"][0] == "ol"
    assert parsed.by_id["file"][1].get("type") == "file"
    assert parsed.by_id["file"][1].get("accept") == "image/*"
    assert "file" in parsed.labels_for
    assert parsed.by_id["status"][1].get("aria-live") == "polite"
    shipped = resources.files("mnistctl.serve") / "static"
    assert {p.name for p in shipped.iterdir()} == set(STATIC)  # inside the package: in the wheel
    for name, kind in STATIC.items():
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == kind, name
        assert response.content == (shipped / name).read_bytes()
        text = XMLNS.sub("", response.text)
        assert not FOREIGN.findall(text), (name, FOREIGN.findall(text))


# --- the command ------------------------------------------------------------------------------


def test_serve_as_a_process_until_ctrl_c(conv_run: Path, tmp_path: Path) -> None:
    from serving import serving

    with serving(conv_run, log_dir=tmp_path) as server:
        workers = preparation_workers(server.proc.pid)
        assert len(workers) == default_workers(), workers
        answer = server.predict(png_bytes(7))
        assert answer["label"] in range(10) and len(answer["probabilities"]) == 10
        # 50 MB sent whole by a client that reads only then (urllib): it sees the 413
        status, _, body = server.request("POST", "/api/predict", bytes(50 * 2**20), PNG)
        assert status == 413 and "too large" in json.loads(body)["error"], (status, body)
        # a body announced as 1 GiB is refused from its header alone, before it is sent
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(
                b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: 1073741824\r\n\r\n\x89PNG"
            )
            answer = b""
            while b"}" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        text = answer.decode("latin-1")
        assert text.startswith("HTTP/1.1 413 "), text
        assert "Content-Length: 1,073,741,824" in text, text
        assert server.predict(png_bytes(8))["label"] in range(10)
        code = server.stop()
        err = server.stderr()
    assert code == 130, err
    assert "Traceback" not in err, err
    assert not [pid for pid in workers if running(pid)], "workers left running"
    lines = err.strip().splitlines()
    assert lines[0].startswith("serving conv (model: model.keras"), lines
    assert f"at http://127.0.0.1:{server.port}/" in lines[0]
    assert lines[-1] == "interrupted", lines


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def preparation_workers(server_pid: int) -> list[int]:
    """The preparation workers (``python -P -m mnistctl.procs mnistctl.serve.worker:...``)
    that ``server_pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == server_pid and b"mnistctl.serve.worker:preparation" in command:
            found.append(int(entry.name))
    return found


def test_a_busy_port_is_one_line(conv_run: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", conv_run, "--port", port)
    assert_user_error(result, f"port {port} is in use", "hint: choose another port")


def test_a_bad_run_is_one_line_and_frees_the_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("serve", tmp_path / "no-such-run", "--port", port)
    assert_user_error(result, "no-such-run")
    bound = bind("127.0.0.1", port)  # the port was given back
    bound.sock.close()


def test_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("serve", tmp_path, "--port", "70000")
    assert result.exit_code == 2, result.stderr


def test_other_hosts_get_a_warning(served: ServedModel) -> None:
    from mnistctl.ui.serve_view import render_serving

    bound = bind("0.0.0.0", 0)
    try:
        serving = serve_command.Serving(bound, served)
        assert not bound.loopback and serving.url == f"http://127.0.0.1:{bound.port}/"
        out = Console(record=True, width=400, color_system=None)
        render_serving(serving, out)
        first, second = out.export_text().strip().splitlines()
        assert first.startswith("warning: listening on 0.0.0.0: other machines can reach")
        assert second.startswith("serving conv") and serving.url in second
        assert serving.to_json()["loopback"] is False
    finally:
        bound.sock.close()
    local = bind("127.0.0.1", 0)
    local.sock.close()
    assert local.loopback


def test_missing_packages_name_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(serve_command, "NEEDS", ("fastapi", "no_such_module_for_serve"))
    result = cli("serve", tmp_path, "--port", "0")
    assert_user_error(
        result, "no_such_module_for_serve not installed", "pip install 'mnistctl[serve]'"
    )


# --- why: /api/explain -------------------------------------------------------------------------


def explain_ok(client: TestClient, body: bytes, query: str = "") -> dict[str, Any]:
    response = client.post(f"/api/explain{query}", content=body, headers=PNG)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_explain_is_predict_plus_why(client: TestClient, served: ServedModel) -> None:
    predicted = predict_ok(client, png_bytes(3), "?digit=1")
    answer = explain_ok(client, png_bytes(3), "?digit=1")
    assert answer["label"] == predicted["label"] and answer["class"] == predicted["class"]
    np.testing.assert_allclose(answer["probabilities"], predicted["probabilities"], atol=1e-6)
    assert answer["digit"] == predicted["digit"]
    # the maps: every method, at the Input's height and width, finite, >= 0, not all zero
    assert list(answer["maps"]) == ["gradcam", "saliency", "occlusion"]
    for method, rows in answer["maps"].items():
        arr = np.asarray(rows, dtype=np.float64)
        assert arr.shape == (28, 28) and np.isfinite(arr).all() and arr.min() >= 0, method
        assert arr.max() > 0, method
    assert served.explaining is not None
    assert answer["reasons"] == {} and answer["layer"] == served.explaining.explainer.layer
    assert answer["layer"] in ("conv", "pool")  # Grad-CAM's default: the last spatial layer
    # the maps are the explain engine's for the same prepared input
    (expected,) = served.explaining.explainer.explain(np.asarray(answer["digit"]))
    for method, rows in answer["maps"].items():
        np.testing.assert_allclose(rows, np.asarray(expected.maps[method]), atol=1e-4)
    # each shown layer's activations as tiles: a byte per pixel of each tile
    assert [layer["name"] for layer in answer["layers"]] == ["conv", "pool", "output_tensor"]
    for layer in answer["layers"]:
        rows_, cols = layer["tile"]
        pixels = base64.b64decode(layer["pixels"])
        assert len(pixels) == layer["count"] * rows_ * cols, layer["name"]
        lo, hi = layer["range"]
        assert lo <= 0 <= hi or lo <= hi
    conv, _, out = answer["layers"]
    assert (
        conv["shape"] == [26, 26, 8] and conv["count"] == 8 and conv["channels"] == list(range(8))
    )
    assert out["shape"] == [10] and out["tile"] == [1, 10] and out["channels"] is None
    # the output layer's tile is the probabilities, on the layer's own scale
    shown = np.frombuffer(base64.b64decode(out["pixels"]), np.uint8)
    expected_bytes = np.rint(np.asarray(answer["probabilities"]) / out["range"][1] * 255)
    np.testing.assert_allclose(shown, expected_bytes, atol=2)


def test_explain_some_methods_in_the_order_asked(client: TestClient) -> None:
    answer = explain_ok(client, png_bytes(5), "?methods=occlusion,gradcam")
    assert list(answer["maps"]) == ["occlusion", "gradcam"] and "digit" not in answer
    assert list(explain_ok(client, png_bytes(5), "?methods=saliency")["maps"]) == ["saliency"]


EXPLAIN_BAD: dict[str, tuple[Callable[[TestClient], Any], int, tuple[str, ...]]] = {
    "unknown method": (
        lambda c: c.post("/api/explain?methods=gradcam,lime", content=png_bytes(0), headers=PNG),
        422,
        ("unknown explanation method 'lime'", "gradcam, saliency, occlusion"),
    ),
    "empty methods": (
        lambda c: c.post("/api/explain?methods=", content=png_bytes(0), headers=PNG),
        422,
        ("unknown explanation method",),
    ),
    "bad digit": (
        lambda c: c.post("/api/explain?digit=2", content=png_bytes(0), headers=PNG),
        422,
        ("invalid query parameter 'digit'",),
    ),
    "not an image": (
        lambda c: c.post("/api/explain", content=b"hello", headers=PNG),
        400,
        ("not an image file",),
    ),
    "empty body": (lambda c: c.post("/api/explain", content=b"", headers=PNG), 400, ("empty",)),
    "no content type": (
        lambda c: c.post("/api/explain", content=png_bytes(0)),
        415,
        ("not declared as an image",),
    ),
    "blank picture": (
        lambda c: c.post(
            "/api/explain", content=image_bytes(Image.new("L", (28, 28), 0)), headers=PNG
        ),
        422,
        ("no digit found",),
    ),
    "too many pixels": (
        lambda c: c.post("/api/explain", content=png_header_only(6000, 5000), headers=PNG),
        413,
        ("too large",),
    ),
    "GET explain": (lambda c: c.get("/api/explain"), 405, ("method not allowed", "POST")),
    "PUT explain": (
        lambda c: c.put("/api/explain", content=png_bytes(0), headers=PNG),
        405,
        ("method not allowed",),
    ),
}


@pytest.mark.parametrize("case", list(EXPLAIN_BAD))
def test_bad_explain_requests_are_4xx_and_serving_goes_on(client: TestClient, case: str) -> None:
    send, status, fragments = EXPLAIN_BAD[case]
    assert_refused(send(client), status, *fragments)
    assert explain_ok(client, png_bytes(1), "?methods=gradcam")["label"] in range(10)


def test_a_model_without_explanations_says_so(served: ServedModel) -> None:
    with TestClient(create_app(Counting(served), prepare_workers=1)) as client:
        response = client.post("/api/explain", content=png_bytes(0), headers=PNG)
        assert_refused(response, 404, "does not explain its answers")
        assert predict_ok(client, png_bytes(0))["label"] in range(10)


def test_a_dense_model_has_no_grad_cam_and_says_why(tmp_path: Path) -> None:
    from helpers import TINY_SPEC, trained_run

    run = trained_run(tmp_path, TINY_SPEC, "tiny.yaml", n_train=200)
    with TestClient(create_app(load_served(open_run(run, None)), prepare_workers=1)) as client:
        answer = explain_ok(client, png_bytes(0))
    assert answer["maps"]["gradcam"] is None and "convolution" in answer["reasons"]["gradcam"]
    assert np.asarray(answer["maps"]["occlusion"]).shape == (28, 28)
    assert [layer["name"] for layer in answer["layers"]] == ["hidden", "output_tensor"]
    assert answer["layers"][0]["tile"] == [8, 8]  # 64 units, near square


def test_vector_tiles() -> None:
    from mnistctl.serve.explaining import layer_tiles, vector_tile

    assert vector_tile(10) == (1, 10) and vector_tile(32) == (1, 32)
    assert vector_tile(128) == (11, 12) and vector_tile(1) == (1, 1)
    layer = layer_tiles("h", "h", np.array([-1.0, 0.0, 1.0, np.nan]))
    assert layer["range"] == [-1.0, 1.0] and layer["tile"] == [1, 4]
    assert list(base64.b64decode(layer["pixels"])) == [0, 128, 255, 128]  # NaN shown as 0
    flat = layer_tiles("z", "z", np.zeros((2, 2, 3)))  # all zero: a blank tile, no division
    assert flat["range"] == [0.0, 0.0] and set(base64.b64decode(flat["pixels"])) == {0}
