"""Make ``examples/shapes/``: a small class-folder data set of coloured shapes (RGB, 32x32).

Four classes (circle, cross, square, triangle) drawn at random sizes, places and colours on
random backgrounds, with a few pictures at other sizes and in other modes, as a teacher's
folder would have. ``specs/shapes.yaml`` trains on it. The pictures are committed; this script
is how they were made (``python examples/make_shapes.py``; seeded, so it makes the same ones).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

CLASSES = ("circle", "cross", "square", "triangle")
COUNTS = {"train": 150, "test": 40}
SIDE = 32


def draw(kind: str, rng: random.Random) -> Image.Image:
    side = rng.choice([SIDE] * 8 + [48, 64])  # most 32x32, some larger (resized when read)
    background = tuple(rng.randrange(0, 256) for _ in range(3))
    ink = tuple((c + rng.randrange(96, 160)) % 256 for c in background)
    img = Image.new("RGB", (side, side), background)
    d = ImageDraw.Draw(img)
    r = rng.uniform(0.22, 0.42) * side
    cx, cy = (rng.uniform(r, side - r) for _ in range(2))
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "circle":
        d.ellipse(box, fill=ink)
    elif kind == "square":
        d.rectangle(box, fill=ink)
    elif kind == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=ink)
    else:
        w = max(2, round(r / 2.5))
        d.line([(cx - r, cy), (cx + r, cy)], fill=ink, width=w)
        d.line([(cx, cy - r), (cx, cy + r)], fill=ink, width=w)
    if rng.random() < 0.1:  # a few grey ones, as a scanner might save them
        return img.convert("L")
    return img


def main() -> None:
    root = Path(__file__).resolve().parent / "shapes"
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(0)
    for split, n in COUNTS.items():
        for kind in CLASSES:
            folder = root / split / kind
            folder.mkdir(parents=True)
            for i in range(n):
                draw(kind, rng).save(folder / f"{kind}_{i:03d}.png", optimize=True)
    print(f"wrote {sum(COUNTS.values()) * len(CLASSES)} pictures under {root}")


if __name__ == "__main__":
    main()
