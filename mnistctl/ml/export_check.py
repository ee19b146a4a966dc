"""Is the exported model the Keras model? Its runtime's answers compared with Keras's, and how
fast that runtime reads a digit.

An export passes when every checked image gets the same most likely class from both and no
probability differs by more than ``TOLERANCE`` (float32 exports of the same weights differ only
by float rounding: ~1e-6 measured, so 1e-4 leaves room for the runtime's own kernels and still
catches a wrong layer, a wrong preprocessing or an augmentation left on).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.ml.runtimes import Runtime

TOLERANCE = 1e-4  # max absolute difference of a probability, float32 exports
CHECK_BATCH = 256  # images per runtime call while checking and measuring throughput
LATENCY_CALLS = 50  # timed calls of one image each (after LATENCY_WARMUP untimed ones)
LATENCY_WARMUP = 5
THROUGHPUT_IMAGES = 2048  # at least this many images through the runtime, timed
SHOWN_DISAGREEMENTS = 10  # indexes of disagreeing images kept in the result


@dataclass(frozen=True)
class Agreement:
    """The runtime's probabilities against Keras's on the same images."""

    samples: int
    max_abs_diff: float
    agree: int  # images with the same most likely class
    disagreeing: tuple[int, ...]  # the first SHOWN_DISAGREEMENTS of the others (test-set index)
    tolerance: float
    accuracy: float | None  # the exported model's, on these images (None: no labels)

    @property
    def fraction(self) -> float:
        return self.agree / self.samples if self.samples else 1.0

    @property
    def passed(self) -> bool:
        return self.agree == self.samples and self.max_abs_diff <= self.tolerance

    def problem(self) -> str:
        """What failed, with the numbers (empty when it passed)."""
        parts = []
        if self.max_abs_diff > self.tolerance:
            parts.append(
                f"max probability difference {self.max_abs_diff:.3g} > tolerance {self.tolerance:g}"
            )
        if self.agree != self.samples:
            wrong = self.samples - self.agree
            first = ", ".join(str(i) for i in self.disagreeing)
            more = ", ..." if wrong > len(self.disagreeing) else ""
            parts.append(
                f"{wrong} of {self.samples} images classified differently "
                f"(test images {first}{more})"
            )
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "max_abs_diff": self.max_abs_diff,
            "tolerance": self.tolerance,
            "argmax_agree": self.agree,
            "argmax_agreement": self.fraction,
            "disagreeing": list(self.disagreeing),
            "accuracy": self.accuracy,
            "passed": self.passed,
        }


def compare(
    reference: npt.NDArray[np.float32],
    got: npt.NDArray[np.float32],
    labels: npt.NDArray[Any] | None = None,
    tolerance: float | None = None,
) -> Agreement:
    """``got`` (the runtime's) against ``reference`` (Keras's), row by row; a shape that
    differs, or a value that is not finite, fails with an infinite difference."""
    tolerance = TOLERANCE if tolerance is None else tolerance
    n = len(reference)
    if got.shape != reference.shape:
        return Agreement(
            n, float("inf"), 0, tuple(range(min(n, SHOWN_DISAGREEMENTS))), tolerance, None
        )
    diff = np.abs(got.astype(np.float64) - reference.astype(np.float64))
    max_diff = float(diff.max()) if diff.size else 0.0
    if not np.isfinite(got).all():
        max_diff = float("inf")
    same = got.argmax(axis=1) == reference.argmax(axis=1)
    wrong = np.flatnonzero(~same)[:SHOWN_DISAGREEMENTS]
    accuracy = (
        float((got.argmax(axis=1) == labels[:n]).mean()) if labels is not None and n else None
    )
    return Agreement(
        n, max_diff, int(same.sum()), tuple(int(i) for i in wrong), tolerance, accuracy
    )


def run_batches(
    runtime: Runtime, images: npt.NDArray[np.float32], batch: int = CHECK_BATCH
) -> npt.NDArray[np.float32]:
    """The runtime's probabilities for every image, ``batch`` images a call."""
    parts = [runtime.run(images[i : i + batch]) for i in range(0, len(images), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, 10), dtype=np.float32)


@dataclass(frozen=True)
class Speed:
    """How fast the runtime reads digits in this process."""

    latency_ms: float  # median of LATENCY_CALLS calls of one image
    latency_p90_ms: float
    calls: int
    images_per_s: float  # in batches of ``batch``
    batch: int

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms_per_image": self.latency_ms,
            "latency_p90_ms": self.latency_p90_ms,
            "latency_calls": self.calls,
            "throughput_images_per_s": self.images_per_s,
            "throughput_batch": self.batch,
        }


def measure(runtime: Runtime, images: npt.NDArray[np.float32]) -> Speed:
    """Latency: one image a call, the median of LATENCY_CALLS calls after a warm-up.
    Throughput: at least THROUGHPUT_IMAGES images (the given ones, again if need be) in batches
    of CHECK_BATCH, after one untimed batch."""
    one = np.ascontiguousarray(images[:1])
    for _ in range(LATENCY_WARMUP):
        runtime.run(one)
    times = []
    for _ in range(LATENCY_CALLS):
        start = time.perf_counter()
        runtime.run(one)
        times.append((time.perf_counter() - start) * 1000.0)
    batch = min(CHECK_BATCH, len(images))
    count = max(batch, min(len(images), THROUGHPUT_IMAGES) // batch * batch)
    sample = np.ascontiguousarray(images[:count])  # whole batches: no resizing while timed
    runtime.run(sample[:batch])
    done, start = 0, time.perf_counter()
    while done < THROUGHPUT_IMAGES:
        run_batches(runtime, sample, batch)
        done += len(sample)
    seconds = time.perf_counter() - start
    return Speed(
        latency_ms=statistics.median(times),
        latency_p90_ms=statistics.quantiles(times, n=10)[-1],
        calls=len(times),
        images_per_s=done / seconds if seconds > 0 else float("inf"),
        batch=batch,
    )
