"""Shared helpers for the end-to-end tests (workflow, reliability, hostile inputs).

Small data sets are cut from the real digits of the bundled sample
(``mnistctl/data/mnist_sample.npz``: 5,000 training and the 10,000 test digits of MNIST) into
``tmp_path``; nothing here downloads and nothing needs a file outside the repository. The CLI
runs in-process (``typer.testing.CliRunner``) so that TensorFlow is imported once per test
session; only the signal tests start real processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # only beside a checkout of the workplace's
REAL_NPZ = ROOT / "mnistctl" / "data" / "mnist_sample.npz"  # the real digits, bundled

# A small, fast, learnable model: 784 -> 64 relu -> 10 softmax (about 51k parameters).
TINY_SPEC = """\
name: tiny
description: A small dense network for the end-to-end tests
data:
  dataset: mnist
  validation_split: 0.1
model:
  layers:
    - {type: Input, name: input_tensor, shape: [784]}
    - {type: Dense, name: hidden, units: 64, activation: relu}
    - {type: Dense, name: output_tensor, units: 10, activation: softmax}
compile:
  loss: categorical_crossentropy
  optimizer: adam
  metrics: [accuracy]
train:
  batch_size: 32
  epochs: 3
  seed: 0
"""

# The same network with a small convolution in front (28x28x1 input), for image commands.
CONV_SPEC = TINY_SPEC.replace("name: tiny", "name: conv").replace(
    """    - {type: Input, name: input_tensor, shape: [784]}
    - {type: Dense, name: hidden, units: 64, activation: relu}""",
    """    - {type: Input, name: input_tensor, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv, filters: 8, kernel_size: 3, activation: relu}
    - {type: MaxPooling2D, name: pool, pool_size: 2}
    - {type: Flatten, name: flat}""",
)

_real: dict[str, np.ndarray] | None = None


def real_arrays() -> dict[str, np.ndarray]:
    """The real digits (5,000 train, 10,000 test) of the bundled sample."""
    global _real
    if _real is None:
        with np.load(REAL_NPZ, allow_pickle=False) as npz:
            _real = {k: np.asarray(npz[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    return _real


def make_npz(path: Path, n_train: int, n_test: int) -> Path:
    """A small .npz (Keras's mnist.npz layout) of the first real digits."""
    arrays = real_arrays()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=arrays["x_train"][:n_train],
        y_train=arrays["y_train"][:n_train],
        x_test=arrays["x_test"][:n_test],
        y_test=arrays["y_test"][:n_test],
    )
    return path


def write_spec(folder: Path, text: str = TINY_SPEC, filename: str = "tiny.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(text, encoding="utf-8")
    return path


def trained_run(
    tmp: Path, text: str, filename: str, *, n_train: int = 300, n_test: int = 50, epochs: int = 1
) -> Path:
    """A run of the spec ``text`` trained in-process on the first real digits; its directory."""
    data = make_npz(tmp / "data.npz", n_train, n_test)
    spec = write_spec(tmp, text, filename)
    result = cli(
        "train", spec, "--data", data, "--runs-dir", tmp / "runs",
        "--set", f"train.epochs={epochs}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return Path(json.loads(result.stdout)["run_dir"])


def cli(*args: str | Path, env: Mapping[str, str | None] | None = None) -> Result:
    """``mnistctl ARGS`` in-process; ``result.stdout`` and ``result.stderr`` kept apart.

    Exceptions are not caught: an unexpected one fails the test with its traceback.
    """
    from mnistctl.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MNISTCTL_DATA", None)
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


MNISTCTL = [sys.executable, "-m", "mnistctl"]


def run_dirs(runs_dir: Path) -> list[Path]:
    """Every run directory (``runs_dir/<name>/<stamp>``), sorted."""
    if not runs_dir.exists():
        return []
    return sorted(p for p in runs_dir.glob("*/*") if p.is_dir())


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under ``folder``: relative path -> (size, mtime_ns, sha256)."""
    out: dict[str, tuple[int, int, str]] = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(folder))] = (st.st_size if p.is_file() else 0, st.st_mtime_ns, digest)
    return out


def assert_user_error(result: Result, *fragments: str, lines: int | None = 1) -> str:
    """Exit 1; no traceback; nothing on stdout; the first stderr line holds every fragment
    (case-insensitive). ``lines``: how many stderr lines (None: any, e.g. a spec excerpt)."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.stdout, err
    got = err.strip().splitlines()
    if result.stdout:  # --json: one JSON error document, the same error as on stderr
        doc = json.loads(result.stdout)
        assert set(doc) == {"error", "errors"}, doc
        assert doc["error"]["one_line"] == got[0].removeprefix("error: "), (doc, got)
        assert doc["errors"][0] == doc["error"]["one_line"]
    assert got, "no message on stderr"
    if lines is not None:
        assert len(got) == lines, err
    first = got[0].lower()
    for fragment in fragments:
        assert fragment.lower() in first, (fragment, err)
    return got[0]


def no_tmp_files(folder: Path) -> list[Path]:
    """Leftover temporary files of atomic writes (``.NAME.xxxx.tmp``)."""
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def digit_png(path: Path, pixels: np.ndarray, *, invert: bool = False, scale: int = 1) -> Path:
    """Write a 28x28 uint8 digit as a greyscale PNG (optionally dark-on-light, enlarged)."""
    from PIL import Image

    img = 255 - pixels if invert else pixels
    im = Image.fromarray(np.asarray(img, dtype=np.uint8), mode="L")
    if scale != 1:
        im = im.resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    im.save(path, format="PNG")
    return path


WATCHDOG_S = 20.0


def within_watchdog(fn: Callable[[], object], seconds: float = WATCHDOG_S) -> object:
    """``fn()``'s result, or the exception it raised; fails the test if it has not returned
    within ``seconds`` (the thread is a daemon: a hang cannot block the test run)."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    return box[0]


# --- own data: pictures of three colours ------------------------------------------------------

COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30)}
"""Three classes of small RGB pictures, told apart by their colour: an own-data set in class
folders that a tiny convnet learns in a few epochs."""


def colour_spec(path: Path, epochs: int = 3) -> str:
    """A small convnet spec on ``COLOURS``'s 12x12 RGB pictures in class folders at ``path``."""
    return f"""\
name: colours
data: {{path: {path}, validation_split: 0.2}}
model:
  layers:
    - {{type: Input, name: picture, shape: [12, 12, 3]}}
    - {{type: Conv2D, name: conv, filters: 4, kernel_size: 3, activation: relu}}
    - {{type: Flatten, name: flat}}
    - {{type: Dense, name: out, units: 3, activation: softmax}}
compile: {{optimizer: {{type: adam, learning_rate: 0.01}}}}
train: {{epochs: {epochs}, batch_size: 8, seed: 0}}
"""


def colour_picture(path: Path, colour: tuple[int, int, int], seed: int,
                   size: tuple[int, int] = (12, 12)) -> Path:  # fmt: skip
    """A ``size`` (width, height) picture of ``colour`` with a little noise, saved at ``path``."""
    from PIL import Image

    noise = np.random.default_rng(seed).integers(-20, 20, (size[1], size[0], 3))
    Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)).save(path)
    return path


def colour_folders(root: Path, train: int, test: int) -> Path:
    """``root/train/<colour>/`` and ``root/test/<colour>/`` with ``train`` and ``test``
    pictures of each colour."""
    for split, n in (("train", train), ("test", test)):
        for name, colour in COLOURS.items():
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                colour_picture(root / split / name / f"{i:02d}.png", colour, i)
    return root
