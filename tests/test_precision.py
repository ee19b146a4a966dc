"""``train.precision: auto``: measured per machine and model, remembered, and said why.

Everything but the last tests runs with injected timings, machines and a temporary cache: no
TensorFlow. The last ones run one real, tiny measurement.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mnistctl.ml import precision, precision_cache
from mnistctl.ml.precision import Choice, Machine, choose
from mnistctl.ml.precision_cache import Entry, PrecisionCache
from mnistctl.ml.precision_measure import MeasureFailed, Measurement
from mnistctl.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
TF = "tensorflow 2.21.0, keras 3.15.1"

AMX = Machine(
    "cpu",
    "Intel(R) Xeon(R) Platinum 8480+",
    frozenset({"avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}),
    cores=2,
    software=TF,
)
AVX512_BF16 = Machine(
    "cpu", "AMD EPYC 9654 96-Core Processor", frozenset({"avx2", "fma", "avx512f", "avx512_bf16"}),
    cores=2, software=TF,
)  # fmt: skip
AVX2 = Machine("cpu", "AMD EPYC 7B13", frozenset({"avx2", "fma"}), cores=2, software=TF)
T4 = Machine("gpu", "Tesla T4", capability=(7, 5), software=TF)
V100 = Machine("gpu", "Tesla V100-SXM2-16GB", capability=(7, 0), software=TF)
A100 = Machine("gpu", "NVIDIA A100-SXM4-40GB", capability=(8, 0), software=TF)
H200 = Machine("gpu", "NVIDIA H200", capability=(9, 0), software=TF)


class FakeMeasure:
    """Injected timings (ms per step); records what it was asked to measure."""

    def __init__(self, ms: dict[str, float], dropped: dict[str, str] | None = None) -> None:
        self.ms, self.dropped = ms, dropped or {}
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, spec: Spec, policies: Sequence[str]) -> Measurement:
        self.calls.append((spec.name, tuple(policies)))
        return Measurement(
            {p: self.ms[p] for p in policies}, dict(self.dropped), seconds=1.25, trace_seconds=3.4
        )


def never(spec: Spec, policies: Sequence[str]) -> Measurement:
    raise AssertionError("measured")


@pytest.fixture
def cache(tmp_path: Path) -> PrecisionCache:
    return PrecisionCache(tmp_path / "cache")


@pytest.fixture(scope="module")
def cnn() -> Spec:
    return load_spec(SPECS / "cnn.yaml")


@pytest.fixture(scope="module")
def dnn() -> Spec:
    return load_spec(SPECS / "dnn.yaml")


def test_multiply_adds_of_the_reference_models() -> None:
    # DNN: 784*256 + 3*256*256 + 256*10
    assert load_spec(SPECS / "dnn.yaml").model_info.macs == 399_872
    # CNN: 26*26*32*9 + 24*24*32*(9*32) + 4608*128 + 128*10
    assert load_spec(SPECS / "cnn.yaml").model_info.macs == 6_094_208


# --- what is measured, and what wins -----------------------------------------------------------


def test_an_explicit_precision_is_kept_without_measuring(
    cnn: Spec, cache: PrecisionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(precision, "detect_machine", lambda: pytest.fail("machine looked at"))
    for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
        choice = choose(policy, cnn, measure=never, cache=cache)
        assert choice == Choice(policy, "as the spec asks", "asked")
    assert not cache.path.exists()


@pytest.mark.parametrize(
    ("machine", "policies"),
    [
        (AMX, ("float32", "mixed_bfloat16")),
        (AVX512_BF16, ("float32", "mixed_bfloat16")),
        (AVX2, ("float32", "mixed_bfloat16")),
        (V100, ("float32", "mixed_float16")),
        (T4, ("float32", "mixed_float16")),
        (A100, ("float32", "mixed_float16", "mixed_bfloat16")),
        (H200, ("float32", "mixed_float16", "mixed_bfloat16")),
    ],
)
def test_the_candidates_of_each_machine(
    machine: Machine, policies: tuple[str, ...], cnn: Spec, cache: PrecisionCache
) -> None:
    assert precision.candidates(machine) == policies
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 50.0, "mixed_float16": 50.0})
    told: list[str] = []
    choose("auto", cnn, measure=fake, cache=cache, machine=machine, announce=told.append)
    assert fake.calls == [("cnn", policies)]
    names = ", ".join(policies[:-1]) + " and " + policies[-1]
    assert told == [f"precision: measuring {names} on this model (once per machine and model)"]


@pytest.mark.parametrize(
    ("machine", "ms", "policy"),
    [
        # Sapphire Rapids: AMX runs the CNN's bf16 matrix work about twice as fast
        (AMX, {"float32": 43.0, "mixed_bfloat16": 18.6}, "mixed_bfloat16"),
        # the AMD EPYC: avx512_bf16 without AMX, 1.8x; the old guess said float32
        (AVX512_BF16, {"float32": 41.0, "mixed_bfloat16": 23.0}, "mixed_bfloat16"),
        # plain AVX2: bf16 is emulated, several times slower
        (AVX2, {"float32": 195.0, "mixed_bfloat16": 1477.0}, "float32"),
        (V100, {"float32": 6.0, "mixed_float16": 2.5}, "mixed_float16"),
        (T4, {"float32": 9.0, "mixed_float16": 8.7}, "float32"),  # under the margin
        (A100, {"float32": 4.0, "mixed_float16": 2.1, "mixed_bfloat16": 2.0}, "mixed_bfloat16"),
        (H200, {"float32": 3.0, "mixed_float16": 1.5, "mixed_bfloat16": 1.6}, "mixed_float16"),
        (H200, {"float32": 1.0, "mixed_float16": 1.2, "mixed_bfloat16": 1.3}, "float32"),
    ],
)
def test_the_fastest_measured_wins_on_every_kind_of_machine(
    machine: Machine, ms: dict[str, float], policy: str, cnn: Spec, cache: PrecisionCache
) -> None:
    choice = choose("auto", cnn, measure=FakeMeasure(ms), cache=cache, machine=machine)
    assert (choice.policy, choice.how) == (policy, "measured now")
    assert choice.ms_per_step == ms


@pytest.mark.parametrize(
    ("bf16_ms", "policy"),
    [(100.0, "float32"), (95.0, "float32"), (91.0, "float32"), (90.9, "mixed_bfloat16"),
     (50.0, "mixed_bfloat16")],
)  # fmt: skip
def test_float32_stays_unless_another_is_clearly_faster(
    bf16_ms: float, policy: str, cnn: Spec, cache: PrecisionCache
) -> None:
    assert precision.MIN_SPEEDUP == 1.10  # 100 / 1.10 = 90.9
    fake = FakeMeasure({"float32": 100.0, "mixed_bfloat16": bf16_ms})
    assert choose("auto", cnn, measure=fake, cache=cache, machine=AMX).policy == policy


def test_a_precision_that_loses_the_loss_is_dropped(cnn: Spec, cache: PrecisionCache) -> None:
    ms = {"float32": 6.0, "mixed_float16": 2.0, "mixed_bfloat16": 2.5}
    fake = FakeMeasure(ms, dropped={"mixed_float16": "the loss was not finite"})
    choice = choose("auto", cnn, measure=fake, cache=cache, machine=H200)
    assert choice.policy == "mixed_bfloat16"
    assert "mixed_float16 dropped: the loss was not finite" in choice.reason
    only = FakeMeasure({"float32": 6.0, "mixed_bfloat16": 2.0}, {"mixed_bfloat16": "NaN"})
    assert choose("auto", cnn, measure=only, cache=cache, machine=AVX2).policy == "float32"


# --- the messages ------------------------------------------------------------------------------


def test_the_messages_say_how_the_answer_was_found(
    cnn: Spec, cache: PrecisionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(precision, "now", lambda: "2026-01-02T03:04:05Z")
    told: list[str] = []
    fake = FakeMeasure({"float32": 41.2, "mixed_bfloat16": 23.4})
    first = choose("auto", cnn, measure=fake, cache=cache, machine=AMX, announce=told.append)
    assert told == [
        "precision: measuring float32 and mixed_bfloat16 on this model (once per machine and model)"
    ]
    assert first.reason == (
        "measured now in 1.2 s + 3.4 s tracing: float32 41 ms/step, mixed_bfloat16 23 ms/step; "
        "mixed_bfloat16 1.76x as fast"
    )
    again = choose("auto", cnn, measure=never, cache=cache, machine=AMX, announce=told.append)
    assert len(told) == 1  # nothing to announce: nothing measured
    assert (again.policy, again.how) == ("mixed_bfloat16", "remembered")
    assert again.reason == (
        "remembered from 2026-01-02 03:04 UTC: float32 41 ms/step, mixed_bfloat16 23 ms/step; "
        "mixed_bfloat16 1.76x as fast"
    )
    slow = FakeMeasure({"float32": 4.2, "mixed_bfloat16": 4.0})
    kept = choose("auto", cnn, measure=slow, cache=cache, machine=AVX2)
    assert kept.reason.endswith(
        ": float32 4.2 ms/step, mixed_bfloat16 4.0 ms/step; "
        "mixed_bfloat16 only 1.05x as fast (float32 unless 1.10x)"
    )
    fast = FakeMeasure({"float32": 0.5, "mixed_bfloat16": 0.9})
    fastest = choose("auto", cnn, measure=fast, cache=cache, machine=AVX512_BF16)
    assert fastest.reason.endswith(
        "float32 0.50 ms/step, mixed_bfloat16 0.90 ms/step; float32 the fastest"
    )


def test_when_measuring_fails_the_old_guess_is_assumed(cnn: Spec, cache: PrecisionCache) -> None:
    def broken(spec: Spec, policies: Sequence[str]) -> Measurement:
        raise MeasureFailed("mixed_float16", ValueError("no kernel for Half\nmore lines"))

    choice = choose("auto", cnn, measure=broken, cache=cache, machine=V100)
    # the guess for compute capability 7.x is mixed_float16, which just failed: float32
    assert (choice.policy, choice.how) == ("float32", "assumed")
    assert choice.reason == (
        "assumed: GPU with compute capability 7.0; could not measure: "
        "mixed_float16: ValueError: no kernel for Half"
    )
    choice = choose("auto", cnn, measure=broken, cache=cache, machine=AMX)
    assert (choice.policy, choice.how) == ("mixed_bfloat16", "assumed")
    assert choice.reason.startswith("assumed: CPU with AMX bf16 tiles; could not measure:")

    def crashed(spec: Spec, policies: Sequence[str]) -> Measurement:
        raise RuntimeError("out of memory")

    choice = choose("auto", cnn, measure=crashed, cache=cache, machine=AVX2)
    assert choice.reason == (
        "assumed: CPU without AMX: bf16 would be emulated and slower; "
        "could not measure: RuntimeError: out of memory"
    )
    assert cache.get("anything") is None and not cache.path.exists()  # never remembered
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 20.0})
    assert choose("auto", cnn, measure=fake, cache=cache, machine=AVX2).how == "measured now"


@pytest.mark.parametrize(
    ("machine", "macs", "policy", "words"),
    [
        (AMX, 6_094_208, "mixed_bfloat16", "CPU with AMX bf16 tiles"),
        (AMX, 399_872, "float32", "too little matrix work"),
        (AVX512_BF16, 10**9, "float32", "CPU without AMX"),
        (H200, 0, "mixed_bfloat16", "compute capability 9.0"),
        (A100, 0, "mixed_bfloat16", "compute capability 8.0"),
        (T4, 0, "mixed_float16", "compute capability 7.5"),
        (Machine("gpu", "Tesla P100", capability=(6, 0)), 0, "float32", "older GPU"),
    ],
)
def test_the_guess_for_when_measuring_is_impossible(
    machine: Machine, macs: int, policy: str, words: str
) -> None:
    guessed = precision.guess(machine, macs)
    assert guessed.policy == policy and words in guessed.reason


def test_a_run_too_short_to_repay_measuring_takes_the_guess(
    cnn: Spec, cache: PrecisionCache
) -> None:
    short = load_spec(SPECS / "cnn.yaml", ["train.epochs=3", "data.train_samples=5000"])
    assert precision.run_steps(short, 60_000) == 36 * 3  # the README's example run
    choice = choose("auto", short, measure=never, cache=cache, machine=AMX, images=60_000)
    assert (choice.policy, choice.how) == ("mixed_bfloat16", "assumed")
    assert choice.reason.endswith("a run of 108 steps is too short to repay measuring")
    assert precision.run_steps(cnn, None) == 422 * 10
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 45.0})
    assert choose("auto", cnn, measure=fake, cache=cache, machine=AMX).policy == "float32"
    # once remembered, a short run of the same model uses the measurement
    again = choose("auto", short, measure=never, cache=cache, machine=AMX, images=5000)
    assert (again.policy, again.how) == ("float32", "remembered")


# --- the cache ---------------------------------------------------------------------------------


def test_each_machine_software_and_model_is_measured_once(
    cnn: Spec, dnn: Spec, cache: PrecisionCache
) -> None:
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 20.0, "mixed_float16": 10.0})
    other_tf = Machine(AMX.kind, AMX.name, AMX.flags, cores=2, software="tensorflow 2.22.0, ...")
    other_flags = Machine(AMX.kind, AMX.name, AMX.flags - {"amx_bf16"}, cores=2, software=TF)
    other_cores = Machine(AMX.kind, AMX.name, AMX.flags, cores=8, software=TF)
    renamed = load_spec(SPECS / "cnn.yaml", ["name=mine", "model.layers.hidden_1.name=h"])
    variants = [
        (cnn, AMX),
        (cnn, other_tf),
        (cnn, other_flags),
        (cnn, other_cores),
        (cnn, AVX512_BF16),
        (cnn, H200),
        (dnn, AMX),
        (load_spec(SPECS / "cnn.yaml", ["train.batch_size=64"]), AMX),
        (load_spec(SPECS / "cnn.yaml", ["model.layers.hidden_1.units=64"]), AMX),
    ]
    for spec, machine in variants:
        assert choose("auto", spec, measure=fake, cache=cache, machine=machine).how == (
            "measured now"
        )
    assert len(fake.calls) == len(variants)
    for spec, machine in [*variants, (renamed, AMX)]:  # names do not change the speed
        assert choose("auto", spec, measure=never, cache=cache, machine=machine).how == (
            "remembered"
        )
    stored = json.loads(cache.path.read_text())
    assert stored["version"] == 1 and len(stored["entries"]) == len(variants)
    entry = stored["entries"][f"{AMX.key()} | {precision.model_key(cnn)}"]
    assert entry["policy"] == "mixed_bfloat16" and entry["spec"] == "cnn"
    assert entry["ms_per_step"] == {"float32": 40.0, "mixed_bfloat16": 20.0}
    assert AMX.key() == (
        "cpu Intel(R) Xeon(R) Platinum 8480+ (amx_bf16 amx_tile avx2 avx512_bf16 avx512f fma; "
        "2 cores) | tensorflow 2.21.0, keras 3.15.1"
    )


def test_the_cache_lives_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNISTCTL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert PrecisionCache().path == tmp_path / "xdg" / "mnistctl" / "precision.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert PrecisionCache().path == tmp_path / "home" / ".cache" / "mnistctl" / "precision.json"
    monkeypatch.setenv("MNISTCTL_CACHE_DIR", str(tmp_path / "mine"))
    assert PrecisionCache().path == tmp_path / "mine" / "precision.json"


GOOD = {
    "ms_per_step": {"float32": 40.0, "mixed_bfloat16": 20.0},
    "measured": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00\xffgarbage{",
        b'{"version": 1, "entries": {"k": 1',  # cut short
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        json.dumps({"version": 2, "entries": {}}).encode(),
        json.dumps({"version": 1, "entries": [GOOD]}).encode(),
        b'{"version": 1, "entries": {"KEY": {"ms_per_step": {"float32": NaN}, "measured": ""}}}',
        json.dumps({"version": 1, "entries": {"KEY": [GOOD]}}).encode(),
        json.dumps({"version": 1, "entries": {"KEY": {**GOOD, "ms_per_step": "fast"}}}).encode(),
        json.dumps({"version": 1, "entries": {"KEY": {**GOOD, "ms_per_step": {}}}}).encode(),
        json.dumps({"version": 1, "entries": {"KEY": {**GOOD, "measured": 5}}}).encode(),
        json.dumps({"version": 1, "entries": {"KEY": {**GOOD, "dropped": ["x"]}}}).encode(),
        json.dumps(
            {"version": 1, "entries": {"KEY": {**GOOD, "ms_per_step": {"float32": -1.0}}}}
        ).encode(),
        json.dumps(
            {"version": 1, "entries": {"KEY": {**GOOD, "ms_per_step": {"float32": True}}}}
        ).encode(),
        json.dumps(
            {"version": 1, "entries": {"KEY": {**GOOD, "ms_per_step": {"float64": 1.0}}}}
        ).encode(),
        b" " * (precision_cache.MAX_BYTES + 1),
    ],
)
def test_a_damaged_cache_is_ignored_and_rewritten(
    damage: bytes, cnn: Spec, cache: PrecisionCache
) -> None:
    key = f"{AVX2.key()} | {precision.model_key(cnn)}"
    cache.folder.mkdir()
    cache.path.write_bytes(damage.replace(b"KEY", key.encode()))
    assert cache.get(key) is None
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 80.0})
    choice = choose("auto", cnn, measure=fake, cache=cache, machine=AVX2)
    assert (choice.policy, choice.how, len(fake.calls)) == ("float32", "measured now", 1)
    stored = json.loads(cache.path.read_text())
    assert list(stored["entries"]) == [key]
    assert choose("auto", cnn, measure=never, cache=cache, machine=AVX2).how == "remembered"


def test_a_damaged_entry_does_not_cost_the_good_ones(cnn: Spec, cache: PrecisionCache) -> None:
    cache.folder.mkdir()
    entries = {"good": GOOD, "bad": {**GOOD, "ms_per_step": None}, "worse": "x"}
    cache.path.write_text(json.dumps({"version": 1, "entries": entries}))
    assert cache.put("new", Entry({"float32": 1.0}, "2026-01-01T00:00:00Z"))
    assert list(json.loads(cache.path.read_text())["entries"]) == ["good", "new"]
    assert cache.get("good") == Entry(dict(GOOD["ms_per_step"]), str(GOOD["measured"]))


def test_an_unwritable_cache_is_never_an_error(
    tmp_path: Path, cnn: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = PrecisionCache(blocker / "cache")
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 20.0})
    for _ in range(2):  # nothing remembered: measured each time
        assert choose("auto", cnn, measure=fake, cache=cache, machine=AMX).how == "measured now"
    assert len(fake.calls) == 2
    assert not cache.put("k", Entry({"float32": 1.0}, "x"))


def test_many_processes_writing_at_once_lose_no_entry(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from mnistctl.ml.precision_cache import Entry, PrecisionCache
        cache, me, start = PrecisionCache(Path(sys.argv[1])), sys.argv[2], float(sys.argv[3])
        time.sleep(max(0.0, start - time.time()))
        for i in range(15):
            assert cache.put(f"{me}-{i}", Entry({"float32": 1.0 + i}, "2026-01-01T00:00:00Z"))
        """
    )
    start = time.time() + 1.5  # all started and waiting by then
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), f"p{n}", str(start)], cwd=ROOT
        )
        for n in range(6)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0] * 6
    entries = json.loads((tmp_path / "precision.json").read_text())["entries"]
    assert sorted(entries) == sorted(f"p{n}-{i}" for n in range(6) for i in range(15))
    assert not list(tmp_path.glob(".precision.json.*"))  # no temporary file left behind


