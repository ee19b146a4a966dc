"""What every call of the Python API shares: its one exception type, argument types, the
TensorFlow context the CLI runs its commands in."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from mnistctl.api.arguments import ArgumentCheck
from mnistctl.errors import UserError, UserErrors

if TYPE_CHECKING:
    pass


Error = UserErrors
"""The one exception type the Python API raises for a problem the user can fix."""

PathArg: TypeAlias = str | os.PathLike[str]
ImageInput: TypeAlias = PathArg | npt.NDArray[Any] | Sequence[PathArg | npt.NDArray[Any]]
"""What ``Run.predict`` takes: an image file, a 28x28 array (or a stack of them, N x 28 x 28),
or a list of files and arrays."""

Split: TypeAlias = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]
"""Images (N x 28 x 28, uint8 0-255) and their labels (N, uint8 0-9)."""

P = ParamSpec("P")
R = TypeVar("R")

DATA_ENV = "MNISTCTL_DATA"  # as the CLI's --data
IMAGE_SIDE = 28


def _user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Raise every user-facing problem as ``Error`` (``UserErrors``), with a short traceback:
    the problem is in the user's input, not in mnistctl's code. First the arguments are checked
    against ``fn``'s annotations (``arguments.py``): a wrong type is refused before anything
    runs."""
    check = ArgumentCheck(fn)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            check(args, kwargs)
            return fn(*args, **kwargs)
        except UserErrors as err:
            raise err.with_traceback(None) from None
        except UserError as err:
            raise UserErrors([err]) from None

    return wrapper


def _data_path(data: PathArg | None) -> Path | None:
    """``data``, else ``MNISTCTL_DATA``, as the CLI's ``--data``; None: where the spec says."""
    if data is not None:
        return Path(data)
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else None


class _NoRetracingWarning(logging.Filter):
    """TensorFlow's warning that a tf.function was traced again: each command loads its run's
    model afresh (as each CLI command does in its own process), so in one Python session the
    predict function of every new model is one more trace. Nothing the user can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _tensorflow() -> Iterator[None]:
    """As the CLI runs its TensorFlow commands: TensorFlow's native log lines off the terminal
    (a no-op where stderr is not the process's own, as in Jupyter); and no retracing
    warnings."""
    from mnistctl.ml.native_log import native_stderr_to_log

    logger, quiet = logging.getLogger("tensorflow"), _NoRetracingWarning()
    logger.addFilter(quiet)
    try:
        with native_stderr_to_log():
            yield
    finally:
        logger.removeFilter(quiet)


@contextlib.contextmanager
def _keras_policy_kept() -> Iterator[None]:
    """Training sets Keras's global precision policy (``train.precision``); a notebook keeps
    its own afterwards, so that ``Spec.build()`` after ``train()`` still builds float32."""
    import keras

    saved = keras.mixed_precision.global_policy()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(saved)
