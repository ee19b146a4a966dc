"""The image augmentation layer types, active only while training (the identity at inference):
RandomRotation, RandomTranslation and RandomZoom, with their shape rule.

Besides the shape (the input's, an image), the rule checks what the JSON Schema cannot say:
that a factor's ``[lower, upper]`` pair is in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistctl.spec.args import Arg
from mnistctl.spec.layers.layertype import IMAGE_LEFT_OUT, SEED, TRAINABLE, LayerType
from mnistctl.spec.layers.shapes import Args, ShapeError, ShapeRule, image_shape
from mnistctl.spec.model import Shape

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def factor(doc: str, *, open_lo: bool = False) -> dict[str, Any]:
    """An augmentation factor: a number in [-1, 1] (or (-1, 1]), or a [lower, upper] pair of
    them; that lower <= upper is the shape rule's check (``augmentation_shape``)."""
    lo = {"exclusiveMinimum" if open_lo else "minimum": -1}
    return {
        "type": ["number", "array"],
        **lo,
        "maximum": 1,
        "items": {"type": "number", **lo, "maximum": 1},
        "minItems": 2,
        "maxItems": 2,
        "description": doc,
    }


_AUGMENT_ARGS = (
    Arg(
        "fill_mode",
        {
            "type": "string",
            "enum": list(FILL_MODES),
            "description": "how pixels from outside the image are filled",
        },
        "reflect",
    ),
    Arg(
        "interpolation",
        {"type": "string", "enum": list(INTERPOLATIONS), "description": "how pixels are sampled"},
        "bilinear",
    ),
    Arg("seed", SEED, None),
    Arg(
        "fill_value",
        {"type": "number", "description": "the pixel value outside the image (fill_mode constant)"},
        0.0,
    ),
    TRAINABLE,
)
_ONLY_TRAINING = " Active only while training: the identity at inference."
_SHIFT = "fraction of the image {} to shift by, ±f or [lower, upper] in [-1, 1]"
_ZOOM = (
    "fraction of the image {} to zoom by (positive: out, negative: in), ±f or [lower, upper] "
    "in (-1, 1]"
)


def _factor_in_order(args: Args, name: str) -> None:
    value = args.get(name)
    if isinstance(value, list | tuple) and value[0] > value[1]:
        lower, upper = value
        raise ShapeError(
            f"{name} is a [lower, upper] pair: lower must not exceed upper",
            expected=f"lower <= upper, e.g. [{upper}, {lower}]",
            received=f"{name}={list(value)}",
            arg=name,
        )


def augmentation_shape(what: str, *factors: str) -> ShapeRule:
    """An image augmentation layer: its factors in order, an image input (rows, cols,
    channels), the same shape out."""

    image = image_shape(what)

    def rule(shapes: Sequence[Shape], args: Args) -> Shape:
        for name in factors:
            _factor_in_order(args, name)
        return image(shapes, args)

    return rule


TYPES = (
    LayerType(
        "RandomRotation",
        "Rotates each image by a random angle." + _ONLY_TRAINING,
        (
            Arg("factor", factor("fraction of a full turn, ±f or [lower, upper] in [-1, 1]")),
            *_AUGMENT_ARGS,
        ),
        augmentation_shape("RandomRotation", "factor"),
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "RandomTranslation",
        "Shifts each image by a random offset." + _ONLY_TRAINING,
        (
            Arg("height_factor", factor(_SHIFT.format("height"))),
            Arg("width_factor", factor(_SHIFT.format("width"))),
            *_AUGMENT_ARGS,
        ),
        augmentation_shape("RandomTranslation", "height_factor", "width_factor"),
        excluded=IMAGE_LEFT_OUT,
    ),
    LayerType(
        "RandomZoom",
        "Zooms each image in or out by a random amount." + _ONLY_TRAINING,
        (
            Arg("height_factor", factor(_ZOOM.format("height"), open_lo=True)),
            Arg(
                "width_factor",
                {
                    **factor(_ZOOM.format("width") + " (null: as height)", open_lo=True),
                    "type": ["number", "array", "null"],
                },
                None,
            ),
            *_AUGMENT_ARGS,
        ),
        augmentation_shape("RandomZoom", "height_factor", "width_factor"),
        excluded=IMAGE_LEFT_OUT,
    ),
)
