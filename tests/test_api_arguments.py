"""The Python API's arguments (issue 23, item 8): every public function and every method of
``Run`` refuses an argument of the wrong type as ``mnistctl.Error``, before anything runs.

The main test is generated from the public signatures: each annotated parameter of each name in
``mnistctl.__all__`` and of ``Run``'s public methods is given values of the usual wrong types
(None, a number, a bool, a list of ints, an object, bytes, a string) wherever its annotation
does not allow them, judged by this file's own reading of the annotations (``allows``, which
looks inside lists too; a string of the wrong value for a ``Literal`` is the command's to
refuse, in the CLI's words: tests/test_checkpoint.py). Methods run on a fake run directory
(``test_runs_list.make_run``: the run's files, no training), so a missing check would go on
to read it. Nothing here trains: every call is refused first. The API's names are looked up
as strings (``getattr``), so that ``tests/tiers.py`` does not take a refused
``mnistctl.train(42)`` for training.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import traceback
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_runs_list import HISTORY, make_run

import mnistctl
from mnistctl.api.arguments import ArgumentCheck

HEAVY = ("tensorflow", "keras", "matplotlib", "PIL")
WRONG: list[tuple[str, object]] = [
    ("None", None),
    ("int", 42),
    ("float", 1.5),
    ("bool", True),
    ("list-of-ints", [1, 2]),
    ("object", object()),
    ("bytes", b"specs/cnn.yaml"),
    ("str", "x"),
]
UNRESOLVED = {("mnistctl.Run", "training")}
"""Parameters whose annotation names what only a type checker imports: not checked."""


# --- the public signatures ---------------------------------------------------------------------


def public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    """``mnistctl.train``, ..., ``mnistctl.Run`` (its constructor), ``mnistctl.Run.predict``."""
    for name in mnistctl.__all__:
        value = getattr(mnistctl, name)
        if inspect.isfunction(value) and value.__module__.startswith("mnistctl.api"):
            yield f"mnistctl.{name}", value
    yield "mnistctl.Run", mnistctl.Run.__init__
    for name, value in vars(mnistctl.Run).items():
        if not name.startswith("_") and inspect.isfunction(value):
            yield f"mnistctl.Run.{name}", value


def hint_of(fn: Callable[..., Any], param: inspect.Parameter) -> Any:
    holder = types.SimpleNamespace(__annotations__={param.name: param.annotation})
    return typing.get_type_hints(holder, globalns=inspect.unwrap(fn).__globals__)[param.name]


def parameters() -> Iterator[tuple[str, Callable[..., Any], str, Any]]:
    for qualname, fn in public_callables():
        for param in inspect.signature(fn).parameters.values():
            if param.annotation is inspect.Parameter.empty:
                continue  # self
            try:
                hint = hint_of(fn, param)
            except NameError:
                assert (qualname, param.name) in UNRESOLVED
                continue
            yield qualname, fn, param.name, hint


def allows(value: object, hint: Any) -> bool:
    """What an annotation allows, read independently of ``mnistctl.api.arguments``, and
    deeper: the items of a list, the keys of a mapping."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(allows(value, arm) for arm in args)
    if origin is typing.Literal:  # a string not among the choices: the command's words
        return any(type(value) is type(choice) for choice in args)
    if hint is type(None):
        return value is None
    if hint in (bool, int, str):
        return type(value) is hint
    if origin is Sequence:
        return isinstance(value, list | tuple) and all(allows(item, args[0]) for item in value)
    if origin is Mapping:
        return isinstance(value, dict) and all(isinstance(key, str) for key in value)
    if origin is os.PathLike:
        return isinstance(value, os.PathLike)
    if origin is np.ndarray:
        return isinstance(value, np.ndarray)
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise AssertionError(f"this test does not know the annotation {hint!r}: teach allows()")


def valid(hint: Any, where: Path) -> object:
    """A value the annotation allows, for the other required arguments: a path to nothing (a
    missing check would stop there, not train), or the first of the choices."""
    for value in (str(where / "nothing"), *_literals(hint)):
        if allows(value, hint):
            return value
    raise AssertionError(f"no placeholder for {hint!r}")


def _literals(hint: Any) -> list[object]:
    if typing.get_origin(hint) is typing.Literal:
        return list(typing.get_args(hint))
    return [v for arm in typing.get_args(hint) for v in _literals(arm)]


CASES = [
    pytest.param(qualname, fn, name, hint, value, id=f"{qualname}-{name}-{kind}")
    for qualname, fn, name, hint in parameters()
    for kind, value in WRONG
    if not allows(value, hint)
]


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run's files as training leaves them, without training."""
    return make_run(tmp_path_factory.mktemp("api-arguments") / "runs", "20260101T000000Z")


