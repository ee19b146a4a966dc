"""One preparation worker: a process of its own that prepares the pictures the server sends it.

    python -P -m mnistctl.serve.worker JOBS_FD ANSWERS_FD MAX_PIXELS SOURCE

It reads one picture (the request's body) at a time from the pipe ``JOBS_FD`` and writes one
answer to ``ANSWERS_FD`` (``multiprocessing.connection``'s framing: a length, then the bytes):
the prepared 28x28 float32 input as raw bytes, or the ``UserError`` that refused the picture,
pickled, so that it crosses the process boundary whole. The preparation is
``digit_from_bytes``, the one ``mnistctl predict`` uses. It first prepares a small picture of
its own (every later one then finds Pillow and NumPy loaded and warm) and says it is ready. It
ignores Ctrl-C (the server stops it) and ends when the server's end of the jobs pipe closes.
The server's side is ``workers.py``.
"""

from __future__ import annotations

import io
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

import numpy as np
import numpy.typing as npt

from mnistctl.errors import UserError

DIGIT_SHAPE = (28, 28)
DIGIT_BYTES = DIGIT_SHAPE[0] * DIGIT_SHAPE[1] * 4  # float32

# The first byte of an answer says what follows.
READY = b"R"  # nothing: the worker has warmed up
DIGIT = b"D"  # the prepared input, DIGIT_BYTES of float32
REFUSED = b"U"  # a pickled UserError
FAILED = b"X"  # a pickled str: what else went wrong (a bug, not the picture)

Prepare = Callable[[bytes], npt.NDArray[np.float32]]


def main(argv: Sequence[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    jobs_fd, answers_fd, max_pixels, source = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    jobs = Connection(jobs_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    try:
        prepare = preparation(max_pixels, source)
        prepare(warm_up_picture())
    except Exception as exc:  # cannot start: say why, once
        answers.send_bytes(FAILED + pickle.dumps(f"{type(exc).__name__}: {exc}"))
        return 1
    try:
        answers.send_bytes(READY)
    except OSError:
        return 0
    while True:
        try:
            body = jobs.recv_bytes()
            answers.send_bytes(answer(prepare, body))
        except (EOFError, OSError):  # the server has gone, or has stopped this worker
            return 0


def preparation(max_pixels: int, source: str) -> Prepare:
    """``digit_from_bytes`` with the server's pixel limit and the name its errors carry."""
    from mnistctl.data.images import digit_from_bytes

    def prepare(body: bytes) -> npt.NDArray[np.float32]:
        return digit_from_bytes(body, source=source, max_pixels=max_pixels)

    return prepare


def answer(prepare: Prepare, body: bytes) -> bytes:
    """The message answering ``body``."""
    try:
        x = prepare(body)
    except UserError as err:
        return REFUSED + pickle.dumps(err)
    except Exception as exc:
        return FAILED + pickle.dumps(f"{type(exc).__name__}: {exc}")
    return DIGIT + np.ascontiguousarray(x, np.float32).tobytes()


def warm_up_picture() -> bytes:
    """A small PNG with a stroke on it."""
    from PIL import Image, ImageDraw

    img = Image.new("L", DIGIT_SHAPE, 0)
    ImageDraw.Draw(img).line([(14, 5), (14, 22)], fill=255, width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
