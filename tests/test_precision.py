"""``train.precision: auto``: what it picks on which machine, and the work estimate behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnistctl.ml import precision
from mnistctl.spec import load_spec

SPECS = Path(__file__).resolve().parents[1] / "specs"


def test_multiply_adds_of_the_reference_models() -> None:
    # DNN: 784*256 + 3*256*256 + 256*10
    assert load_spec(SPECS / "dnn.yaml").model_info.macs == 399_872
    # CNN: 26*26*32*9 + 24*24*32*(9*32) + 4608*128 + 128*10
    assert load_spec(SPECS / "cnn.yaml").model_info.macs == 6_094_208


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(precision, "_gpu_capability", lambda: None)
    return monkeypatch


def test_explicit_precision_is_kept(cpu: pytest.MonkeyPatch) -> None:
    cpu.setattr(precision, "cpu_flags", lambda: {"amx_bf16"})
    assert precision.choose("float32", 10**9).policy == "float32"
    assert precision.choose("mixed_float16", 0).policy == "mixed_float16"


def test_amx_cpu_picks_bf16_for_convnets_only(cpu: pytest.MonkeyPatch) -> None:
    cpu.setattr(precision, "cpu_flags", lambda: {"avx512f", "amx_bf16"})
    assert precision.choose("auto", 6_094_208).policy == "mixed_bfloat16"
    small = precision.choose("auto", 399_872)
    assert small.policy == "float32"
    assert "too little matrix work" in small.reason


def test_cpu_without_amx_stays_float32(cpu: pytest.MonkeyPatch) -> None:
    cpu.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.choose("auto", 10**9).policy == "float32"


@pytest.mark.parametrize(
    ("capability", "policy"),
    [((9, 0), "mixed_bfloat16"), ((8, 0), "mixed_bfloat16"), ((7, 5), "mixed_float16"),
     ((6, 1), "float32")],
)  # fmt: skip
def test_gpus(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], policy: str) -> None:
    monkeypatch.setattr(precision, "_gpu_capability", lambda: capability)
    assert precision.choose("auto", 399_872).policy == policy