def call(qualname: str, fn: Callable[..., Any], run: Path, given: dict[str, object]) -> object:
    """``fn`` called with ``given`` and a valid value for each other required argument; a
    method on ``mnistctl.Run(run)``."""
    signature = inspect.signature(fn)
    kwargs: dict[str, object] = {}
    for param in signature.parameters.values():
        if param.annotation is inspect.Parameter.empty:
            continue  # self
        if param.name in given:
            kwargs[param.name] = given[param.name]
        elif param.default is inspect.Parameter.empty:
            kwargs[param.name] = valid(hint_of(fn, param), run.parent)
    if qualname == "mnistctl.Run":
        return mnistctl.Run(**kwargs)  # type: ignore[arg-type]
    target = getattr(mnistctl.Run(run), fn.__name__) if "Run." in qualname else fn
    return target(**kwargs)


def test_the_walk_finds_the_api() -> None:
    found = {(qualname, name) for qualname, _, name, _ in parameters()}
    assert {
        ("mnistctl.train", "spec"),
        ("mnistctl.resume", "run"),
        ("mnistctl.open_run", "path"),
        ("mnistctl.load_spec", "path"),
        ("mnistctl.load_spec", "overrides"),
        ("mnistctl.load_data", "dataset"),
        ("mnistctl.Run", "run_dir"),
        ("mnistctl.Run.predict", "images"),
        ("mnistctl.Run.export", "check_samples"),
        ("mnistctl.Run.evaluate", "save"),
        ("mnistctl.Run.plot", "checkpoint"),
    } <= found
    assert len(found) >= 25 and len(CASES) >= 120


@pytest.mark.parametrize(("qualname", "fn", "name", "hint", "value"), CASES)
def test_wrong_types_are_refused_first(
    fake_run: Path, qualname: str, fn: Callable[..., Any], name: str, hint: Any, value: object
) -> None:
    before = set(sys.modules)
    with pytest.raises(mnistctl.Error) as info:
        call(qualname, fn, fake_run, {name: value})
    assert not isinstance(info.value, TypeError | ValueError | AttributeError)
    assert len(info.value.errors) == 1
    line = str(info.value)
    assert f"{qualname}({name}=" in line or line.startswith(f"{name}["), line
    assert "; expected " in line and "; received " in line
    loaded = {m.partition(".")[0] for m in set(sys.modules) - before}
    assert not loaded & set(HEAVY)


# --- the issue's cases, whole lines ------------------------------------------------------------

HELP = "(hint: help({}) says what each argument takes)"
PATH = "a path (str or os.PathLike)"


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "line"),
    [
        (
            "train",
            (42,),
            {},
            f"mnistctl.train(spec=42): wrong type; expected a Spec or {PATH}; received int 42 "
            + HELP.format("mnistctl.train"),
        ),
        (
            "load_spec",
            (None,),
            {},
            f"mnistctl.load_spec(path=None): wrong type; expected {PATH}; received None "
            + HELP.format("mnistctl.load_spec"),
        ),
        (
            "open_run",
            (42,),
            {},
            f"mnistctl.open_run(path=42): wrong type; expected {PATH}; received int 42 "
            + HELP.format("mnistctl.open_run"),
        ),
        (
            "resume",
            (42,),
            {},
            f"mnistctl.resume(run=42): wrong type; expected a Run or {PATH}; received int 42 "
            + HELP.format("mnistctl.resume"),
        ),
        (
            "load_spec",
            ("specs/cnn.yaml",),
            {"overrides": "train.epochs=2"},
            "mnistctl.load_spec(overrides='train.epochs=2'): wrong type; expected a list of "
            "strings or a dict; received str 'train.epochs=2' (hint: a list, even of one: "
            "overrides=['train.epochs=2'])",
        ),
        (
            "load_spec",
            ("specs/cnn.yaml",),
            {"overrides": ["train.epochs=2", 3]},
            "overrides[1]: not an override; expected a string KEY=VALUE, as --set takes "
            "(train.epochs=2); received int 3",
        ),
        (
            "load_spec",
            ("specs/cnn.yaml",),
            {"overrides": {2: 3}},
            "overrides[2]: not an override key; expected a string, the dotted path of a spec "
            "setting (train.epochs); received int 2",
        ),
        (
            "load_spec",
            ("specs/cnn.yaml",),
            {"overrides": {"train.epochs": {1, 2}}},
            "overrides['train.epochs']: not an override value; expected a number, string, "
            "boolean, None, or a list or dict of them; received set {1, 2}",
        ),
        (
            "Run",
            (b"runs/x",),
            {},
            f"mnistctl.Run(run_dir=b'runs/x'): wrong type; expected {PATH}; received bytes "
            "b'runs/x' (hint: a path is a str or a pathlib.Path: decode the bytes)",
        ),
    ],
)
def test_issue_cases(
    name: str, args: tuple[object, ...], kwargs: dict[str, object], line: str
) -> None:
    with pytest.raises(mnistctl.Error) as info:
        getattr(mnistctl, name)(*args, **kwargs)
    assert str(info.value) == line


