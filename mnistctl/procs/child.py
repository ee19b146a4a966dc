"""A worker process's side: ``python -P -m mnistctl.procs MODULE:FUNCTION TASKS ANSWERS``.

``TASKS`` and ``ANSWERS`` are the numbers of the pipes it inherited. The first message on
TASKS is the pickled ``Start``: FUNCTION's arguments. The worker calls ``FUNCTION(*args)``
once (its imports and warm-up), answers READY (or FAILED, why, and ends), then answers each
task, in order, with what the returned function made of it: DONE and the result, REFUSED and
the ``UserError`` it raised, or FAILED and what else it raised (a bug, not the task). With
``Start.pipelined`` the answers are written by a thread of their own, so that the next task
(already waiting in the pipe) is worked on while the parent is slow to read a large answer.

It ignores Ctrl-C (the parent stops it) and ends when TASKS closes: its parent closed it, or
died. Anything it prints goes to the parent's stderr, never into the answers.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from mnistctl.errors import UserError

READY = "ready"  # nothing more: the worker has started and warmed up
DONE = "done"  # the task's result
REFUSED = "refused"  # the UserError the task raised
FAILED = "failed"  # a str: what else was raised (a bug), or why the worker could not start

Message = tuple[str, Any]
Task = Callable[[Any], Any]
PICKLE = pickle.HIGHEST_PROTOCOL


@dataclass(frozen=True)
class Start:
    """The first message a worker reads: what its FUNCTION is called with."""

    args: tuple[Any, ...] = ()
    pipelined: bool = False


def main(argv: Sequence[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.dup2(2, 1)  # nothing printed by accident mixes into the parent's output
    name, tasks_fd, answers_fd = argv[0], int(argv[1]), int(argv[2])
    tasks = Connection(tasks_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    try:
        start: Start = pickle.loads(tasks.recv_bytes())
        task = resolve(name)(*start.args)
    except (EOFError, OSError):  # the parent has gone already
        return 0
    except Exception as exc:  # cannot start: say why, once
        with contextlib.suppress(OSError, EOFError):  # the parent has gone
            answers.send_bytes(encode((FAILED, f"{type(exc).__name__}: {exc}")))
        return 1
    with contextlib.suppress(OSError, EOFError):  # the parent has gone
        answers.send_bytes(encode((READY, None)))
        _serve(task, tasks, answers, start.pipelined)
    return 0


def resolve(name: str) -> Callable[..., Task]:
    """The function ``MODULE:QUALNAME`` names."""
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]


def answer(task: Task, payload: bytes) -> Message:
    """What ``task`` made of the pickled ``payload``."""
    try:
        return (DONE, task(pickle.loads(payload)))
    except UserError as err:
        return (REFUSED, err)
    except Exception as exc:
        return (FAILED, f"{type(exc).__name__}: {exc}")


def encode(message: Message) -> bytes:
    try:
        return pickle.dumps(message, PICKLE)
    except Exception as exc:  # a result or an error that does not pickle: a bug
        return pickle.dumps((FAILED, f"the answer could not be sent: {exc}"), PICKLE)


def _serve(task: Task, tasks: Connection, answers: Connection, pipelined: bool) -> None:
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    send: Callable[[bytes], None] = outbox.put if pipelined else answers.send_bytes
    if pipelined:
        writer = threading.Thread(target=_write, args=(outbox, answers), daemon=True)
        writer.start()
    try:
        while True:
            send(encode(answer(task, tasks.recv_bytes())))
    except EOFError:  # the parent is done (or dead)
        pass
    if pipelined:
        outbox.put(None)
        writer.join()


def _write(outbox: queue.SimpleQueue[bytes | None], answers: Connection) -> None:
    with contextlib.suppress(OSError, EOFError):  # the parent has gone
        while (message := outbox.get()) is not None:
            answers.send_bytes(message)
