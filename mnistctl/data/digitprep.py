"""The transform that turns a picture of a handwritten digit into an MNIST-style 28x28 input,
the way MNIST itself was made (``prepare_digit``; ``prepare_digits``: many pictures, those of
one size transformed together, with the same results to the bit):

1. EXIF orientation is applied (phone photos are often stored sideways). Only the first frame of
   an animation is used. Pictures are reduced to at most WORK_SIZE px on the longer side.
2. The picture becomes one grey channel in [0, 1] (ITU-R 601 luma for colour; 16-bit, 32-bit
   and floating point greyscale are stretched from their own range). Transparent pixels are
   paper: composited over white, except when most of the image is transparent and what is drawn
   on it is light (a white digit exported from a drawing app): then over black.
3. Polarity: every pixel is compared with the local background (the median of blocks of 1/8 of
   the picture and their neighbours, so uneven lighting is followed; for pictures under 64 px,
   the median of the border). The side with more strong deviation is the ink: dark ink on light
   paper is inverted so that ink is bright on black, like MNIST.
4. Background and contrast: dark ink is measured as its share of the local paper brightness
   (so shading and vignetting cancel out); light ink as its excess over a local low envelope.
   Everything up to 4 noise deviations (a robust estimate) above the background becomes 0, so
   paper grey is black, and the typical ink level (90th percentile of the ink) becomes 1. When
   the picture will be reduced 2x or more, the faintest 15% (JPEG ringing, blur) is dropped too.
5. Specks: connected pieces of ink with at least 10% of the biggest piece's ink are the digit;
   smaller pieces are kept only when near it (within 40% of its size) and not tiny (their ink
   would fill at least 5% of a final pixel). The picture is cropped to the digit's bounding box.
6. The crop is scaled to fit 20x20 keeping its aspect ratio (Lanczos, antialiased; the strongest
   ink is put back at 1). When a big picture of a thin pen stroke would shrink to hair lines
   (thinner than 95% of MNIST digits), the strokes are thickened to MNIST's median width.
7. It is pasted into 28x28 so that its centre of mass is at (14, 14) (row, column; a whole-pixel
   shift, as LeCun did: MNIST's own centres of mass lie within half a pixel of it).

A picture that is already an MNIST digit (28x28, white on black, or its black-on-white inverse)
comes out unchanged, up to rounding. Known limits: a sharp shadow edge across the paper, or a
desk around the paper, can be taken for ink (crop the picture to the paper and the digit).

Steps 1 and 2 are in ``digitgray.py``, 3 and 4 in ``digitink.py``, 5 to 7 in ``digitcrop.py``.
Reading the picture from a file or from bytes is ``images.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitcrop import BOX, SIZE, box_size, centre_into, digit_crops, fit_box
from mnistctl.data.digitgray import upright_gray
from mnistctl.data.digitink import ink_signals
from mnistctl.data.imageerrors import no_digit
from mnistctl.data.rowstats import FloatArray
from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["BATCH_PIXELS", "no_digit", "prepare_digit", "prepare_digits"]

FAINT = 0.15  # when a picture is reduced 2x or more, ink below this share is background
BATCH_PIXELS = 2**17  # grey pixels of pictures of one size prepared together (1 MiB of them)


def prepare_digit(img: Image.Image) -> npt.NDArray[np.float32]:
    """The pure transform: a Pillow image of one digit -> (28, 28) float32 in [0, 1], like MNIST.

    Raises ``UserError`` (without location) when there is no digit to find.
    """
    result = prepare_digits([img])[0]
    if isinstance(result, UserError):
        raise result from result.__cause__
    return result


def prepare_digits(
    images: Iterable[Image.Image | UserError],
) -> list[npt.NDArray[np.float32] | UserError]:
    """``prepare_digit`` of each picture: its digit, or the ``UserError`` it raises; an error
    in ``images`` (a picture that could not be read) is passed through in its place.

    Each picture is made grey as it arrives; then pictures of one size go through the other
    steps together (``_Batches``): the same numbers, for a fraction of numpy's cost per call,
    which is most of the work for a small picture. At most about BATCH_PIXELS x 2 grey pixels
    wait.
    """
    results: dict[int, npt.NDArray[np.float32] | UserError] = {}
    batches = _Batches(results)
    for i, img in enumerate(images):
        if isinstance(img, UserError):
            results[i] = img
            continue
        try:
            batches.add(i, upright_gray(img))
        except UserError as err:
            results[i] = err
    batches.flush()
    return [results[i] for i in range(len(results))]


class _Batches:
    """Grey pictures waiting to be prepared, by size; a size's pictures are prepared together
    when they fill BATCH_PIXELS, all of them when BATCH_PIXELS x 2 wait, and what is left at
    ``flush``. Their digits (or errors) go into ``results`` by number."""

    def __init__(self, results: dict[int, npt.NDArray[np.float32] | UserError]) -> None:
        self._results = results
        self._waiting: dict[tuple[int, ...], list[tuple[int, FloatArray]]] = {}
        self._pixels = 0

    def add(self, number: int, gray: FloatArray) -> None:
        group = self._waiting.setdefault(gray.shape, [])
        group.append((number, gray))
        self._pixels += gray.size
        if gray.size * len(group) >= BATCH_PIXELS:
            self._prepare(gray.shape)
        if self._pixels >= 2 * BATCH_PIXELS:
            self.flush()

    def flush(self) -> None:
        for shape in list(self._waiting):
            self._prepare(shape)

    def _prepare(self, shape: tuple[int, ...]) -> None:
        group = self._waiting.pop(shape)
        self._pixels -= sum(gray.size for _, gray in group)
        grays = np.stack([gray for _, gray in group])
        for (number, _), result in zip(group, _digits(grays), strict=True):
            self._results[number] = result


def _digits(grays: FloatArray) -> list[npt.NDArray[np.float32] | UserError]:
    """Steps 3 to 7 for grey pictures of one size (pictures, height, width), after refusing
    blank ones."""
    count = len(grays)
    flat = grays.reshape(count, -1)
    blank = (flat.max(axis=1) - flat.min(axis=1) < 1e-6).tolist()
    results: list[npt.NDArray[np.float32] | UserError] = [
        no_digit("a blank image (all one colour)") for _ in range(count)
    ]
    drawn = [i for i in range(count) if not blank[i]]
    if not drawn:
        return results
    inks, problems = ink_signals(grays if len(drawn) == count else grays[drawn])
    _, h, w = grays.shape
    if max(h, w) >= 2 * BOX:  # else no digit in it can be reduced 2x or more
        for ink in inks:
            strong = ink >= 0.5
            if strong.any() and BOX / box_size(strong) <= 0.5:
                # A big picture is reduced a lot: faint fringes (JPEG ringing, blur) are not
                # ink; the reduction's antialiasing makes the grey edges again.
                ink[...] = np.clip((ink - FAINT) / (1.0 - FAINT), 0.0, None)
    digits = np.zeros((len(drawn), SIZE, SIZE), dtype=np.float32)
    for k, (i, problem, crop) in enumerate(zip(drawn, problems, digit_crops(inks), strict=True)):
        if problem is not None or isinstance(crop, str):
            results[i] = no_digit(problem if problem is not None else str(crop))
            continue
        try:
            centre_into(fit_box(crop), digits[k])
        except UserError as err:
            results[i] = err
        else:
            results[i] = digits[k]
    return results
