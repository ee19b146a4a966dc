"""``mnistctl data SOURCE``: what a data set holds, before anything trains on it.

SOURCE is a spec (its data, made to its Input), a path (a folder of class folders, a CSV, a
``.npz``, a folder of IDX files; pictures kept at their most common size) or a data set's name.
Every picture is read (that is how bad files are found), without TensorFlow, and the decoded
pictures fill the cache ``train`` reads (``data/pictures/cache.py``), so a second look, or the
training after it, decodes nothing. The result: classes with their counts in train and test,
the sizes and modes found, every bad file, and a preview grid of a few pictures per class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistctl.data.datasets import DATASETS, DataOptions, Dataset, load_dataset
from mnistctl.data.pictures.listing import BadFile
from mnistctl.errors import Location, UserError, unicode_text
from mnistctl.plots.preview import MAX_ROWS, plot_preview, preview_indices
from mnistctl.runs import outputs

__all__ = ["ClassCount", "DataReport", "describe_data"]

SPEC_SUFFIXES = (".yaml", ".yml")
PREVIEW = outputs.png_kind("data", "choose another --output")


@dataclass(frozen=True)
class ClassCount:
    label: int
    name: str
    train: int
    test: int


@dataclass(frozen=True)
class DataReport:
    """What ``mnistctl data`` found (``to_json``: the contract's document)."""

    source: str
    name: str
    classes: tuple[ClassCount, ...]
    sizes: dict[str, int]  # native picture sizes, "WxH" -> count
    modes: dict[str, int]  # Pillow modes ("L", "RGB", ...) -> count
    shape: tuple[int, ...]  # one picture as made for training: (H, W) grey or (H, W, 3)
    bad: tuple[BadFile, ...]
    preview: Path | None
    seconds: float
    cached: bool = False  # the pictures came from the cache, none decoded

    @property
    def train(self) -> int:
        return sum(c.train for c in self.classes)

    @property
    def test(self) -> int:
        return sum(c.test for c in self.classes)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "classes": [
                {"class": c.name, "label": c.label, "train": c.train, "test": c.test}
                for c in self.classes
            ],
            "train": self.train,
            "test": self.test,
            "shapes": {"sizes": self.sizes, "modes": self.modes, "prepared": list(self.shape)},
            "bad": [
                {"file": unicode_text(b.file), "error": unicode_text(b.error)} for b in self.bad
            ],
            "preview": str(self.preview) if self.preview is not None else None,
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
        }


def describe_data(
    source: str,
    *,
    dataset: str | None = None,
    output: Path | None = None,
    preview: bool = True,
) -> DataReport:
    """Read the data SOURCE names (see the module); ``output``: the preview PNG (default
    ``<name>-preview.png`` here), checked before anything is read; ``dataset``: how a path is
    read (kmnist, emnist_letters, ...: their official files in that folder)."""
    started = time.perf_counter()
    loaded, name = _load(source, dataset, output, preview)
    target = output if output is not None else Path(f"{name}-preview.png")
    written = _preview(loaded, target, name) if preview else None
    counts = tuple(
        ClassCount(
            k,
            c,
            int(np.count_nonzero(loaded.y_train == k)),
            int(np.count_nonzero(loaded.y_test == k)),
        )
        for k, c in enumerate(loaded.classes)
    )
    return DataReport(
        source=loaded.source,
        name=name,
        classes=counts,
        sizes=dict(loaded.sizes),
        modes=dict(loaded.modes),
        shape=tuple(int(d) for d in loaded.x_train.shape[1:]),
        bad=tuple(loaded.bad),
        preview=written,
        seconds=time.perf_counter() - started,
        cached=loaded.cached,
    )


def _load(
    source: str, dataset: str | None, output: Path | None, preview: bool
) -> tuple[Dataset, str]:
    """The data and the name its preview is called by; the preview's path checked first."""
    path = Path(source).expanduser()
    if path.suffix.lower() in SPEC_SUFFIXES and path.is_file():
        from mnistctl.commands.datasource import load_spec_data  # the spec language: only here
        from mnistctl.spec import load_spec

        spec = load_spec(path)  # the data is looked at even when the model does not fit it yet
        _check_preview(output, spec.name, preview)
        return load_spec_data(spec, None), spec.name
    if not path.exists() and not path.is_symlink():
        if source in DATASETS and dataset is None:
            _check_preview(output, source, preview)
            return load_dataset(source, None), source
        raise UserError(
            "data not found",
            Location(file=source),
            expected=(
                "a spec, a folder of class folders, a CSV, a .npz, a folder of IDX files, or "
                + ", ".join(DATASETS)
            ),
            received="no such file or folder",
        )
    name = path.resolve().stem or "data"
    _check_preview(output, name, preview)
    return load_dataset(dataset or "mnist", path, DataOptions()), name


def _check_preview(output: Path | None, name: str, preview: bool) -> None:
    if preview:
        outputs.check_output(output if output is not None else Path(f"{name}-preview.png"), PREVIEW)


def _preview(loaded: Dataset, out: Path, name: str) -> Path:
    """Train pictures of each class (test pictures for a class without any)."""
    classes = len(loaded.classes)
    rows = preview_indices(loaded.y_train, classes)
    images = loaded.x_train
    if any(not row for row in rows):  # a class only in the test part: its test pictures
        offset = len(images)
        images = np.concatenate([images, loaded.x_test])
        test_rows = preview_indices(loaded.y_test, classes)
        rows = [row or [offset + i for i in test_rows[k]] for k, row in enumerate(rows)]
    title = (
        f"{name}: {classes} classes, {len(loaded.y_train):,} train / {len(loaded.y_test):,} test"
    )
    more = max(0, classes - MAX_ROWS)
    return plot_preview(images, rows, loaded.classes, out, title=title, more=more)
