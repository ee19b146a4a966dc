"""From a loaded data set to what Keras trains on.

Images stay uint8 in memory (the loaded array and one tensor made from it) and are gathered,
scaled to [0, 1] and reshaped per batch, so memory grows by about twice the raw uint8 data, not
the four-plus times of a float32 copy.
Each epoch's order is a stateless shuffle seeded by (seed, epoch): the same on a resumed run as
on an uninterrupted one. The tf.data functions have no Python control flow on tensors, so they
skip AutoGraph's source conversion (time at every command's start: docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None


def split(
    x: np.ndarray,
    y: np.ndarray,
    *,
    train_samples: int | None,
    validation_split: float,
    seed: int,
    by_class: bool = False,
) -> Split:
    """The first ``train_samples``, shuffled with ``seed``, the last part held out.

    ``by_class``: the data is stored class by class (picture folders), so its first N would
    be its first classes only: the N are taken in turn from each class instead (each class's
    first picture, then each one's second, ...), in the stored order."""
    if train_samples is not None and by_class and train_samples < len(x):
        pick = np.sort(_in_turn(y)[:train_samples])
        x, y = _take(x, pick), y[pick]
    elif train_samples is not None:
        x, y = x[:train_samples], y[:train_samples]
    if validation_split <= 0:
        return Split(x, y, None, None)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(len(x) * validation_split)
    n_val = min(max(n_val, 1), len(x) - 1)
    train_idx, val_idx = np.sort(order[:-n_val]), np.sort(order[-n_val:])
    return Split(_take(x, train_idx), y[train_idx], _take(x, val_idx), y[val_idx])


def _in_turn(y: np.ndarray) -> np.ndarray:
    """The positions ordered by their rank within their class, then by position: each class's
    first, then each class's second, ..."""
    order = np.argsort(y, kind="stable")
    rank = np.empty(len(y), np.int64)
    counts = np.bincount(y.astype(np.int64))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(len(y)) - np.repeat(starts, counts)
    return np.lexsort((np.arange(len(y)), rank))


def _take(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``x[index]`` into an aligned buffer, so that TensorFlow can use it in place."""
    from mnistctl.data.datasets import aligned_empty

    shape = (len(index), *x.shape[1:])
    out = aligned_empty(int(np.prod(shape)) * x.itemsize).view(x.dtype).reshape(shape)
    np.take(x, index, axis=0, out=out)
    return out


def _prep(input_shape: Sequence[int], one_hot: bool, classes: int) -> Any:
    import tensorflow as tf

    shape = [-1, *input_shape]

    def prep(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images = tf.reshape(tf.cast(images, tf.float32) * (1.0 / 255.0), shape)
        if one_hot:
            return images, tf.one_hot(tf.cast(labels, tf.int32), classes)
        return images, tf.cast(labels, tf.int32)

    return tf.autograph.experimental.do_not_convert(prep)


def _gathering(images: tf.Tensor, labels: tf.Tensor, prep: Any) -> Any:
    """The map from a batch's indices to its prepared images and labels."""
    import tensorflow as tf

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return prep(tf.gather(images, idx), tf.gather(labels, idx))  # type: ignore[no-any-return]

    return tf.autograph.experimental.do_not_convert(gather)


def _tensor(x: np.ndarray) -> tf.Tensor:
    """The array as a tensor: in place (DLPack, no copy) when it is contiguous and aligned as
    TensorFlow needs (data.py loads images so), else a copy. A tensor captured by a tf.data
    function is not copied again; the DLPack capsule keeps the array alive."""
    import tensorflow as tf

    from mnistctl.data.datasets import ALIGNMENT

    if x.size and x.flags.c_contiguous and x.flags.writeable and x.ctypes.data % ALIGNMENT == 0:
        return tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    return tf.constant(x)


def _batch_indices(n: int, batch_size: int, order: tf.Tensor) -> tf.data.Dataset:
    import tensorflow as tf

    full = n // batch_size
    ds = tf.data.Dataset.from_tensor_slices(
        tf.reshape(order[: full * batch_size], [full, batch_size])
    )
    if n % batch_size:
        ds = ds.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size :]))
    return ds


def _finish(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Prefetch, and no default graph rewrites: they copy the captured image tensor once more
    (measured: +1 copy of the raw data) and gain nothing for a gather-and-scale map. The map runs
    serially in the prefetch thread: on 2 cores a parallel map competes with training."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.deterministic = True
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def steps(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    input_shape: Sequence[int],
    one_hot: bool,
    classes: int,
    shuffle: bool,
    seed: int,
    first_epoch: int,
    epochs: int,
) -> tf.data.Dataset:
    """Batches for epochs ``first_epoch`` .. ``epochs - 1`` back to back; fit it with
    ``steps_per_epoch=steps(len(x), batch_size)``."""
    import tensorflow as tf

    n = len(x)
    images, labels = _tensor(x), tf.constant(y)
    prep = _prep(input_shape, one_hot, classes)

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(n, dtype=tf.int32)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return _batch_indices(n, batch_size, order)

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(
        tf.autograph.experimental.do_not_convert(epoch_batches)
    )
    return _finish(ds.map(_gathering(images, labels, prep)))


def eval_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    input_shape: Sequence[int],
    one_hot: bool,
    classes: int,
) -> tf.data.Dataset:
    """Fixed-order batches, for validation, evaluation and prediction."""
    import tensorflow as tf

    images, labels = _tensor(x), tf.constant(y)
    prep = _prep(input_shape, one_hot, classes)
    ds = _batch_indices(len(x), batch_size, tf.range(len(x), dtype=tf.int32))
    return _finish(ds.map(_gathering(images, labels, prep)))
