"""Reading a user's picture safely: from a path or bytes to a decoded, upright Pillow image.

Any image Pillow reads (PNG, JPEG phone photos, scans, BMP, GIF, TIFF, ...): EXIF orientation
applied, the first frame of an animation, a JPEG decoded at reduced scale when it is large. What
is not a picture, is damaged or truncated, or is too large (more than MAX_PIXELS by its header,
before anything is decoded) is refused with a ``UserError`` built by the caller's ``fail``.

A regular file is read as it is; a pipe, FIFO or character device
(``cat x.png | mnistctl predict RUN /dev/stdin``) is read into memory first, at most
MAX_STREAM_BYTES within READ_TIMEOUT_S seconds.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mnistctl.data.digitgray import ORIENTATION, WORK_SIZE
from mnistctl.data.files import kind_text
from mnistctl.data.imageerrors import TOO_LARGE
from mnistctl.data.streams import StreamTimeout, StreamTooLarge, read_stream
from mnistctl.errors import UserError

if TYPE_CHECKING:
    from PIL import Image
    from PIL.PngImagePlugin import PngStream

__all__ = [
    "MAX_PIXELS",
    "MAX_STREAM_BYTES",
    "READ_AT_ONCE",
    "READ_TIMEOUT_S",
    "Fail",
    "image_at",
    "image_from_bytes",
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

_TURNED = frozenset(range(2, 9))  # EXIF orientations that ImageOps.exif_transpose turns
_EXPECTED_IMAGE = "an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)"
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # so that opening a FIFO does not wait

Fail = Callable[..., UserError]  # (message, expected=..., received=..., hint=...) -> UserError


def image_at(path: str | os.PathLike[str], fail: Fail) -> Image.Image:
    """The picture at ``path`` (a file, pipe, FIFO or character device), decoded and upright;
    ``fail(...)`` raised if not."""
    with _open_image(Path(path), fail) as fp, _strict_pillow():
        return _exif_transpose(_decode(fp, fail), fail)


def image_from_bytes(data: bytes, fail: Fail, max_pixels: int | None = None) -> Image.Image:
    """The picture in ``data`` (an upload), decoded and upright, refused before decoding when
    its header says more than ``max_pixels`` (default MAX_PIXELS); ``fail(...)`` raised if
    not."""
    if not data:
        raise fail(
            "image is empty",
            expected=_EXPECTED_IMAGE,
            received="0 bytes",
            hint="send the image file's bytes as the body",
        )
    with io.BytesIO(data) as fp, _strict_pillow():
        return _exif_transpose(_decode(fp, fail, max_pixels), fail)


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
        if img.getexif().get(ORIENTATION, 1) in _TURNED:
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
    from PIL import Image, ImageFile, PngImagePlugin

    saved_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    saved_stream = PngImagePlugin.PngStream
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    PngImagePlugin.PngStream = _png_text_skipped(saved_stream)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved_truncated
        PngImagePlugin.PngStream = saved_stream


def _png_text_skipped(base: type[PngStream]) -> type[PngStream]:
    """Pillow's PNG chunk reader, but a text chunk (tEXt, zTXt, iTXt: metadata) that Pillow
    refuses is skipped, not a damaged picture: one that decompresses to more than
    ``PngImagePlugin.MAX_TEXT_CHUNK``, text past ``MAX_TEXT_MEMORY`` in all, an unknown
    compression. Pillow's bounds stay: a chunk is never decompressed past MAX_TEXT_CHUNK, the
    text kept stays within MAX_TEXT_MEMORY, and a refused chunk counts MAX_TEXT_CHUNK against
    it too (the decompression it cost), so that once it is spent later text chunks are skipped
    unread."""
    if getattr(base, "text_skipped", None) is not None:  # nested: already this reader
        return base

    class TextSkipped(base):  # type: ignore[misc, valid-type]
        text_skipped = 0  # bytes of text work refused so far
        text_memory: int  # Pillow's: bytes of text kept so far

        def chunk_tEXt(self, pos: int, length: int) -> bytes:
            return self._text_or_skip(base.chunk_tEXt, pos, length)

        def chunk_zTXt(self, pos: int, length: int) -> bytes:
            return self._text_or_skip(base.chunk_zTXt, pos, length)

        def chunk_iTXt(self, pos: int, length: int) -> bytes:
            return self._text_or_skip(base.chunk_iTXt, pos, length)

        def _text_or_skip(self, read: Callable[..., bytes], pos: int, length: int) -> bytes:
            from PIL import ImageFile, PngImagePlugin

            if self.text_memory + self.text_skipped <= PngImagePlugin.MAX_TEXT_MEMORY:
                head = self.fp.read(min(length, 80))  # the chunk's keyword, up to a NUL
                key = head.split(b"\0", 1)[0].decode("latin-1")
                self.fp.seek(pos)
                before = self.text_memory, self.im_info.get(key), self.im_text.get(key)
                try:
                    return read(self, pos, length)
                except (ValueError, SyntaxError):  # Pillow's limits, an unknown compression
                    self.text_memory = before[0]
                    self.text_skipped += PngImagePlugin.MAX_TEXT_CHUNK
                    for kept, was in ((self.im_info, before[1]), (self.im_text, before[2])):
                        if was is None:
                            kept.pop(key, None)
                        else:
                            kept[key] = was
            self.fp.seek(pos)  # the chunk's data, unread, for its CRC check
            data: bytes = ImageFile._safe_read(self.fp, length)
            return data

    return TextSkipped


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
