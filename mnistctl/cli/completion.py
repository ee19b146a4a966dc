"""Shell completion: Typer's own (``mnistctl --install-completion``), with mnistctl's answers.

Commands, options and the values of choice options (``--format``, ``--checkpoint``) are
Typer's. The values of the other parameters are chosen here by the parameter's name
(``COMPLETERS``), so every command that takes a ``spec`` or a ``run`` completes it alike,
wherever it is declared: spec files, runs (run folders and spec files), folders, and the
``--set`` paths of the spec already on the line, its layers by name (``model.layers.hidden_1.
units``). Any other path is the shell's own file completion (an empty answer asks for it).

An answer takes a fresh process each time, so it must start fast: no TensorFlow or Keras
(nothing here imports them), and ``prepare`` (called by the app's class only when the shell
asks) lets the values parsed from the line stay as typed, as completion never runs a command:
Typer would otherwise build a pydantic validator for each parameter, importing pydantic (about
half of each answer's time). ``bench/completion.py`` measures the answers.

A folder that is the only answer is opened (its entries are the answers) and a ``--set`` path
answers ``path=`` and ``path=VALUE`` (its current value): the shell then completes as far as
they agree and adds no space, as it would after a single answer.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import typer

Completer = Callable[[typer.Context, str], list[str]]

SPEC_SUFFIXES = (".yaml", ".yml")
RUN_MARK = "spec.yaml"  # a run folder holds its spec (runs/layout.py)
_MAX_OPENED = 8  # lone folders opened in a row
_MAX_VALUE = 60  # a value longer than this is not offered


def _guarded(completer: Completer) -> Completer:
    """A completer that never fails: a problem means no answer (the shell's own completion),
    never a traceback in the user's terminal."""

    def guarded(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            return completer(ctx, incomplete)
        except Exception:
            return []

    guarded.__name__ = completer.__name__
    return guarded


# --- paths -----------------------------------------------------------------------------------


def is_spec(path: Path) -> bool:
    return path.suffix in SPEC_SUFFIXES


def is_run(path: Path) -> bool:
    return (path / RUN_MARK).is_file()


def _never(_path: Path) -> bool:
    return False


def _listed(
    incomplete: str, keep: Callable[[Path], bool], final: Callable[[Path], bool]
) -> list[str]:
    """The entries of ``incomplete``'s folder that start with its last part: folders (with a
    trailing ``/``, or without when ``final`` says the folder is an answer itself) and the files
    ``keep`` accepts. Hidden entries only when the part starts with a dot."""
    head, slash, tail = incomplete.rpartition("/")
    prefix = head + slash
    folder = Path(os.path.expanduser(prefix)) if prefix else Path(".")
    out: list[str] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(tail) or (entry.name[:1] == "." and tail[:1] != "."):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir():
                out.append(prefix + entry.name + ("" if final(path) else "/"))
            elif keep(path):
                out.append(prefix + entry.name)
    return out


def paths(
    incomplete: str,
    keep: Callable[[Path], bool] = is_spec,
    final: Callable[[Path], bool] = _never,
) -> list[str]:
    """``_listed``, a lone folder opened: its entries answer instead (when it has any)."""
    found = _listed(incomplete, keep, final)
    for _ in range(_MAX_OPENED):
        if len(found) != 1 or not found[0].endswith("/"):
            break
        inside = _listed(found[0], keep, final)
        if not inside:
            break
        found = inside
    return found


def spec_files(ctx: typer.Context, incomplete: str) -> list[str]:
    """Spec files (``*.yaml``, ``*.yml``) and the folders on the way to them."""
    return paths(incomplete)


def runs(ctx: typer.Context, incomplete: str) -> list[str]:
    """Run folders (a folder with ``spec.yaml``: an answer of its own) and spec files (meaning
    their latest run); with ``--runs-dir DIR`` on the line and nothing typed, DIR's runs too."""
    found = paths(incomplete, is_spec, is_run)
    runs_dir = ctx.params.get("runs_dir")
    if not incomplete and runs_dir:
        inside = paths(str(runs_dir).rstrip("/") + "/", is_spec, is_run)
        found = [*inside, *[f for f in found if f not in inside]]
    return found


def folders(ctx: typer.Context, incomplete: str) -> list[str]:
    """Folders (``--runs-dir``)."""
    return _one_level(incomplete, _never, _never)


def specs_or_runs(ctx: typer.Context, incomplete: str) -> list[str]:
    """``runs [SPEC|DIR]``: spec files and folders (a folder of runs, or one run)."""
    return _one_level(incomplete, is_spec, is_run)


def _one_level(
    incomplete: str, keep: Callable[[Path], bool], final: Callable[[Path], bool]
) -> list[str]:
    """``_listed``; a lone folder with its entries, as a folder itself may be the answer: the
    shell completes up to it (no space) and lists what is inside."""
    found = _listed(incomplete, keep, final)
    if len(found) == 1 and found[0].endswith("/"):
        return [*found, *_listed(found[0], keep, final)]
    return found


@_guarded
def complete_source(ctx: typer.Context, incomplete: str) -> list[str]:
    """``new --from``: the example specs by name, and spec files."""
    from mnistctl.commands.new import templates

    names = [name for name in templates() if name.startswith(incomplete)]
    if not names:
        return paths(incomplete)
    return [*names, *_listed(incomplete, is_spec, _never)]


# --- --set paths -----------------------------------------------------------------------------


def set_paths(ctx: typer.Context, incomplete: str) -> list[str]:
    """``--set`` paths of the spec given before it on the line (``train.epochs``,
    ``model.layers.hidden_1.units``), each level in turn; a whole path as ``path=`` and
    ``path=VALUE`` with its current value (the earlier ``--set`` on the line applied)."""
    spec = _spec_on_line(ctx)
    given = [str(s) for s in ctx.params.get("set_") or ()]
    values = spec_paths(Path(spec), given) if spec else section_paths()
    return set_candidates(values, incomplete)


def _spec_on_line(ctx: typer.Context) -> str | None:
    """The spec argument; when the parse stopped at the ``--set`` being completed (its value
    missing), the first spec file among the words it left."""
    given = ctx.params.get("spec") or next(iter(ctx.params.get("specs") or ()), None)
    words = [given] if given is not None else ctx.args
    for word in words:
        if is_spec(Path(str(word))) and Path(str(word)).is_file():
            return str(word)
    return None


def set_candidates(values: Mapping[str, Any], incomplete: str) -> list[str]:
    """The answers for ``incomplete`` among the paths in ``values`` (path -> current value)."""
    if "=" in incomplete:
        key, _, typed = incomplete.partition("=")
        text = value_text(values[key]) if key in values else None
        return [f"{key}={text}"] if text is not None and text.startswith(typed) else []
    for _ in range(64):
        prefix = incomplete[: incomplete.rfind(".") + 1]
        found: set[str] = set()
        for path in values:
            if path.startswith(incomplete):
                part, dot, _rest = path[len(prefix) :].partition(".")
                found.add(prefix + part + ("." if dot else "="))
        if len(found) != 1:
            return sorted(found)
        only = found.pop()
        if only.endswith("="):
            text = value_text(values[only[:-1]])
            return [only] if text is None else [only, only + text]
        incomplete = only  # a lone mapping: its keys answer
    return []


def value_text(value: Any) -> str | None:
    """``value`` as ``--set`` takes it (YAML), when it is short and needs no shell quoting."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str):
        text = value if re.fullmatch(r"[\w.+/:-]+", value) and not _yaml_special(value) else ""
    elif isinstance(value, list | tuple) and value:
        items = [value_text(v) for v in value]
        text = "" if None in items else "[" + ",".join(str(i) for i in items) + "]"
    else:
        text = ""
    return text if text and len(text) <= _MAX_VALUE else None


def _yaml_special(text: str) -> bool:
    """A string YAML would read as something else (a number, a boolean, null)."""
    return bool(
        re.fullmatch(r"[-+]?[0-9._]+(e[-+]?[0-9]+)?|true|false|yes|no|on|off|null|~", text, re.I)
    )


def spec_paths(spec: Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Every path ``--set`` can name in ``spec`` (``overrides`` applied), with its current
    value: the resolved spec's keys (defaults filled in), each layer's arguments by the layer's
    name (its index when it has none) from the layer table, Keras's defaults for those not
    given. A spec that does not load gives its keys as written."""
    from mnistctl.errors import UserError, UserErrors
    from mnistctl.spec import load_spec

    data: Any = None
    for given in (list(overrides), []):
        try:
            loaded = load_spec(spec, given)
        except (UserError, UserErrors):
            continue
        data = loaded.resolved_dict()
        if isinstance(loaded.raw.get("search"), dict):
            data["search"] = loaded.raw["search"]
        break
    if data is None:
        from mnistctl.spec.yamlload import load_file

        data = load_file(spec).data
    out: dict[str, Any] = {}
    _walk(data, (), out)
    return out


def section_paths() -> dict[str, Any]:
    """Without a spec: the settings sections' keys with their defaults."""
    from mnistctl.spec import sections

    defaults = {
        "data": sections.to_dict(sections.DataSection()),
        "compile": sections.to_dict(sections.CompileSection()),
        "train": sections.to_dict(sections.TrainSection()),
    }
    out: dict[str, Any] = {}
    _walk(defaults, (), out)
    return out


def _walk(node: Any, at: tuple[str, ...], out: dict[str, Any]) -> None:
    if at == ("model", "layers") and isinstance(node, list):
        _layers(node, out)
        return
    if isinstance(node, dict) and node:
        for key, value in node.items():
            if isinstance(key, str) and "." not in key:
                _walk(value, (*at, key), out)
        return
    if at:
        out[".".join(at)] = node
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for index, item in enumerate(node):
            _walk(item, (*at, _item_key(item, index)), out)


def _item_key(item: Mapping[str, Any], index: int) -> str:
    """How ``--set`` names a list item: its name (a layer's), else its index."""
    name = item.get("name")
    return name if isinstance(name, str) and name and "." not in name else str(index)


def _layers(layers: list[Any], out: dict[str, Any]) -> None:
    from mnistctl.spec.args import REQUIRED
    from mnistctl.spec.layers import LAYER_TYPES

    out["model.layers"] = layers
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            continue
        at = ("model", "layers", _item_key(layer, index))
        kind = LAYER_TYPES.get(str(layer.get("type")))
        given = {k: v for k, v in layer.items() if k not in ("type", "name")}
        known: dict[str, Any] = {}
        if kind is not None:
            known = {a.name: None if a.default is REQUIRED else a.default for a in kind.args}
            if kind.max_inputs != 0:
                known["inputs"] = None
        for key, value in {**known, **given}.items():
            _walk(value, (*at, key), out)


COMPLETERS: dict[str, Completer] = {
    "spec": spec_files,
    "specs": spec_files,
    "run": runs,
    "runs": runs,
    "resume": runs,
    "where": specs_or_runs,
    "runs_dir": folders,
    "set_": set_paths,
}
"""Which completer answers for a parameter, by the parameter's name in its command."""


# --- when the shell asks ---------------------------------------------------------------------


class _AsTyped:
    """A parameter's value as typed (Typer's conversion, unneeded to answer the shell)."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None and (param.multiple or param.nargs == -1):
            return ()
        return value


def prepare(group: Any) -> None:
    """Before answering the shell: each command's parameters named in ``COMPLETERS`` answer
    with it (unless they have a completer of their own), and the values parsed from the line
    stay as typed."""
    for command in _commands(group):
        if getattr(command, "_completion_prepared", False):
            continue
        command._completion_prepared = True
        for param in command.params:
            completer = COMPLETERS.get(param.name or "")
            if completer is not None and getattr(param, "_custom_shell_complete", 0) is None:
                param._custom_shell_complete = _adapted(_guarded(completer))
        command.get_params = _typed_as_given(command.get_params)


def _typed_as_given(get_params: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    """A command's ``get_params`` whose parameters (its help option too, made on demand) keep
    the values parsed as typed."""

    def typed(ctx: Any) -> list[Any]:
        params = get_params(ctx)
        for param in params:
            if getattr(param, "_runtime_param", 0) is None:
                param._runtime_param = _AsTyped()
        return params

    return typed


def _commands(group: Any) -> Iterable[Any]:
    yield group
    for command in getattr(group, "commands", {}).values():
        yield from _commands(command)


def _adapted(completer: Completer) -> Callable[[Any, Any, str], list[str]]:
    def answer(ctx: Any, param: Any, incomplete: str) -> list[str]:
        return [c for c in completer(ctx, incomplete) if c.startswith(incomplete)]

    return answer


def asked(prog_name: str, complete_var: str | None) -> bool:
    """Whether the shell asks for completions (click's protocol: ``_MNISTCTL_COMPLETE`` set)."""
    var = complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()
    return bool(os.environ.get(var))