def test_a_process_waits_for_another_measuring_and_takes_its_answer(
    cnn: Spec, cache: PrecisionCache
) -> None:
    key = f"{AMX.key()} | {precision.model_key(cnn)}"
    results: list[Choice] = []

    def other() -> None:
        results.append(choose("auto", cnn, measure=never, cache=cache, machine=AMX))

    with cache.measuring() as held:
        assert held
        waiting = threading.Thread(target=other)
        waiting.start()
        time.sleep(0.3)
        assert not results  # still waiting for the lock
        cache.put(key, Entry({"float32": 40.0, "mixed_bfloat16": 20.0}, "2026-01-01T00:00:00Z"))
    waiting.join(timeout=10)
    assert [(c.policy, c.how) for c in results] == [("mixed_bfloat16", "remembered")]


def test_a_stuck_measuring_lock_delays_but_never_blocks(
    cnn: Spec, cache: PrecisionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(precision_cache, "MEASURE_WAIT_S", 0.2)
    fake = FakeMeasure({"float32": 40.0, "mixed_bfloat16": 20.0})
    with cache.measuring():
        choice = run_in_thread(lambda: choose("auto", cnn, measure=fake, cache=cache, machine=AMX))
    assert choice.how == "measured now" and len(fake.calls) == 1


def run_in_thread(call: Callable[[], Choice]) -> Choice:
    """``call`` on another thread (a lock held by this thread's file handle blocks it)."""
    out: list[Choice] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    thread.join(timeout=10)
    return out[0]


# --- the real thing, tiny ------------------------------------------------------------------------


TINY = """
name: tiny
model:
  layers:
    - {type: Input, shape: [784]}
    - {type: Dense, units: 8, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
compile: {loss: LOSS}
train: {batch_size: 16, epochs: 100}
"""


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_a_real_measurement_of_a_tiny_model(
    loss: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    from mnistctl.ml import precision_measure

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.replace("LOSS", loss))
    spec = load_spec(path)
    monkeypatch.setenv("MNISTCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(precision_measure, "BUDGET_S", 0.1)
    monkeypatch.setattr(precision_measure, "WINDOWS", 3)
    monkeypatch.setattr(precision_measure, "MAX_STEPS_PER_WINDOW", 2)
    started = time.monotonic()
    choice = choose("auto", spec)
    assert time.monotonic() - started < 30
    assert choice.how == "measured now", choice.reason
    assert set(choice.ms_per_step) == set(precision.candidates(precision.detect_machine()))
    assert all(ms > 0 for ms in choice.ms_per_step.values())
    assert keras.mixed_precision.global_policy().name == "float32"  # left as it was
    assert choose("auto", spec, measure=never).how == "remembered"


def test_the_real_measurement_plans_within_its_budget() -> None:
    from mnistctl.ml.precision_measure import MIN_WINDOWS, _plan

    assert _plan(0.001, 2.5, 5, 8) == (5, 8)  # fast: the most steps
    assert _plan(0.063, 2.5, 5, 8) == (5, 7)  # the CNN on AMX: about 2.2 s
    assert _plan(0.4, 2.5, 5, 8) == (5, 1)
    assert _plan(2.0, 2.5, 5, 8) == (MIN_WINDOWS, 1)  # slow: fewer windows, never < 3
