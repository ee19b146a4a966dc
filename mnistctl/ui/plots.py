"""PNG plots for a run: learning curves, confusion matrix, misclassified digits, model graph.

Every function takes plain data (lists, dicts, NumPy arrays; never Keras objects) and returns
the path of the PNG it wrote. Matplotlib is imported inside the functions only, so importing
this module (and ``mnistctl --help``) stays instant. Figures are built with
``matplotlib.figure.Figure`` on an Agg canvas: no pyplot, no GUI backend, no global figure
registry (so nothing to leak and it is safe from threads).

Every PNG is written atomically: rendered into a temporary file in the target directory, then
``os.replace``-d into place, so a failure never leaves a half-written plot behind.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DPI = 120
_MAX_PIXELS = 30_000  # per side; Agg refuses images beyond 2**16 pixels
DEFAULT_LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))

_TEXT = "#222222"
_MUTED = "#777777"
_TRAIN = "#1f77b4"
_VAL = "#d62728"


# --------------------------------------------------------------------------------------------
# shared helpers


def _new_figure(width: float, height: float, constrained: bool = True) -> Any:
    """A standalone Figure (not registered with pyplot) with an Agg canvas attached."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, out: Path, dpi: float = DPI) -> Path:
    """Write ``fig`` as a PNG at ``out`` atomically (temp file in the same directory, then
    ``os.replace``); on any failure the temp file is removed and ``out`` is left untouched.

    Nothing to close: the figure was never registered with pyplot, so it is freed with its
    last reference (``Figure.clear`` would only cost time)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".png.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi, facecolor="white")
        os.replace(tmp_name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return out


def _capped_dpi(width: float, height: float) -> float:
    return min(float(DPI), _MAX_PIXELS / max(width, height, 1e-9))


def _labels_for(n: int, labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return list(DEFAULT_LABELS) if n == len(DEFAULT_LABELS) else [str(i) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"expected {n} class labels, got {len(labels)}")
    return [str(label) for label in labels]


def _label(index: int, labels: Sequence[str]) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)


def _luminance(rgba: Sequence[float]) -> float:
    """Relative luminance (WCAG) of an sRGB colour with components in [0, 1]."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _text_colour_on(rgba: Sequence[float]) -> str:
    """Black or white, whichever contrasts more with the background colour."""
    lum = _luminance(rgba)
    return "white" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "black"


def _message_figure(message: str, title: str = "") -> Any:
    fig = _new_figure(6.0, 2.2 if not title else 2.6)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color=_MUTED)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


# --------------------------------------------------------------------------------------------
# learning curves


_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy", "hinge")


def _lower_is_better(metric: str) -> bool:
    return any(token in metric.lower() for token in _LOWER_IS_BETTER)


_ACRONYMS = {"mae", "mse", "rmse", "mape", "msle", "auc", "lr"}


def _pretty_metric(metric: str) -> str:
    if metric.lower() in _ACRONYMS:
        return metric.upper()
    text = metric.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else metric


