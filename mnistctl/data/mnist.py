"""What the MNIST family's data is: ten classes (labels 0..9) and their names, 28x28 grey
pictures, and the input shapes a model may take them in.

A leaf module: it imports nothing of mnistctl, so the spec checks, the Keras side and the
renderers may all use it.
"""

from __future__ import annotations

__all__ = ["CLASS_NAMES", "INPUT_SHAPES", "NUM_CLASSES", "class_names"]

NUM_CLASSES = 10  # MNIST and Fashion-MNIST: ten classes, labels 0..9
INPUT_SHAPES: tuple[tuple[int, ...], ...] = ((784,), (28, 28), (28, 28, 1))

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


def class_names(dataset: str) -> tuple[str, ...]:
    """The names of the ten classes of a data set (digits for MNIST and unknown sets)."""
    return CLASS_NAMES.get(dataset, CLASS_NAMES["mnist"])
