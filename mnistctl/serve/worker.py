"""What each preparation worker runs (``mnistctl.procs`` starts it; ``workers.py`` drives it).

``preparation`` is called once in the worker: it prepares a small picture of its own (every
later one then finds Pillow and NumPy loaded and warm) and returns the function the worker runs
on each picture it is sent (the request's body): ``digit_from_bytes``, the preparation
``mnistctl predict`` uses, with the server's pixel limit and the name its errors carry. Its
answer is the prepared 28x28 float32 input as raw bytes (``DIGIT_SHAPE``; the server's event
loop reads bytes back for less than a pickled array), or the ``UserError`` that refuses the
picture, which crosses the process boundary whole.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np

DIGIT_SHAPE = (28, 28)
DIGIT_DTYPE = np.float32

Prepare = Callable[[bytes], bytes]


def preparation(max_pixels: int, source: str) -> Prepare:
    """``digit_from_bytes`` with the server's pixel limit and the name its errors carry,
    warmed up; its answer as raw bytes."""
    from mnistctl.data.images import digit_from_bytes

    def prepare(body: bytes) -> bytes:
        digit = digit_from_bytes(body, source=source, max_pixels=max_pixels)
        return np.ascontiguousarray(digit, DIGIT_DTYPE).tobytes()

    prepare(warm_up_picture())
    return prepare


def warm_up_picture() -> bytes:
    """A small PNG with a stroke on it."""
    from PIL import Image, ImageDraw

    img = Image.new("L", DIGIT_SHAPE, 0)
    ImageDraw.Draw(img).line([(14, 5), (14, 22)], fill=255, width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