def _finite_values(values: Sequence[float]) -> npt.NDArray[np.float64]:
    arr = np.asarray(list(values), dtype=np.float64).reshape(-1)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def plot_learning_curves(
    history: Mapping[str, Sequence[float]], out: Path, title: str = ""
) -> Path:
    """One panel per metric (loss first), training and validation curves per epoch.

    ``history`` is Keras' ``History.history``: ``{"loss": [...], "val_loss": [...], ...}``;
    ``val_*`` keys are optional. The x axis is the epoch, starting at 1, with integer ticks;
    every point has a marker so a 1-epoch run is visible. On panels with validation data the
    best validation epoch (lowest for losses/errors, highest otherwise) is starred.
    Non-finite values (a diverged loss) are left as gaps.
    """
    series = {str(k): _finite_values(v) for k, v in history.items()}
    bases: list[str] = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base and base not in bases:
            bases.append(base)
    bases.sort(key=lambda b: (b != "loss", not b.endswith("loss")))  # stable: keeps the rest
    bases = [b for b in bases if len(series.get(b, ())) or len(series.get(f"val_{b}", ()))]

    if not bases:
        return _save(_message_figure("no training history recorded", title), out)

    from matplotlib.ticker import MaxNLocator, PercentFormatter

    n = len(bases)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = _new_figure(4.6 * ncols + 0.4, 3.5 * nrows + (0.4 if title else 0.0))
    n_epochs = max(len(v) for v in series.values())

    for i, base in enumerate(bases):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        train = series.get(base, np.empty(0))
        val = series.get(f"val_{base}", np.empty(0))
        all_values = np.concatenate([train, val])
        as_percent = (
            "acc" in base.lower()
            and bool(np.isfinite(all_values).any())
            and float(np.nanmin(all_values)) >= 0.0
            and float(np.nanmax(all_values)) <= 1.0
        )
        if train.size:
            ax.plot(
                np.arange(1, train.size + 1), train, marker="o", markersize=4, lw=1.8,
                color=_TRAIN, label="train", zorder=3,
            )  # fmt: skip
        if val.size:
            ax.plot(
                np.arange(1, val.size + 1), val, marker="s", markersize=4, lw=1.8, ls="--",
                color=_VAL, label="validation", zorder=3,
            )  # fmt: skip
            if np.isfinite(val).any():
                best = int(np.nanargmin(val) if _lower_is_better(base) else np.nanargmax(val))
                best_value = float(val[best])
                shown = f"{best_value:.2%}" if as_percent else f"{best_value:.4g}"
                ax.axvline(best + 1, color=_VAL, lw=0.8, ls=":", alpha=0.7, zorder=1)
                ax.plot(
                    [best + 1], [best_value], marker="*", markersize=15, color="#ffbf00",
                    markeredgecolor="#7a5a00", ls="none", zorder=2,
                    label=f"best val: epoch {best + 1} ({shown})",
                )  # fmt: skip
        ax.set_title(_pretty_metric(base), fontsize=12)
        ax.set_xlabel("epoch", fontsize=10)
        ax.set_xlim(0.5, n_epochs + 0.5)
        ax.margins(y=0.12)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if as_percent:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
        ax.tick_params(labelsize=9)
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=9, frameon=False, loc="best")

    if title:
        fig.suptitle(title, fontsize=13)
    return _save(fig, out)


