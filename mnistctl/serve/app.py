"""The FastAPI app: the page, its static files and the JSON API, every refusal a 4xx with
``{"error": "one line"}`` (worded as the command line words its errors).

``POST /api/predict`` reads the body within the limits (``limits.py``), has the picture
prepared by a worker process exactly as ``mnistctl predict`` prepares it (``workers.py``), then
hands the 28x28 input to the batcher, which runs it through the model with whatever else
arrived with it. ``POST /api/explain`` answers the same, and adds why (``explaining.py``): the
maps and each layer's activations, computed in threads beside the event loop (the two slower
maps at once), never in the batcher's way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus
from importlib import resources
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from mnistctl import jsondata
from mnistctl.errors import Location, UserError, visible
from mnistctl.serve.batcher import BATCH_WAIT_S, MAX_BATCH, Batcher
from mnistctl.serve.explaining import METHODS
from mnistctl.serve.forms import form_file, is_form
from mnistctl.serve.limits import (
    SOURCE,
    Limits,
    RequestError,
    busy,
    decode_timeout,
    preparation_lost,
    receive_body,
    status_of,
    want_digit,
)
from mnistctl.serve.model import Rows, ServeInfo
from mnistctl.serve.workers import (
    NoWorker,
    Preparers,
    PrepareTimeout,
    WorkerLost,
    default_workers,
)

GET = ["GET", "HEAD"]  # every page answers HEAD as GET, without the body
ROUTES = (
    "GET /, GET /api/info, GET /healthz, POST /api/predict, POST /api/explain or GET /static/..."
)
# Nothing the page uses comes from elsewhere; the browser is told to refuse anything that does.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Served(Protocol):
    """What the app serves: ``ServedModel``, or anything that calls it (a test's counter)."""

    @property
    def info(self) -> ServeInfo: ...

    def __call__(self, digits: npt.NDArray[np.float32], /) -> Rows: ...


def create_app(
    model: Served,
    *,
    limits: Limits | None = None,
    max_batch: int = MAX_BATCH,
    wait_s: float = BATCH_WAIT_S,
    prepare_workers: int | None = None,
) -> FastAPI:
    """The app serving ``model``. Its preparation workers (``prepare_workers``, default one
    per CPU) are started and warmed up here; they and the batcher stop with the app."""
    limits = limits or Limits()
    page = (resources.files(__package__) / "static" / "index.html").read_bytes()
    info = model.info.to_json()
    preparers = Preparers(
        prepare_workers or default_workers(),
        max_pixels=limits.pixels,
        source=SOURCE,
        target=model.info.target,
    )
    batcher = Batcher(model, max_batch=max_batch, wait_s=wait_s)
    app = FastAPI(
        title="mnistctl serve",
        docs_url=None,  # the interactive docs load their scripts from a CDN: not offline
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(preparers, batcher),
    )
    app.state.preparers = preparers  # for tests: the workers' pids, how many were replaced
    app.add_middleware(_Answers)
    app.mount("/static", StaticFiles(packages=[(__package__, "static")]), name="static")
    _add_pages(app, page, info)
    _add_predict(app, limits, preparers, batcher, model.info.class_names)
    _add_explain(app, limits, preparers, batcher, model)
    _add_error_answers(app)
    return app


def _lifespan(
    preparers: Preparers, batcher: Batcher
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the workers attached to its event loop; they and the batcher
    closed when it stops."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        preparers.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            batcher.close()
            preparers.close()

    return lifespan


def _add_pages(app: FastAPI, page: bytes, info: Mapping[str, Any]) -> None:
    """``GET /`` (``page``), ``GET /healthz`` and ``GET /api/info`` (``info``); HEAD answers
    each as GET does, without the body (as the static files do)."""

    @app.api_route("/", methods=GET, response_class=HTMLResponse)
    async def index() -> Response:
        return HTMLResponse(page)

    @app.api_route("/healthz", methods=GET)
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.api_route("/api/info", methods=GET)
    async def api_info() -> Response:
        return _json(info)


def _add_predict(
    app: FastAPI,
    limits: Limits,
    preparers: Preparers,
    batcher: Batcher,
    classes: Sequence[str],
) -> None:
    """``POST /api/predict``: the body within ``limits``, prepared by a worker, answered by
    the batcher."""

    async def api_predict(request: Request) -> Response:
        # A plain Starlette endpoint: FastAPI's parameter machinery would cost more than the
        # model call of a small network.
        digit = want_digit(request.query_params.get("digit"))
        x, row = await _predicted(request, limits, preparers, batcher)
        return Response(_dumps(_answer(x, row, classes, digit)), media_type="application/json")

    app.add_route("/api/predict", api_predict, methods=["POST"])


async def _predicted(
    request: Request, limits: Limits, preparers: Preparers, batcher: Batcher
) -> tuple[npt.NDArray[np.float32], Rows]:
    """The request's picture, prepared by a worker, and its row of the model's output."""
    headers = request.headers
    content_type = headers.get("content-type")
    body = await receive_body(
        content_type, headers.get("content-length"), request.stream(), limits.body_bytes
    )
    if content_type and is_form(content_type):  # an HTML form: the picture is its file
        body = form_file(content_type, body)
    with batcher.expecting() as slot:
        try:
            x = await preparers.prepare(body, limits.decode_s)
        except UserError as err:
            raise RequestError(status_of(err), err) from None
        except PrepareTimeout:
            raise decode_timeout(limits.decode_s) from None
        except NoWorker:
            raise busy(limits.decode_s) from None
        except WorkerLost as lost:
            raise preparation_lost(lost.exitcode) from None
        future = slot.submit(x)
    row = await asyncio.wrap_future(future)
    return x, row


def _answer(
    x: npt.NDArray[np.float32], row: Rows, classes: Sequence[str], digit: bool
) -> dict[str, Any]:
    """Predict's answer: the label, its class and the probabilities (and the prepared input)."""
    # finite numbers go straight to JSON; a diverged model's NaN becomes null (jsondata)
    probabilities = row.tolist() if np.isfinite(row).all() else jsondata.plain(row)
    label = int(np.argmax(row))
    answer: dict[str, Any] = {
        "label": label,
        "class": classes[label] if label < len(classes) else str(label),
        "probabilities": probabilities,
    }
    if digit:
        answer["digit"] = x.tolist()  # the preparation's output: always in 0..1
    return answer


def want_methods(value: str | None) -> tuple[str, ...]:
    """The ``methods`` query parameter of ``/api/explain``: names from METHODS, separated by
    commas; all of them when it is not given."""
    if value is None:
        return METHODS
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",")))
    if not names or any(n not in METHODS for n in names):
        bad = next((n for n in names if n not in METHODS), value)
        raise RequestError(
            422,
            UserError(
                f"unknown explanation method {bad[:40]!r}",
                Location(file="/api/explain"),
                expected=f"one or more of {', '.join(METHODS)}, separated by commas",
                received=repr(value[:60]),
                hint="e.g. POST /api/explain?methods=gradcam,occlusion",
            ),
        )
    return names


