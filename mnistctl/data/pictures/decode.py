"""Reading many picture files safely and preparing them (``prepare.py``), in worker processes.

Each file is opened without blocking and checked to be a regular file before a byte is read
(a FIFO or device put there after the listing is never read), read into memory at once when
it is small, and decoded the way ``imageread.py`` decodes a user's picture: too many pixels
by the header (``imageread.MAX_PIXELS``) is refused before decoding, a truncated or damaged
file is an error, never half a picture; EXIF orientation applied. Whatever goes wrong with a
file becomes its bad-file text; nothing is raised for one file.

``decode_chunks`` runs ``decode_files`` on chunks of the files: here when they are few (under
PARALLEL_MIN) or one CPU is usable, else in ``usable_cpus()`` worker processes
(``mnistctl.procs``'s pool, sent the names only: each answers its chunk's prepared pictures).
"""

from __future__ import annotations

import io
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt

from mnistctl.data.digitprep import prepare_digits
from mnistctl.data.files import exc_text, kind_text
from mnistctl.data.imageread import _decode, _exif_transpose, _strict_pillow
from mnistctl.data.imagesets import WORKER_ENV
from mnistctl.data.pictures.prepare import PictureShape, finish_digit, fit_picture, is_grey
from mnistctl.errors import UserError
from mnistctl.procs import usable_cpus
from mnistctl.procs.pool import Pool

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PARALLEL_MIN", "Decoded", "decode_chunks", "decode_files", "peek"]

PARALLEL_MIN = 2000  # fewer files than this are decoded here: starting workers costs more
CHUNK_MIN, CHUNK_MAX = 32, 1024  # files per task sent to a worker ...
CHUNK_BYTES = 8 * 2**20  # ... and at most this many bytes of prepared pictures in its answer
IN_FLIGHT = 2  # chunks sent to a worker ahead of its answers
READ_WHOLE = 16 * 2**20  # files up to this size are read in one call; larger ones as needed

_O_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Decoded:
    """One chunk of files, prepared: ``pictures[k]`` is file k's (undefined where it is bad),
    ``bad`` the (k, what is wrong) of each bad one; ``sizes`` ("WxH") and ``modes`` count
    the good ones' native sizes and Pillow modes, ``greys`` how many of them are grey."""

    pictures: npt.NDArray[np.uint8]
    bad: list[tuple[int, str]] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    greys: int = 0

    def note(self, img: Image.Image) -> None:
        size = f"{img.width}x{img.height}"
        self.sizes[size] = self.sizes.get(size, 0) + 1
        self.modes[img.mode] = self.modes.get(img.mode, 0) + 1
        self.greys += is_grey(img)


def decode_files(paths: Sequence[str], shape: PictureShape, mode: str) -> Decoded:
    """Each file read, decoded and prepared to ``shape`` in ``mode`` (``prepare_picture``)."""
    done = Decoded(np.empty((len(paths), *shape.dims), np.uint8))
    with _strict_pillow():
        if mode == "mnist_style":
            try:
                _digits(paths, shape, done)
            except Exception:  # a bug on odd input: one picture at a time finds which
                done = Decoded(done.pictures)
                for k, path in enumerate(paths):
                    try:
                        _digits([path], shape, done, at=k)
                    except Exception as exc:
                        done.bad.append((k, error_text(exc)))
        else:
            for k, path in enumerate(paths):
                try:
                    img = read_picture(path)
                    done.note(img)
                    done.pictures[k] = fit_picture(img, shape)
                except Exception as exc:
                    done.bad.append((k, error_text(exc)))
    return done


def _digits(paths: Sequence[str], shape: PictureShape, done: Decoded, at: int = 0) -> None:
    """``mnist_style``: the pictures prepared together (``prepare_digits``, in batches)."""

    def pictures() -> Iterator[Image.Image | UserError]:
        for path in paths:
            try:
                img = read_picture(path)
            except Exception as exc:
                yield UserError(error_text(exc))
            else:
                done.note(img)
                yield img

    for k, digit in enumerate(prepare_digits(pictures()), start=at):
        if isinstance(digit, UserError):
            done.bad.append((k, error_text(digit)))
        else:
            done.pictures[k] = finish_digit(digit, shape)


