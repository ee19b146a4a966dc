"""Shared plumbing of the plot modules: figures, atomic PNG saving, colours, labels, contrast.

Figures are ``matplotlib.figure.Figure`` objects with an Agg canvas attached: no pyplot, no
GUI backend, no global figure registry (nothing to leak, safe from threads, and no global
state changed for other code).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from mnistctl.runs.atomic import write_with

DPI = 120
MAX_PIXELS = 30_000  # per side; Agg refuses images beyond 2**16 pixels
DEFAULT_LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))

TEXT = "#222222"
MUTED = "#777777"
TRAIN = "#1f77b4"
VAL = "#d62728"


def new_figure(width: float, height: float, constrained: bool = True) -> Figure:
    """A standalone Figure (not registered with pyplot) with an Agg canvas attached.

    Its ``dpi`` is the one it is saved at (``DPI`` unless a plot caps it)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out: Path) -> Path:
    """Write ``fig`` as a PNG at ``out`` (at the figure's dpi) atomically, through the one
    atomic writer (``runs/atomic.py``): on any failure ``out`` is left untouched, and a write
    that fails (a full disk, a read-only folder) is a one-line user error.

    Nothing to close: the figure was never registered with pyplot, so it is freed with its
    last reference."""
    out = Path(out)

    def render(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fig.savefig(fh, format="png", dpi=fig.dpi, facecolor="white")

    write_with(out, render, suffix=".png")
    return out


def capped_dpi(width: float, height: float) -> float:
    """``DPI``, lowered so that neither side of a ``width`` x ``height`` inch figure exceeds
    ``MAX_PIXELS``."""
    return min(float(DPI), MAX_PIXELS / max(width, height, 1e-9))


def labels_for(n: int, labels: Sequence[str] | None) -> list[str]:
    """``n`` class names: ``labels`` (checked to have ``n``) or the class indices."""
    if labels is None:
        return list(DEFAULT_LABELS) if n == len(DEFAULT_LABELS) else [str(i) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"expected {n} class labels, got {len(labels)}")
    return [str(label) for label in labels]


def label(index: int, labels: Sequence[str]) -> str:
    """The name of class ``index``, or the index itself when there is no such name."""
    return labels[index] if 0 <= index < len(labels) else str(index)


def ellipsize(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_width_in(text: str, prop: FontProperties) -> float:
    """The width of ``text`` in inches, measured with the real font metrics."""
    if not text:
        return 0.0
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
    return float(width) / 72.0


_MEASURE = TextToPath()


def luminance(rgba: Sequence[float]) -> float:
    """Relative luminance (WCAG) of an sRGB colour with components in [0, 1]."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour_on(rgba: Sequence[float]) -> str:
    """Black or white, whichever contrasts more with the background colour."""
    lum = luminance(rgba)
    return "white" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "black"


def message_figure(message: str, title: str = "") -> Figure:
    """A small figure that only says ``message`` (under ``title``, if any)."""
    fig = new_figure(6.0, 2.2 if not title else 2.6)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color=MUTED)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig
