"""Shared parts of the benchmark harnesses: finding data, describing the machine, running one
child process and measuring it (wall time, peak RSS), and printing tables.

No TensorFlow here: the harnesses shell out to ``mnistctl train`` and to the hand-written
scripts, each in a fresh process, so that every number includes what a user pays.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED_NPZ = REPO.parent / "shared" / "data" / "mnist-5k-10k.npz"
FASHION_FALLBACK = Path("/usr/share/datasets/fashion-mnist")
IDX_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MODELS = ("dnn", "cnn")
SCRIPTS = {"dnn": BENCH / "keras_dnn.py", "cnn": BENCH / "keras_cnn.py"}
SPECS = {"dnn": REPO / "specs" / "dnn.yaml", "cnn": REPO / "specs" / "cnn.yaml"}


# --- data ------------------------------------------------------------------------------------


def fashion_mnist_dir() -> Path | None:
    """The IDX folder of Debian's ``dataset-fashion-mnist``, if installed."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["dpkg", "-L", "dataset-fashion-mnist"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout
        hits = [line for line in out.splitlines() if Path(line).name.startswith(IDX_TRAIN[0])]
        candidates += [Path(line).parent for line in hits]
    candidates.append(FASHION_FALLBACK)
    for folder in candidates:
        if any((folder / (IDX_TRAIN[0] + ext)).is_file() for ext in ("", ".gz")):
            return folder
    return None


def default_data() -> Path:
    """Full Fashion-MNIST if Debian's package is installed, else the shared 5k MNIST subset."""
    found = fashion_mnist_dir()
    if found is not None:
        return found
    if SHARED_NPZ.is_file():
        return SHARED_NPZ
    sys.exit(
        "no data: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
        f"or pass --data (expected {SHARED_NPZ})"
    )


def require_path(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"{path}: no such file or folder")
    return path.resolve()


# --- the machine -----------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    model, flags = "unknown", set[str]()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from mnistctl.procs import usable_cpus  # the package's own count (its workers use it)

    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024**2
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cpus(),
        "amx": sorted(f for f in flags if f.startswith("amx")),
        "avx512_bf16": "avx512_bf16" in flags,
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "mnistctl": _version("mnistctl"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def print_machine(info: Mapping[str, Any]) -> None:
    amx = ", ".join(info["amx"]) if info["amx"] else "no"
    print(f"CPU:     {info['cpu']}")
    print(
        f"cores:   {info['logical_cores']} logical, {info['usable_cores']} usable; "
        f"memory {info['memory_gb']} GB"
    )
    print(f"AMX:     {amx}   (avx512_bf16: {'yes' if info['avx512_bf16'] else 'no'})")
    print(
        f"python {info['python']}, tensorflow {info['tensorflow']}, keras {info['keras']}, "
        f"mnistctl {info['mnistctl']}"
    )
    load = info["loadavg_start"]
    print(f"load:    {load[0]} {load[1]} {load[2]} (1/5/15 min)")
    if load[0] > 0.5:
        print("WARNING: the machine is busy; timings are not representative")
    sys.stdout.flush()


# --- children --------------------------------------------------------------------------------


@dataclass
class ChildResult:
    cmd: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr_tail: str
    data: dict[str, Any] = field(default_factory=dict)  # the JSON it printed

    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.data)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(cmd: Sequence[str], *, cwd: Path = REPO) -> ChildResult:
    """Run ``cmd`` and measure it: wall time around the process and its own peak RSS.

    ``os.wait4`` returns the resource usage of exactly this child (and the children it waited
    for), so ``ru_maxrss`` is the child's peak, not the largest of all children so far.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=child_env(), stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss_mb = usage.ru_maxrss / (1024**2 if sys.platform == "darwin" else 1024)
    result = ChildResult(
        cmd=list(cmd),
        returncode=proc.returncode,
        wall_seconds=wall,
        peak_rss_mb=rss_mb,
        stdout=stdout,
        stderr_tail=stderr[-3000:],
        data=parse_json(stdout),
    )
    return result


def train_cnn(work: Path, *args: str) -> Path:
    """specs/cnn.yaml trained by ``mnistctl train`` (a child process) into ``work/runs`` with
    the extra command-line ``args`` (``--set ...``, ``--data ...``); its run directory."""
    cmd = [
        *(sys.executable, "-m", "mnistctl", "train", str(SPECS["cnn"]), *args),
        *("--runs-dir", str(work / "runs"), "--json"),
    ]
    result = run_child(cmd)
    if not result.ok():
        fail(result)
    return Path(result.data["run_dir"])


def parse_json(stdout: str) -> dict[str, Any]:
    """The JSON document a child printed: all of stdout, else its last ``{...}`` line."""
    text = stdout.strip()
    with contextlib.suppress(ValueError):
        value = json.loads(text)
        return value if isinstance(value, dict) else {}
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                return value if isinstance(value, dict) else {}
    return {}


def fail(result: ChildResult) -> None:
    print(f"\nFAILED (exit {result.returncode}): {' '.join(result.cmd)}", file=sys.stderr)
    print(result.stderr_tail, file=sys.stderr)
    sys.exit(1)


def warm_up() -> None:
    """Import TensorFlow once so that the first measured run does not pay for a cold disk cache."""
    subprocess.run(
        [sys.executable, "-c", "import tensorflow, keras"],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


# --- commands --------------------------------------------------------------------------------


def mnistctl_cmd(
    model: str,
    data: Path,
    runs_dir: Path,
    *,
    epochs: int,
    precision: str,
    seed: int = 0,
    batch_size: int = 128,
    train_samples: int | None = None,
) -> list[str]:
    sets = [
        f"train.epochs={epochs}",
        f"train.precision={precision}",
        f"train.seed={seed}",
        f"train.batch_size={batch_size}",
        "data.validation_split=0",
    ]
    if train_samples:
        sets.append(f"data.train_samples={train_samples}")
    cmd = [sys.executable, "-m", "mnistctl", "train", str(SPECS[model]), "--data", str(data)]
    for s in sets:
        cmd += ["--set", s]
    return [*cmd, "--runs-dir", str(runs_dir), "--json"]


def script_cmd(
    model: str,
    data: Path,
    *,
    epochs: int,
    precision: str = "float32",
    seed: int = 0,
    batch_size: int = 128,
    train_samples: int | None = None,
) -> list[str]:
    cmd = [
        sys.executable,
        str(SCRIPTS[model]),
        "--data",
        str(data),
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--batch-size",
        str(batch_size),
        "--precision",
        precision,
    ]
    if train_samples:
        cmd += ["--train-samples", str(train_samples)]
    return cmd


def mnistctl_record(result: ChildResult, epochs: int) -> dict[str, Any]:
    """The numbers of one ``mnistctl train --json`` run, in the scripts' vocabulary."""
    data = result.data
    run_dir = Path(data["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    env = json.loads((run_dir / "env.json").read_text())
    train_s = float(data["train_seconds"])
    sps = float(metrics.get("samples_per_second") or 0.0)
    samples = round(sps * train_s / epochs) if sps else int(env["data"]["train_images"])
    return {
        "test_accuracy": float(data["test"]["accuracy"]),
        "test_loss": float(data["test"]["loss"]),
        "train_seconds": train_s,
        "samples": samples,
        "precision": data.get("precision"),
    }


def measure(cmd: Sequence[str], trainer: str, epochs: int) -> tuple[ChildResult, dict[str, Any]]:
    """Run one trainer's command; stop the bench if it failed; its numbers as a record."""
    result = run_child(cmd)
    if not result.ok():
        fail(result)
    record = script_record(result) if trainer == "script" else mnistctl_record(result, epochs)
    return result, record


def script_record(result: ChildResult) -> dict[str, Any]:
    data = result.data
    return {
        "test_accuracy": float(data["test_accuracy"]),
        "test_loss": float(data["test_loss"]),
        "train_seconds": float(data["train_seconds"]),
        "samples": int(data["samples"]),
        "precision": data.get("precision"),
    }


@contextlib.contextmanager
def temp_dir(prefix: str, keep: bool = False) -> Any:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


# --- numbers and tables ----------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1) -> str:
    """A plain text table: the first ``left`` columns left-aligned, the others right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(w) if i < left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:.2f}"  # nan: no measurement
    return str(value)


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")
    print(f"raw results: {path}")