def _add_explain(
    app: FastAPI, limits: Limits, preparers: Preparers, batcher: Batcher, model: Served
) -> None:
    """``POST /api/explain``: predict's answer, then the maps and the layers' activations."""
    explaining = getattr(model, "explaining", None)
    classes = model.info.class_names

    async def api_explain(request: Request) -> Response:
        digit = want_digit(request.query_params.get("digit"))
        methods = want_methods(request.query_params.get("methods"))
        if explaining is None:
            where = Location(file="/api/explain")
            raise RequestError(404, UserError("this server does not explain its answers", where))
        x, row = await _predicted(request, limits, preparers, batcher)
        answer = _answer(x, row, classes, digit)
        # occlusion (many covered copies) in one thread, the others beside it
        slow = [m for m in methods if m == "occlusion"]
        fast = [m for m in methods if m != "occlusion"]
        parts = [asyncio.to_thread(explaining.maps, x, group) for group in (slow, fast) if group]
        found = await asyncio.gather(asyncio.to_thread(explaining.layers, x), *parts)
        answer["layers"] = found[0]
        answer["maps"], answer["reasons"], answer["layer"] = {}, {}, None
        for part in found[1:]:
            answer["maps"].update(part["maps"])
            answer["reasons"].update(part["reasons"])
            answer["layer"] = answer["layer"] or part["layer"]
        answer["maps"] = {m: answer["maps"][m] for m in methods}  # in the order asked
        return Response(_dumps(answer), media_type="application/json")

    app.add_route("/api/explain", api_explain, methods=["POST"])


