"""The regularization layer types, active only while training: Dropout, SpatialDropout2D (whole
channels) and GaussianNoise, with their shape rules (the input's shape)."""

from __future__ import annotations

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import (
    IMAGE_LEFT_OUT,
    PRECISION,
    SEED,
    TRAINABLE,
    LayerType,
)
from mnistctl.spec.layers.shapes import image_shape, same_shape

_CHANNELS_RATE = {
    "type": "number",
    "minimum": 0,
    "exclusiveMaximum": 1,
    "description": "fraction of channels to drop, 0 <= rate < 1",
}


TYPES = (
    LayerType(
        "Dropout",
        "Sets a fraction of inputs to 0 during training only.",
        (
            Arg(
                "rate",
                {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": 1,
                    "description": "fraction of inputs to drop, 0 <= rate < 1",
                },
            ),
            Arg("seed", {**SEED, "description": "seed of the dropout mask"}, None),
            TRAINABLE,
        ),
        same_shape,
        excluded={"noise_shape": "SpatialDropout2D drops whole channels, the usual shared mask"},
    ),
    LayerType(
        "SpatialDropout2D",
        "Drops whole channels (feature maps) during training only.",
        (Arg("rate", _CHANNELS_RATE), Arg("seed", SEED, None)),  # Keras takes no trainable here
        image_shape("SpatialDropout2D"),
        excluded={**IMAGE_LEFT_OUT, "dtype": PRECISION},
    ),
    LayerType(
        "GaussianNoise",
        "Adds zero-mean Gaussian noise during training only.",
        (
            Arg(
                "stddev",
                {"type": "number", "minimum": 0, "maximum": 1, "description": "standard deviation"},
            ),
            Arg("seed", SEED, None),
            TRAINABLE,
        ),
        same_shape,
    ),
)
