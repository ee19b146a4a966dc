"""What each preparation worker runs (``mnistctl.procs`` starts it; ``workers.py`` drives it).

``preparation`` is called once in the worker: it prepares a small picture of its own (every
later one then finds Pillow and NumPy loaded and warm) and returns the function the worker runs
on each picture it is sent (the request's body): ``input_from_bytes``, the preparation
``mnistctl predict`` uses, with the server's pixel limit and the name its errors carry. Its
answer is the prepared float32 input as raw bytes (the target's dims; the server's event
loop reads bytes back for less than a pickled array), or the ``UserError`` that refuses the
picture, which crosses the process boundary whole.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mnistctl.data.inputs import Target

DIGIT_SHAPE = (28, 28)  # MNIST's; a run's own is its Target's dims
DIGIT_DTYPE = np.float32

Prepare = Callable[[bytes], bytes]


def preparation(max_pixels: int, source: str, target: Target | None = None) -> Prepare:
    """``input_from_bytes`` with the server's pixel limit and the name its errors carry, made
    to the run's ``target`` (MNIST's 28x28 digits by default), warmed up; its answer as raw
    bytes."""
    from mnistctl.data.inputs import MNIST_TARGET, input_from_bytes

    made = target or MNIST_TARGET

    def prepare(body: bytes) -> bytes:
        digit = input_from_bytes(body, made, source=source, max_pixels=max_pixels)
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