def _dumps(body: Any) -> str:
    return json.dumps(body, allow_nan=False, separators=(",", ":"))


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(_dumps(jsondata.plain(body)), status, headers, media_type="application/json")


def _error(status: int, error: UserError, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"error": visible(error.one_line())}, status, headers)


def _shown(path: str, most: int = 120) -> str:
    """A request's path as an error shows it: at most ``most`` characters."""
    return path if len(path) <= most else path[: most - 3] + "..."


def _add_error_answers(app: FastAPI) -> None:
    """Every refusal, Starlette's own (404, 405, ...) included, as ``{"error": "..."}``."""

    @app.exception_handler(RequestError)
    async def refused(_request: Request, exc: RequestError) -> Response:
        return _error(exc.status, exc.error)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        path = _shown(request.url.path)
        where = Location(file=path)
        received = f"{request.method} {path}"
        if exc.status_code == 404:
            err = UserError("no such page", where, expected=ROUTES, received=received)
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            err = UserError(
                "method not allowed", where, expected=allowed or ROUTES, received=request.method
            )
        else:
            err = UserError(str(exc.detail), where, received=received)
        return _error(exc.status_code, err, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own checks of a route's parameters (none of today's routes has any)
        first: Mapping[str, Any] = next(iter(exc.errors()), {})
        where = ".".join(str(part) for part in first.get("loc", ()))
        err = UserError(
            f"invalid request: {where}" if where else "invalid request",
            Location(file=_shown(request.url.path)),
            received=str(first.get("msg", exc))[:200],
        )
        return _error(422, err)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        # A bug, not a bad request: Starlette raises it again once this answer is sent, so
        # that uvicorn logs it with its traceback; the server goes on serving.
        err = UserError(
            "internal error",
            Location(file=_shown(request.url.path)),
            received=f"{type(exc).__name__}: {exc}",
            hint="this is a bug in mnistctl; the server's log has the details",
        )
        return _error(500, err)


class _Answers:
    """Every answer gets SECURITY_HEADERS, and an error answer (4xx, 5xx) that is not JSON
    already becomes ``{"error": "one line"}``: what Starlette's layers answer in plain text
    themselves, not through an exception the handlers see (a static file's malformed or
    unsatisfiable ``Range``: 400, 416). One plain ASGI middleware: no per-request cost beyond
    the headers, for answers that are not plain errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # a plain error's start, held back until its body ends
        said = bytearray()

        async def answer(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if _plain_error(message):
                    held = message
                    return
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            said.extend(message.get("body", b"")[: _SAID_BYTES - len(said)])
            if not message.get("more_body", False):
                await _send_error(send, scope, held, bytes(said))

        await self.app(scope, receive, answer)


_SAID_BYTES = 200  # most of a plain error's own text kept for the JSON one


def _plain_error(start: Message) -> bool:
    """An error answer whose body is not JSON."""
    if start["status"] < 400:
        return False
    kinds = [v for k, v in start.get("headers", []) if k.lower() == b"content-type"]
    return not kinds or kinds[0].split(b";")[0].strip().lower() != b"application/json"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return f"HTTP status {status}"


async def _send_error(send: Send, scope: Scope, start: Message, said: bytes) -> None:
    """``start``'s status and headers (but its body's) with ``{"error": ...}`` as the body."""
    status = int(start["status"])
    path = _shown(str(scope.get("path", "")))
    text = said.decode("utf-8", "replace").strip()
    received = f"{scope.get('method', '')} {path}" + (f": {text}" if text else "")
    err = UserError(_phrase(status), Location(file=path), received=received)
    body = _dumps({"error": visible(err.one_line())}).encode()
    dropped = (b"content-type", b"content-length", b"transfer-encoding")
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in dropped]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += SECURITY_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
