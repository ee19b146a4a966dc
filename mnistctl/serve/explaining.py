"""Why the served model answered as it did, for the page: ``mnistctl explain``'s maps and
each layer's activations for one prepared picture (``POST /api/explain``).

The maps come from the explain engine (``ml/explain``) with its traced functions made once at
start; the activations from one compiled call of a model whose outputs are the layers the page
shows (``ml/activations.py``: every layer with a new output, a convolution shown after its
Activation layer). Both are warmed up at start, so a request costs the calls alone.

Each layer's activations travel as small grey tiles, bright = strong, on one scale per layer:
a spatial layer's ``TILES`` most active channels as ``height x width`` tiles, a vector (a
Dense layer's units) as one tile of ``columns`` per row; ``pixels`` is the tiles' bytes
(0..255, tile after tile, row by row) in base64, which the page puts on a canvas as it is.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl.errors import UserError
from mnistctl.ml import activations as inside

if TYPE_CHECKING:
    import keras

    from mnistctl.spec import Spec

METHODS = ("gradcam", "saliency", "occlusion")  # the engine's; checked against it at start
TILES = 16  # channels shown of a spatial layer
ROW = 32  # a vector of at most this many units is one row; longer ones are near-square
DIGITS = 4  # decimals of a map value in JSON


def vector_tile(units: int) -> tuple[int, int]:
    """(rows, columns) of the tile that shows a vector of ``units`` (the rest is blank)."""
    cols = units if units <= ROW else math.ceil(math.sqrt(units))
    return max(1, math.ceil(units / max(cols, 1))), max(cols, 1)


def layer_tiles(label: str, name: str, values: npt.NDArray[Any]) -> dict[str, Any]:
    """One layer's activations for one picture (no batch axis), as the page shows them."""
    arr = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    shape = [int(d) for d in arr.shape]
    lo = min(0.0, float(arr.min(initial=0.0)))
    hi = max(float(arr.max(initial=0.0)), lo)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    channels: list[int] | None
    if arr.ndim == 3:
        channels = inside.strongest(arr, TILES)
        tiles = np.moveaxis(arr[:, :, channels], 2, 0)
        tile = [shape[0], shape[1]]
    else:
        channels = None
        flat = arr.reshape(-1)
        rows, cols = vector_tile(flat.size)
        tiles = np.full(rows * cols, lo)
        tiles[: flat.size] = flat
        tiles = tiles.reshape(1, rows, cols)
        tile = [rows, cols]
    pixels = np.clip(np.rint((tiles - lo) * scale), 0, 255).astype(np.uint8)
    return {
        "name": name,
        "label": label,
        "shape": shape,
        "channels": channels,
        "tile": tile,
        "count": int(pixels.shape[0]),
        "range": [lo, hi],
        "pixels": base64.b64encode(pixels.tobytes()).decode("ascii"),
    }


class Explaining:
    """A served model's explanations (see the module). Made at start, after the model:
    ``maps(x, methods)`` and ``layers(x)`` for one prepared input (the served target's dims),
    each safe to call from several threads at once."""

    def __init__(self, model: keras.Model, spec: Spec) -> None:
        import tensorflow as tf

        from mnistctl.ml import explain

        assert set(METHODS) == set(explain.METHODS), explain.METHODS
        self._shape = tuple(int(d) for d in spec.info.input_shape)
        try:
            self.explainer: Any = explain.explainer_for(model)
            self.refused: str | None = None
        except UserError as err:  # not a softmax over classes: no maps, the layers still
            self.explainer, self.refused = None, err.one_line()
        self.shown = inside.shown_layers(spec)
        names = [name for _, name in self.shown]
        inner = inside.activation_model(model, names) if names else None

        def outputs(x: Any) -> list[Any]:
            got = inner(x, training=False) if inner is not None else []
            got = got if isinstance(got, list | tuple) else [got]
            return [tf.cast(t, tf.float32) for t in got]

        self._outputs = tf.function(
            outputs, input_signature=[tf.TensorSpec([None, *self._shape], tf.float32)]
        ).get_concrete_function()
        blank = np.zeros(self._shape, np.float32)
        for method in METHODS:  # each traced function made now, one at a time
            self.maps(blank, (method,))
        self.layers(blank)

    def maps(self, x: npt.NDArray[np.float32], methods: Sequence[str]) -> dict[str, Any]:
        """``{"maps": {method: rows or None}, "reasons": {method: why None}, "layer": ...}``:
        the maps at the Input's height and width, values >= 0, larger = more important."""
        if self.explainer is None:
            reason = self.refused or "no explanation"
            return {
                "maps": dict.fromkeys(methods),
                "reasons": dict.fromkeys(methods, reason),
                "layer": None,
            }
        (found,) = self.explainer.explain(np.asarray(x, np.float32)[None], methods)
        return {
            "maps": {
                m: None if v is None else np.round(v.astype(np.float64), DIGITS).tolist()
                for m, v in found.maps.items()
            },
            "reasons": dict(found.reasons),
            "layer": found.layer,
        }

    def layers(self, x: npt.NDArray[np.float32]) -> list[dict[str, Any]]:
        """Each shown layer's activations for ``x``, as tiles (``layer_tiles``)."""
        batch = np.asarray(x, np.float32).reshape((1, *self._shape))
        got = [np.asarray(t)[0] for t in self._outputs(batch)]
        return [
            layer_tiles(label, name, values)
            for (label, name), values in zip(self.shown, got, strict=True)
        ]