@pytest.mark.parametrize(
    ("method", "kwargs", "line"),
    [
        (
            "predict",
            {"images": None},
            f"mnistctl.Run.predict(images=None): wrong type; expected {PATH}, a numpy array or "
            "a list of paths or numpy arrays; received None " + HELP.format("mnistctl.Run.predict"),
        ),
        (
            "export",
            {"format": "onnx", "check_samples": "x"},
            "mnistctl.Run.export(check_samples='x'): wrong type; expected an integer or None; "
            "received str 'x' " + HELP.format("mnistctl.Run.export"),
        ),
        (
            "export",
            {"format": 3},
            "mnistctl.Run.export(format=3): wrong type; expected 'saved_model', 'onnx' or "
            "'litert'; received int 3 " + HELP.format("mnistctl.Run.export"),
        ),
        (
            "evaluate",
            {"checkpoint": True},
            "mnistctl.Run.evaluate(checkpoint=True): wrong type; expected 'best', 'last' or "
            "None; received bool True " + HELP.format("mnistctl.Run.evaluate"),
        ),
        (
            "evaluate",
            {"save": "no"},
            "mnistctl.Run.evaluate(save='no'): wrong type; expected True or False; received str "
            "'no' " + HELP.format("mnistctl.Run.evaluate"),
        ),
    ],
)
def test_run_method_cases(
    fake_run: Path, method: str, kwargs: dict[str, object], line: str
) -> None:
    with pytest.raises(mnistctl.Error) as info:
        getattr(mnistctl.Run(fake_run), method)(**kwargs)
    assert str(info.value) == line


def test_short_traceback_and_fields() -> None:
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.open_run(42)  # type: ignore[arg-type]
    frames = traceback.extract_tb(info.tb)
    assert [Path(f.filename).name for f in frames] == ["test_api_arguments.py", "common.py"]
    err = info.value
    assert (err.message, err.expected, err.received) == (
        "mnistctl.open_run(path=42): wrong type",
        PATH,
        "int 42",
    )


def test_a_long_value_is_shortened() -> None:
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.open_run(list(range(100)))  # type: ignore[arg-type]
    assert str(info.value).startswith(
        "mnistctl.open_run(path=[0, 1, 2, 3, ...]): wrong type; expected"
    )


# --- what is allowed passes the check ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (mnistctl.load_spec, {"path": Path("a.yaml"), "overrides": ("train.epochs=2",)}),
        (mnistctl.load_spec, {"path": "a.yaml", "overrides": {"train.epochs": 2}}),
        (mnistctl.open_run, {"path": mnistctl.Run("runs/x"), "runs_dir": None}),
        (mnistctl.Run.export, {"self": None, "format": "litert", "check_samples": np.int64(5)}),
        (mnistctl.Run.predict, {"self": None, "images": np.zeros((28, 28), np.uint8)}),
        (mnistctl.Run.predict, {"self": None, "images": [Path("a.png"), np.zeros((28, 28))]}),
        (mnistctl.Run.evaluate, {"self": None, "save": False, "checkpoint": "best"}),
    ],
)
def test_allowed_values_pass_the_check(fn: Callable[..., Any], kwargs: dict[str, object]) -> None:
    ArgumentCheck(inspect.unwrap(fn))((), kwargs)


def test_arity_is_pythons_own_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'epochs'"):
        mnistctl.load_spec("specs/cnn.yaml", epochs=2)  # type: ignore[call-arg]


# --- a run whose directory is gone -------------------------------------------------------------


PROPERTIES = [
    "history",
    "status",
    "spec",
    "name",
    "epochs_completed",
    "metrics",
    "test_accuracy",
    "test_loss",
]


def test_properties_of_a_run_read_its_files(fake_run: Path) -> None:
    run = mnistctl.Run(fake_run)
    assert run.history == {
        key: [row[key] for row in HISTORY] for key in HISTORY[0] if key != "epoch"
    }
    assert (run.status, run.name, run.epochs_completed, run.test_accuracy) == (
        "completed",
        "tiny",
        3,
        0.91,
    )


@pytest.mark.parametrize("prop", PROPERTIES)
def test_a_deleted_run_is_the_clis_missing_run(tmp_path: Path, prop: str) -> None:
    run_dir = make_run(tmp_path / "runs", "20260101T000000Z")
    run = mnistctl.Run(run_dir)
    shutil.rmtree(run_dir)
    with pytest.raises(mnistctl.Error) as info:
        getattr(run, prop)
    with pytest.raises(mnistctl.Error) as cli_error:
        mnistctl.open_run(run_dir)  # the CLI's RUN argument (test_api: the same lines)
    assert (
        info.value.lines
        == cli_error.value.lines
        == [
            f"{run_dir}: no such run directory; expected a run directory "
            "(runs/<name>/<timestamp>) or a spec file; received nothing there"
        ]
    )


def test_a_run_without_its_spec_is_refused(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "runs", "20260101T000000Z")
    (run_dir / "spec.yaml").unlink()
    with pytest.raises(mnistctl.Error) as info:
        _ = mnistctl.Run(run_dir).history
    assert str(info.value).startswith(f"{run_dir}: not a run directory; ")
