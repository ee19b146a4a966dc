"""Work in other processes: the one way mnistctl runs it, and how many CPUs it may use.

Every worker is a fresh ``python -P -m mnistctl.procs.child MODULE:FUNCTION`` (``child.py``):
never a fork of the caller, which may have started TensorFlow's threads, and nothing of the
caller's main script is run again, so a user's script without an ``if __name__ ==
"__main__":`` guard may predict a folder of pictures. At start the worker calls FUNCTION once
with the pool's arguments (imports, warm-up); what it returns is then called on each task.
Tasks and answers are pickled, one message each, on two pipes (``multiprocessing.connection``'s
framing); a ``UserError`` raised by a task crosses back whole. A worker ignores Ctrl-C (its
parent decides), runs in a process group of its own, and ends when its parent closes its
tasks pipe, or dies.

Two pools share that worker (``worker.py``, the parent's side of one):

- ``pool.Pool``: ``submit(task)`` returns a ``concurrent.futures.Future``; each worker is fed
  by a thread here that keeps a few tasks waiting in its pipe. For batches (the pictures
  ``mnistctl predict`` names). A worker that dies fails its tasks with ``WorkerLost``.
- ``timed.TimedPool``: ``await run(task, seconds)`` in an event loop, which writes each task
  and is woken by each answer itself (no thread in between); a worker still busy when its
  task's time is up is killed and replaced (``TaskTimeout``), one that dies is replaced.
  Workers start and warm up before the pool is returned. For ``mnistctl serve``.

Not ``concurrent.futures.ProcessPoolExecutor``: with every start method it imports the
caller's main script again in its workers (an unguarded script runs twice, and the pool
breaks); a worker killed for its time limit breaks the whole executor; and each task and answer
passes through the executor's threads, which a busy server pays for in throughput
(``bench/serve_load.py``; docs/serving.md, "Under load").
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count); at least 1."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return max(1, int(counter() or 1))
    with contextlib.suppress(AttributeError, OSError):  # not Linux
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
