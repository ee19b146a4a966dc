"""``mnistctl serve``'s preparation workers (``serve/workers.py``): real worker processes,
driven from an event loop as the server drives them.

A worker answers exactly as ``input_from_bytes`` does in this process, refusals included (the
``UserError`` crosses the process boundary whole); a worker past the time limit is killed and
replaced; a worker that dies, busy or idle, is replaced; no worker is left once the pool is
closed. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from helpers import real_arrays, within_watchdog
from PIL import Image

from mnistctl.data.inputs import MNIST_TARGET, input_from_bytes
from mnistctl.errors import UserError
from mnistctl.serve.limits import SOURCE
from mnistctl.serve.workers import NoWorker, Preparers, PrepareTimeout, WorkerLost

T = TypeVar("T")
PIXELS = 25_000_000
WATCHDOG_S = 120.0


def encoded(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, compress_level=1) if fmt == "PNG" else img.save(buf, format=fmt)
    return buf.getvalue()


def digit(index: int, *, invert: bool = False) -> bytes:
    pixels = real_arrays()["x_test"][index]
    return encoded(Image.fromarray(255 - pixels if invert else pixels, mode="L"))


@pytest.fixture(scope="module")
def slow_picture() -> bytes:
    """25 megapixels of blobs in colour: its preparation takes seconds (and finds no digit)."""
    rng = np.random.default_rng(0)
    blobs = np.kron(rng.integers(0, 2, (1000, 1000), dtype=np.uint8), np.ones((5, 5), np.uint8))
    return encoded(Image.fromarray(blobs * 255, mode="L").convert("RGB"))


@pytest.fixture
def pool() -> Iterator[Preparers]:
    preparers = Preparers(1, max_pixels=PIXELS, source=SOURCE)
    try:
        yield preparers
    finally:
        preparers.close()


def served_by(preparers: Preparers, body: Callable[[], Awaitable[T]]) -> T:
    """``await body()`` in a fresh event loop that ``preparers`` serves (within a watchdog)."""

    async def main() -> T:
        preparers.attach(asyncio.get_running_loop())
        return await body()

    result = within_watchdog(lambda: asyncio.run(main()), WATCHDOG_S)
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[return-value]


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether ``check()`` becomes true within ``seconds``."""
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


async def wait_ready(preparers: Preparers, count: int, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while preparers.ready < count:
        assert time.monotonic() < end, f"{preparers.ready} of {count} workers ready"
        await asyncio.sleep(0.02)


# --- answers ----------------------------------------------------------------------------------


def test_answers_equal_this_process_and_refusals_cross_whole(pool: Preparers) -> None:
    rgb = Image.open(io.BytesIO(digit(3, invert=True))).convert("RGB")
    rgb = rgb.resize((112, 112))
    good = [digit(0), digit(1, invert=True), encoded(rgb, "JPEG"), encoded(rgb, "BMP")]
    bad = [
        b"",
        b"hello, I am text\n",
        digit(2)[:40],
        encoded(Image.new("L", (28, 28), 0)),  # blank: no digit
        encoded(Image.new("L", (6000, 5000), 0)),  # over the pixel limit
    ]

    async def body() -> list[object]:
        out: list[object] = []
        for picture in good + bad:
            try:
                out.append(await pool.prepare(picture, 30.0))
            except UserError as err:
                out.append(err)
        return out

    answers = served_by(pool, body)
    for picture, answer in zip(good + bad, answers, strict=True):
        try:
            expected: object = input_from_bytes(
                picture, MNIST_TARGET, source=SOURCE, max_pixels=PIXELS
            )
        except UserError as err:
            expected = err
        if isinstance(expected, UserError):
            assert isinstance(answer, UserError), answer
            assert answer == expected and answer.one_line() == expected.one_line()
        else:
            assert isinstance(answer, np.ndarray) and answer.dtype == np.float32
            np.testing.assert_array_equal(answer, expected)  # type: ignore[arg-type]
    assert pool.replaced == 0


# --- time limit, deaths, busy ---------------------------------------------------------------------


def test_past_the_time_limit_the_worker_is_killed_and_replaced(
    pool: Preparers, slow_picture: bytes
) -> None:
    [first] = pool.pids

    async def body() -> None:
        with pytest.raises(PrepareTimeout):
            await pool.prepare(slow_picture, 0.3)
        assert pool.replaced == 1
        # meanwhile the next request waits for the replacement (not past its own time)
        with pytest.raises(NoWorker):
            await pool.prepare(digit(0), 0.001)
        answer = await pool.prepare(digit(0), 60.0)
        np.testing.assert_array_equal(answer, input_from_bytes(digit(0), MNIST_TARGET))

    served_by(pool, body)
    [second] = pool.pids
    assert second != first
    assert eventually(lambda: not running(first)), f"worker {first} still running"


def test_a_worker_that_dies_is_replaced(pool: Preparers, slow_picture: bytes) -> None:
    """Killed while preparing (WorkerLost, as a picture that crashes its decoder would be),
    and killed while idle: each time another takes its place and the next picture is
    prepared."""

    async def body() -> None:
        [busy] = pool.pids
        task = asyncio.ensure_future(pool.prepare(slow_picture, 60.0))
        await asyncio.sleep(0)  # the picture is sent: the worker has it
        os.kill(busy, signal.SIGKILL)
        with pytest.raises(WorkerLost) as lost:
            await task
        assert lost.value.exitcode == -signal.SIGKILL
        await wait_ready(pool, 1)
        [idle] = pool.pids
        assert idle != busy
        os.kill(idle, signal.SIGKILL)
        await asyncio.sleep(0.2)  # its pipe closes: it is replaced before it is asked
        np.testing.assert_array_equal(
            await pool.prepare(digit(4), 60.0), input_from_bytes(digit(4), MNIST_TARGET)
        )
        assert pool.replaced == 2 and idle not in pool.pids

    served_by(pool, body)


def test_ctrl_c_is_the_servers_and_close_ends_every_worker() -> None:
    preparers = Preparers(2, max_pixels=PIXELS, source=SOURCE)
    pids = preparers.pids
    try:
        for pid in pids:
            os.kill(pid, signal.SIGINT)  # as a terminal's Ctrl-C would, had it reached them

        async def body() -> list[bool]:
            answers = await asyncio.gather(*(preparers.prepare(digit(i), 60.0) for i in range(4)))
            return [isinstance(a, np.ndarray) for a in answers]

        assert served_by(preparers, body) == [True] * 4
        assert preparers.replaced == 0 and preparers.pids == pids
    finally:
        preparers.close()
    assert not any(running(pid) for pid in pids), [p for p in pids if running(p)]
    assert preparers.pids == []


def test_workers_end_when_the_server_is_killed() -> None:
    """A server killed outright (no chance to close its pool): its workers end by themselves,
    as their jobs pipes close."""
    code = (
        "import time\n"
        "from mnistctl.serve.workers import Preparers\n"
        "pool = Preparers(2, max_pixels=1000, source='x')\n"
        "print(*pool.pids, flush=True)\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        line = within_watchdog(lambda: server.stdout.readline() if server.stdout else "", 120)
        pids = [int(pid) for pid in str(line).split()]
        assert len(pids) == 2 and all(running(pid) for pid in pids), line
    finally:
        server.kill()
        server.wait(30)
        if server.stdout:
            server.stdout.close()
    assert eventually(lambda: not any(running(pid) for pid in pids)), pids


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Preparers(0, max_pixels=PIXELS, source=SOURCE)
