"""PNG text chunks (tEXt, zTXt, iTXt) are metadata: a valid PNG with large ones is a picture.

Pillow refuses a compressed text chunk that inflates past ``PngImagePlugin.MAX_TEXT_CHUNK``
and text past ``MAX_TEXT_MEMORY`` in all (a ValueError, which read as "damaged"). Every way in
(``load_digit`` on a small or a large file, ``digit_from_bytes`` for the server) now skips such
a chunk and reads the picture, while a text bomb is still never inflated past Pillow's bounds
and a damaged chunk is still a damaged picture.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from mnistctl.data import imageread
from mnistctl.data.images import digit_from_bytes, load_digit
from mnistctl.errors import UserError

MIB = 2**20


def chunk(kind: bytes, data: bytes, *, crc_ok: bool = True) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc ^ (not crc_ok))


def digit_png() -> bytes:
    img = Image.new("L", (28, 28), 0)
    img.paste(255, (11, 4, 17, 24))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def with_chunks(png: bytes, before: list[bytes], after: list[bytes] | None = None) -> bytes:
    """``png`` with ``before`` after its IHDR (read when it is opened) and ``after`` before its
    IEND (read when it is decoded)."""
    ihdr_end = 8 + 8 + 13 + 4
    iend = png.rindex(b"IEND") - 4
    return (
        png[:ihdr_end] + b"".join(before) + png[ihdr_end:iend] + b"".join(after or []) + png[iend:]
    )


def deflated(size: int, byte: bytes = b"a") -> bytes:
    """``size`` bytes of ``byte``, compressed a MiB at a time (never all in memory)."""
    zipper = zlib.compressobj(9)
    block = byte * MIB
    parts = [zipper.compress(block[: min(MIB, size - done)]) for done in range(0, size, MIB)]
    return b"".join(parts) + zipper.flush()


def ztxt(key: bytes, size: int) -> bytes:
    return chunk(b"zTXt", key + b"\0\0" + deflated(size))


def itxt(key: bytes, size: int) -> bytes:
    return chunk(b"iTXt", key + b"\0\1\0en\0\0" + deflated(size))


def text(key: bytes, size: int) -> bytes:
    return chunk(b"tEXt", key + b"\0" + b"t" * size)


PLAIN = digit_png()
LARGE_TEXT: dict[str, Callable[[], bytes]] = {
    "zTXt inflating past MAX_TEXT_CHUNK": lambda: with_chunks(PLAIN, [ztxt(b"Comment", 3 * MIB)]),
    "iTXt inflating past MAX_TEXT_CHUNK": lambda: with_chunks(PLAIN, [itxt(b"Comment", 3 * MIB)]),
    "zTXt after the picture's data": lambda: with_chunks(PLAIN, [], [ztxt(b"Late", 3 * MIB)]),
    "text past MAX_TEXT_MEMORY in all": lambda: with_chunks(
        PLAIN, [ztxt(b"k%d" % i, MIB - 64) for i in range(70)]
    ),
    "a large plain tEXt and a small one": lambda: with_chunks(
        PLAIN, [text(b"Big", 3 * MIB), text(b"Author", 5)]
    ),
    "unknown compression method": lambda: with_chunks(
        PLAIN, [chunk(b"zTXt", b"Comment\0\7" + zlib.compress(b"hi"))]
    ),
}


def _fail(message: str, **kw: str | None) -> UserError:
    return UserError(message, hint=kw.get("hint"))


@pytest.mark.parametrize("case", sorted(LARGE_TEXT))
def test_a_png_with_large_text_is_read_as_a_picture(case: str, tmp_path: Path) -> None:
    """Every way in reads it, as the same picture without the text."""
    data = LARGE_TEXT[case]()
    expected = digit_from_bytes(PLAIN)
    np.testing.assert_array_equal(digit_from_bytes(data), expected)
    path = tmp_path / "digit.png"  # over READ_AT_ONCE: read by Pillow from the file
    path.write_bytes(data)
    np.testing.assert_array_equal(load_digit(path), expected)


def test_small_files_too(tmp_path: Path) -> None:
    """Under READ_AT_ONCE a file is read into memory first: the other branch."""
    data = with_chunks(PLAIN, [itxt(b"Comment", 2 * MIB)])
    assert len(data) <= imageread.READ_AT_ONCE
    path = tmp_path / "small.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_digit(path), digit_from_bytes(PLAIN))


def test_text_kept_stays_within_pillows_bounds() -> None:
    """Small text is kept (it is metadata the picture may need); what Pillow refuses is
    dropped, and the text kept never passes MAX_TEXT_MEMORY."""
    data = with_chunks(
        PLAIN,
        [text(b"Author", 5), ztxt(b"Big", 3 * MIB), *(ztxt(b"k%d" % i, MIB) for i in range(70))],
    )
    img = imageread.image_from_bytes(data, _fail)
    assert img.info["Author"] == "ttttt"
    assert "Big" not in img.info
    kept = sum(len(v) for v in img.info.values() if isinstance(v, str))
    assert kept <= PngImagePlugin.MAX_TEXT_MEMORY


def test_a_text_bomb_is_not_inflated() -> None:
    """Many chunks each inflating to 256 MiB: each stops at MAX_TEXT_CHUNK, and once the refused
    ones have cost MAX_TEXT_MEMORY the rest are skipped unread: fast, little memory."""
    bomb = ztxt(b"Bomb", 256 * MIB)  # about 250 KB, 256 MiB inflated
    data = with_chunks(PLAIN, [bomb] * 8)
    start = time.perf_counter()
    np.testing.assert_array_equal(digit_from_bytes(data), digit_from_bytes(PLAIN))
    assert time.perf_counter() - start < 5.0


def test_a_damaged_text_chunk_is_still_a_damaged_picture() -> None:
    """A skipped chunk is still checked (its CRC): damage is not hidden."""
    data = with_chunks(PLAIN, [chunk(b"zTXt", b"Big\0\0" + deflated(3 * MIB), crc_ok=False)])
    with pytest.raises(UserError, match=r"damaged or truncated|not an image file"):
        digit_from_bytes(data)


def test_pillow_is_left_as_it_was() -> None:
    """The tolerant reader is Pillow's only while mnistctl decodes a picture."""
    before = PngImagePlugin.PngStream
    digit_from_bytes(with_chunks(PLAIN, [ztxt(b"Comment", 3 * MIB)]))
    assert PngImagePlugin.PngStream is before
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        Image.open(io.BytesIO(with_chunks(PLAIN, [ztxt(b"Comment", 3 * MIB)]))).load()
