"""The Python API's argument check: each public call's arguments against its own type
annotations, refused as ``mnistctl.Error`` before anything runs (no TensorFlow, no files).

The annotations are the one statement of what each argument takes: a new public function gets
the check by being decorated (``common._user_errors``). The check is of the argument's own
type (a path, a list, a number, a string of a ``Literal``); its value is checked by the code
the CLI runs, in the CLI's words (``checkpoint="middle"``: "unknown checkpoint"), and what is
inside a list or a mapping by the function that reads it, where each item has its own place
(``images[2]``, ``overrides[0]``).
"""

from __future__ import annotations

import inspect
import numbers
import os
import reprlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 4

_PATH = ("a path (str or os.PathLike)", "paths")
_PLAIN: dict[object, tuple[str, str]] = {
    str: ("a string", "strings"),
    bool: ("True or False", "True or False"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    type(None): ("None", "None"),
}
"""What a type is called in an error: once, and in a list of them."""

Hints = list[tuple[str, Any]]
"""The annotated parameters of a function, with their types."""


def short(value: object) -> str:
    """``value`` as Python writes it, shortened to a line."""
    return _SHORT.repr(value)


def received(value: object) -> str:
    """``int 42``, ``list [1, 2]``, ``None``: the type and the value given."""
    return "None" if value is None else f"{type(value).__name__} {short(value)}"


def path_items(
    value: str | os.PathLike[str] | Sequence[Any], name: str, *, what: str, expected: str
) -> list[Path]:
    """A path, or a list of them, as paths: the items of a list are checked here (the
    annotation check looks at the value itself): ``not {what}`` at ``name[i]`` otherwise."""
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    paths = []
    for index, item in enumerate(value):
        if not isinstance(item, str | os.PathLike):
            raise UserError(
                f"not {what}", Location(f"{name}[{index}]"), expected=expected,
                received=received(item),
            )  # fmt: skip
        paths.append(Path(item))
    return paths


class ArgumentCheck:
    """The check of one public function's arguments (its annotations resolved on first use:
    a class may name itself, or a later one)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self._signature = inspect.signature(fn)
        self._hints: Hints | None = None
        name = fn.__qualname__.removesuffix(".__init__")
        self.name = f"mnistctl.{name}"

    def hints(self) -> Hints:
        if self._hints is None:
            self._hints = list(_resolved(self._fn, self._signature))
        return self._hints

    def __call__(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """Raise ``UserError`` for the first argument whose type its annotation does not allow;
        arguments that do not bind (too many, an unknown keyword) are left to Python's own
        ``TypeError`` when the call is made."""
        try:
            bound = self._signature.bind(*args, **kwargs).arguments
        except TypeError:
            return
        for name, hint in self.hints():
            if name in bound and not matches(bound[name], hint):
                raise self.wrong_type(name, bound[name], hint)

    def wrong_type(self, name: str, value: object, hint: Any) -> UserError:
        return UserError(
            f"{self.name}({name}={short(value)}): wrong type",
            expected=describe(hint),
            received=received(value),
            hint=_hint_for(self.name, name, value, hint),
        )


def _resolved(fn: Callable[..., Any], signature: inspect.Signature) -> Hints:
    """Each annotated parameter's type, evaluated in the function's module; one that names
    what only a type checker imports (``TYPE_CHECKING``) is not checked."""
    hints: Hints = []
    for name, param in signature.parameters.items():
        if param.annotation is inspect.Parameter.empty or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            continue
        holder = types.SimpleNamespace(__annotations__={name: param.annotation})
        try:
            hint = typing.get_type_hints(holder, globalns=getattr(fn, "__globals__", None))
        except NameError:
            continue
        hints.append((name, hint[name]))
    return hints


def _arms(hint: Any) -> tuple[Any, ...]:
    """The alternatives of a union (``A | B``, ``Optional[A]``, ``Literal["a", "b"]``)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(arm for part in typing.get_args(hint) for arm in _arms(part))
    if origin is typing.Literal:
        return tuple(typing.Literal[value] for value in typing.get_args(hint))
    return (hint,)


def _is_sequence(value: object) -> bool:
    """A list or tuple of things; a string (or bytes) is never a list of one."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _matches_one(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    if hint is Any:
        return True
    if origin is typing.Literal:  # the type; the value is the command's to check
        return type(value) is type(typing.get_args(hint)[0])
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):  # numpy's numbers too; True is no number of epochs
        wanted = numbers.Integral if hint is int else numbers.Real
        return isinstance(value, wanted) and not isinstance(value, bool)
    if origin is Sequence:
        return _is_sequence(value)
    if isinstance(origin, type):
        return isinstance(value, origin)
    return True  # a typing construct this check does not know: the function checks it


def matches(value: object, hint: Any) -> bool:
    """Whether ``hint`` allows ``value`` (the value itself; not the items inside a list)."""
    return any(_matches_one(value, arm) for arm in _arms(hint))


def _names(hint: Any) -> list[tuple[str, str]]:
    """What each alternative of ``hint`` is called: (one, several)."""
    names: list[tuple[str, str]] = []
    arms = _arms(hint)
    for arm in arms:
        origin = typing.get_origin(arm) or arm
        if origin is os.PathLike:
            name = _PATH
        elif arm is str and any(typing.get_origin(a) is os.PathLike for a in arms):
            continue  # a path is said once: "a path (str or os.PathLike)"
        elif arm in _PLAIN:
            name = _PLAIN[arm]
        elif origin is typing.Literal:
            name = (repr(typing.get_args(arm)[0]),) * 2
        elif origin is Sequence:
            inner = typing.get_args(arm)
            items = _joined([many for _, many in _names(inner[0])]) if inner else "items"
            name = (f"a list of {items}", f"lists of {items}")
        elif origin is Mapping or (isinstance(origin, type) and issubclass(origin, Mapping)):
            name = ("a dict", "dicts")
        elif isinstance(origin, type) and origin.__module__ == "numpy":
            name = (f"a numpy {origin.__name__.removeprefix('nd')}", "numpy arrays")
        elif isinstance(origin, type):
            name = (f"a {origin.__name__}", f"{origin.__name__} objects")
        else:
            name = (str(arm), str(arm))
        if name not in names:
            names.append(name)
    return names


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe(hint: Any) -> str:
    """What an annotation allows, in words: ``a Spec or a path (str or os.PathLike)``."""
    return _joined([one for one, _ in _names(hint)])


def _hint_for(function: str, name: str, value: object, hint: Any) -> str:
    arms = _arms(hint)
    origins = {typing.get_origin(arm) or arm for arm in arms}
    if isinstance(value, str) and Sequence in origins:
        return f"a list, even of one: {name}=[{short(value)}]"
    if isinstance(value, bytes) and os.PathLike in origins:
        return "a path is a str or a pathlib.Path: decode the bytes"
    return f"help({function}) says what each argument takes"
