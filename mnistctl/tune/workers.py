"""``--workers K``: K worker processes on this machine, each running the study's loop
(``python -m mnistctl tune SPEC --worker I ...``) on the same storage.

Each worker gets its share of the cores: TensorFlow's intra-op pool gets ``cores // K`` threads
(at least one) and its inter-op pool one, set through the environment before TensorFlow starts
in the worker (and again through ``tf.config.threading`` there). Workers run in their own
process group, so a Ctrl-C in the terminal reaches this process only, which passes it on to
each worker exactly once: each stops its trial in training (the run "interrupted", the trial
queued again) and exits 130; a second Ctrl-C is passed on too, and they exit at once. A worker
dies with its parent (Linux's parent-death signal), so no worker outlives a killed ``tune``.
Each worker's messages go to ``RUNS/<study>/workers/worker-I.log`` (readable by its owner
only); the parent shows the trials as they finish by reading the storage.

A storage URL may hold a password, so it never goes on a worker's command line (which ``ps``
and ``/proc/PID/cmdline`` show to every user) nor into its log: each worker finds it in its
environment (``MNISTCTL_TUNE_STORAGE``, readable by the same user only), and takes it out of
its environment before anything else runs.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from mnistctl.procs import usable_cpus

POLL_S = 0.5
STORAGE_ENV = "MNISTCTL_TUNE_STORAGE"  # the storage URL, from tune to its workers
LOG_MODE = 0o600


@dataclass(frozen=True)
class ThreadSplit:
    workers: int
    cores: int
    intra: int  # TensorFlow threads within one op, per worker
    inter: int  # ops run side by side, per worker

    def line(self) -> str:
        return (
            f"{self.workers} worker processes on {self.cores} cores: TensorFlow runs "
            f"{self.intra} thread(s) within an op and {self.inter} op at a time in each"
        )

    def env(self) -> dict[str, str]:
        return {
            "TF_NUM_INTRAOP_THREADS": str(self.intra),
            "TF_NUM_INTEROP_THREADS": str(self.inter),
            "OMP_NUM_THREADS": str(self.intra),
        }


def split(workers: int) -> ThreadSplit:
    n = usable_cpus()
    return ThreadSplit(workers, n, max(1, n // workers), 1)


WORKERS_PER_CORE = 2  # more than this and the workers only wait for each other's cores
WORKER_MEMORY = 1 << 30  # a worker with TensorFlow loaded and a small model: about 1 GiB


@dataclass(frozen=True)
class WorkerBound:
    most: int
    why: str  # "2 usable cores, 2 workers each", ...


def max_workers(cpus: int | None = None, memory: int | None = None) -> WorkerBound:
    """How many worker processes this machine runs well: ``WORKERS_PER_CORE`` per usable core,
    and no more than its memory holds at ``WORKER_MEMORY`` each."""
    cpus = usable_cpus() if cpus is None else cpus
    memory = total_memory() if memory is None else memory
    by_cpus = cpus * WORKERS_PER_CORE
    why = f"{cpus} usable core{'s' if cpus != 1 else ''}, {WORKERS_PER_CORE} workers each"
    if memory is not None and memory // WORKER_MEMORY < by_cpus:
        gib = memory / (1 << 30)
        return WorkerBound(max(1, memory // WORKER_MEMORY), f"{gib:.1f} GiB of memory, 1 GiB each")
    return WorkerBound(by_cpus, why)


def total_memory() -> int | None:
    """This machine's memory in bytes (its cgroup's limit where lower); None where unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def configure_threads() -> None:
    """In a worker, before its first trial: TensorFlow's pools as the environment says."""
    intra, inter = (
        os.environ.get("TF_NUM_INTRAOP_THREADS"),
        os.environ.get("TF_NUM_INTEROP_THREADS"),
    )
    if not (intra and inter and intra.isdigit() and inter.isdigit()):
        return
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised: the environment did it
        tf.config.threading.set_intra_op_parallelism_threads(int(intra))
        tf.config.threading.set_inter_op_parallelism_threads(int(inter))


