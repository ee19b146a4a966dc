"""Plain data about a model, shared by the spec checks, the builder and the renderers.

A leaf module: it imports nothing of mnistctl, so every other module may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]  # never includes the batch axis

NUM_CLASSES = 10  # MNIST and Fashion-MNIST: ten classes, labels 0..9
INPUT_SHAPES: tuple[Shape, ...] = ((784,), (28, 28), (28, 28, 1))

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(i) for i in range(NUM_CLASSES)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}


def format_shape(shape: Sequence[int | None], *, batch: bool = False) -> str:
    """A shape as Python and Keras print it: ``(None, 26, 26, 32)``, ``(784,)``, ``()``.

    ``batch`` puts Keras's batch axis (``None``) in front of a shape that lacks it (a ``Shape``);
    a ``None`` in ``shape`` itself is printed as ``None`` too (``LayerInfo.keras_shape()``).
    """
    dims = (None, *shape) if batch else tuple(shape)
    text = ", ".join("None" if d is None else str(d) for d in dims)
    return f"({text},)" if len(dims) == 1 else f"({text})"


def class_names(dataset: str) -> tuple[str, ...]:
    """The names of the ten classes of a data set (digits for MNIST and unknown sets)."""
    return CLASS_NAMES.get(dataset, CLASS_NAMES["mnist"])


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
