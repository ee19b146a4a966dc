"""A spec's data as the data layer reads it (no TensorFlow: ``mnistctl data`` uses it too)."""

from __future__ import annotations

from pathlib import Path

from mnistctl.data.datasets import DataOptions, Dataset, load_dataset
from mnistctl.data.pictures.prepare import PictureShape
from mnistctl.spec import Spec
from mnistctl.spec.fit import picture_shape

__all__ = ["data_options", "load_spec_data"]


def data_options(spec: Spec) -> DataOptions:
    """How the spec's data is read: its classes, test split and preparation, the pictures
    made to its Input's height, width and channels."""
    picture = picture_shape(spec.info.input_shape)
    return DataOptions(
        classes=spec.data.classes,
        test_split=spec.data.test_split,
        prepare=spec.data.prepare,
        shape=PictureShape(*picture) if picture is not None else None,
        seed=spec.train.seed,
    )


def load_spec_data(spec: Spec, given: Path | None) -> Dataset:
    """The spec's data (``given``: --data, else its ``data.path``, else its data set by
    name), read as ``data_options`` says."""
    return load_dataset(spec.data.dataset, spec.data_path(given), data_options(spec))
