"""One way of drawing, for every figure mnistctl makes (plots, compare, report, explain).

- Learning curves: validation solid (the line that matters), train dashed, one colour per run
  where several runs share axes; every figure with curves has a legend saying so.
- Pictures: drawn as MNIST stores them and as the served page shows them, white ink on black
  (``PICTURE_CMAP`` for one channel; RGB pictures as they are).
- Every figure has a title (``fig.suptitle``) naming what it shows.
"""

from __future__ import annotations

TRAIN_LINE = "--"
VAL_LINE = "-"
TRAIN_LABEL = "train (dashed)"
VAL_LABEL = "validation (solid)"
PICTURE_CMAP = "gray"  # 0 black .. 255 white: white ink on black, as MNIST and the served page
