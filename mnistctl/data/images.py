"""Turn a user's own picture of a handwritten digit into an MNIST-style 28x28 input.

``load_digit`` opens any image Pillow reads (PNG, JPEG phone photos, scans, BMP, GIF, TIFF, ...)
safely (``digit_from_bytes``: one already in memory, such as an upload to ``mnistctl serve``)
and ``prepare_digit`` applies the pure transform, the way MNIST itself was made (``load_digits``
and ``prepare_digits``: many pictures, those of one size transformed together, with the same
results to the bit):

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

Steps 2 to 4 are in ``digitprep.py``, 5 to 7 in ``digitcrop.py``. A pipe, FIFO or character
device (``cat x.png | mnistctl predict RUN /dev/stdin``) is read into memory first, at most
MAX_STREAM_BYTES within READ_TIMEOUT_S seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitcrop import BOX, SIZE, box_size, centre_into, digit_crops, fit_box
from mnistctl.data.digitprep import WORK_SIZE, FloatArray, ink_signals, no_digit, to_gray
from mnistctl.data.files import kind_text
from mnistctl.data.streams import StreamTimeout, StreamTooLarge, read_stream
from mnistctl.errors import Location, UserError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_PIXELS",
    "MAX_STREAM_BYTES",
    "READ_TIMEOUT_S",
    "TOO_LARGE",
    "digit_from_bytes",
    "load_digit",
    "load_digits",
    "prepare_digit",
    "prepare_digits",
]

MAX_PIXELS: int = 40_000_000
"""Largest picture (width x height) accepted; larger ones are refused before decoding."""

MAX_STREAM_BYTES: int = 256 * 2**20
"""Most bytes read from a pipe, FIFO or device (it is held in memory to be decoded); a picture
of MAX_PIXELS is 120 MB as an uncompressed 8-bit RGB BMP."""

READ_AT_ONCE: int = 64 * 2**10
"""Regular files up to this size are read into memory at once before decoding (digits are
small files; a large one is read by Pillow as it needs it)."""

READ_TIMEOUT_S: float = 10.0
"""Seconds allowed to read a pipe, FIFO or device to its end (a FIFO nobody writes to, or a
writer that never closes it, would otherwise hang the command)."""

TOO_LARGE = "image is too large"
"""The message of every refusal for size (bytes or pixels), so that callers can tell it apart."""

FAINT = 0.15  # when a picture is reduced 2x or more, ink below this share is background
BATCH_PIXELS = 2**17  # grey pixels of pictures of one size prepared together (1 MiB of them)

_ORIENTATION = 0x0112  # the EXIF tag
_TURNED = frozenset(range(2, 9))  # its values that ImageOps.exif_transpose turns the image for
_EXPECTED_IMAGE = "an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)"
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # so that opening a FIFO does not wait

Fail = Callable[..., UserError]  # (message, expected=..., received=..., hint=...) -> UserError


# ---------------------------------------------------------------------------------------------
# Loading


def load_digit(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read the picture at ``path`` and return it as an MNIST-style digit.

    Returns a (28, 28) float32 array in [0, 1], ink bright on black. Raises ``UserError`` (with
    the file as location) for a missing, empty, unreadable, damaged, too large or blank image.
    ``path`` may be a pipe, FIFO or character device such as ``/dev/stdin``.
    """
    where = Location(file=str(path))
    return _raised(prepare_digits([_load_image(path, where)])[0], where)


def load_digits(
    paths: Iterable[str | os.PathLike[str]],
) -> list[npt.NDArray[np.float32] | UserError]:
    """``load_digit`` of each of ``paths``: its digit, or the ``UserError`` it raises (with
    its location), in order. The same results, prepared in batches (``prepare_digits``)."""
    located: list[Location] = []

    def pictures() -> Iterator[Image.Image | UserError]:
        for path in paths:
            located.append(Location(file=str(path)))
            try:
                yield _load_image(path, located[-1])
            except UserError as err:
                yield err

    return [
        result if isinstance(result, np.ndarray) else _at(result, located[i])
        for i, result in enumerate(prepare_digits(pictures()))
    ]


