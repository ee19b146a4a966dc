"""The MNIST sample that ships inside the package (``dataset: mnist_sample``).

5,000 real MNIST training digits (500 of each class, shuffled) and the full 10,000-digit MNIST
test set, in ``mnist_sample.npz`` beside this module (Keras's ``mnist.npz`` layout, deflate
compressed); where the digits come from and their licence: ``MNIST_SAMPLE.md``. It is read
with the package's own ``.npz`` reader (never unpickles); ``datasets.load_dataset`` checks its
checksum, so a damaged install says so instead of training on other digits.
"""

from __future__ import annotations

import importlib.resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

    from mnistctl.errors import Location

__all__ = [
    "SAMPLE_DATASET",
    "SAMPLE_FILE",
    "SAMPLE_SHA256",
    "SAMPLE_SOURCE",
    "SAMPLE_TEST_SIZE",
    "SAMPLE_TRAIN_SIZE",
    "read_sample",
]

SAMPLE_DATASET = "mnist_sample"
SAMPLE_FILE = "mnist_sample.npz"
SAMPLE_SOURCE = "mnistctl.data.mnist_sample"
SAMPLE_TRAIN_SIZE = 5_000
SAMPLE_TEST_SIZE = 10_000

# Dataset.sha256 of the sample (the raw bytes of x_train, y_train, x_test, y_test), as in
# MNIST_SAMPLE.md: the same as for ../shared/data/mnist-5k-10k.npz, which it was made from.
SAMPLE_SHA256 = "8033c15f805a1da9a5cc73267e1f9a4c8d2cc8e41b30bfd0068d33e16e302672"


def read_sample() -> tuple[dict[str, npt.NDArray[Any]], Location]:
    """The sample's four arrays (unchecked) and the location of its file, for errors."""
    from mnistctl.data.npz import read_npz  # numpy: not for those who only need the sizes

    resource = importlib.resources.files(__package__ or "mnistctl.data").joinpath(SAMPLE_FILE)
    with importlib.resources.as_file(resource) as path:
        return read_npz(path)
