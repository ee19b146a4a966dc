"""One picture explained (``mnistctl explain``): the picture, each map over it with a colour
bar, and the model's top guesses, under a title saying what it read.

Plain data in (the picture as 0..1 floats (H, W, C), the maps (H, W) or None with a reason,
the probabilities), a PNG out. The picture is white on black (``style.PICTURE_CMAP``; RGB as
it is); each map is drawn over it, half transparent, in one colour scale from 0 (dark blue) to
its largest value (dark red).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mnistctl.plots.common import MUTED, TEXT, ellipsize, labels_for, new_figure, save_figure
from mnistctl.plots.style import PICTURE_CMAP

MAP_CMAP = "turbo"
MAP_ALPHA = 0.55
TOP = 5  # guesses shown
PANEL = 2.3  # inches per panel
TITLES = {"gradcam": "Grad-CAM", "saliency": "saliency", "occlusion": "occlusion"}
UNITS = {
    "gradcam": "relative importance (largest = 1)",
    "saliency": "relative importance (largest = 1)",
    "occlusion": "probability drop when covered",
}


def build_explanation_figure(
    picture: npt.ArrayLike,
    maps: Mapping[str, npt.NDArray[np.float32] | None],
    reasons: Mapping[str, str],
    probabilities: Sequence[float] | npt.NDArray[np.float64],
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
    layer: str | None = None,
    true_label: int | None = None,
) -> Figure:
    """The figure of :func:`plot_explanation`, not saved."""
    probs = np.asarray(probabilities, dtype=np.float64)
    names = labels_for(len(probs), labels)
    pic = _picture(picture)
    fig = new_figure(PANEL * (len(maps) + 2) + 0.6, PANEL + 0.9)
    axes = fig.subplots(1, len(maps) + 2, width_ratios=[1.0] * (len(maps) + 1) + [1.3])
    _show(axes[0], pic)
    axes[0].set_title("picture", fontsize=10, color=TEXT)
    for ax, (method, values) in zip(axes[1:], maps.items(), strict=False):
        heading = TITLES.get(method, method)
        if method == "gradcam" and layer:
            heading += f" at {ellipsize(layer, 18)}"
        ax.set_title(heading, fontsize=10, color=TEXT)
        if values is None:
            _absent(ax, reasons.get(method, "not available for this model"))
            continue
        _show(ax, pic, dim=True)
        shown = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0)
        image = ax.imshow(
            shown,
            cmap=MAP_CMAP,
            alpha=MAP_ALPHA,
            vmin=0.0,
            vmax=max(float(shown.max(initial=0.0)), 1e-12),
            interpolation="nearest",
        )
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label(UNITS.get(method, ""), fontsize=7, color=MUTED)
        bar.ax.tick_params(labelsize=7)
    _guesses(axes[-1], probs, names)
    best = int(probs.argmax()) if len(probs) else 0
    heading = f"{title or 'Explanation'}: read as {names[best]} ({probs[best]:.0%})"
    if true_label is not None and 0 <= true_label < len(names):
        heading += f", labelled {names[true_label]}"
    fig.suptitle(heading, fontsize=12, color=TEXT)
    return fig


def plot_explanation(
    picture: npt.ArrayLike,
    maps: Mapping[str, npt.NDArray[np.float32] | None],
    reasons: Mapping[str, str],
    probabilities: Sequence[float] | npt.NDArray[np.float64],
    out: Path,
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
    layer: str | None = None,
    true_label: int | None = None,
) -> Path:
    """The picture (0..1 floats, (H, W), (H, W, 1) or (H, W, 3)), each map over it (a colour
    bar each; a map that is None says ``reasons[method]`` instead), and the top guesses of
    ``probabilities`` named by ``labels``; written to ``out`` atomically."""
    fig = build_explanation_figure(
        picture, maps, reasons, probabilities,
        labels=labels, title=title, layer=layer, true_label=true_label,
    )  # fmt: skip
    return save_figure(fig, out)


def _picture(picture: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(picture, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    arr = np.where(np.isfinite(arr), arr, 0.0)
    return np.clip(arr / (255.0 if arr.max(initial=0.0) > 1.0 else 1.0), 0.0, 1.0)


def _show(ax: Axes, pic: npt.NDArray[np.float64], *, dim: bool = False) -> None:
    shown = pic * 0.8 if dim else pic
    if pic.ndim == 3:
        ax.imshow(shown, interpolation="nearest")
    else:
        ax.imshow(shown, cmap=PICTURE_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _absent(ax: Axes, reason: str) -> None:
    ax.set_axis_off()
    text = "\n".join(textwrap.wrap(f"none: {reason}", 26))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, color=MUTED,
            transform=ax.transAxes)  # fmt: skip


def _guesses(ax: Axes, probs: npt.NDArray[np.float64], names: Sequence[str]) -> None:
    order = np.argsort(-probs, kind="stable")[:TOP]
    shown = [ellipsize(names[i], 12) for i in order]
    values = probs[order]
    ax.barh(range(len(order)), values, color=["#d62728"] + ["#1f77b4"] * (len(order) - 1))
    ax.set_yticks(range(len(order)), shown, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.tick_params(axis="x", labelsize=7)
    for row, value in enumerate(values):
        inside = value > 0.6
        ax.text(value - 0.02 if inside else value + 0.02, row, f"{value:.1%}", va="center",
                ha="right" if inside else "left", fontsize=8,
                color="white" if inside else TEXT)  # fmt: skip
    ax.set_title(f"top {len(order)} guesses", fontsize=10, color=TEXT)
    ax.set_xlabel("probability", fontsize=8, color=MUTED)
