"""Keras's data set downloads: find the files in Keras's cache, else download them with Keras.

Only the files are handled here; they are read with the loaders of this package
(``allow_pickle=False``), never with ``keras.datasets.*.load_data``. Keras is imported only when
a download is needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mnistctl.data import files
from mnistctl.data.files import exc_text
from mnistctl.errors import UserError

__all__ = ["KERAS_DATASETS", "LOCAL_DATA_HINT", "SAMPLE_HINT", "keras_files"]

LOCAL_DATA_HINT = (
    "pass a local copy with --data PATH (a .npz like Keras's mnist.npz or a folder of IDX files)"
    " or set MNISTCTL_DATA"
)

# Offline without MNIST: also the sample bundled with the package (never used unasked).
SAMPLE_HINT = "or train on the bundled 5,000-digit sample: --set data.dataset=mnist_sample"

# The files Keras downloads (keras/src/datasets/mnist.py and fashion_mnist.py).
_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_FASHION_SUBDIR = os.path.join("datasets", "fashion-mnist")


@dataclass(frozen=True)
class _Remote:
    key: str  # which array, or "npz" for the whole archive
    fname: str
    subdir: str
    sha256: str | None


_REMOTE: dict[str, tuple[str, tuple[_Remote, ...]]] = {
    "mnist": ("MNIST", (_Remote("npz", "mnist.npz", "datasets", _MNIST_SHA256),)),
    "fashion_mnist": (
        "Fashion-MNIST",
        (
            _Remote("x_train", "train-images-idx3-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("y_train", "train-labels-idx1-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("x_test", "t10k-images-idx3-ubyte.gz", _FASHION_SUBDIR, None),
            _Remote("y_test", "t10k-labels-idx1-ubyte.gz", _FASHION_SUBDIR, None),
        ),
    ),
}

KERAS_DATASETS = tuple(_REMOTE)


def keras_files(dataset: str) -> dict[str, Path]:
    """The files of ``dataset`` (one of KERAS_DATASETS), downloaded unless cached: ``{"npz":
    path}`` for an archive, else the four IDX files by array (``x_train``, ...)."""
    label, remotes = _REMOTE[dataset]
    home = _keras_home()
    roots = _cache_roots(home)
    paths: dict[str, Path] = {}
    for r in remotes:
        cached = _find_cached(roots, r)
        paths[r.key] = cached if cached is not None else _download(home, roots[-1], r, label)
    return paths


def _keras_home() -> Path:
    """Keras's cache root, as Keras computes it, but read now (Keras reads it once, at import)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home).expanduser()
    user = Path("~").expanduser()
    return (user if os.access(user, os.W_OK) else Path("/tmp")) / ".keras"


def _cache_roots(home: Path) -> list[Path]:
    """Where ``keras.utils.get_file(cache_dir=home)`` keeps files: ``home``, else a temp dir."""
    fallback = Path("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()) / ".keras"
    return [home] if os.access(home, os.W_OK) else [home, fallback]


def _find_cached(roots: list[Path], r: _Remote) -> Path | None:
    for root in roots:
        p = root / r.subdir / r.fname
        try:
            usable = p.is_file() and p.stat().st_size <= files.MAX_DATA_BYTES
        except OSError:
            usable = False
        if usable and (r.sha256 is None or _file_sha256(p) == r.sha256):
            return p
    return None


def _file_sha256(p: Path) -> str | None:
    try:
        with p.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def _download(home: Path, root: Path, r: _Remote, label: str) -> Path:
    """Fetch one file with ``keras.utils.get_file``; any failure is one UserError."""
    target = root / r.subdir / r.fname
    existed = target.exists()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout clean for --json
            import keras

            got = keras.utils.get_file(
                fname=r.fname,
                origin=_KERAS_ORIGIN + r.fname,
                file_hash=r.sha256,
                cache_dir=str(home),
                cache_subdir=r.subdir,
            )
    except Exception as e:
        if not existed or r.sha256 is not None:  # a partial or corrupt download: don't keep it
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
        raise UserError(
            f"could not download {label} (no network?)",
            received=exc_text(e),
            hint=LOCAL_DATA_HINT + (f", {SAMPLE_HINT}" if label == "MNIST" else ""),
        ) from e
    return Path(got)
