"""``mnistctl explain RUN [IMAGE...] [--test N]``: the prediction for each picture and where
the network looked (Grad-CAM, saliency, occlusion: ``ml/explain``), with one PNG per picture.

Image files are prepared exactly as ``predict`` prepares them (``data/imagesets.py``, the run's
``Target``), all of them before anything is drawn: one bad file refuses the whole command, as
``predict`` without ``partial`` does. ``--test N`` takes the first N test pictures of the run's
data (``--data`` or where its spec says). Every output path is checked first
(``runs/outputs.py``: ``RUN/explain/`` is the run's own folder for it; ``--output DIR``
elsewhere), the explanations are all computed, and only then the PNGs are written, each
atomically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.commands.common import OpenRun, open_run
from mnistctl.commands.explain_request import check_request
from mnistctl.data.imagesets import expand_images, prepare_images
from mnistctl.errors import Location, UserError, UserErrors, unicode_text
from mnistctl.ml.explain import METHODS, Explainer, Explanation, check_softmax
from mnistctl.runs import layout, outputs

EXPLAIN = "explain"  # RUN/explain/: the folder of the run's own explanation pictures
CHOICES = (*METHODS, "all")
PICTURE = outputs.png_kind("explain", "choose another --output folder")
DECIMALS = 5  # of the map values in JSON


@dataclass(frozen=True)
class Explained:
    """One picture: where it came from (``file`` or ``test_index``), the model's answer and
    the maps (``Explanation``), and the PNG drawn of it."""

    explanation: Explanation
    class_names: tuple[str, ...]
    file: str | None = None
    test_index: int | None = None
    true_label: int | None = None  # a test picture's label in the data
    png: Path | None = None

    @property
    def label(self) -> int:
        return self.explanation.label

    @property
    def source(self) -> str:
        return self.file if self.file is not None else f"test picture {self.test_index}"

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        probs = self.explanation.probabilities
        return [(self.class_names[i], float(probs[i])) for i in np.argsort(-probs)[:k]]

    def to_json(self) -> dict[str, Any]:
        e = self.explanation
        where: dict[str, Any] = (
            {"file": unicode_text(self.file)}
            if self.file is not None
            else {"test_index": self.test_index}
        )
        if self.true_label is not None:
            where.update(true_label=self.true_label, true_class=self.class_names[self.true_label])
        return {
            **where,
            "label": e.label,
            "class": self.class_names[e.label],
            "probabilities": [float(p) for p in e.probabilities],
            "maps": {m: None if a is None else _rows(a) for m, a in e.maps.items()},
            "reasons": dict(e.reasons),
            "layer": e.layer,
            "png": None if self.png is None else str(self.png),
        }


def _rows(values: npt.NDArray[np.float32]) -> list[list[float]]:
    rows: list[list[float]] = np.round(values.astype(np.float64), DECIMALS).tolist()
    return rows


@dataclass(frozen=True)
class ExplainResult:
    run_dir: Path
    name: str
    class_names: tuple[str, ...]
    checkpoint: layout.Checkpoint
    methods: tuple[str, ...]
    layer: str | None  # Grad-CAM's layer (None: the model has no convolution, or not asked)
    conv_layers: tuple[str, ...]  # the layers --layer may name
    entries: list[Explained]
    output: Path | None  # the folder of the PNGs (None: none drawn)

    def to_json(self) -> list[dict[str, Any]]:
        """The contract's list: one object per picture, in order."""
        return [entry.to_json() for entry in self.entries]


