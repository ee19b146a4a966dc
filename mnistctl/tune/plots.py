"""A study's pictures as PNG files, drawn by Optuna's matplotlib plots: the optimization
history, the parameters' importances, parallel coordinates and slices.

A plot the study cannot draw yet (importances need two finished trials whose values differ) is
left out with the reason, never a failure of the study.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice")


@dataclass(frozen=True)
class StudyPlots:
    written: tuple[Path, ...]
    skipped: tuple[str, ...]  # "param_importances: needs 2 complete trials", ...


def write_plots(study: Any, folder: Path, metric: str) -> StudyPlots:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import matplotlib as oplt

    from mnistctl.plots.common import save_figure

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    names = sorted({p for t in complete for p in t.params})
    draw = {
        "optimization_history": lambda: oplt.plot_optimization_history(study, target_name=metric),
        "param_importances": lambda: oplt.plot_param_importances(
            study, evaluator=PedAnovaImportanceEvaluator(), target_name=metric
        ),
        "parallel_coordinate": lambda: oplt.plot_parallel_coordinate(study, target_name=metric),
        "slice": lambda: oplt.plot_slice(study, target_name=metric),
    }
    written: list[Path] = []
    skipped: list[str] = []
    for name in PLOTS:
        needs = 1 if name == "optimization_history" else 2
        if len(complete) < needs:
            skipped.append(
                f"{name}: needs {needs} complete trial(s), the study has {len(complete)}"
            )
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes = draw[name]()
            figure = _figure(axes)
            width = 3.2 * len(names) if name == "slice" else 9.0
            figure.set_size_inches(max(width, 8.0), 5)
            _short_names(figure, names)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                figure.tight_layout()
            written.append(save_figure(figure, folder / f"{name}.png"))
        except Exception as exc:  # Optuna cannot draw it for this study: say why, go on
            lines = str(exc).strip().splitlines()
            skipped.append(f"{name}: {lines[0] if lines else type(exc).__name__}"[:200])
        finally:
            plt.close("all")
    return StudyPlots(tuple(written), tuple(skipped))


def _figure(axes: Any) -> Any:
    """The figure of what a plot returned: one Axes, or an array of them (slice plots)."""
    if hasattr(axes, "figure"):
        return axes.figure
    first = axes.flat[0] if hasattr(axes, "flat") else axes[0]
    return first.figure


def _short_names(figure: Any, names: list[str]) -> None:
    """Parameter paths as their last two parts on the axes (``hidden_1.units``), where that
    names each one alone: long ``--set`` paths overlap side by side."""
    short = {n: ".".join(n.split(".")[-2:]) for n in names}
    if len(set(short.values())) != len(short):
        return
    for ax in figure.axes:
        if ax.get_xlabel() in short:
            ax.set_xlabel(short[ax.get_xlabel()])
        if ax.get_ylabel() in short:
            ax.set_ylabel(short[ax.get_ylabel()])
        for axis in (ax.xaxis, ax.yaxis):
            labels = [_full(t.get_text(), names) for t in axis.get_ticklabels()]
            if any(label in short for label in labels):
                axis.set_ticks(axis.get_ticklocs(), [short.get(t, t) for t in labels])


def _full(label: str, names: list[str]) -> str:
    """The parameter a label names, also when the plot cut it short (``compile.opti...``)."""
    if label.endswith("...") and label not in names:
        found = [n for n in names if n.startswith(label[:-3])]
        if len(found) == 1:
            return found[0]
    return label
