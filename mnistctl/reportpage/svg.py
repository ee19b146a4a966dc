"""Learning curves as inline SVG: crisp at any zoom and in print, a few kilobytes, no
matplotlib. Drawn by the one convention (``plots/style.py``, handed in as a ``Drawing`` by the
command, since this package does not import ``plots``): validation solid, train dashed, a
legend saying so, a title on every chart, one colour per run where runs share axes; a group
of seeds is its mean with a band (mean ± standard deviation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 460, 290
LEFT, RIGHT, TOP, BOTTOM = 54, 12, 34, 40
DASHES = {"-": "", "--": "6 4", ":": "2 3", "-.": "6 3 2 3"}  # matplotlib's line styles


@dataclass(frozen=True)
class Drawing:
    """The drawing convention, from ``plots/style.py`` and ``plots/common.py``."""

    train_line: str  # a matplotlib line style: "--"
    val_line: str
    train_label: str  # "train (dashed)"
    val_label: str
    train_colour: str  # one run's two curves
    val_colour: str
    muted: str  # the line-style legend of several runs
    colours: tuple[str, ...]  # one per run, where runs share axes


@dataclass(frozen=True)
class Line:
    values: Sequence[float]  # per epoch; NaN: a gap
    colour: str
    line: str  # a matplotlib line style
    band: tuple[Sequence[float], Sequence[float]] | None = None  # low, high per epoch


@dataclass(frozen=True)
class Key:
    """One legend entry."""

    label: str
    colour: str
    line: str


def chart(title: str, lines: Sequence[Line], keys: Sequence[Key], *, percent: bool) -> str:
    """An SVG element: ``lines`` over epochs 1..n, with ``title`` and a legend of ``keys``."""
    finite = [
        v
        for line in lines
        for series in (line.values, *(line.band or ()))
        for v in series
        if math.isfinite(v)
    ]
    epochs = max((len(line.values) for line in lines), default=0)
    height = HEIGHT + 16 * math.ceil(len(keys) / 2)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title, _QUOTE)}">',
        f'<text class="title" x="{WIDTH / 2}" y="18" text-anchor="middle">{escape(title)}</text>',
    ]
    if not finite or epochs == 0:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no finished epoch</text>'
        )
        return "".join([*parts, "</svg>"])
    low, high = min(finite), max(finite)
    ticks = nice_ticks(low, high)
    scale = _Scale(epochs, ticks[0], ticks[-1])
    parts += _axes(scale, ticks, epochs, percent)
    for line in lines:
        parts += _line(scale, line)
    parts += _legend(keys)
    return "".join([*parts, "</svg>"])


_QUOTE = {'"': "&quot;"}


@dataclass(frozen=True)
class _Scale:
    epochs: int
    low: float
    high: float

    def x(self, epoch: int) -> float:  # 1-based
        inner = WIDTH - LEFT - RIGHT
        if self.epochs == 1:
            return LEFT + inner / 2
        return LEFT + inner * (epoch - 1) / (self.epochs - 1)

    def y(self, value: float) -> float:
        inner = HEIGHT - TOP - BOTTOM
        span = self.high - self.low or 1.0
        return TOP + inner * (1 - (value - self.low) / span)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``low`` to at or above ``high``."""
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-12 * step:
        ticks.append(ticks[-1] + step)
    return [round(t, 12) for t in ticks]


def _axes(scale: _Scale, ticks: Sequence[float], epochs: int, percent: bool) -> list[str]:
    out = []
    for tick in ticks:
        y = scale.y(tick)
        shown = f"{tick * 100:g}%" if percent else f"{tick:g}"
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{shown}</text>'
        )
    step = max(1, math.ceil(epochs / 10))
    for epoch in range(1, epochs + 1, step):
        x = scale.x(epoch)
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{epoch}</text>'
        )
    out.append(
        f'<text class="axis" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 6}" '
        'text-anchor="middle">epoch</text>'
    )
    bottom = HEIGHT - BOTTOM
    out.append(f'<path class="frame" d="M{LEFT},{TOP} V{bottom} H{WIDTH - RIGHT}"/>')
    return out


def _line(scale: _Scale, line: Line) -> list[str]:
    out = []
    if line.band is not None:
        low, high = line.band
        points = [(e, lo, hi) for e, (lo, hi) in enumerate(zip(low, high, strict=False), 1)
                  if math.isfinite(lo) and math.isfinite(hi)]  # fmt: skip
        if points:
            upper = [f"{scale.x(e):.1f},{scale.y(hi):.1f}" for e, _, hi in points]
            lower = [f"{scale.x(e):.1f},{scale.y(lo):.1f}" for e, lo, _ in reversed(points)]
            out.append(
                f'<polygon class="band" points="{" ".join(upper + lower)}" fill="{line.colour}"/>'
            )
    dash = DASHES.get(line.line, "")
    style = f' stroke-dasharray="{dash}"' if dash else ""
    for run in _runs(line.values):
        drawn = " ".join(f"{scale.x(e):.1f},{scale.y(v):.1f}" for e, v in run)
        out.append(f'<polyline class="curve" points="{drawn}" stroke="{line.colour}"{style}/>')
        out += [
            f'<circle cx="{scale.x(e):.1f}" cy="{scale.y(v):.1f}" r="2.6" fill="{line.colour}"/>'
            for e, v in run
        ]
    return out


def _runs(values: Sequence[float]) -> list[list[tuple[int, float]]]:
    """Stretches of finite values (a NaN breaks the curve), with their 1-based epochs."""
    out: list[list[tuple[int, float]]] = [[]]
    for epoch, value in enumerate(values, 1):
        if math.isfinite(value):
            out[-1].append((epoch, value))
        elif out[-1]:
            out.append([])
    return [run for run in out if run]


def _legend(keys: Sequence[Key]) -> list[str]:
    """Below the chart, two entries a row."""
    out = []
    for k, key in enumerate(keys):
        x, y = 8 + (k % 2) * (WIDTH // 2), HEIGHT + 4 + (k // 2) * 16
        dash = DASHES.get(key.line, "")
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x}" x2="{x + 26}" y1="{y}" y2="{y}" stroke="{key.colour}" '
            f'stroke-width="2"{style}/>'
        )
        out.append(f'<text class="key" x="{x + 32}" y="{y + 4}">{escape(key.label[:36])}</text>')
    return [f'<g class="legend">{"".join(out)}</g>'] if out else []
