"""The core layer types: the model's Input, Dense and Activation, with their shape rules."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import (
    ACTIVATION,
    ACTIVATIONS,
    PRECISION,
    TRAINABLE,
    WEIGHTS,
    WEIGHTS_LEFT_OUT,
    LayerType,
    int_,
)
from mnistctl.spec.layers.shapes import Args, Params, ShapeError, freeze, same_shape, shown
from mnistctl.spec.model import Shape


def input_shape(_shapes: Sequence[Shape], args: Args) -> Shape:
    return tuple(int(d) for d in args["shape"])


def dense_shape(shapes: Sequence[Shape], args: Args) -> Shape:
    (shape,) = shapes
    if not shape:
        raise ShapeError("Dense needs an input with a feature axis", "rank >= 2", shown(shape))
    return (*shape[:-1], int(args["units"]))


def dense_params(shapes: Sequence[Shape], args: Args) -> Params:
    units = int(args["units"])
    n = shapes[0][-1] * units + (units if args["use_bias"] else 0)
    return freeze(n, 0, args)


def dense_macs(shapes: Sequence[Shape], args: Args, out: Shape) -> int:
    return math.prod(out[:-1]) * shapes[0][-1] * int(args["units"])


TYPES = (
    LayerType(
        "Input",
        "The model's input: one image or vector per sample.",
        (
            Arg(
                "shape",
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 4096},
                    "minItems": 1,
                    "maxItems": 3,
                    "description": "shape of one sample: [784], [28, 28] or [28, 28, 1]",
                },
            ),
        ),
        input_shape,
        min_inputs=0,
        max_inputs=0,
        excluded={
            "batch_size": "the batch size is train.batch_size",
            "batch_shape": "the batch size is train.batch_size; the sample's is shape",
            "dtype": PRECISION,
            "sparse": "images are dense",
            "ragged": "images are dense",
            "tensor": "a spec holds no tensors",
            "optional": "the model's one input is always given",
        },
    ),
    LayerType(
        "Dense",
        "Fully connected layer: output = activation(input @ kernel + bias).",
        (Arg("units", int_(1, 65536, "number of output units")), *WEIGHTS, TRAINABLE),
        dense_shape,
        dense_params,
        macs=dense_macs,
        excluded={
            **WEIGHTS_LEFT_OUT,
            "lora_rank": "LoRA adapts a trained model; the tool trains from scratch",
            "lora_alpha": "LoRA adapts a trained model; the tool trains from scratch",
            "quantization_config": "quantization is not a training setting here",
        },
    ),
    LayerType(
        "Activation",
        "Applies an activation function.",
        (
            Arg("activation", {**ACTIVATION, "type": "string", "enum": list(ACTIVATIONS)}),
            TRAINABLE,
        ),
        same_shape,
    ),
)
