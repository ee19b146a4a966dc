"""Choosing the numerics: ``train.precision: auto`` picks the fastest that keeps accuracy.

Measured on this project's machines (see bench/ and README "Performance"):
- CPUs with AMX (Intel Sapphire Rapids and later): ``mixed_bfloat16`` when the model has
  enough matrix work per sample (convnets); oneDNN runs bf16 matrix work on the AMX tiles.
  Small dense models stay ``float32``: the casts cost as much as AMX saves.
- NVIDIA GPUs of compute capability 8.0 or more: ``mixed_bfloat16`` (no loss scaling needed);
  7.x: ``mixed_float16`` (Keras adds loss scaling). Not yet measured here: no GPU was lent.
- Anything else: ``float32``.
The output layer and the loss stay float32 in every mixed policy (see builder.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Below this many multiply-adds per sample, bf16 on AMX was no faster than float32 here:
# measured by bench/precision.py (README "Performance").
MIN_MACS_FOR_BF16 = 1_000_000


@dataclass(frozen=True)
class Choice:
    policy: str  # a Keras dtype policy name
    reason: str


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def choose(requested: str, macs_per_sample: int) -> Choice:
    """Resolve a spec's ``train.precision``; call only where TensorFlow may be imported.

    ``macs_per_sample``: the model's multiply-adds per sample (graph.ModelInfo.macs). Casting
    to and from bf16 costs memory traffic per layer; it pays only when there is enough matrix
    work per sample.
    """
    if requested != "auto":
        return Choice(requested, "as the spec asks")
    gpu = _gpu_capability()
    if gpu is not None:
        if gpu >= (8, 0):
            return Choice("mixed_bfloat16", f"GPU with compute capability {gpu[0]}.{gpu[1]}")
        if gpu >= (7, 0):
            return Choice("mixed_float16", f"GPU with compute capability {gpu[0]}.{gpu[1]}")
        return Choice("float32", "older GPU: no fast half-precision math")
    if "amx_bf16" in cpu_flags():
        if macs_per_sample < MIN_MACS_FOR_BF16:
            return Choice(
                "float32",
                f"CPU with AMX, but {macs_per_sample / 1e6:.1f}M multiply-adds per sample is too "
                "little matrix work for bf16 to pay",
            )
        return Choice("mixed_bfloat16", "CPU with AMX bf16 tiles")
    return Choice("float32", "CPU without AMX: bf16 would be emulated and slower")


def _gpu_capability() -> tuple[int, int] | None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    cap = details.get("compute_capability")
    if isinstance(cap, tuple) and len(cap) == 2:
        return (int(cap[0]), int(cap[1]))
    return (0, 0)
