"""What the named data sets are: their classes (labels 0..K-1) and names, the MNIST family's
28x28 grey pictures, and the input shapes a model may take them in.

A leaf module: it imports nothing of mnistctl, so the spec checks, the Keras side and the
renderers may all use it.

The names of EMNIST's classes are its mapping files' (``emnist-<split>-mapping.txt``: a label,
then decimal character codes): the character of the first code. For ``letters`` each label
lists the capital and the small letter (``1 65 97``), so its classes are named ``A``..``Z``.
KMNIST's are the romanised readings of its ten hiragana (``kmnist_classmap.csv`` gives the
characters: お is ``o``): the same names whether or not the class map is beside the files,
and names every terminal and plot font can show.
"""

from __future__ import annotations

import string

__all__ = [
    "CLASS_NAMES",
    "FAMILY_FILES",
    "FAMILY_HINTS",
    "FAMILY_TRAIN_SIZES",
    "INPUT_SHAPES",
    "KMNIST_CLASSES",
    "KMNIST_ROMAJI",
    "NUM_CLASSES",
    "class_names",
    "known_classes",
    "numbered_classes",
]

NUM_CLASSES = 10  # MNIST and Fashion-MNIST: ten classes, labels 0..9
INPUT_SHAPES: tuple[tuple[int, ...], ...] = ((784,), (28, 28), (28, 28, 1))

FAMILY_FILES = ("kmnist", "emnist_letters", "emnist_balanced", "emnist_digits")
"""The named sets read from their official files in a local folder (``data.path``)."""

FAMILY_HINTS: dict[str, str] = {
    "kmnist": "download the four NumPy files (kmnist-train-imgs.npz, ...) from"
    " https://github.com/rois-codh/kmnist into a folder and set data.path to it",
    **dict.fromkeys(
        FAMILY_FILES[1:],
        "download gzip.zip from https://www.nist.gov/itl/products-and-services/emnist-dataset,"
        " unzip it and set data.path to the folder",
    ),
}
"""Where to get the files of each of FAMILY_FILES, for the error that they are missing."""

FAMILY_TRAIN_SIZES: dict[str, int] = {
    "kmnist": 60_000,
    "emnist_letters": 124_800,
    "emnist_balanced": 112_800,
    "emnist_digits": 240_000,
}
"""Training pictures in the official files of FAMILY_FILES."""

KMNIST_ROMAJI: dict[int, str] = {
    0x304A: "o",
    0x304D: "ki",
    0x3059: "su",
    0x3064: "tsu",
    0x306A: "na",
    0x306F: "ha",
    0x307E: "ma",
    0x3084: "ya",
    0x308C: "re",
    0x3092: "wo",
}
"""KMNIST's hiragana (code points, as ``kmnist_classmap.csv`` gives them), romanised."""

KMNIST_CLASSES = tuple(KMNIST_ROMAJI.values())

_DIGITS = tuple(string.digits)

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": _DIGITS,
    "mnist_sample": _DIGITS,
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
    "kmnist": KMNIST_CLASSES,
    "emnist_letters": tuple(string.ascii_uppercase),
    "emnist_balanced": (*_DIGITS, *string.ascii_uppercase, *"abdefghnqrt"),
    "emnist_digits": _DIGITS,
}
"""The classes of the named data sets, in label order."""


def class_names(dataset: str, count: int | None = None) -> tuple[str, ...]:
    """The names of the classes of a named data set (digits for MNIST and unknown sets); with
    ``count``, of that many classes: the set's own names when it has that many, else
    ``"0"``..``"count-1"``."""
    names = CLASS_NAMES.get(dataset, CLASS_NAMES["mnist"])
    if count is None or count == len(names):
        return names
    return numbered_classes(count)


def known_classes(dataset: str) -> int | None:
    """How many classes a named data set has; None for a name this module does not know."""
    names = CLASS_NAMES.get(dataset)
    return None if names is None else len(names)


def numbered_classes(k: int) -> tuple[str, ...]:
    """The names of ``k`` classes known only by number: ``"0"``..``"k-1"``."""
    return tuple(str(i) for i in range(k))