def digit_from_bytes(
    data: bytes, *, source: str = "request", max_pixels: int | None = None
) -> npt.NDArray[np.float32]:
    """``load_digit`` for a picture already in memory (an upload): the same decoding, checks and
    preparation, so that every way in reads a picture the same way.

    ``source`` names it in errors (their location); ``max_pixels`` (default MAX_PIXELS) is
    checked on the header's dimensions, before anything is decoded. Refusals for size have the
    message TOO_LARGE; a picture without a digit, the message of ``digitprep.no_digit``.
    """
    where = Location(file=source)

    def fail(message: str, **kw: str | None) -> UserError:
        return UserError(message, location=where, **kw)

    if not data:
        raise fail(
            "image is empty",
            expected=_EXPECTED_IMAGE,
            received="0 bytes",
            hint="send the image file's bytes as the body",
        )
    with io.BytesIO(data) as fp, _strict_pillow():
        img = _exif_transpose(_decode(fp, fail, max_pixels), fail)
    return _raised(prepare_digits([img])[0], where)


def _load_image(path: str | os.PathLike[str], where: Location) -> Image.Image:
    """The picture at ``path``, decoded and upright (``UserError`` at ``where`` if not)."""

    def fail(message: str, **kw: str | None) -> UserError:
        return UserError(message, location=where, **kw)

    with _open_image(Path(path), fail) as fp, _strict_pillow():
        return _exif_transpose(_decode(fp, fail), fail)


def _at(err: UserError, where: Location) -> UserError:
    """``err`` about the picture at ``where`` (the transform's errors have no location), with
    its cause."""
    if err.location == where:
        return err
    located = dataclasses.replace(err, location=where)
    located.__cause__ = err.__cause__
    return located


def _raised(
    result: npt.NDArray[np.float32] | UserError, where: Location
) -> npt.NDArray[np.float32]:
    """The digit, or its error raised (located at ``where``) with its cause."""
    if isinstance(result, UserError):
        err = _at(result, where)
        raise err from err.__cause__
    return result


def _open_image(p: Path, fail: Fail) -> BinaryIO:
    """The open file: a regular file as it is, a pipe or device read into memory first.

    The kind is checked on the path (for the message) and again on what was opened.
    """
    try:
        _check_kind(os.stat(p).st_mode, fail)
        fd = os.open(p, os.O_RDONLY | _O_NONBLOCK)
    except FileNotFoundError as exc:
        raise fail(
            "image file not found",
            expected=_EXPECTED_IMAGE,
            received="no such file",
            hint="check the path",
        ) from exc
    except OSError as exc:
        raise _unreadable(exc, fail) from exc
    try:
        st = os.fstat(fd)
        _check_kind(st.st_mode, fail)
        if stat.S_ISREG(st.st_mode):
            size = st.st_size
            fp: BinaryIO = _read_regular(fd, size)
            fd = -1  # the file object owns it now
        else:
            data = _read_stream(fd, fail)
            size = len(data)
            fp = io.BytesIO(data)
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)  # in case the open description is shared (/dev/fd)
            os.close(fd)
    if size == 0:
        fp.close()
        raise fail(
            "image file is empty",
            expected=_EXPECTED_IMAGE,
            received="0 bytes",
            hint="the file may not have been saved or copied completely",
        )
    return fp


def _read_regular(fd: int, size: int) -> BinaryIO:
    """A regular file of ``size`` bytes (its descriptor ``fd``, which this takes): in memory
    when it is at most READ_AT_ONCE bytes (one read, not Pillow's many small ones, each a
    system call), else as it is. A file that fails to read or grew in the meantime is handed
    over as it is, from its start: Pillow then reads it as it always does."""
    if size <= READ_AT_ONCE:
        try:
            data: bytes | None = os.read(fd, size + 1)
        except OSError:
            data = None
        if data is not None and len(data) <= size:
            os.close(fd)
            return io.BytesIO(data)
        os.lseek(fd, 0, os.SEEK_SET)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _check_kind(mode: int, fail: Fail) -> None:
    """Refuse what is neither a regular file nor a pipe/FIFO or character device."""
    if stat.S_ISDIR(mode):
        raise fail(
            "is a directory, not an image file",
            expected=_EXPECTED_IMAGE,
            received="a directory",
            hint="give the path of one image file; several can be listed",
        )
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        kind = kind_text(mode)
        raise fail(
            f"is {kind}, not an image file",
            expected=_EXPECTED_IMAGE,
            received=kind,
            hint="give the path of an image file, or of a pipe such as /dev/stdin",
        )


