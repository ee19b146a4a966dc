"""Choosing the numerics: ``train.precision: auto`` picks the fastest that keeps accuracy.

By measuring, not by guessing from the machine: a few dozen real training steps of the very
model in each candidate precision (``precision_measure.py``), on CPUs ``float32`` and
``mixed_bfloat16``, on NVIDIA GPUs also ``mixed_float16`` (and ``mixed_bfloat16`` from compute
capability 8.0). The fastest wins, but ``float32`` stays unless another is at least
``MIN_SPEEDUP`` times as fast; a precision whose loss turns non-finite is dropped. The answer is
remembered per machine (CPU model, the flags that matter and the usable cores, or the GPU),
TensorFlow and Keras version, and model (its layer table, batch size, loss and optimizer) in a
small cache file (``precision_cache.py``), so the cost is paid once. When measuring fails, or
the run is too short to repay it (``MIN_RUN_STEPS``), the flag-based guess of before (``guess``)
is used and the reason says so. The output layer and the loss stay float32 in every mixed
policy (see builder.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mnistctl.ml.precision_cache import Entry, PrecisionCache, now
from mnistctl.ml.precision_measure import MeasureFailed, Measurement
from mnistctl.procs import usable_cpus
from mnistctl.spec import Spec

# Leaving float32 takes a clear win: at least this many times float32's speed (median
# milliseconds per step). Below that the gain is within this VM's noise, and float32 keeps
# exact numerics and the same results on machines that would choose otherwise.
MIN_SPEEDUP = 1.10

# A run of fewer training steps (all epochs) than this is not worth measuring for (it takes a
# few seconds): unless the answer is remembered, such a run takes the guess below.
MIN_RUN_STEPS = 200

# Only for the guess (measuring failed, or not worth it): below this many multiply-adds per
# sample, bf16 on AMX was no faster than float32 (bench/precision.py, docs/performance.md).
MIN_MACS_FOR_BF16 = 1_000_000

# The CPU flags that decide how fast reduced precision runs (oneDNN's kernels): the cache key.
CPU_FLAGS = (
    "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_bf16", "amx_fp16",
)  # fmt: skip

Measure = Callable[[Spec, Sequence[str]], Measurement]
Announce = Callable[[str], None]


@dataclass(frozen=True)
class Choice:
    policy: str  # a Keras dtype policy name
    reason: str
    how: str = "asked"  # asked | measured now | remembered | assumed
    ms_per_step: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Machine:
    """What the answer depends on besides the model."""

    kind: str  # cpu | gpu
    name: str  # CPU model name or GPU name
    flags: frozenset[str] = frozenset()  # CPU flags among CPU_FLAGS
    capability: tuple[int, int] | None = None  # GPU compute capability
    cores: int = 0  # usable CPU cores
    software: str = ""  # TensorFlow and Keras versions

    def key(self) -> str:
        if self.kind == "gpu":
            cap = self.capability or (0, 0)
            hardware = f"gpu {self.name} (compute capability {cap[0]}.{cap[1]})"
        else:
            flags = " ".join(sorted(self.flags)) or "no vector flags"
            hardware = f"cpu {self.name} ({flags}; {self.cores} cores)"
        return f"{hardware} | {self.software}"


def cpu_flags() -> set[str]:
    return set(_cpuinfo("flags").split())


def _cpuinfo(field_name: str) -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == field_name:
            return value.strip()
    return ""


def detect_machine() -> Machine:
    """This machine as training sees it: the first GPU TensorFlow finds, else the CPU."""
    import keras
    import tensorflow as tf

    software = f"tensorflow {tf.__version__}, keras {keras.__version__}"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        cap = details.get("compute_capability")
        capability = (0, 0)  # unknown: no half-precision candidates beyond mixed_float16
        if isinstance(cap, tuple) and len(cap) == 2:
            capability = (int(cap[0]), int(cap[1]))
        name = str(details.get("device_name") or gpus[0].name)
        return Machine("gpu", name, capability=capability, software=software)
    name = _cpuinfo("model name") or "unknown CPU"
    flags = frozenset(cpu_flags() & set(CPU_FLAGS))
    return Machine("cpu", name, flags, cores=usable_cpus(), software=software)


def candidates(machine: Machine) -> tuple[str, ...]:
    if machine.kind != "gpu":
        return ("float32", "mixed_bfloat16")
    if machine.capability is not None and machine.capability >= (8, 0):
        return ("float32", "mixed_float16", "mixed_bfloat16")
    return ("float32", "mixed_float16")


def guess(machine: Machine, macs_per_sample: int) -> Choice:
    """The flag-based guess, used only when measuring is impossible."""
    if machine.kind == "gpu":
        cap = machine.capability or (0, 0)
        if cap >= (8, 0):
            return Choice("mixed_bfloat16", f"GPU with compute capability {cap[0]}.{cap[1]}")
        if cap >= (7, 0):
            return Choice("mixed_float16", f"GPU with compute capability {cap[0]}.{cap[1]}")
        return Choice("float32", "older GPU: no fast half-precision math")
    if "amx_bf16" in machine.flags:
        if macs_per_sample < MIN_MACS_FOR_BF16:
            return Choice(
                "float32",
                f"CPU with AMX, but {macs_per_sample / 1e6:.1f}M multiply-adds per sample is too "
                "little matrix work for bf16 to pay",
            )
        return Choice("mixed_bfloat16", "CPU with AMX bf16 tiles")
    return Choice("float32", "CPU without AMX: bf16 would be emulated and slower")


def decide(ms_per_step: dict[str, float], dropped: dict[str, str]) -> tuple[str, str]:
    """The policy the timings call for, and why in words. Float32 unless another usable one is
    at least ``MIN_SPEEDUP`` times as fast (or float32 itself is unusable)."""
    usable = {p: ms for p, ms in ms_per_step.items() if p not in dropped}
    notes = [f"{p} dropped: {why}" for p, why in dropped.items()]
    if not usable:
        return "float32", "; ".join([*notes, "none usable, float32"])
    best = min(usable, key=usable.__getitem__)
    base = ms_per_step["float32"]
    if "float32" not in usable:
        return best, "; ".join([*notes, f"{best} the fastest usable"])
    speedup = base / usable[best]
    if best != "float32" and speedup >= MIN_SPEEDUP:
        return best, "; ".join([*notes, f"{best} {speedup:.2f}x as fast"])
    verdict = "float32 the fastest"
    if best != "float32":
        verdict = f"{best} only {speedup:.2f}x as fast (float32 unless {MIN_SPEEDUP:.2f}x)"
    return "float32", "; ".join([*notes, verdict])


def model_key(spec: Spec) -> str:
    """The model as its speed sees it: the layer table (types, wiring, shapes, parameters,
    multiply-adds; not the names), the batch size, the loss and the optimizer."""
    index = {layer.name: i for i, layer in enumerate(spec.info.layers)}
    table = [
        [layer.type, [index.get(n, -1) for n in layer.inputs], list(layer.output_shape),
         layer.trainable, layer.non_trainable, layer.macs]
        for layer in spec.info.layers
    ]  # fmt: skip
    what = [table, spec.train.batch_size, spec.compile.loss, spec.compile.optimizer_type]
    digest = hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]
    return f"model {digest} batch {spec.train.batch_size}"


def choose(
    requested: str,
    spec: Spec,
    *,
    measure: Measure | None = None,
    cache: PrecisionCache | None = None,
    machine: Machine | None = None,
    images: int | None = None,
    announce: Announce | None = None,
) -> Choice:
    """Resolve a spec's ``train.precision``; call only where TensorFlow may be imported.

    ``measure``, ``cache`` and ``machine`` default to the real ones (tests give their own).
    ``images``: how many training images the data has (a run too short to repay measuring
    takes the guess); ``announce`` is told before a measurement starts (it takes seconds)."""
    if requested != "auto":
        return Choice(requested, "as the spec asks")
    machine = machine if machine is not None else detect_machine()
    cache = cache if cache is not None else PrecisionCache()
    policies = candidates(machine)
    key = f"{machine.key()} | {model_key(spec)}"
    known = _remembered(cache.get(key), policies)
    if known is not None:
        return known
    steps = run_steps(spec, images)
    if steps < MIN_RUN_STEPS:
        guessed = guess(machine, spec.info.macs)
        why = f"a run of {steps} steps is too short to repay measuring"
        return Choice(guessed.policy, f"assumed: {guessed.reason}; {why}", "assumed")
    with cache.measuring():
        known = _remembered(cache.get(key), policies)  # measured by another process meanwhile
        if known is not None:
            return known
        if announce is not None:
            names = ", ".join(policies[:-1]) + " and " + policies[-1]
            announce(f"precision: measuring {names} on this model (once per machine and model)")
        choice, entry = _measure_now(spec, machine, policies, measure)
        if entry is not None:
            about = {"machine": machine.key(), "spec": spec.name}
            cache.put(key, dataclasses.replace(entry, about=about))
    return choice


def run_steps(spec: Spec, images: int | None) -> int:
    """About how many training steps the spec's run takes, all epochs (MNIST's 60,000 training
    images when ``images`` is not known)."""
    n = images if images is not None else 60_000
    if spec.data.train_samples is not None:
        n = min(n, spec.data.train_samples)
    n = round(n * (1 - spec.data.validation_split))
    return -(-n // spec.train.batch_size) * spec.train.epochs


def _measure_now(
    spec: Spec, machine: Machine, policies: tuple[str, ...], measure: Measure | None
) -> tuple[Choice, Entry | None]:
    if measure is None:
        from mnistctl.ml.precision_measure import measure as real_measure

        measure = real_measure
    try:
        result = measure(spec, policies)
        missing = [p for p in policies if p not in result.ms_per_step]
        if missing:
            raise MeasureFailed(missing[0], RuntimeError("no timing"))
    except Exception as exc:
        return _assumed(spec, machine, exc), None
    policy, verdict = decide(result.ms_per_step, result.dropped)
    ms = {p: result.ms_per_step[p] for p in policies}
    cost = f"{result.seconds:.1f} s + {result.trace_seconds:.1f} s tracing"
    reason = f"measured now in {cost}: {_timings(ms)}; {verdict}"
    entry = Entry(ms, now(), dict(result.dropped), policy)
    return Choice(policy, reason, "measured now", ms), entry


def _assumed(spec: Spec, machine: Machine, exc: Exception) -> Choice:
    guessed = guess(machine, spec.info.macs)
    policy = guessed.policy
    if isinstance(exc, MeasureFailed) and exc.policy == policy:
        policy = "float32"
    why = str(exc) if isinstance(exc, MeasureFailed) else f"{type(exc).__name__}: {exc}"
    return Choice(policy, f"assumed: {guessed.reason}; could not measure: {why}", "assumed")


def _remembered(entry: Entry | None, policies: tuple[str, ...]) -> Choice | None:
    """The cached answer, if it covers exactly these candidates."""
    if entry is None or set(entry.ms_per_step) != set(policies):
        return None
    dropped = {p: why for p, why in entry.dropped.items() if p in policies}
    ms = {p: entry.ms_per_step[p] for p in policies}
    policy, verdict = decide(ms, dropped)
    when = entry.measured.replace("T", " ").removesuffix("Z")[:16] + " UTC"
    return Choice(policy, f"remembered from {when}: {_timings(ms)}; {verdict}", "remembered", ms)


def _timings(ms_per_step: dict[str, float]) -> str:
    return ", ".join(f"{p} {_ms(v)} ms/step" for p, v in ms_per_step.items())


def _ms(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"
