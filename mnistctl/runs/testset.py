"""A run's test-set predictions, kept as ``test_predictions.npz`` so that a report can show
the confusion matrix, the per-class table and each confusion cell's pictures from the run's
files alone (no model, no TensorFlow, no data set).

Written when a run ends (``commands/train.py``) and by ``mnistctl evaluate`` for runs that
lack it (older runs), through ``atomic.py``, and recorded like the run's other files (its
checksum in the record). Arrays, all plain (read with ``allow_pickle=False``):

- ``labels``, ``predicted`` (``int16``, one per test picture) and ``confidence`` (``float32``:
  the model's probability of the predicted class);
- ``cell_offsets`` (``int32``, classes² + 1) and ``cell_indices`` (``int32``, one per test
  picture): the test pictures of cell (true ``t``, predicted ``p``) are
  ``cell_indices[cell_offsets[k]:cell_offsets[k + 1]]`` with ``k = t * classes + p``, the most
  confident first (in a cell off the diagonal: the most confident mistakes first);
- ``pictures`` (``uint8``, ``(M, H, W)`` grey or ``(M, H, W, 3)`` RGB, as the data set holds
  them: white ink on black for MNIST) and ``picture_offsets``: the first ``PER_CELL`` pictures
  of each cell, in the same order;
- ``format`` (1), ``data_sha256`` (the data set the predictions are of).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError
from mnistctl.runs.atomic import write_with
from mnistctl.runs.record import RunRecord

TEST_PREDICTIONS = "test_predictions.npz"
FORMAT = 1
PER_CELL = 16  # pictures kept per confusion cell
MAX_BYTES = 256 << 20  # larger than this: not a file mnistctl wrote

IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class TestPredictions:
    labels: npt.NDArray[np.int16]
    predicted: npt.NDArray[np.int16]
    confidence: npt.NDArray[np.float32]
    cell_offsets: IntArray
    cell_indices: IntArray
    pictures: npt.NDArray[np.uint8]
    picture_offsets: IntArray
    data_sha256: str

    @property
    def classes(self) -> int:
        return math.isqrt(len(self.cell_offsets) - 1)

    def cell(self, true: int, predicted: int) -> IntArray:
        """The test indices of a cell, most confident first."""
        k = true * self.classes + predicted
        return self.cell_indices[self.cell_offsets[k] : self.cell_offsets[k + 1]]

    def cell_pictures(self, true: int, predicted: int) -> npt.NDArray[np.uint8]:
        """The kept pictures of a cell (at most ``PER_CELL``), in the cell's order."""
        k = true * self.classes + predicted
        return self.pictures[self.picture_offsets[k] : self.picture_offsets[k + 1]]

    def confusion(self) -> npt.NDArray[np.int64]:
        """Rows: true class; columns: predicted class."""
        n = self.classes
        return np.diff(self.cell_offsets).astype(np.int64).reshape(n, n)


def arrange(
    labels: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    pictures: npt.NDArray[np.uint8],
    *,
    data_sha256: str,
) -> TestPredictions:
    """The arrays of the file from a pass over the test set: true labels, the model's
    probabilities ``(N, classes)``, and the test pictures ``(N, H, W[, 3])``."""
    probs = np.asarray(probabilities, dtype=np.float32)
    n = probs.shape[1]
    true = np.asarray(labels).astype(np.int64)
    predicted = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), predicted].astype(np.float32)
    key = true * n + predicted
    order = np.lexsort((-confidence, key)).astype(np.int32)  # by cell, then most confident
    offsets = np.searchsorted(key[order], np.arange(n * n + 1)).astype(np.int32)
    kept = np.concatenate(
        [order[offsets[k] : min(offsets[k + 1], offsets[k] + PER_CELL)] for k in range(n * n)]
    ).astype(np.int32)
    picture_offsets = np.concatenate(
        [[0], np.cumsum(np.minimum(np.diff(offsets), PER_CELL))]
    ).astype(np.int32)
    return TestPredictions(
        labels=true.astype(np.int16),
        predicted=predicted.astype(np.int16),
        confidence=confidence,
        cell_offsets=offsets,
        cell_indices=order,
        pictures=np.ascontiguousarray(np.asarray(pictures)[kept], dtype=np.uint8),
        picture_offsets=picture_offsets,
        data_sha256=data_sha256,
    )


class Predicted(Protocol):
    """A pass over the test set (``ml.evaluation.TestSetResult``)."""

    @property
    def labels(self) -> npt.NDArray[np.int64]: ...
    @property
    def probabilities(self) -> npt.NDArray[np.float32]: ...


class TestSet(Protocol):
    """The data set it was of (``data.datasets.Dataset``)."""

    @property
    def x_test(self) -> npt.NDArray[np.uint8]: ...
    @property
    def sha256(self) -> str: ...


