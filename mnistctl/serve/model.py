"""The served model: a run's checked model behind one compiled inference function, and what
``/api/info`` says about it.

The model is called as ``model(x, training=False)`` (augmentation and dropout layers are the
identity then) inside a ``tf.function`` with a fixed input signature whose batch axis is free,
traced and warmed up once at start for a single picture and for a full batch, so that a request
costs one graph call and not ``model.predict``'s set-up (tens of milliseconds per call). The
server's TensorFlow runs each call on the calling thread (``one_thread_per_call``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mnistctl import jsondata
from mnistctl.data.inputs import MNIST_TARGET, Target
from mnistctl.serve.batcher import MAX_BATCH

if TYPE_CHECKING:
    from mnistctl.commands.common import OpenRun
    from mnistctl.runs.layout import Checkpoint
    from mnistctl.serve.explaining import Explaining

Rows = npt.NDArray[np.float64]

SERVE_OP_THREADS = 1
"""TensorFlow threads per model call in the server (see ``one_thread_per_call``)."""


@dataclass(frozen=True)
class ServeInfo:
    """What the page shows about the model, and ``/api/info`` answers."""

    name: str
    run_dir: Path
    test_accuracy: float | None  # of the served checkpoint, when the run recorded it
    total_params: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    checkpoint: Checkpoint
    target: Target = MNIST_TARGET  # what a picture is made into: the Input's, data.prepare's

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = jsondata.plain(
            {
                "name": self.name,
                "run_dir": str(self.run_dir),
                "test_accuracy": self.test_accuracy,
                "total_params": self.total_params,
                "input_shape": list(self.input_shape),
                "class_names": list(self.class_names),
                "prepare": self.target.mode,
                "checkpoint": self.checkpoint.to_json(),
            }
        )
        return doc


@dataclass(frozen=True)
class ServedModel:
    """``model(inputs)``: (n, *target dims) float32 pictures in 0..1 -> (n, classes), in
    one call of the compiled function; ``explaining``: why, for ``/api/explain``."""

    info: ServeInfo
    infer: Callable[[npt.NDArray[np.float32]], Rows]
    explaining: Explaining | None = None

    def __call__(self, digits: npt.NDArray[np.float32]) -> Rows:
        return self.infer(digits)


def load_served(
    opened: OpenRun, *, warm_batch: int = MAX_BATCH, explaining: bool = True
) -> ServedModel:
    """The run's model (loaded safely and checked against its spec), compiled and warmed up;
    with ``explaining``, its explanations too (``explaining.py``), made and warmed up."""
    import tensorflow as tf

    from mnistctl.serve.explaining import Explaining

    one_thread_per_call(tf)
    model = opened.load_model()
    shape = tuple(int(d) for d in opened.spec.info.input_shape)

    def call(x: Any) -> Any:
        return tf.cast(model(x, training=False), tf.float32)

    # The concrete function itself: calling it skips tf.function's dispatch on its arguments
    # (the caller's CPU, holding the interpreter lock, on every call).
    graph = tf.function(
        call, input_signature=[tf.TensorSpec([None, *shape], tf.float32)]
    ).get_concrete_function()

    def infer(digits: npt.NDArray[np.float32]) -> Rows:
        batch = np.ascontiguousarray(digits, dtype=np.float32).reshape((len(digits), *shape))
        return np.asarray(graph(batch), dtype=np.float64)

    target = opened.spec.target
    for n in (1, warm_batch):  # trace once, and let the kernels settle at both sizes
        infer(np.zeros((n, *target.dims), np.float32))
    info = ServeInfo(
        name=opened.spec.name,
        run_dir=opened.run_dir,
        test_accuracy=served_test_accuracy(opened),
        total_params=int(model.count_params()),
        input_shape=shape,
        class_names=opened.spec.class_names,
        checkpoint=opened.checkpoint,
        target=target,
    )
    return ServedModel(info, infer, Explaining(model, opened.spec) if explaining else None)


def one_thread_per_call(tf: Any) -> bool:
    """Run each model call on the calling thread alone (TensorFlow's intra- and inter-op
    pools of one thread), if TensorFlow has not started yet in this process (it has in a
    notebook or a test that trained first: then False, and nothing changes).

    This serves more requests per second at every concurrency measured: the parallelism
    that pays is between requests (the server's process, its preparation workers, the
    client), and TensorFlow's own pools only spin and hand work between threads around a
    small model's calls (``bench/serve_load.py``; docs/serving.md, "Under load")."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(SERVE_OP_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(SERVE_OP_THREADS)
    except RuntimeError:  # "cannot be modified after initialization"
        return False
    return True


def served_test_accuracy(opened: OpenRun) -> float | None:
    """The served checkpoint's test accuracy: the run record's for the model the run ends with,
    else its saved evaluation (``evaluation-best.json``, ...) if ``mnistctl evaluate`` made one."""
    if opened.checkpoint.default:
        test = opened.record.get("test")
        value = test.get("accuracy") if isinstance(test, dict) else None
    else:
        try:
            path = opened.checkpoint.evaluation_path(opened.run_dir)
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = saved.get("accuracy") if isinstance(saved, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None
