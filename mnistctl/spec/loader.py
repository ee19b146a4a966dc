"""Load, override, validate and resolve a spec into plain typed data. Never imports Keras.

``load_spec(path, overrides)`` runs every check that needs no TensorFlow: YAML, schema, graph,
shapes and data fit; it raises ``UserErrors`` with every problem found, each with its place.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnistctl.data.mnist import class_names
from mnistctl.errors import Location, PathPart, UserError, UserErrors
from mnistctl.spec import sections
from mnistctl.spec.datafit import check_data as data_errors
from mnistctl.spec.extends import Resolved, resolve_file
from mnistctl.spec.fit import data_fit, picture_shape
from mnistctl.spec.graph import analyze
from mnistctl.spec.initfrom import InitFrom, init_from
from mnistctl.spec.model import LayerSpec, ModelInfo
from mnistctl.spec.overrides import Placed, apply_overrides, override_label
from mnistctl.spec.schema_errors import schema_errors
from mnistctl.spec.search import SearchSection
from mnistctl.spec.search_checks import check_search
from mnistctl.spec.sections import CompileSection, DataSection, TrainSection
from mnistctl.spec.training_checks import Locate, check_training

if TYPE_CHECKING:
    from mnistctl.data.inputs import Target


@dataclass(frozen=True)
class Spec:
    """A resolved spec: every default filled in, every check passed."""

    name: str
    description: str
    data: DataSection
    layers: tuple[LayerSpec, ...]
    outputs: tuple[str, ...]
    compile: CompileSection
    train: TrainSection
    info: ModelInfo  # shapes and parameter counts, from the graph and shape checks
    file: str
    raw: dict[str, Any]  # the spec as written, extends resolved, overrides applied
    overrides: tuple[str, ...] = ()
    search: SearchSection | None = None  # what ``mnistctl tune`` searches; ``train`` ignores it
    init_from: InitFrom | None = None  # model.init_from: the run whose weights start the model

    @property
    def model_info(self) -> ModelInfo:
        return self.info

    def data_path(self, given: Path | None = None) -> Path | None:
        """Where the data comes from: ``given`` (--data, MNISTCTL_DATA) if any, else the spec's
        ``data.path`` (relative to the spec file), else None for the Keras download."""
        if given is not None:
            return given
        if not self.data.path:
            return None
        p = Path(self.data.path).expanduser()
        return p if p.is_absolute() else Path(self.file).parent / p

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of the classes in label order: ``data.classes`` (a run records the
        classes it was trained on there), else the named data set's (MNIST's digits)."""
        if self.data.classes is not None:
            return self.data.classes
        return class_names(self.data.dataset, self.info.classes)

    @property
    def target(self) -> Target:
        """What a picture is made into for this model: its Input's height, width and channels,
        and ``data.prepare`` (a run records it; MNIST's digit preparation when unset)."""
        from mnistctl.data.inputs import Target
        from mnistctl.data.pictures.prepare import PictureShape

        picture = picture_shape(self.info.input_shape) or (28, 28, 1)
        return Target(PictureShape(*picture), self.data.prepare or "mnist_style")

    @property
    def label_mode(self) -> str:
        return self.compile.label_mode

    def plain_dict(self) -> dict[str, Any]:
        """The spec as written, its ``extends``, ``set`` and ``edit`` resolved and the overrides
        applied, named: a plain spec that validates and trains as the file does (from the file's
        folder: relative paths stay relative to it). ``validate --resolved`` prints it."""
        out: dict[str, Any] = {"name": self.name}
        order = ("description", "data", "model", "compile", "train", "search")
        for key in sorted(self.raw, key=lambda k: order.index(k) if k in order else len(order)):
            if key != "name":
                out[key] = copy.deepcopy(self.raw[key])
        return out

    def resolved_dict(self) -> dict[str, Any]:
        """The spec with defaults filled in: what a run records as its spec.yaml."""
        out = copy.deepcopy(self.raw)
        out.pop("search", None)  # what was trained; a study's search is not part of it
        out["name"] = self.name
        out["data"] = sections.to_dict(self.data)
        out["compile"] = sections.to_dict(self.compile)
        out["train"] = sections.to_dict(self.train)
        if self.init_from is not None:  # absolute: the run's spec.yaml works from anywhere
            out["model"]["init_from"] = self.init_from.to_spec()
        return out


def _where(
    spec: Resolved, placed: Placed, path: tuple[PathPart, ...], *, key: bool = False
) -> Location:
    """Where a spec path is: the --set that set it (or a mapping above it), or its place in the
    file that wrote it (a parent's, for what the spec inherits). The last override to set a
    path or one above it wins: it replaced the earlier ones."""
    for prefix, item in reversed(placed):
        if path[: len(prefix)] == prefix:
            return Location(override_label(item), None, None, path)
    return spec.locate(path, key=key)


