"""What a request to ``/api/predict`` may be, and the refusals, each a 4xx with one line (but
for ``busy``, a 503: the request was fine, the server had no worker free for it).

Everything is checked as early as it can be: the Content-Type before the body is read, the
declared Content-Length before a byte of it is read, the body's size while it is read (a body
without a length is kept no further than the limit), the picture's dimensions from its header
before it is decoded (``data/imageread.py``), and the time its decoding and preparation take
(a worker process still at it then is killed: ``workers.py``).

A refused body is still read and dropped, up to DRAIN_BYTES within DRAIN_S, before the answer
goes: a client that sends its whole body before reading and asks to close the connection
(Python's urllib does) would otherwise get a connection reset instead of the 413, as uvicorn
closes such a connection as soon as it has answered. A larger body is answered at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect

from mnistctl.data.imageerrors import TOO_LARGE, no_digit
from mnistctl.errors import Location, UserError

MAX_BODY_BYTES: int = 10 * 2**20
"""Largest request body: a 28x28 digit is a few hundred bytes, a phone photo a few MB."""

MAX_PIXELS: int = 25_000_000
"""Largest picture (width x height, read from its header before decoding): a 25 MP photo."""

DECODE_TIMEOUT_S: float = 5.0
"""Seconds a picture may take to be decoded and prepared (then 422; the request was whole)."""

DRAIN_BYTES: int = 64 * 2**20
"""Most bytes of a refused body read (and dropped) so that its sender sees the answer."""

DRAIN_S: float = 10.0
"""Longest time spent reading a refused body before answering anyway."""

SOURCE = "request"  # the location errors about a request's body carry
_NO_DIGIT = no_digit("").message


@dataclass(frozen=True)
class Limits:
    """The limits one app enforces (the constants above unless a test sets others)."""

    body_bytes: int = MAX_BODY_BYTES
    pixels: int = MAX_PIXELS
    decode_s: float = DECODE_TIMEOUT_S


class RequestError(Exception):
    """A refused request: its HTTP status and the user-facing error that says why."""

    def __init__(self, status: int, error: UserError) -> None:
        super().__init__(error.one_line())
        self.status = status
        self.error = error


def _refuse(status: int, message: str, **kw: str | None) -> RequestError:
    return RequestError(status, UserError(message, Location(file=SOURCE), **kw))


def check_content_type(value: str | None) -> None:
    """415 unless the body says it is an image (``image/png``, ``image/jpeg``, ...) or an HTML
    form's upload (``multipart/form-data``: ``forms.py``)."""
    media = (value or "").split(";", 1)[0].strip().lower()
    if not media.startswith("image/") and media != "multipart/form-data":
        raise _refuse(
            415,
            "the body is not declared as an image",
            expected="Content-Type: image/png, image/jpeg or another image/* type, "
            "or multipart/form-data (a form with one file)",
            received=f"Content-Type: {media}" if media else "no Content-Type",
            hint="send the image file's bytes with its image type, "
            "e.g. curl --data-binary @digit.png -H 'Content-Type: image/png'",
        )


def body_too_large(limit: int, received: str) -> RequestError:
    return _refuse(
        413,
        TOO_LARGE,
        expected=f"a body of at most {limit:,} bytes",
        received=received,
        hint="crop or shrink the picture; 28x28 pixels are used",
    )


def declared_length(value: str | None) -> int | None:
    """The Content-Length header's number of bytes (None: not given)."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise _refuse(
            400, "bad Content-Length header", expected="a number of bytes", received=value[:40]
        ) from None


async def receive_body(
    content_type: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
    limit: int,
) -> bytes:
    """The whole body of an upload, or a RequestError: 415 for a body not declared as an
    image, 413 for one declared larger than ``limit`` (before a byte is read) or found larger
    while read (nothing past ``limit`` is kept). A refused body is drained (see the module)."""
    length: int | None = None
    try:
        length = declared_length(content_length)
        check_content_type(content_type)
        if length is not None and length > limit:
            raise body_too_large(limit, f"Content-Length: {length:,}")
    except RequestError:
        if length is None or length <= DRAIN_BYTES:
            await _drain(chunks, 0)
        raise
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                await _drain(chunks, size)
                raise body_too_large(limit, f"more than {limit:,} bytes")
            parts.append(chunk)
    except ClientDisconnect:
        raise _refuse(
            400,
            "the connection closed before the whole body was sent",
            expected=f"{length:,} bytes" if length is not None else "the whole body",
            received=f"{size:,} bytes",
        ) from None
    return b"".join(parts)


async def _drain(chunks: AsyncIterator[bytes], size: int) -> None:
    """Read and drop the rest of a refused body: up to DRAIN_BYTES in all, within DRAIN_S."""
    try:
        async with asyncio.timeout(DRAIN_S):
            async for chunk in chunks:
                size += len(chunk)
                if size > DRAIN_BYTES:
                    return
    except (TimeoutError, ClientDisconnect):
        return


def decode_timeout(seconds: float) -> RequestError:
    return _refuse(
        422,
        "the image took too long to decode",
        expected=f"a picture that is decoded and prepared within {seconds:g} s",
        received="a picture still being decoded after that",
        hint="send a smaller picture, e.g. a PNG of the digit cropped",
    )


def busy(seconds: float) -> RequestError:
    """503: no preparation worker came free in time (other pictures hold them all)."""
    return _refuse(
        503,
        "the server is busy preparing other pictures",
        expected=f"a free worker within {seconds:g} s",
        received="every worker still busy after that",
        hint="try again in a moment",
    )


def preparation_lost(exitcode: int | None) -> RequestError:
    """422: the process preparing the picture ended without an answer (the picture crashed
    its decoder, or it ran out of memory); it has been replaced."""
    return _refuse(
        422,
        "the image could not be prepared",
        expected="a picture that is decoded without ending the process that decodes it",
        received=f"the preparing process ended (exit code {exitcode})",
        hint="re-save the picture as a PNG or JPEG and send it again",
    )


def status_of(error: UserError) -> int:
    """The status of a picture refused by ``data/images.py``: too large (bytes or pixels) 413,
    no digit in it 422, anything else (empty, not an image, damaged, truncated) 400."""
    if error.message == TOO_LARGE:
        return 413
    if error.message == _NO_DIGIT:
        return 422
    return 400


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off", "")


def want_digit(value: str | None) -> bool:
    """The ``digit`` query parameter: ``?digit=1`` (true, yes, on) adds the prepared input."""
    if value is None or value.strip().lower() in _NO:
        return False
    if value.strip().lower() in _YES:
        return True
    raise RequestError(
        422,
        UserError(
            "invalid query parameter 'digit'",
            Location(file="/api/predict"),
            expected="1 or 0 (true, false, yes, no, on, off)",
            received=repr(value[:40]),
            hint="e.g. POST /api/predict?digit=1",
        ),
    )
