"""A run's TensorBoard event files, written by Keras's own ``keras.callbacks.TensorBoard``.

They go to ``RUN/tensorboard/train/`` and ``RUN/tensorboard/validation/`` as Keras lays them out,
so ``tensorboard --logdir runs`` shows every run side by side. One point per finished epoch,
its step the epoch index as Keras counts it (from 0): a resumed run, which fits from
``initial_epoch``, continues the same series in new event files beside the old ones. Written:
the epoch metrics (``epoch_loss``, ``epoch_accuracy``; their validation twins under
validation/), ``epoch_learning_rate``, Keras's ``evaluation_*_vs_iterations``, the model's graph
(Keras's conceptual graph, once per run) and, when ``train.tensorboard_histograms`` is N > 0,
weight histograms every N epochs.

Nothing runs per batch: Keras's batch hooks (batch-level scalars, profiling) are taken off, so
the fit loop calls nothing per batch for this callback and the other callbacks' batch hooks
stay asynchronous. The writers are flushed after every epoch and closed however training ends
(Ctrl-C, divergence), so the event files hold every finished epoch.

Since TensorFlow 2.21 the ``tensorboard`` package is optional (``mnistctl[tensorboard]``), and
without it ``tf.summary.scalar`` and ``tf.summary.histogram`` raise. Then the scalars are
written here with ``tf.summary.write`` in the scalar plugin's format (what the package's
``scalar`` writes); the graph needs no package; histograms do, and asking for them without it is
an error before training starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from mnistctl.errors import Location, UserError
from mnistctl.spec import Spec

TENSORBOARD = "tensorboard"  # the folder inside a run
INSTALL_HINT = "pip install 'mnistctl[tensorboard]'"


def tensorboard_installed() -> bool:
    """Whether the ``tensorboard`` package (tf.summary's scalar and histogram) is there."""
    return importlib.util.find_spec("tensorboard") is not None


def check(spec: Spec) -> None:
    """Refuse what cannot be written: histograms without the ``tensorboard`` package."""
    if spec.train.tensorboard_histograms and not tensorboard_installed():
        raise UserError(
            "weight histograms need the tensorboard package, which is not installed",
            Location(spec.file, path=("train", "tensorboard_histograms")),
            expected="0 (no histograms), or the tensorboard package installed",
            received=str(spec.train.tensorboard_histograms),
            hint=INSTALL_HINT,
        )


def callback(spec: Spec, run_dir: Path, first_epoch: int) -> EpochTensorBoard:
    """The run's TensorBoard callback; the graph only in a run's first session (a resumed run
    keeps the one it wrote)."""
    check(spec)
    return EpochTensorBoard(
        run_dir / TENSORBOARD,
        histogram_freq=spec.train.tensorboard_histograms,
        write_graph=first_epoch == 0,
    )


def scalar_summary(name: str, data: Any, step: Any = None, description: str | None = None) -> Any:
    """``tf.summary.scalar`` without the tensorboard package: the same event (plugin
    ``scalars``, its metadata version 0, a float32 tensor) through ``tf.summary.write``."""
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    metadata.plugin_data.content = b""  # ScalarPluginData(version=0), serialized
    if description:
        metadata.summary_description = description
    scope = tf.summary.experimental.summary_scope
    with scope(name, "scalar_summary", values=[data, step]) as (tag, _):
        tf.debugging.assert_scalar(data)
        return tf.summary.write(
            tag=tag, tensor=tf.cast(data, tf.float32), step=step, metadata=metadata
        )


class _Summary:
    """``tf.summary`` as Keras's callback uses it (its ``summary`` attribute), except that it
    keeps the writers it opens and, without the tensorboard package, writes scalars itself."""

    def __init__(self) -> None:
        self.writers: list[Any] = []
        self.scalar = tf.summary.scalar if tensorboard_installed() else scalar_summary

    def create_file_writer(self, logdir: str, **kwargs: Any) -> Any:
        writer = tf.summary.create_file_writer(logdir, **kwargs)
        self.writers.append(writer)
        return writer

    def __getattr__(self, name: str) -> Any:
        return getattr(tf.summary, name)


class EpochTensorBoard(keras.callbacks.TensorBoard):  # type: ignore[misc]
    """Keras's TensorBoard callback at epoch granularity only: no batch hooks, no profiling,
    writers flushed every epoch and closed by ``close()``."""

    # Keras's batch hooks serve batch-level logging, the train-function graph and profiling:
    # batch logging and profiling are off, and Keras 3 on TensorFlow finds no tf.function graph
    # to write there. Without them the fit loop calls nothing per batch for this callback.
    on_train_batch_begin = keras.callbacks.Callback.on_train_batch_begin
    on_train_batch_end = keras.callbacks.Callback.on_train_batch_end
    on_test_batch_begin = keras.callbacks.Callback.on_test_batch_begin

    def __init__(self, log_dir: Path, *, histogram_freq: int, write_graph: bool) -> None:
        super().__init__(
            log_dir=str(log_dir),
            histogram_freq=histogram_freq,
            write_graph=write_graph,
            write_images=False,
            write_steps_per_second=False,
            update_freq="epoch",
            profile_batch=0,
            embeddings_freq=0,
        )
        self._summaries = _Summary()

    @property
    def summary(self) -> _Summary:
        return self._summaries

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        for writer in self._summaries.writers:
            writer.flush()

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        super().on_train_end(logs)  # closes the writers
        self._summaries.writers.clear()

    def close(self) -> None:
        """Flush and close the event files (training may have ended by an exception, when
        Keras does not close them)."""
        for writer in self._summaries.writers:
            writer.close()
        self._summaries.writers.clear()
