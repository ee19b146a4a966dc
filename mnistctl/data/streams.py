"""Reading a pipe, FIFO or character device to its end, with a size limit and a deadline.

Such a file cannot be seeked (image decoders need to), so it is read into memory; it may never
end (``/dev/zero``, a writer that never closes) or never start (a FIFO nobody writes to), so the
reading is bounded in bytes and in time.
"""

from __future__ import annotations

import math
import os
import select
import sys
import time

__all__ = ["StreamTimeout", "StreamTooLarge", "read_stream"]

_CHUNK = 1 << 16

# poll() has no FD_SETSIZE limit, but on macOS it does not work on devices; select() does.
_USE_POLL = hasattr(select, "poll") and sys.platform != "darwin"


class StreamTooLarge(Exception):
    """More bytes than the limit arrived."""


class StreamTimeout(Exception):
    """The end of the stream did not come in time; ``received`` bytes had come."""

    def __init__(self, received: int) -> None:
        super().__init__(f"no end of file after {received} bytes")
        self.received = received


def read_stream(fd: int, limit: int, timeout: float) -> bytes:
    """Read ``fd`` (opened with O_NONBLOCK) to its end, waiting at most ``timeout`` seconds.

    Reads at most ``limit + 1`` bytes: raises StreamTooLarge when more than ``limit`` come,
    StreamTimeout when the end has not come by the deadline, OSError when reading fails.
    """
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    total = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not _wait_readable(fd, left):
            raise StreamTimeout(total)
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        except BlockingIOError:  # woken without data (another reader took it)
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise StreamTooLarge()


def _wait_readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has data, an end of file or an error within ``timeout`` seconds."""
    if _USE_POLL:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(math.ceil(timeout * 1000)))
    ready, _, _ = select.select([fd], [], [], timeout)
    return bool(ready)
