"""The JSON Schema of a spec, generated from the layer and option tables.

``schemas/spec.schema.json`` is this output (``file_schema()``), committed for editors and shipped
in the wheel; a test checks the file equals it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from mnistctl.spec.args import Arg
from mnistctl.spec.extends_schema import directive_schemas, edit_defs
from mnistctl.spec.layers import LAYER_TYPES, LayerType
from mnistctl.spec.objects import FAMILIES, Family
from mnistctl.spec.options import (
    DATASETS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    PRECISIONS,
    PREPARE_MODES,
)
from mnistctl.spec.search import search_schema
from mnistctl.spec.sections import default

SCHEMA_ID = "https://github.com/mnistctl/mnistctl/schemas/spec.schema.json"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
LAYER_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$"


def _layer_def(t: LayerType) -> dict[str, Any]:
    props: dict[str, Any] = {
        "type": {"const": t.name},
        "name": {"$ref": "#/$defs/layer_name"},
    }
    if t.max_inputs != 0:
        inputs: dict[str, Any] = {
            "type": "array",
            "items": {"$ref": "#/$defs/layer_name"},
            "minItems": 1,
            "description": "names of the layers feeding this one (default: the previous layer)",
        }
        if t.max_inputs is not None:
            inputs["maxItems"] = t.max_inputs
        props["inputs"] = inputs
    return _typed_def(t.doc, props, t.args)


def _typed_def(doc: str, props: dict[str, Any], args: tuple[Arg, ...]) -> dict[str, Any]:
    """One ``{type: ..., ...}`` of a table (a layer, a schedule, ...): ``props`` and its
    arguments, nothing else; ``type`` and the arguments without a default are required."""
    return {
        "type": "object",
        "description": doc,
        "properties": {**props, **_arg_props(args)},
        "required": ["type", *(a.name for a in args if a.required)],
        "additionalProperties": False,
    }


def _arg_props(args: tuple[Arg, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for arg in args:
        fragment = {k: v for k, v in arg.schema.items() if v != ""}
        if not arg.required and arg.default is not None:
            default = arg.default
            fragment["default"] = list(default) if isinstance(default, tuple) else default
        props[arg.name] = fragment
    return props


def _family_defs(family: Family) -> dict[str, Any]:
    """``{type: KerasClassName, ...}``: the type picks the arguments, as for layers."""
    names = list(family.types)
    return {
        family.key: {
            "type": "object",
            "required": ["type"],
            "description": f"a Keras {family.noun}: {{type: one of {', '.join(names)}, ...}}",
            "properties": {"type": {"enum": names, "description": f"the {family.noun}'s class"}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                    "then": {"$ref": f"#/$defs/{family.key}.{name}"},
                }
                for name in names
            ],
        },
        **{
            f"{family.key}.{name}": _typed_def(t.doc, {"type": {"const": t.name}}, t.args)
            for name, t in family.types.items()
        },
    }


def _optimizer_schema() -> dict[str, Any]:
    names = list(OPTIMIZERS)
    branches = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "properties": {"type": {"const": name}, **args},
                "additionalProperties": False,
            },
        }
        for name, (_cls, args) in OPTIMIZERS.items()
    ]
    return {
        "description": "an optimizer name, or {type: name, learning_rate: ..., ...}",
        "if": {"type": "string"},
        "then": {"enum": names},
        "else": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": names}},
            "allOf": branches,
        },
        "default": default("compile", "optimizer"),
    }


def _section(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _data_schema() -> dict[str, Any]:
    return _section(
        {
            "dataset": {"enum": list(DATASETS), "default": default("data", "dataset")},
            "path": {
                "type": ["string", "null"],
                "minLength": 1,
                "description": (
                    "local data, relative to this file: a folder of class folders (train/<class>/,"
                    " test/<class>/), a CSV (image, label[, split]), a .npz or a folder of IDX"
                    " files; for kmnist and emnist_*, the folder of their official files"
                ),
            },
            "classes": {
                "type": ["array", "null"],
                "items": {"type": "string", "minLength": 1, "maxLength": 100},
                "minItems": 2,
                "maxItems": 1000,
                "uniqueItems": True,
                "description": "class names in label order (default: from the data)",
            },
            "test_split": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "test fraction held out (seeded) when the data has no test part",
            },
            "prepare": {
                "enum": [*PREPARE_MODES, None],
                "description": (
                    "how a picture becomes the Input's array: resize (aspect kept) or"
                    " mnist_style (ink cropped, centred, white on black); default: mnist_style"
                    " for the MNIST family's arrays, resize for folders and CSVs"
                ),
            },
            "train_samples": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": 100_000_000,
                "description": "use only the first N training samples",
            },
            "validation_split": {
                "type": "number",
                "minimum": 0,
                "exclusiveMaximum": 1,
                "default": default("data", "validation_split"),
            },
        }
    )


def _model_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["layers"],
        "properties": {
            "layers": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {"$ref": "#/$defs/layer"},
            },
            "outputs": {
                "type": "array",
                "items": {"$ref": "#/$defs/layer_name"},
                "minItems": 1,
                "maxItems": 1,
                "description": "the output layer (default: the last layer)",
            },
            "init_from": _init_from_schema(),
        },
    }


def _init_from_schema() -> dict[str, Any]:
    run = {
        "type": "string",
        "minLength": 1,
        "maxLength": 4096,
        "description": (
            "a run directory, or a spec file meaning its latest run (relative to this file)"
        ),
    }
    return {
        "type": ["string", "object", "null"],
        "description": (
            "fine-tuning: a run whose weights start this model, copied into every layer of the "
            "same name and weight shapes (the others start fresh); RUN or {run: RUN, "
            "checkpoint: best|last}"
        ),
        "if": {"type": "object"},
        "then": {
            "required": ["run"],
            "additionalProperties": False,
            "properties": {
                "run": run,
                "checkpoint": {
                    "enum": ["best", "last", None],
                    "description": (
                        "best (best.keras) or last (model.keras); default: the model the run "
                        "ends with"
                    ),
                },
            },
        },
        "else": {k: v for k, v in run.items() if k != "type"},
        "default": None,
    }


def _compile_schema() -> dict[str, Any]:
    return _section(
        {
            "loss": {"enum": list(LOSSES), "default": default("compile", "loss")},
            "optimizer": _optimizer_schema(),
            "metrics": {
                "type": "array",
                "items": {"enum": list(METRICS)},
                "uniqueItems": True,
                "default": default("compile", "metrics"),
            },
        }
    )


def _train_int(key: str, lo: int, hi: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi, "default": default("train", key)}


def _train_schema() -> dict[str, Any]:
    return _section(
        {
            "batch_size": _train_int("batch_size", 1, 65536),
            "epochs": _train_int("epochs", 1, 10000),
            "seed": _train_int("seed", 0, 2**31 - 1),
            "precision": {
                "enum": list(PRECISIONS),
                "default": default("train", "precision"),
                "description": "auto: the fastest numerics this machine runs well",
            },
            "shuffle": {"type": "boolean", "default": default("train", "shuffle")},
            "callbacks": {
                "type": "array",
                "items": {"$ref": "#/$defs/callback"},
                "maxItems": 16,
                "default": default("train", "callbacks"),
                "description": "Keras callbacks: EarlyStopping, ReduceLROnPlateau",
            },
            "tensorboard_histograms": {
                **_train_int("tensorboard_histograms", 0, 10000),
                "description": (
                    "weight histograms in the run's TensorBoard files every N epochs "
                    "(Keras's histogram_freq; needs the tensorboard package); 0: none"
                ),
            },
        }
    )


def _defs() -> dict[str, Any]:
    layer_names = list(LAYER_TYPES)
    return {
        "layer_name": {"type": "string", "pattern": LAYER_NAME_PATTERN},
        "layer": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": layer_names, "description": "the layer's class"}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                    "then": {"$ref": f"#/$defs/{name}"},
                }
                for name in layer_names
            ],
        },
        **{name: _layer_def(t) for name, t in LAYER_TYPES.items()},
        **{k: v for family in FAMILIES.values() for k, v in _family_defs(family).items()},
    }


@cache
def build_schema() -> dict[str, Any]:
    """The schema every spec is checked against (``schema_errors.py``), its ``extends``
    resolved; ``file_schema()`` is the one editors get."""
    sections = {
        "data": _data_schema(),
        "model": _model_schema(),
        "compile": _compile_schema(),
        "train": _train_schema(),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "mnistctl spec",
        "description": (
            "One experiment: data, a Keras functional model, compile and train settings."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["model"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": NAME_PATTERN,
                "description": (
                    "the experiment's name (default: the file's stem); names runs/<name>/"
                ),
            },
            "description": {"type": "string", "maxLength": 4000},
            **sections,
            "search": search_schema(),
            **directive_schemas(sections),  # extends, set, edit
        },
        "$defs": {**_defs(), **edit_defs()},
    }


@cache
def file_schema() -> dict[str, Any]:
    """The schema of a spec file, for editors: ``build_schema()`` (what every spec is checked
    against once its ``extends`` is resolved), where a file with ``extends:`` needs no ``model``
    (nor ``model.layers``): its parent has them."""
    out = copy.deepcopy(build_schema())
    required = out.pop("required")
    model = out["properties"]["model"]
    out["if"] = {"required": ["extends"]}
    out["else"] = {
        "required": required,
        "properties": {"model": {"required": model.pop("required")}},
    }
    return out


def schema_text() -> str:
    return json.dumps(file_schema(), indent=2) + "\n"
