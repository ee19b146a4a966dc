"""The report's learning-curve charts: one run's curves, several runs overlaid, a group's mean
with its band. Plain histories in, SVG markup out (``svg.py`` draws)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from mnistctl.reportpage.svg import Drawing, Key, Line, chart
from mnistctl.spec.options import lower_is_better

History = Mapping[str, Sequence[float]]


def metric_bases(histories: Sequence[History]) -> list[str]:
    """One chart per metric: ``loss`` first, then the other losses, then the rest, in the
    order met; ``val_x`` belongs to ``x``."""
    bases: list[str] = []
    for history in histories:
        for key in history:
            base = key[4:] if key.startswith("val_") else key
            if base not in bases and base != "epoch":
                bases.append(base)
    return sorted(bases, key=lambda b: (b != "loss", not lower_is_better(b)))


def title_of(base: str) -> str:
    text = base.replace("_", " ")
    return text[:1].upper() + text[1:]


def _percent(base: str) -> bool:
    return "accuracy" in base


def one_run(history: History, drawing: Drawing) -> list[str]:
    """A run's curves: a chart per metric, train dashed, validation solid."""
    out = []
    for base in metric_bases([history]):
        lines, keys = [], []
        for key, colour, line, label in (
            (base, drawing.train_colour, drawing.train_line, drawing.train_label),
            (f"val_{base}", drawing.val_colour, drawing.val_line, drawing.val_label),
        ):
            if key in history:
                lines.append(Line(_floats(history[key]), colour, line))
                keys.append(Key(label, colour, line))
        out.append(chart(title_of(base), lines, keys, percent=_percent(base)))
    return out


def overlaid(
    series: Sequence[tuple[str, History]],
    drawing: Drawing,
    bands: Sequence[Mapping[str, tuple[list[float], list[float]]] | None] | None = None,
) -> list[str]:
    """Several runs (or groups' means) on shared axes: one colour each, train dashed,
    validation solid; ``bands[i]``: series ``i``'s band per history key (a group's spread)."""
    out = []
    histories = [history for _, history in series]
    for base in metric_bases(histories):
        lines: list[Line] = []
        keys: list[Key] = []
        for index, (label, history) in enumerate(series):
            colour = drawing.colours[index % len(drawing.colours)]
            band_of = bands[index] if bands else None
            drawn = False
            for key, line in ((base, drawing.train_line), (f"val_{base}", drawing.val_line)):
                if key in history:
                    band = band_of.get(key) if band_of else None
                    lines.append(Line(_floats(history[key]), colour, line, band))
                    drawn = True
            if drawn:
                keys.append(Key(label, colour, drawing.val_line))
        keys += [
            Key(drawing.train_label, drawing.muted, drawing.train_line),
            Key(drawing.val_label, drawing.muted, drawing.val_line),
        ]
        title = f"{title_of(base)}: " + ("mean ± sd" if bands else "runs overlaid")
        out.append(chart(title, lines, keys, percent=_percent(base)))
    return out


def _floats(values: Sequence[float]) -> list[float]:
    out = []
    for value in values:
        number = float(value)
        out.append(number if math.isfinite(number) and abs(number) < 1e300 else math.nan)
    return out
