"""Pictures as ``data:`` URIs for the report: small PNGs (Pillow), drawn as the data set holds
them: grey pictures white ink on black as MNIST stores them (``plots/style.py``'s convention),
RGB as they are. The page scales them up with ``image-rendering: pixelated``, so a 28x28
picture stays crisp at any size and costs a few hundred bytes."""

from __future__ import annotations

import base64
import io

import numpy as np
import numpy.typing as npt


def png_bytes(picture: npt.NDArray[np.uint8]) -> bytes:
    """One ``(H, W)`` grey, ``(H, W, 1)`` or ``(H, W, 3)`` RGB ``uint8`` picture as a PNG file."""
    from PIL import Image  # only when a report is drawn

    pixels = np.ascontiguousarray(picture, dtype=np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB").save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def data_uri(picture: npt.NDArray[np.uint8]) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode("ascii")
