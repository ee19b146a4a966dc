"""How values are written for people: shapes as Python and Keras print them.

A leaf module: it imports nothing of mnistctl, so every layer (data, spec, the renderers) may
use it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_shape"]


def format_shape(shape: Sequence[int | None], *, batch: bool = False) -> str:
    """A shape as Python and Keras print it: ``(None, 26, 26, 32)``, ``(784,)``, ``()``.

    ``batch`` puts Keras's batch axis (``None``) in front of a shape that lacks it (a ``Shape``);
    a ``None`` in ``shape`` itself is printed as ``None`` too (``LayerInfo.keras_shape()``).
    """
    dims = (None, *shape) if batch else tuple(shape)
    text = ", ".join("None" if d is None else str(d) for d in dims)
    return f"({text},)" if len(dims) == 1 else f"({text})"