# --- the whole check -------------------------------------------------------------------------


def load_spec(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    check_data: bool = False,
    data: Path | None = None,
) -> Spec:
    """Every check short of TensorFlow; raises UserErrors listing every problem found.

    ``path`` may extend other specs (``extends.py``): each problem is located in the file whose
    text is wrong.

    ``check_data``: also whether the model fits local data (``data``: --data, else the spec's
    ``data.path``), counted from its files (``datafit.py``): validate, train and tune do.

    A ``search:`` section (``mnistctl tune``) is checked too: every value its distributions can
    take must leave a valid spec (``search_checks.py``)."""
    path = Path(path)
    written = resolve_file(path)  # extends, set and edit (extends.py)
    try:
        raw = copy.deepcopy(written.data)
        placed = apply_overrides(raw, overrides)
    except UserError as err:
        raise UserErrors([err], None) from None

    def locate(p: tuple[PathPart, ...], key: bool = False) -> Location:
        return _where(written, placed, p, key=key)

    spec, errors = resolve(raw, locate, path)
    search = None
    if spec is not None and isinstance(raw.get("search"), dict):
        search, errors = check_search(raw, spec, locate, lambda d, loc: resolve(d, loc, path)[1])
    if spec is not None and not errors and check_data:
        errors = data_errors(spec.data, spec.data_path(data), spec.layers, spec.info, locate)
    if errors or spec is None:
        raise UserErrors(_sorted(errors), written.source_for(errors))
    return dataclasses.replace(spec, overrides=tuple(overrides), search=search)


def resolve(
    data: dict[str, Any], locate: Locate, path: Path
) -> tuple[Spec | None, list[UserError]]:
    """The checks of one spec's data (overrides applied): schema, graph and shapes, training
    objects; the resolved spec, or every problem found. ``search:`` is checked for its form
    only (``load_spec`` checks what it searches)."""
    errors = schema_errors(data, locate)
    if errors:
        return None, errors
    layers, outputs = _resolve_layers(data["model"])
    compile_ = sections.from_dict(CompileSection, data.get("compile", {}))
    data_ = sections.from_dict(DataSection, data.get("data", {}))
    info, errors = analyze(layers, outputs, compile_.loss, locate, data_fit(data_))
    train = sections.from_dict(TrainSection, data.get("train", {}))
    errors += check_training(compile_, train, data_, locate)
    if errors or info is None:
        return None, errors
    spec = Spec(
        name=str(data.get("name") or _safe_name(path.stem)),
        description=str(data.get("description", "")),
        data=data_,
        layers=layers,
        outputs=outputs,
        compile=compile_,
        train=train,
        info=info,
        file=str(path),
        raw=data,
        init_from=init_from(data["model"].get("init_from"), path, locate(("model", "init_from"))),
    )
    return spec, []


def _sorted(errors: list[UserError]) -> list[UserError]:
    return sorted(
        errors,
        key=lambda e: (e.location.file or "", e.location.line or 0, e.location.col or 0),
    )


def _resolve_layers(model: dict[str, Any]) -> tuple[tuple[LayerSpec, ...], tuple[str, ...]]:
    """Layers with names (Keras's automatic ones where the spec gives none) and inputs (the
    previous layer where the spec names none); the outputs (the last layer by default)."""
    from mnistctl.spec.layers import STRUCTURAL_KEYS, auto_name_stem

    given = {str(layer["name"]) for layer in model["layers"] if "name" in layer}
    counters: dict[str, int] = {}
    layers: list[LayerSpec] = []
    previous: str | None = None
    for index, raw in enumerate(model["layers"]):
        name = raw.get("name")
        if name is None:
            stem = auto_name_stem(raw["type"])
            while True:
                n = counters.get(stem, 0)
                counters[stem] = n + 1
                name = stem if n == 0 else f"{stem}_{n}"
                if name not in given:
                    break
        explicit = "inputs" in raw
        inputs = tuple(raw["inputs"]) if explicit else ((previous,) if previous else ())
        if raw["type"] == "Input":
            inputs = ()
        args = {k: v for k, v in raw.items() if k not in STRUCTURAL_KEYS}
        layers.append(LayerSpec(name, raw["type"], inputs, args, index, explicit))
        previous = name
    outputs = tuple(model.get("outputs") or [layers[-1].name])
    return tuple(layers), outputs


def _safe_name(stem: str) -> str:
    """A file stem as a run name: runs/<name>/ must stay one plain folder name."""
    import re

    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem).lstrip(".-_") or "spec"
    return name[:64]