# --------------------------------------------------------------------------------------------
# confusion matrix


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]] | npt.NDArray[Any],
    out: Path,
    labels: Sequence[str] | None = None,
    title: str = "",
    *,
    normalize: bool = True,
) -> Path:
    """Heat map of a confusion matrix: rows are the true class, columns the predicted class.

    Every cell shows its count (text colour chosen for contrast). The diagonal (correct) and
    the off-diagonal (errors) cells are coloured on separate scales (blue and red) so errors
    stay visible next to a dominating diagonal. With ``normalize`` (the default) colours are
    the share of the true class (row-normalised; diagonal cells then also show the recall),
    otherwise raw counts. The overall accuracy is in the title.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {m.shape}")
    if m.size and (not np.all(np.isfinite(m)) or np.any(m < 0)):
        raise ValueError("confusion matrix must hold non-negative counts")
    m = m.astype(np.int64)
    n = m.shape[0]
    names = _labels_for(n, labels)

    total = int(m.sum())
    correct = int(np.trace(m))
    accuracy = (
        f"accuracy {correct / total:.2%} ({correct:,}/{total:,})" if total else "accuracy n/a"
    )
    heading = f"{title} — {accuracy}" if title else f"Confusion matrix — {accuracy}"
    if n == 0:
        return _save(_message_figure("empty confusion matrix", heading), out)

    row_sums = m.sum(axis=1, keepdims=True)
    rates = np.divide(m, row_sums, out=np.zeros(m.shape), where=row_sums > 0)
    values = rates if normalize else m.astype(np.float64)
    diag_mask = np.eye(n, dtype=bool)
    off = np.where(diag_mask, 0.0, values)
    off_max = float(off.max()) if off.size else 0.0

    diag_cmap = colormaps["Blues"]
    err_cmap = colormaps["Reds"]
    diag_norm = Normalize(0.0, 1.0 if normalize else max(float(np.diag(values).max()), 1.0))
    err_norm = Normalize(0.0, off_max if off_max > 0 else 1.0)

    side = min(max(4.0, 0.62 * n + 2.0), 24.0)
    fig = _new_figure(side + 1.7, side + 0.3)
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    diag_img = ax.imshow(
        np.ma.masked_where(~diag_mask, values), cmap=diag_cmap, norm=diag_norm,
        interpolation="nearest",
    )  # fmt: skip
    err_img = ax.imshow(
        np.ma.masked_where(diag_mask | (m == 0), values), cmap=err_cmap, norm=err_norm,
        interpolation="nearest",
    )  # fmt: skip

    if n <= 30:
        count_size = max(5.0, min(10.0, 95.0 / n))
        for i in range(n):
            for j in range(n):
                count = int(m[i, j])
                if i == j:
                    rgba = diag_cmap(diag_norm(values[i, j]))
                elif count:
                    rgba = err_cmap(err_norm(values[i, j]))
                else:
                    ax.text(j, i, "0", ha="center", va="center", fontsize=count_size * 0.85,
                            color="#c8c8c8")  # fmt: skip
                    continue
                colour = _text_colour_on(rgba)
                text = f"{count:,}"
                if i == j and normalize and n <= 15 and row_sums[i, 0]:
                    text += f"\n{rates[i, j]:.1%}"
                ax.text(
                    j, i, text, ha="center", va="center", color=colour, linespacing=1.1,
                    fontsize=count_size * (0.85 if "\n" in text else 1.0),
                    fontweight="bold" if i == j else "normal",
                )  # fmt: skip

    ax.set_xticks(range(n), names, fontsize=10)
    ax.set_yticks(range(n), names, fontsize=10)
    ax.set_xlabel("predicted class", fontsize=11)
    ax.set_ylabel("true class", fontsize=11)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.0)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    what = "% of true class" if normalize else "count"
    err_bar = fig.colorbar(err_img, ax=ax, shrink=0.75, pad=0.02, aspect=30)
    err_bar.set_label(f"errors ({what})", fontsize=9)
    diag_bar = fig.colorbar(diag_img, ax=ax, shrink=0.75, pad=0.01, aspect=30)
    diag_bar.set_label(f"correct ({what})", fontsize=9)
    for bar in (err_bar, diag_bar):
        bar.ax.tick_params(labelsize=8)
        bar.outline.set_visible(False)
        if normalize:
            from matplotlib.ticker import PercentFormatter

            bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
    ax.set_title(heading, fontsize=12)
    return _save(fig, out)


# --------------------------------------------------------------------------------------------
# misclassified images


def _as_digit_images(images: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2 and arr.shape[1] == 28 * 28:
        arr = arr.reshape(-1, 28, 28)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 28, 28)
    if arr.ndim != 3:
        raise ValueError(f"expected images of shape (N, 28, 28), got {arr.shape}")
    return arr.astype(np.float64)


def plot_misclassified(
    images: npt.NDArray[Any],
    true: Sequence[int],
    pred: Sequence[int],
    confidence: Sequence[float] | None,
    out: Path,
    max_images: int = 36,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Grid of misclassified digits, each titled ``true 3 → pred 5 (87%)``.

    ``images`` has shape (N, 28, 28) (also accepted: (N, 28, 28, 1) or (N, 784)), uint8 in
    0..255 or float in 0..1 (or 0..255). At most ``max_images`` are drawn, in the order given
    (sort them first, e.g. most confident mistakes first). ``confidence`` is the model's
    probability for the predicted class. With no images the figure says so.
    """
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images}")
    imgs = _as_digit_images(images)
    n_total = imgs.shape[0]
    if len(true) != n_total or len(pred) != n_total:
        raise ValueError(
            f"got {n_total} images but {len(true)} true and {len(pred)} predicted labels"
        )
    if confidence is not None and len(confidence) != n_total:
        raise ValueError(f"got {n_total} images but {len(confidence)} confidences")
    names = list(labels) if labels is not None else list(DEFAULT_LABELS)
    heading = title or "Misclassified test images"

    if n_total == 0:
        return _save(_message_figure("no misclassified test images", heading), out)

    n = min(n_total, max_images)
    ncols = min(n, 6)
    nrows = math.ceil(n / ncols)
    # fixed layout in inches (much faster than constrained layout for dozens of axes)
    cell_w, img, caption_h, pad, top = 1.75, 1.42, 0.3, 0.12, 0.5
    width = ncols * cell_w + 2 * pad
    height = nrows * (img + caption_h + pad) + top
    fig = _new_figure(width, height, constrained=False)
    finite_max = float(np.nanmax(imgs[:n])) if np.isfinite(imgs[:n]).any() else 1.0
    vmax = 1.0 if finite_max <= 1.0 else 255.0
    for k in range(n):
        row, col = divmod(k, ncols)
        left = pad + col * cell_w + (cell_w - img) / 2
        bottom = height - top - row * (img + caption_h + pad) - caption_h - img
        ax = fig.add_axes((left / width, bottom / height, img / width, img / height))
        ax.imshow(imgs[k], cmap="gray_r", vmin=0.0, vmax=vmax, interpolation="nearest")
        caption = f"true {_label(int(true[k]), names)} → pred {_label(int(pred[k]), names)}"
        if confidence is not None:
            caption += f" ({float(confidence[k]):.0%})"
        ax.set_title(caption, fontsize=9, color=_TEXT, pad=4)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#bbbbbb")
    shown = f"{n_total:,}" if n == n_total else f"showing {n} of {n_total:,}"
    fig.text(0.5, 1 - 0.28 / height, f"{heading} ({shown})", ha="center", va="center",
             fontsize=12)  # fmt: skip
    return _save(fig, out)