def read_picture(path: str) -> Image.Image:
    """The picture in the regular file ``path``, decoded and upright (called within
    ``imageread._strict_pillow``); a ``UserError`` without location if it cannot be."""
    with _open(path) as fp:
        return _exif_transpose(_decode(fp, _fail), _fail)


def peek(path: str) -> tuple[int, int, bool] | None:
    """Width, height and greyness of the picture ``path`` by its header alone (None if it
    cannot be read): the guess of the common size before decoding."""
    from PIL import Image

    try:
        with _strict_pillow(), _open(path, whole=False) as fp, Image.open(fp) as img:
            return img.width, img.height, is_grey(img)
    except Exception:
        return None


def _open(path: str, *, whole: bool = True) -> BinaryIO:
    """The regular file ``path``, open: in memory when ``whole`` and it is small."""
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError as exc:
        raise UserError("cannot be opened", received=exc_text(exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"not a regular file: {kind_text(st.st_mode)} (not read)")
        if st.st_size == 0:
            raise UserError("the file is empty", received="0 bytes")
        if whole and st.st_size <= READ_WHOLE:
            data = os.read(fd, st.st_size + 1)
            if len(data) == st.st_size:
                return io.BytesIO(data)
            os.lseek(fd, 0, os.SEEK_SET)  # it changed meanwhile: read as it is now
        os.set_blocking(fd, True)
        fp = os.fdopen(fd, "rb")
        fd = -1  # the file object owns it
        return fp
    finally:
        if fd >= 0:
            os.close(fd)


def _fail(
    message: str,
    *,
    expected: str | None = None,
    received: str | None = None,
    hint: str | None = None,
) -> UserError:
    return UserError(message, expected=expected, received=received, hint=hint)


def error_text(exc: BaseException) -> str:
    """What is wrong with a file, in one line: a ``UserError``'s message and what it
    received, or any other exception's type and text."""
    if isinstance(exc, UserError):
        text = exc.message + (f" ({exc.received})" if exc.received else "")
    else:
        text = f"cannot be decoded ({type(exc).__name__}: {exc_text(exc)})"
    return " ".join(text.split())


def chunk_size(count: int, workers: int, shape: PictureShape) -> int:
    """Files per chunk: a few chunks per worker, each answer at most CHUNK_BYTES."""
    per_picture = max(1, int(np.prod(shape.dims)))
    size = max(CHUNK_MIN, min(CHUNK_MAX, count // max(1, workers * 8)))
    return max(1, min(size, CHUNK_BYTES // per_picture))


def decode_chunks(
    root: str,
    names: Sequence[str],
    shape: PictureShape,
    mode: str,
    *,
    workers: int | None = None,
) -> Iterator[tuple[int, Decoded]]:
    """The files ``names`` (relative to ``root``) decoded and prepared, a chunk at a time
    in order: (position of its first file, the chunk). Leaving the iteration early stops
    the workers."""
    count = usable_cpus() if workers is None else max(1, workers)
    size = chunk_size(len(names), count, shape)
    starts = range(0, len(names), size)
    if count <= 1 or len(names) < PARALLEL_MIN:
        for start in starts:
            paths = [os.path.join(root, name) for name in names[start : start + size]]
            yield start, decode_files(paths, shape, mode)
        return
    workers_used = min(count, len(starts))
    with Pool(
        _decoder, (root, shape, mode), workers=workers_used, in_flight=IN_FLIGHT, env=WORKER_ENV
    ) as pool:
        futures = deque(pool.submit(list(names[start : start + size])) for start in starts)
        for start in starts:
            future = futures.popleft()  # its answer is not kept once placed
            try:
                done: Decoded = future.result()
            except Exception:  # no worker, it died (killed?): done here instead
                paths = [os.path.join(root, name) for name in names[start : start + size]]
                done = decode_files(paths, shape, mode)
            yield start, done


# --- in the workers ----------------------------------------------------------------------------


def _decoder(root: str, shape: PictureShape, mode: str) -> Callable[[list[str]], Decoded]:
    """A worker's setup (``mnistctl.procs``): Pillow's plugins loaded, then what it runs on
    each chunk of names."""
    from PIL import Image

    Image.init()

    def decode(names: list[str]) -> Decoded:
        return decode_files([os.path.join(root, name) for name in names], shape, mode)

    return decode
