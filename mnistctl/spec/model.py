"""Plain data about a model, shared by the spec checks, the builder and the renderers.

Imports nothing of mnistctl but the leaf ``formatting``, so every layer above the spec may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnistctl.formatting import format_shape

Shape = tuple[int, ...]  # never includes the batch axis

__all__ = ["LayerInfo", "LayerSpec", "ModelInfo", "Shape", "format_shape"]


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the spec states it, with its inputs resolved."""

    name: str
    type: str
    inputs: tuple[str, ...]  # resolved: the previous layer when the spec names none
    args: dict[str, Any]  # the Keras arguments the spec gives (no defaults filled in)
    index: int
    explicit_inputs: bool = False


@dataclass(frozen=True)
class LayerInfo:
    """What the shape checks found for one layer."""

    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: Shape
    trainable: int
    non_trainable: int
    macs: int = 0  # multiply-adds per sample

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def keras_shape(self) -> list[int | None]:
        """The output shape as Keras prints it: batch axis first, as None."""
        return [None, *self.output_shape]


@dataclass(frozen=True)
class ModelInfo:
    """Shapes and parameter counts of a whole model, computed without TensorFlow."""

    layers: tuple[LayerInfo, ...]
    outputs: tuple[str, ...]

    @property
    def input_shape(self) -> Shape:
        return self.layers[0].output_shape

    @property
    def classes(self) -> int:
        """The number of classes the model tells apart: its output's last axis."""
        out = next(layer for layer in self.layers if layer.name == self.outputs[0])
        return out.output_shape[-1]

    @property
    def trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def non_trainable(self) -> int:
        return sum(layer.non_trainable for layer in self.layers)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def macs(self) -> int:
        """Multiply-adds of one sample's forward pass (matrix work only)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def branches(self) -> bool:
        """True when the graph is not a simple chain (the summary then shows connections)."""
        previous = None
        for layer in self.layers:
            if previous is not None and layer.inputs != (previous,):
                return True
            previous = layer.name
        return False

    def to_json(self, name: str) -> dict[str, Any]:
        """The ``summary --json`` document (also the run's summary.json)."""
        return {
            "name": name,
            "layers": [
                {
                    "name": layer.name,
                    "type": layer.type,
                    "output_shape": layer.keras_shape(),
                    "params": layer.params,
                    "trainable_params": layer.trainable,
                    "non_trainable_params": layer.non_trainable,
                    "inputs": list(layer.inputs),
                }
                for layer in self.layers
            ],
            "outputs": list(self.outputs),
            "total_params": self.total,
            "trainable_params": self.trainable,
            "non_trainable_params": self.non_trainable,
        }
