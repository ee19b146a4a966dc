"""A data set at a glance: a few pictures of each class in a grid, one row per class.

Drawn with Pillow, not matplotlib: ``mnistctl data`` is a quick look (its whole run, cached,
takes a fraction of a second), and matplotlib's import alone would take longer. Pictures are
shown as they are stored (white ink on black for MNIST), each scaled up without smoothing to at
least ``MIN_CELL`` pixels, with the class's name and number at the start of its row and a title.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from mnistctl.runs.atomic import write_with

__all__ = ["MAX_ROWS", "PER_CLASS", "plot_preview", "preview_indices"]

PER_CLASS = 8  # pictures shown of each class
MAX_ROWS = 40  # classes shown (a note says how many more there are)
MIN_CELL = 56  # a picture's side on screen, at least (28x28 MNIST: x2)
MAX_CELL = 96
GAP, LABEL_W, TITLE_H, FONT = 4, 180, 40, 15
BACKGROUND, INK = (255, 255, 255), (34, 34, 34)


def preview_indices(
    labels: npt.NDArray[np.integer], classes: int, per_class: int = PER_CLASS
) -> list[list[int]]:
    """The first ``per_class`` pictures of each class (by position), for the first MAX_ROWS
    classes."""
    rows: list[list[int]] = []
    for label in range(min(classes, MAX_ROWS)):
        rows.append(np.flatnonzero(labels == label)[:per_class].tolist())
    return rows


def plot_preview(
    images: npt.NDArray[np.uint8],
    rows: Sequence[Sequence[int]],
    names: Sequence[str],
    out: Path,
    *,
    title: str,
    more: int = 0,
) -> Path:
    """The grid of ``images[i]`` for each row of ``rows`` (row k is class ``names[k]``), as a
    PNG at ``out`` (written whole, atomically). ``more``: classes not shown."""
    h, w = images.shape[1], images.shape[2]
    scale = max(1, -(-MIN_CELL // max(h, w)))
    if max(h, w) * scale > MAX_CELL and max(h, w) <= MAX_CELL:
        scale = max(1, MAX_CELL // max(h, w))
    cw, ch = w * scale, h * scale
    if max(cw, ch) > MAX_CELL:  # a large picture: shrunk to the cell, aspect kept
        f = MAX_CELL / max(cw, ch)
        cw, ch = max(1, round(cw * f)), max(1, round(ch * f))
    per_row = max((len(r) for r in rows), default=0)
    footer = TITLE_H // 2 if more else 0
    font = ImageFont.load_default(size=FONT)
    texts = [_row_label(k, names[k]) for k in range(len(rows))]
    widest = max((font.getlength(t) for t in texts), default=0.0)
    label_w = int(min(LABEL_W, widest + 4 * GAP))
    heading = ImageFont.load_default(size=18)
    width = max(
        label_w + max(per_row, 1) * (cw + GAP) + GAP, int(heading.getlength(title)) + 4 * GAP
    )
    height = TITLE_H + max(len(rows), 1) * (ch + GAP) + GAP + footer
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP * 2, TITLE_H // 2), title, fill=INK, font=heading, anchor="lm")
    for k, row in enumerate(rows):
        top = TITLE_H + k * (ch + GAP)
        text = _fit(texts[k], font, label_w - 3 * GAP)
        draw.text((GAP * 2, top + ch // 2), text, fill=INK, font=font, anchor="lm")
        for j, index in enumerate(row):
            cell = _picture(images[index]).resize((cw, ch), Image.Resampling.NEAREST)
            canvas.paste(cell, (label_w + j * (cw + GAP), top))
        if not row:
            draw.text((label_w, top + ch // 2), "(no pictures)", fill=INK, font=font, anchor="lm")
    if more:
        draw.text((GAP * 2, height - footer // 2 - GAP), f"... and {more:,} more classes",
                  fill=INK, font=font, anchor="lm")  # fmt: skip
    write_with(out, lambda tmp: canvas.save(tmp, format="PNG", optimize=False), suffix=".png")
    return out


def _row_label(label: int, name: str) -> str:
    """``3`` for a class named by its number, ``3: cat`` otherwise."""
    return name if name == str(label) else f"{label}: {name}"


def _picture(array: npt.NDArray[np.uint8]) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 3:
        return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    return Image.fromarray(np.ascontiguousarray(array.reshape(array.shape[:2]), dtype=np.uint8))


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, room: int) -> str:
    """``text``, cut with an ellipsis to ``room`` pixels."""
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text + "…"