def save_test_predictions(record: RunRecord, result: Predicted, dataset: TestSet) -> Path:
    """Arrange a pass over the test set and write it (``write_test_predictions``)."""
    found = arrange(result.labels, result.probabilities, dataset.x_test, data_sha256=dataset.sha256)
    return write_test_predictions(record, found)


def write_test_predictions(record: RunRecord, found: TestPredictions) -> Path:
    """Write ``found`` as the run's ``test_predictions.npz`` and record its checksum."""
    target = record.run_dir / TEST_PREDICTIONS

    def write(tmp: Path) -> None:
        np.savez_compressed(
            tmp,
            format=np.int32(FORMAT),
            labels=found.labels,
            predicted=found.predicted,
            confidence=found.confidence,
            cell_offsets=found.cell_offsets,
            cell_indices=found.cell_indices,
            pictures=found.pictures,
            picture_offsets=found.picture_offsets,
            data_sha256=np.str_(found.data_sha256),
        )

    write_with(target, write, suffix=".npz")
    record.file_written(TEST_PREDICTIONS)
    return target


def read_test_predictions(run_dir: Path, record: RunRecord | None = None) -> TestPredictions:
    """The run's ``test_predictions.npz``, checked: the file the run wrote (its checksum, when
    ``record`` is given) and arrays that fit together. A ``UserError`` otherwise (a missing
    file is ``FileNotFoundError``)."""
    path = run_dir / TEST_PREDICTIONS
    if not path.is_file():
        raise FileNotFoundError(path)
    if path.stat().st_size > MAX_BYTES:
        raise _damaged(path, f"{path.stat().st_size:,} bytes")
    if record is not None:
        record.verify(TEST_PREDICTIONS)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: np.asarray(npz[key]) for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise _damaged(path, str(exc)[:200] or type(exc).__name__) from None
    return _checked(path, arrays)


def _checked(path: Path, arrays: dict[str, npt.NDArray[np.generic]]) -> TestPredictions:
    version = arrays.get("format")
    if version is None or version.shape != () or int(version) > FORMAT:
        raise _damaged(path, f"format {version!r}"[:80])
    try:
        found = TestPredictions(
            labels=arrays["labels"].astype(np.int16, casting="same_kind"),
            predicted=arrays["predicted"].astype(np.int16, casting="same_kind"),
            confidence=arrays["confidence"].astype(np.float32, casting="same_kind"),
            cell_offsets=arrays["cell_offsets"].astype(np.int32, casting="same_kind"),
            cell_indices=arrays["cell_indices"].astype(np.int32, casting="same_kind"),
            pictures=arrays["pictures"].astype(np.uint8, casting="same_kind"),
            picture_offsets=arrays["picture_offsets"].astype(np.int32, casting="same_kind"),
            data_sha256=str(arrays["data_sha256"]),
        )
    except (KeyError, TypeError) as exc:
        raise _damaged(path, f"missing or mistyped array {exc}"[:120]) from None
    problem = _inconsistent(found)
    if problem:
        raise _damaged(path, problem)
    return found


def _inconsistent(found: TestPredictions) -> str | None:
    n, count = found.classes, len(found.labels)
    cells, kept = found.cell_offsets, found.picture_offsets
    if n < 1 or len(cells) != n * n + 1 or len(kept) != n * n + 1:
        return "offsets of a number of cells that is not a square plus one"
    if not (len(found.predicted) == len(found.confidence) == len(found.cell_indices) == count):
        return "arrays of different lengths"
    if cells[0] != 0 or cells[-1] != count or np.any(np.diff(cells) < 0):
        return "cell offsets that do not add up to the test pictures"
    if kept[0] != 0 or kept[-1] != len(found.pictures) or np.any(np.diff(kept) < 0):
        return "picture offsets that do not add up to the pictures"
    if np.any(np.diff(kept) > np.diff(cells)):
        return "more pictures in a cell than test pictures"
    if found.pictures.ndim not in (3, 4) or (
        found.pictures.ndim == 4 and found.pictures.shape[3] != 3
    ):
        return f"pictures of shape {found.pictures.shape}"
    if count and (found.labels.min() < 0 or found.labels.max() >= n or found.predicted.min() < 0
                  or found.predicted.max() >= n):  # fmt: skip
        return "labels outside the classes"
    if count and (found.cell_indices.min() < 0 or found.cell_indices.max() >= count):
        return "indices outside the test set"
    return None


def _damaged(path: Path, received: str) -> UserError:
    return UserError(
        "damaged test predictions",
        Location(str(path)),
        expected="the test_predictions.npz mnistctl wrote",
        received=received,
        hint="write it again: mnistctl evaluate RUN",
    )