@dataclass(frozen=True)
class WorkerExit:
    index: int
    code: int  # the process's exit status; -N: killed by signal N (Popen's returncode)
    log: Path
    last_line: str | None  # the log's last line, when the worker failed
    command: tuple[str, ...] = ()

    @property
    def stopped(self) -> bool:
        """Ended as asked: done, or stopped by Ctrl-C or SIGTERM passed on by tune."""
        return self.code in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM)

    def how(self) -> str:
        """``killed by signal 9 (SIGKILL)`` or ``exited with code 1: <its log's last line>``."""
        if self.code < 0:
            try:
                name = f" ({signal.Signals(-self.code).name})"
            except ValueError:
                name = ""
            return f"killed by signal {-self.code}{name}"
        return f"exited with code {self.code}" + (f": {self.last_line}" if self.last_line else "")


def died(exits: Sequence[WorkerExit]) -> str:
    """Every worker that died, each with how and its command line, on one line."""
    return "; ".join(
        f"worker {e.index} {e.how()} (log {e.log}; command: {shlex.join(e.command)})"
        for e in exits
        if not e.stopped
    )


def worker_command(spec: Path, index: int, args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "mnistctl", "tune", str(spec), "--worker", str(index), *args]


def storage_from_env() -> str | None:
    """In a worker: the storage URL its parent gave it, taken out of the environment (so that
    nothing the worker starts inherits it); None for the default journal."""
    return os.environ.pop(STORAGE_ENV, None) or None


def open_log(path: Path) -> int:
    """``path`` opened for appending, readable and writable by its owner only (an older,
    wider log is narrowed); a file descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
    os.fchmod(fd, LOG_MODE)
    return fd


def run_workers(
    commands: Sequence[list[str]],
    logs: Sequence[Path],
    threads: ThreadSplit,
    *,
    storage: str | None,
    poll: Callable[[], None],
    stopped: Callable[[int], None],
) -> list[WorkerExit]:
    """Start each command (``storage``, the URL, in its environment), call ``poll`` every half
    second until all have exited; a signal here is passed on to the workers (``stopped(signum)``
    is told of the first)."""
    env = {**os.environ, **threads.env(), "PYTHONUNBUFFERED": "1"}
    env.pop("MNISTCTL_DATA", None)  # the parent passes --data itself
    env.pop(STORAGE_ENV, None)
    if storage is not None:
        env[STORAGE_ENV] = storage
    procs: list[subprocess.Popen[bytes]] = []
    with _forwarding(procs, stopped):
        for command, log in zip(commands, logs, strict=True):
            with open(open_log(log), "ab") as out:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
                out.write(f"--- {stamp}: {shlex.join(command)}\n".encode())
                out.flush()
                procs.append(
                    subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=out,
                        env=env,
                        start_new_session=True,
                        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                    )
                )
        while any(p.poll() is None for p in procs):
            poll()
            time.sleep(POLL_S)
        poll()
    exits = [
        WorkerExit(
            i, p.returncode, log, _last_line(log) if p.returncode != 0 else None, tuple(command)
        )
        for i, (p, log, command) in enumerate(zip(procs, logs, commands, strict=True))
    ]
    with _sigint_held():  # the Popen objects go here, their finalizers never hit by a Ctrl-C
        procs.clear()
    return exits


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT held back for a moment (delivered when the block ends): a KeyboardInterrupt
    raised inside an object's finalizer would be printed as "Exception ignored ..." with a
    traceback instead of ending the command cleanly."""
    held = hasattr(signal, "pthread_sigmask")
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _forwarding(
    procs: list[subprocess.Popen[bytes]], stopped: Callable[[int], None]
) -> Iterator[None]:
    presses = {"n": 0}

    def handler(signum: int, _frame: FrameType | None) -> None:
        presses["n"] += 1
        if presses["n"] == 1:
            stopped(signum)
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except BaseException:
        for proc in procs:  # this process is failing: no worker outlives it
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        raise
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux's PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _last_line(log: Path) -> str | None:
    try:
        lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    except OSError:
        return None
    return lines[-1][:300] if lines else None