def _read_stream(fd: int, fail: Fail) -> bytes:
    """All of a pipe, FIFO or device, within MAX_STREAM_BYTES and READ_TIMEOUT_S."""
    try:
        return read_stream(fd, MAX_STREAM_BYTES, READ_TIMEOUT_S)
    except StreamTooLarge as exc:
        raise fail(
            TOO_LARGE,
            expected=f"at most {MAX_STREAM_BYTES:,} bytes from a pipe or device",
            received=f"more than {MAX_STREAM_BYTES:,} bytes",
            hint="save the picture to a file, or crop or shrink it",
        ) from exc
    except StreamTimeout as exc:
        raise fail(
            "timed out reading the image",
            expected=f"the whole picture within {READ_TIMEOUT_S:g} seconds",
            received=f"{exc.received:,} bytes and no end of file"
            if exc.received
            else "no data (is a program writing to it?)",
            hint="make sure a program writes the picture and closes it, or save it to a file",
        ) from exc
    except OSError as exc:
        raise _unreadable(exc, fail) from exc


def _unreadable(exc: OSError, fail: Fail) -> UserError:
    denied = exc.errno in (errno.EACCES, errno.EPERM)
    return fail(
        "cannot read image file",
        expected="a readable file",
        received=exc.strerror or type(exc).__name__,
        hint="check the file's permissions" if denied else "check the path",
    )


def _exif_transpose(img: Image.Image, fail: Fail) -> Image.Image:
    """Turn the picture upright as its EXIF orientation says (the picture itself when it is
    upright: not a copy, as ``ImageOps.exif_transpose`` would make). Called within
    ``_strict_pillow``."""
    from PIL import ImageOps

    try:
        # EXIF data is part of the (untrusted) file: a broken tag is a damaged file.
        if img.getexif().get(_ORIENTATION, 1) in _TURNED:
            return ImageOps.exif_transpose(img)
        return img
    except Exception as exc:
        raise fail(
            "image file has damaged EXIF data",
            expected=_EXPECTED_IMAGE,
            received=f"{type(exc).__name__}: {exc}",
            hint="re-save the picture with an image editor",
        ) from exc


@contextlib.contextmanager
def _strict_pillow() -> Iterator[None]:
    """Pillow as every way in decodes a picture: a truncated file is an error, never half a
    digit; Pillow only warns between MAX_IMAGE_PIXELS and twice that, and that is an error too.
    Its other warnings (minor damage it recovers from, e.g. a bad TIFF tag) are not shown."""
    from PIL import Image, ImageFile

    saved_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved_truncated


def _decode(fp: BinaryIO, fail: Fail, max_pixels: int | None = None) -> Image.Image:
    """Open and fully decode the first frame, refusing decompression bombs before decoding
    (more than ``max_pixels``, default MAX_PIXELS, by the header's dimensions). Called within
    ``_strict_pillow``."""
    from PIL import Image, UnidentifiedImageError

    limit = MAX_PIXELS if max_pixels is None else max_pixels

    def damaged(exc: Exception) -> UserError:
        return fail(
            "image file is damaged or truncated",
            expected=_EXPECTED_IMAGE,
            received=f"{type(exc).__name__}: {exc}",
            hint="re-save or re-export the picture",
        )

    def too_large(received: str) -> UserError:
        return fail(
            TOO_LARGE,
            expected=f"at most {limit:,} pixels",
            received=received,
            hint=f"crop or shrink the picture to at most {limit:,} pixels; 28x28 are used",
        )

    try:
        img = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large(str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise fail(
            "not an image file Pillow can read",
            expected=_EXPECTED_IMAGE,
            received=_describe_start(fp),
            hint="convert the picture to PNG or JPEG",
        ) from exc
    except Exception as exc:  # any other failure reading a header: a damaged file
        raise damaged(exc) from exc
    width, height = img.size
    if width * height > limit:
        raise too_large(f"{width} x {height} = {width * height:,} pixels")
    try:
        if img.format == "JPEG":
            img.draft(None, (WORK_SIZE, WORK_SIZE))  # decode phone photos at reduced scale
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large(str(exc)) from exc
    except Exception as exc:  # Pillow's decoders raise many types on bad data
        raise damaged(exc) from exc
    return img


def _describe_start(fp: BinaryIO) -> str:
    try:
        fp.seek(0)
        head = fp.read(16)
    except OSError:
        return "a file in an unknown format"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return f"a file in an unknown format (starting with {head[:8]!r})"


# ---------------------------------------------------------------------------------------------
# The transform


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
            batches.add(i, _gray(img))
        except UserError as err:
            results[i] = err
    batches.flush()
    return [results[i] for i in range(len(results))]


def _gray(img: Image.Image) -> FloatArray:
    """Steps 1 and 2 for one picture: upright, one grey channel (blank or not: ``_digits``
    tells)."""
    from PIL import ImageOps

    if img.getexif().get(_ORIENTATION, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.width == 0 or img.height == 0:
        raise no_digit(f"an image of {img.width} x {img.height} pixels")
    return to_gray(img)


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