def explain_run(
    run_arg: Path,
    images: Sequence[str | Path] = (),
    test_n: int | None = None,
    method: str = "all",
    layer: str | None = None,
    output: Path | None = None,
    checkpoint: str | None = None,
    data: Path | None = None,
    runs_dir: Path | None = None,
    *,
    draw: bool = True,
) -> ExplainResult:
    """``mnistctl explain``: the files ``images`` (files, folders, patterns, as ``predict``
    takes them) and then the first ``test_n`` test pictures, explained by ``method`` (one of
    METHODS, or ``all``) with Grad-CAM at ``layer`` (None: the default). ``draw``: write one
    PNG per picture into ``output`` (default ``RUN/explain/``)."""
    methods = _methods(method)
    check_request(images, test_n)
    opened = open_run(run_arg, runs_dir, checkpoint)
    folder = output if output is not None else opened.run_dir / EXPLAIN
    items = expand_images(images)
    sources = [str(item) if isinstance(item, Path) else "?" for item in items]
    n_test = test_n or 0
    pngs = _png_paths(sources, n_test, folder, opened.checkpoint.suffix) if draw else []
    for png in pngs:  # the one rule for output paths, before anything slow
        outputs.check_output(png, PICTURE, own=folder if output is None else None)
    model = opened.load_model()
    try:
        check_softmax(model)
    except UserError as err:
        located = dataclasses.replace(err, location=Location(str(opened.run_dir / layout.SPEC)))
        raise located from None
    explainer = Explainer(model, layer=layer)
    pictures, names, tests, truth = _pictures(opened, items, n_test, data, explainer)
    found = explainer.explain(pictures, methods)
    classes = opened.spec.class_names
    entries = [
        Explained(e, classes, file=name, test_index=test, true_label=true)
        for e, name, test, true in zip(found, names, tests, truth, strict=True)
    ]
    if draw:
        entries = _draw(entries, pictures, pngs, opened)
    return ExplainResult(
        run_dir=opened.run_dir,
        name=opened.spec.name,
        class_names=classes,
        checkpoint=opened.checkpoint,
        methods=methods,
        layer=explainer.layer,
        conv_layers=explainer.conv_layers,
        entries=entries,
        output=folder if draw else None,
    )


def _methods(method: str) -> tuple[str, ...]:
    if method == "all":
        return METHODS
    if method in METHODS:
        return (method,)
    raise UserError(
        f"unknown --method {method!r}", expected=", ".join(CHOICES), received=repr(method)
    )


def _png_paths(sources: Sequence[str], n_test: int, folder: Path, suffix: str) -> list[Path]:
    """One PNG per picture: the file's stem (``-2``, ``-3`` after the first of a name), or
    ``test-INDEX``; ``suffix`` marks pictures of the model the run does not end with."""
    stems = [Path(s).stem or "image" for s in sources] + [f"test-{i}" for i in range(n_test)]
    seen: dict[str, int] = {}
    paths: list[Path] = []
    for stem in stems:
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
        paths.append(folder / f"{name}{suffix}.png")
    return paths


def _pictures(
    opened: OpenRun, items: list[Any], n_test: int, data: Path | None, explainer: Explainer
) -> tuple[npt.NDArray[np.float32], list[str | None], list[int | None], list[int | None]]:
    """The pictures (N, H, W, C), each one's file, test index and true label (in order)."""
    files: npt.NDArray[np.float32] = np.zeros((0, *explainer.picture), np.float32)
    if items:
        batch = prepare_images(items, target=opened.spec.target)
        if batch.errors:
            raise UserErrors(batch.errors)
        files = explainer.pictures(batch.digits)
    names: list[str | None] = [str(item) for item in items]
    tests = np.zeros((0, *explainer.picture), np.float32)
    truth: list[int | None] = [None] * len(items)
    if n_test:
        dataset = opened.load_data(data)
        if n_test > len(dataset.x_test):
            raise UserError(
                f"--test {n_test}: the test set has only {len(dataset.x_test):,} pictures",
                expected=f"--test N with 1 <= N <= {len(dataset.x_test):,}",
                received=str(n_test),
            )
        tests = explainer.pictures(dataset.x_test[:n_test].astype(np.float32) / np.float32(255))
        truth += [int(y) for y in dataset.y_test[:n_test]]
    pictures = np.concatenate([files, tests]).astype(np.float32)
    indices: list[int | None] = [None] * len(items) + list(range(n_test))
    return pictures, names + [None] * n_test, indices, truth


def _draw(
    entries: list[Explained],
    pictures: npt.NDArray[np.float32],
    pngs: list[Path],
    opened: OpenRun,
) -> list[Explained]:
    from mnistctl.plots.explain import plot_explanation

    drawn: list[Explained] = []
    for entry, picture, png in zip(entries, pictures, pngs, strict=True):
        e = entry.explanation
        plot_explanation(
            picture,
            e.maps,
            e.reasons,
            e.probabilities,
            png,
            labels=entry.class_names,
            title=f"{opened.spec.name}: {unicode_text(_shown(entry))}",
            layer=e.layer,
            true_label=entry.true_label,
        )
        drawn.append(dataclasses.replace(entry, png=png))
    return drawn


def _shown(entry: Explained) -> str:
    return Path(entry.file).name if entry.file is not None else entry.source
