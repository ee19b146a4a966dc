"""load_digit on what is not a regular file: pipes, FIFOs, devices, sockets.

``cat x.png | mnistctl predict RUN /dev/stdin`` must work; a FIFO nobody writes to, or a writer
that never closes it, must fail within the time limit (never hang); a device that never ends
must fail at the size limit. Every test runs ``load_digit`` under a watchdog, so a hang fails
the test instead of blocking the run.
"""

from __future__ import annotations

import errno
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import WATCHDOG_S, within_watchdog
from PIL import Image, ImageDraw

from mnistctl.data import imageread
from mnistctl.data.images import load_digit
from mnistctl.errors import UserError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")

ROOT = Path(__file__).resolve().parents[1]


def digit_png() -> bytes:
    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).line([(30, 20), (90, 20), (50, 100)], fill=0, width=9)  # a "7"
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


PNG = digit_png()


@pytest.fixture
def expected(tmp_path: Path) -> np.ndarray:
    path = tmp_path / "digit.png"
    path.write_bytes(PNG)
    return load_digit(path)


@pytest.fixture(autouse=True)
def short_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # raising=False: on code without the limits the tests fail on behaviour, not on setup.
    monkeypatch.setattr(imageread, "READ_TIMEOUT_S", 1.0, raising=False)


def user_error(result: object, *fragments: str) -> UserError:
    assert isinstance(result, UserError), f"expected a UserError, got {result!r}"
    line = result.one_line()
    assert "\n" not in line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return result


class Writer:
    """A thread that opens a FIFO for writing (once a reader has), writes, and closes it unless
    told to ``hold`` it open until ``release``."""

    def __init__(self, fifo: Path, data: bytes, hold: bool = False) -> None:
        self.fifo, self.data, self.hold = fifo, data, hold
        self.released = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            fd = self._open()
            try:
                with open(fd, "wb", closefd=False) as f:
                    for start in range(0, len(self.data), 4096):
                        f.write(self.data[start : start + 4096])
                        f.flush()
                if self.hold:
                    self.released.wait(WATCHDOG_S)
            finally:
                os.close(fd)
        except BrokenPipeError:
            pass  # the reader stopped reading (too much data): expected
        except BaseException as exc:
            self.error = exc

    def _open(self) -> int:
        """Open without blocking, retrying until a reader is there (ENXIO until then)."""
        deadline = time.monotonic() + WATCHDOG_S
        while True:
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            os.set_blocking(fd, True)
            return fd

    def release(self) -> None:
        self.released.set()
        self.thread.join(WATCHDOG_S)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "digit.fifo"
    os.mkfifo(path)
    yield path


def test_fifo_fed_by_a_writer(fifo: Path, expected: np.ndarray) -> None:
    """The regression: Pillow needs a seekable file; a FIFO used to crash with 'not seekable'."""
    writer = Writer(fifo, PNG)
    out = within_watchdog(lambda: load_digit(fifo))
    writer.release()
    assert writer.error is None
    assert isinstance(out, np.ndarray), out
    np.testing.assert_array_equal(out, expected)


def test_pipe(expected: np.ndarray) -> None:
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb") as f:
            f.write(PNG)  # more than fits in a pipe at once on some systems: a thread

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        out = within_watchdog(lambda: load_digit(f"/dev/fd/{read_end}"))
    finally:
        feeder.join(WATCHDOG_S)
        os.close(read_end)
    assert isinstance(out, np.ndarray), out
    np.testing.assert_array_equal(out, expected)


def test_dev_stdin_from_a_pipe(expected: np.ndarray) -> None:
    """``cat x.png | ... /dev/stdin``, in a real process whose stdin is a pipe."""
    code = (
        "import sys; from mnistctl.data.images import load_digit\n"
        "out = load_digit('/dev/stdin')\n"
        "sys.stdout.write(out.tobytes().hex())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=PNG, capture_output=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    out = np.frombuffer(bytes.fromhex(done.stdout.decode()), dtype=np.float32).reshape(28, 28)
    np.testing.assert_array_equal(out, expected)


def test_fifo_without_a_writer_times_out(fifo: Path) -> None:
    started = time.monotonic()
    result = within_watchdog(lambda: load_digit(fifo))
    err = user_error(result, f"{fifo}: timed out reading the image", "no data")
    assert err.hint
    assert time.monotonic() - started < 5.0


def test_writer_that_never_closes_times_out(fifo: Path) -> None:
    writer = Writer(fifo, PNG[:300], hold=True)
    started = time.monotonic()
    try:
        result = within_watchdog(lambda: load_digit(fifo))
    finally:
        writer.release()
    user_error(result, "timed out reading the image", "received 300 bytes and no end of file")
    assert time.monotonic() - started < 5.0


def test_fifo_with_too_much_data(fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imageread, "MAX_STREAM_BYTES", 100_000, raising=False)
    writer = Writer(fifo, PNG + bytes(200_000))
    result = within_watchdog(lambda: load_digit(fifo))
    writer.release()
    user_error(result, "image is too large", "received more than 100,000 bytes")


def test_fifo_with_exactly_the_limit_is_read(
    fifo: Path, monkeypatch: pytest.MonkeyPatch, expected: np.ndarray
) -> None:
    monkeypatch.setattr(imageread, "MAX_STREAM_BYTES", len(PNG), raising=False)
    writer = Writer(fifo, PNG)
    out = within_watchdog(lambda: load_digit(fifo))
    writer.release()
    assert isinstance(out, np.ndarray), out
    np.testing.assert_array_equal(out, expected)


def test_empty_fifo(fifo: Path) -> None:
    writer = Writer(fifo, b"")
    result = within_watchdog(lambda: load_digit(fifo))
    writer.release()
    assert user_error(result, "image file is empty").received == "0 bytes"


def test_fifo_with_text(fifo: Path) -> None:
    writer = Writer(fifo, b"not a picture\n")
    result = within_watchdog(lambda: load_digit(fifo))
    writer.release()
    assert user_error(result, "not an image file Pillow can read").received == "a text file"


def test_dev_zero_stops_at_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imageread, "MAX_STREAM_BYTES", 1 << 20, raising=False)
    result = within_watchdog(lambda: load_digit("/dev/zero"))
    user_error(result, "/dev/zero: image is too large", "more than 1,048,576 bytes")


def test_dev_null_is_empty() -> None:
    user_error(within_watchdog(lambda: load_digit("/dev/null")), "image file is empty")


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        result = within_watchdog(lambda: load_digit(path))
    err = user_error(result, f"{path}: is a socket, not an image file", "received a socket")
    assert err.hint
