"""The input pipeline: every sample once per epoch, scaled right, the same order on resume."""

from __future__ import annotations

import numpy as np
import pytest

from mnistctl.data.datasets import aligned
from mnistctl.ml import pipeline


def _data(n: int, *, offset: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    if offset:  # not 64-byte aligned: the pipeline copies instead of using it in place
        raw = np.empty(x.nbytes + 1, dtype=np.uint8)
        x2 = raw[1:].reshape(x.shape)
        x2[...] = x
        return x2, y
    return aligned(x), y


@pytest.mark.parametrize("offset", [False, True])
def test_an_epoch_has_every_sample_once_scaled(offset: bool) -> None:
    x, _ = _data(300, offset=offset)
    ds = pipeline.train_dataset(
        x, np.arange(300, dtype=np.int64), batch_size=64, input_shape=(28, 28, 1),
        one_hot=False, classes=10, shuffle=True, seed=3, first_epoch=0, epochs=1,
    )  # fmt: skip
    seen = []
    for images, labels in ds:
        assert images.dtype.name == "float32"
        idx = labels.numpy()
        np.testing.assert_allclose(images.numpy()[..., 0], x[idx] / 255.0, rtol=1e-6)
        seen.extend(idx.tolist())
    assert sorted(seen) == list(range(300))
    assert seen != list(range(300))  # shuffled


def test_the_order_of_an_epoch_does_not_depend_on_where_training_started() -> None:
    x, _ = _data(200, offset=False)
    ids = np.arange(200, dtype=np.int64)

    def order(first: int, epochs: int) -> list[list[int]]:
        ds = pipeline.train_dataset(
            x, ids, batch_size=50, input_shape=(784,), one_hot=False, classes=10, shuffle=True,
            seed=7, first_epoch=first, epochs=epochs,
        )  # fmt: skip
        labels = [int(v) for _, batch in ds for v in batch.numpy()]
        return [labels[i : i + 200] for i in range(0, len(labels), 200)]

    whole = order(0, 3)
    assert order(2, 3) == whole[2:]  # a run resumed at epoch 3 sees epoch 3's order
    assert whole[0] != whole[1]


def test_one_hot_labels_and_split() -> None:
    x, y = _data(100, offset=False)
    parts = pipeline.split(x, y, train_samples=80, validation_split=0.25, seed=0)
    assert parts.x_val is not None and parts.y_val is not None
    assert len(parts.x_train) == 60 and len(parts.x_val) == 20
    assert parts.x_train.ctypes.data % 64 == 0
    images, labels = next(iter(pipeline.eval_dataset(
        parts.x_val, parts.y_val, batch_size=32, input_shape=(784,), one_hot=True,
        classes=10)))  # fmt: skip
    assert images.shape == (20, 784) and labels.shape == (20, 10)
    np.testing.assert_array_equal(labels.numpy().argmax(axis=1), parts.y_val)
