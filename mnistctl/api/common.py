"""What every call of the Python API shares: its one exception type, argument types, the
TensorFlow context the CLI runs its commands in."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
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
            raise _in_api_words(err, check.name).with_traceback(None) from None
        except UserError as err:
            raise _in_api_words(UserErrors([err]), check.name) from None

    return wrapper


# --- the CLI's words, said for the API -----------------------------------------------------------
# The commands word their errors for the command line (``--set KEY=VALUE``, ``--checkpoint
# last``, ``mnistctl train --resume RUN``). Every API call's errors pass through
# ``_user_errors``, so they are reworded here, once: what to type in Python instead.

_OPTIONS = (
    "data", "runs-dir", "checkpoint", "output", "format", "check-samples", "test", "layer", "method"
)  # fmt: skip
"""The CLI options that are arguments of the API's calls, of the same name (``-`` as ``_``)."""
_VALUES = ("best", "last", "saved_model", "onnx", "litert")
"""Their values that errors name (a placeholder such as ``PATH`` stays as it is)."""


def _value(value: str | None) -> str:
    """An option's value as a keyword argument's: ``="last"``, ``=PATH``; none: the name alone."""
    if value is None:
        return ""
    return "=" + (json.dumps(value) if value in _VALUES else value)


_CLI_WORDS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (  # 'mnistctl train --resume RUN' -> mnistctl.resume(RUN)
        re.compile(r"'?mnistctl train --resume ([^\s']+)'?"),
        lambda m: f"mnistctl.resume({m[1]})",
    ),
    (  # mnistctl train SPEC -> mnistctl.train(SPEC)
        re.compile(r"mnistctl train ([^\s'),;]+)"),
        lambda m: f"mnistctl.train({m[1] if m[1].isupper() else json.dumps(m[1])})",
    ),
    (  # --set 'KEY=VALUE' -> overrides=["KEY=VALUE"]
        re.compile(r"--set '([^']+=[^']*)'"),
        lambda m: f"overrides=[{json.dumps(m[1], ensure_ascii=False)}]",
    ),
    (  # --set KEY=VALUE -> overrides=["KEY=VALUE"] (not a "--set path", nor "--set takes")
        re.compile(r"--set ([^\s'\"=]+=[^\s'\"]*?)(?=[),;.]?(?:\s|$))"),
        lambda m: f"overrides=[{json.dumps(m[1], ensure_ascii=False)}]",
    ),
    (  # --checkpoint last -> checkpoint="last"; --data PATH -> data=PATH; --output -> output
        re.compile(rf"--({'|'.join(_OPTIONS)})(?![\w-])(?: ({'|'.join(_VALUES)}|[A-Z]+|\d+)\b)?"),
        lambda m: m[1].replace("-", "_") + _value(m[2]),
    ),
]


_CALL_WORDS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    # load_data takes the data set by name: its own argument, not a spec's overrides
    "mnistctl.load_data": [(re.compile(r"--set data\.dataset=(\w+)"), r'dataset="\1"')],
}


def api_words(text: str, call: str = "") -> str:
    """``text`` (an error's message, expectation or hint) with the command line's words said
    for the API: ``--set data.dataset=mnist_sample`` -> ``overrides=["data.dataset=mnist_sample"]``,
    ``--checkpoint last`` -> ``checkpoint="last"``, ``mnistctl train --resume RUN`` ->
    ``mnistctl.resume(RUN)``; ``call`` (``mnistctl.load_data``) may say some of them its own
    way."""
    for pattern, replacement in _CALL_WORDS.get(call, []):
        text = pattern.sub(replacement, text)
    for pattern, words in _CLI_WORDS:
        text = pattern.sub(words, text)
    return text


def _in_api_words(err: UserErrors, call: str) -> UserErrors:
    """``err`` with each problem's message, expectation and hint in the API's words (its place
    and what was received stay as they are: they name what was given)."""
    reworded = [
        dataclasses.replace(
            e,
            message=api_words(e.message, call),
            expected=None if e.expected is None else api_words(e.expected, call),
            hint=None if e.hint is None else api_words(e.hint, call),
        )
        for e in err.errors
    ]
    if reworded == err.errors:
        return err
    return UserErrors(reworded, err.source)


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