# --------------------------------------------------------------------------------------------
# model graph


@dataclass
class _Node:
    key: str
    level: int
    kind: str  # "layer", "input" (referenced but not listed) or "dummy" (long-edge waypoint)
    layer: Mapping[str, Any] = field(default_factory=dict)
    x: float = 0.0
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)


@dataclass
class _GraphLayout:
    nodes: dict[str, _Node]
    levels: list[list[str]]
    edges: list[list[str]]  # each original edge: [source, waypoint..., target]


_DUMMY_WIDTH = 0.15  # in box widths
_GAP = 0.3  # horizontal gap between boxes, in box widths


def _separation(a: _Node, b: _Node) -> float:
    width_a = _DUMMY_WIDTH if a.kind == "dummy" else 1.0
    width_b = _DUMMY_WIDTH if b.kind == "dummy" else 1.0
    gap = _GAP if a.kind != "dummy" or b.kind != "dummy" else _DUMMY_WIDTH
    return (width_a + width_b) / 2 + gap


def _isotonic(y: list[float], w: list[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for value, weight in zip(y, w, strict=True):
        blocks.append([value, weight, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    fitted: list[float] = []
    for value, _, count in blocks:
        fitted.extend([value] * int(count))
    return fitted


def _place_level(nodes: dict[str, _Node], keys: list[str], desired: dict[str, float]) -> None:
    """Put the level's nodes as close to ``desired`` as the order and separations allow."""
    offsets = [0.0]
    for a, b in itertools.pairwise(keys):
        offsets.append(offsets[-1] + _separation(nodes[a], nodes[b]))
    weights = [0.3 if nodes[k].kind == "dummy" else 1.0 for k in keys]
    fitted = _isotonic([desired[k] - off for k, off in zip(keys, offsets, strict=True)], weights)
    for k, z, off in zip(keys, fitted, offsets, strict=True):
        nodes[k].x = z + off


def _crossings(nodes: dict[str, _Node], levels: list[list[str]]) -> int:
    """Edge crossings between adjacent levels (every edge joins adjacent levels)."""
    total = 0
    for upper, lower in itertools.pairwise(levels):
        upos = {k: i for i, k in enumerate(upper)}
        lpos = {k: i for i, k in enumerate(lower)}
        pairs = [(upos[k], lpos[s]) for k in upper for s in nodes[k].succs]
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _layout_graph(layers: Sequence[Mapping[str, Any]]) -> _GraphLayout:
    """Depth (longest path from an input) for each layer, an order within each depth that
    keeps edges from crossing, and x positions (in box widths). Edges spanning several depths
    get waypoints that occupy their own slot in the levels they pass, so they never run
    through a box."""
    names: list[str] = []
    by_name: dict[str, Mapping[str, Any]] = {}
    for i, layer in enumerate(layers):
        name = str(layer.get("name", f"layer_{i}"))
        if name in by_name:
            raise ValueError(f"duplicate layer name {name!r} in model graph")
        by_name[name] = layer
        names.append(name)
    inputs_of: dict[str, list[str]] = {
        name: [str(src) for src in (by_name[name].get("inputs") or [])] for name in names
    }
    implicit = [
        src
        for name in names
        for src in inputs_of[name]
        if src not in by_name
    ]  # fmt: skip
    implicit = list(dict.fromkeys(implicit))

    depth: dict[str, int] = dict.fromkeys(implicit, 0)
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(start: str) -> None:
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            name, i = stack.pop()
            if i == 0:
                if state.get(name) == 2:
                    continue
                if state.get(name) == 1:
                    raise ValueError(f"model graph has a cycle through layer {name!r}")
                state[name] = 1
            srcs = [s for s in inputs_of[name] if s in by_name]
            if i < len(srcs):
                stack.append((name, i + 1))
                src = srcs[i]
                if state.get(src) == 1:
                    raise ValueError(f"model graph has a cycle through layer {src!r}")
                if state.get(src) != 2:
                    stack.append((src, 0))
                continue
            depth[name] = 1 + max((depth[s] for s in inputs_of[name]), default=-1)
            state[name] = 2

    for name in names:
        visit(name)

    nodes: dict[str, _Node] = {}
    for src in implicit:
        nodes[src] = _Node(src, 0, "input", {"name": src, "type": "Input"})
    for name in names:
        nodes[name] = _Node(name, depth[name], "layer", by_name[name])
    n_levels = 1 + max((nd.level for nd in nodes.values()), default=0)
    levels: list[list[str]] = [[] for _ in range(n_levels)]
    for key in nodes:  # implicit inputs first, then layers in the given order
        levels[nodes[key].level].append(key)

    edges: list[list[str]] = []
    for name in names:
        for src in inputs_of[name]:
            path = [src]
            for lvl in range(nodes[src].level + 1, nodes[name].level):
                key = f"\0{src}\0{name}\0{len(edges)}\0{lvl}"
                nodes[key] = _Node(key, lvl, "dummy")
                levels[lvl].append(key)
                path.append(key)
            path.append(name)
            for a, b in itertools.pairwise(path):
                nodes[a].succs.append(b)
                nodes[b].preds.append(a)
            edges.append(path)

    # order within levels: barycentre sweeps, keeping the ordering with fewest crossings
    def sweep(downward: bool) -> None:
        rng = range(1, n_levels) if downward else range(n_levels - 2, -1, -1)
        for lvl in rng:
            ref = levels[lvl - 1] if downward else levels[lvl + 1]
            pos = {k: i for i, k in enumerate(ref)}
            keys = levels[lvl]
            scale = len(ref) / max(len(keys), 1)
            bary: dict[str, float] = {}
            for i, k in enumerate(keys):
                nbrs = nodes[k].preds if downward else nodes[k].succs
                bary[k] = sum(pos[p] for p in nbrs) / len(nbrs) if nbrs else i * scale
            keys.sort(key=bary.__getitem__)

    best = [list(lv) for lv in levels]
    best_crossings = _crossings(nodes, levels)
    for i in range(8):
        if best_crossings == 0:
            break
        sweep(downward=i % 2 == 0)
        c = _crossings(nodes, levels)
        if c < best_crossings:
            best, best_crossings = [list(lv) for lv in levels], c
    levels[:] = best

    # x positions: start packed and centred, then pull towards neighbours, alternating
    for keys in levels:
        _place_level(nodes, keys, {k: 0.0 for k in keys})
        shift = (nodes[keys[0]].x + nodes[keys[-1]].x) / 2 if keys else 0.0
        for k in keys:
            nodes[k].x -= shift
    for it in range(12):
        downward = it % 2 == 0
        order = range(1, n_levels) if downward else range(n_levels - 2, -1, -1)
        for lvl in order:
            desired: dict[str, float] = {}
            for k in levels[lvl]:
                nbrs = nodes[k].preds if downward else nodes[k].succs
                desired[k] = sum(nodes[p].x for p in nbrs) / len(nbrs) if nbrs else nodes[k].x
            _place_level(nodes, levels[lvl], desired)
    xmin = min((nd.x for nd in nodes.values()), default=0.0)
    for nd in nodes.values():
        nd.x -= xmin
    return _GraphLayout(nodes, levels, edges)


_TYPE_COLOURS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("input",), "#e9e9e9"),
    (("conv",), "#cfe2f3"),
    (("pool",), "#d9ead3"),
    (("flatten", "reshape", "permute", "repeat"), "#fff2cc"),
    (("dense",), "#fce5cd"),
    (("dropout", "normalization", "activation", "relu", "softmax", "noise", "rescaling"),
     "#f4f4f4"),
)  # fmt: skip


_MERGE_TYPES = frozenset(
    {"add", "concatenate", "multiply", "average", "maximum", "minimum", "subtract", "dot"}
)


def _box_colour(layer_type: str) -> str:
    low = layer_type.lower()
    if low in _MERGE_TYPES:  # exact: "ZeroPadding2D" contains "add"
        return "#e4d4f4"
    for tokens, colour in _TYPE_COLOURS:
        if any(t in low for t in tokens):
            return colour
    return "#eeeeee"


def _format_shape(shape: Any) -> str:
    if shape is None:
        return ""
    if isinstance(shape, Sequence) and not isinstance(shape, str):
        if shape and all(isinstance(s, Sequence) and not isinstance(s, str) for s in shape):
            return ", ".join(_format_shape(s) for s in shape)
        dims = ["None" if d is None else str(d) for d in shape]
        return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")
    return str(shape)


def _box_lines(node: _Node) -> tuple[str, str, str]:
    layer = node.layer
    name = str(layer.get("name", node.key))
    kind = str(layer.get("type", "")) or "?"
    parts = []
    shape = _format_shape(layer.get("output_shape"))
    if shape:
        parts.append(shape)
    params = layer.get("params")
    if isinstance(params, int | float) and node.kind != "input":
        count = int(params)
        parts.append(f"{count:,} param" + ("" if count == 1 else "s"))
    return _ellipsize(name, 34), _ellipsize(kind, 34), _ellipsize("  ·  ".join(parts), 44)


def _ellipsize(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot_model_graph(layers: Sequence[Mapping[str, Any]], out: Path, title: str = "") -> Path:
    """Draw the model as boxes (name, type, output shape, parameters) joined by arrows.

    ``layers`` is in topological order, each ``{"name", "type", "output_shape", "params",
    "inputs"}`` where ``inputs`` names earlier layers (an input name that is not itself a
    listed layer, such as Keras' input tensor, is drawn as a dashed input box).

    We draw the graph ourselves rather than with ``keras.utils.plot_model``: that needs
    Graphviz (pydot and the ``dot`` binary) and TensorFlow, while this needs only matplotlib,
    so it works from a saved summary anywhere. Layout: each layer's depth is its longest path
    from an input (one row per depth, top to bottom); parallel branches sit side by side;
    edges that skip rows (skip connections) run through their own slot in the rows they pass
    and are drawn under the boxes, so they never hide one. The figure grows with the depth
    and width of the graph.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextToPath

    if not layers:
        return _save(_message_figure("model has no layers", title), out)

    graph = _layout_graph(layers)
    real = [nd for nd in graph.nodes.values() if nd.kind != "dummy"]
    lines = {nd.key: _box_lines(nd) for nd in real}

    # box size from the widest text, measured with the real font metrics
    name_size, detail_size = 9.5, 8.5
    measure = TextToPath()
    bold = FontProperties(size=name_size, weight="bold")
    regular = FontProperties(size=detail_size)

    def text_width_in(text: str, prop: Any) -> float:
        if not text:
            return 0.0
        width, _, _ = measure.get_text_width_height_descent(text, prop, ismath=False)
        return float(width) / 72.0

    widest = max(
        max(text_width_in(a, bold), text_width_in(b, regular), text_width_in(c, regular))
        for a, b, c in lines.values()
    )
    box_w = max(1.8, widest + 0.3)
    box_h = 0.78
    row_h = box_h + 0.55
    margin = 0.3
    title_h = 0.55 if title else 0.15

    xs = [nd.x for nd in graph.nodes.values()]
    span = (max(xs) - min(xs)) if xs else 0.0
    heading = f"{title} — " if title else ""
    heading_font = FontProperties(size=12 if title else 9)
    n_layers = sum(1 for nd in real if nd.kind == "layer")
    total = sum(
        int(nd.layer["params"])
        for nd in real
        if nd.kind == "layer" and isinstance(nd.layer.get("params"), int | float)
    )
    heading += f"{n_layers} layer{'s' if n_layers != 1 else ''}, {total:,} parameters"
    width = max(span * box_w + box_w, text_width_in(heading, heading_font), 3.5) + 2 * margin
    n_levels = len(graph.levels)
    height = n_levels * row_h - (row_h - box_h) + 2 * margin + title_h
    x_shift = (width - (span * box_w + box_w)) / 2 + box_w / 2

    def cx(node: _Node) -> float:
        return x_shift + node.x * box_w

    def cy(node: _Node) -> float:
        return height - title_h - margin - box_h / 2 - node.level * row_h

    fig = _new_figure(width, height, constrained=False)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()

    # spread the ends of several edges meeting one box along its edge
    def spread(count: int) -> list[float]:
        if count <= 1:
            return [0.0]
        half = min(0.32, 0.12 * (count - 1)) * box_w
        return list(np.linspace(-half, half, count))

    out_ends: dict[int, float] = {}
    in_ends: dict[int, float] = {}
    by_source: dict[str, list[int]] = {}
    by_target: dict[str, list[int]] = {}
    for e, path in enumerate(graph.edges):
        by_source.setdefault(path[0], []).append(e)
        by_target.setdefault(path[-1], []).append(e)
    for group, ends, nxt in ((by_source, out_ends, 1), (by_target, in_ends, -2)):
        for edge_ids in group.values():
            neighbour_x = {e: graph.nodes[graph.edges[e][nxt]].x for e in edge_ids}
            edge_ids.sort(key=neighbour_x.__getitem__)
            for e, offset in zip(edge_ids, spread(len(edge_ids)), strict=True):
                ends[e] = offset

    for e, path in enumerate(graph.edges):
        src, dst = graph.nodes[path[0]], graph.nodes[path[-1]]
        points = [(cx(src) + out_ends[e], cy(src) - box_h / 2)]
        for key in path[1:-1]:
            waypoint = graph.nodes[key]
            points.append((cx(waypoint), cy(waypoint) + box_h / 2))
            points.append((cx(waypoint), cy(waypoint) - box_h / 2))
        points.append((cx(dst) + in_ends[e], cy(dst) + box_h / 2))
        verts: list[tuple[float, float]] = [points[0]]
        codes = [MplPath.MOVETO]
        for i in range(1, len(points)):
            (x0, y0), (x1, y1) = points[i - 1], points[i]
            if i % 2 == 1:  # between rows: a smooth S-curve, vertical at both ends
                mid = (y0 + y1) / 2
                verts += [(x0, mid), (x1, mid), (x1, y1)]
                codes += [MplPath.CURVE4] * 3
            else:  # passing through a row, in the waypoint's own slot
                verts.append((x1, y1))
                codes.append(MplPath.LINETO)
        ax.add_patch(
            FancyArrowPatch(
                path=MplPath(verts, codes), arrowstyle="-|>", mutation_scale=11,
                color="#555555", lw=1.2, zorder=1, shrinkA=0, shrinkB=0,
            )
        )  # fmt: skip

    for nd in real:
        name, kind, detail = lines[nd.key]
        x, y = cx(nd), cy(nd)
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2), box_w, box_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=_box_colour(str(nd.layer.get("type", ""))),
                edgecolor="#888888" if nd.kind == "input" else "#555555",
                linestyle="--" if nd.kind == "input" else "-", lw=1.0, zorder=3,
            )
        )  # fmt: skip
        ax.text(x, y + 0.22, name, ha="center", va="center", fontproperties=bold,
                color=_TEXT, zorder=4)  # fmt: skip
        ax.text(x, y, kind, ha="center", va="center", fontproperties=regular, color="#444444",
                zorder=4)  # fmt: skip
        ax.text(x, y - 0.22, detail, ha="center", va="center", fontproperties=regular,
                color=_MUTED, zorder=4)  # fmt: skip

    ax.text(
        width / 2, height - margin / 2 - title_h / 2 + 0.05, heading, ha="center", va="center",
        fontproperties=heading_font, color=_TEXT if title else _MUTED,
    )  # fmt: skip
    return _save(fig, out, dpi=_capped_dpi(width, height))
