"""Learning curves, tested on the figure: panels, line data, gaps, axes, legend, notes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.ticker import PercentFormatter

from mnistctl.plots import build_learning_curves_figure, plot_learning_curves
from mnistctl.plots.style import TRAIN_LABEL as TRAIN
from mnistctl.plots.style import VAL_LABEL as VAL

INF, NAN = math.inf, math.nan
HISTORY = {
    "loss": [0.6, 0.3, 0.2, 0.15],
    "accuracy": [0.82, 0.91, 0.94, 0.955],
    "val_loss": [0.35, 0.25, 0.22, 0.24],
    "val_accuracy": [0.9, 0.93, 0.94, 0.935],
}


def panels(fig: Any) -> dict[str, Any]:
    return {ax.get_title(): ax for ax in fig.axes}


def line(ax: Any, label: str) -> tuple[list[float], list[float]]:
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return list(found.get_xdata()), list(found.get_ydata())


def legend(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


def assert_same(actual: list[float], expected: list[float]) -> None:
    """Equal, with NaN equal to NaN."""
    np.testing.assert_array_equal(np.asarray(actual, float), np.asarray(expected, float))


def test_curves_per_metric() -> None:
    fig = build_learning_curves_figure(HISTORY, title="cnn")
    assert fig.get_suptitle() == "Learning curves — cnn"
    assert list(panels(fig)) == ["Loss", "Accuracy"]
    loss, acc = fig.axes
    assert line(loss, TRAIN) == ([1, 2, 3, 4], HISTORY["loss"])
    assert line(loss, VAL) == ([1, 2, 3, 4], HISTORY["val_loss"])
    assert line(loss, "best val: epoch 3 (0.22)") == ([3], [0.22])
    assert line(acc, "best val: epoch 3 (94.00%)") == ([3], [0.94])
    assert legend(loss) == [TRAIN, VAL, "best val: epoch 3 (0.22)"]
    styles = {ln.get_label(): ln.get_linestyle() for ln in loss.get_lines()}
    assert styles[TRAIN] == "--" and styles[VAL] == "-"  # the one convention (style.py)
    for ax in (loss, acc):
        assert ax.get_xlabel() == "epoch"
        assert ax.get_xlim() == (0.5, 4.5)
        assert [t for t in ax.get_xticks() if 0.5 <= t <= 4.5] == [1, 2, 3, 4]
    assert isinstance(acc.yaxis.get_major_formatter(), PercentFormatter)
    assert not isinstance(loss.yaxis.get_major_formatter(), PercentFormatter)
    lo, hi = loss.get_ylim()
    assert lo < 0.15 and 0.6 < hi < 0.7  # the data plus a margin


def test_panel_order_and_grid() -> None:
    history = {
        "accuracy": [0.8], "val_top_k": [0.7], "kl_loss": [0.1], "loss": [0.5], "lr": [1e-3],
    }  # fmt: skip
    fig = build_learning_curves_figure(history)
    assert list(panels(fig)) == ["Loss", "Kl loss", "Accuracy", "Top k", "LR"]
    spec: Any = fig.axes[0].get_subplotspec()
    assert spec.get_geometry()[:2] == (2, 3)
    assert legend(panels(fig)["Top k"]) == [VAL, "best val: epoch 1 (0.7)"]
    assert fig.get_suptitle() == "Learning curves"  # every figure has a title


def test_one_epoch() -> None:
    fig = build_learning_curves_figure({"loss": [0.3], "val_loss": [0.2]})
    (ax,) = fig.axes
    assert line(ax, TRAIN) == ([1], [0.3])
    assert ax.get_xlim() == (0.5, 1.5)
    assert 1 in ax.get_xticks()
    markers = {ln.get_label(): ln.get_marker() for ln in ax.get_lines()}
    assert markers[TRAIN] == "o" and markers[VAL] == "s"  # one point is visible


def test_without_validation_no_best_epoch() -> None:
    (ax,) = build_learning_curves_figure({"loss": [0.5, 0.3, 0.2]}).axes
    assert legend(ax) == [TRAIN]
    assert not any(str(ln.get_label()).startswith("best") for ln in ax.get_lines())


def test_validation_shorter_than_training() -> None:
    (ax,) = build_learning_curves_figure({"loss": [0.5, 0.4, 0.3], "val_loss": [0.6]}).axes
    assert line(ax, VAL) == ([1], [0.6])
    assert ax.get_xlim() == (0.5, 3.5)


def test_best_epoch_is_highest_for_scores() -> None:
    fig = build_learning_curves_figure({"val_accuracy": [0.5, 0.9, 0.7], "val_loss": [3, 1, 2]})
    assert line(panels(fig)["Accuracy"], "best val: epoch 2 (90.00%)") == ([2], [0.9])
    assert line(panels(fig)["Loss"], "best val: epoch 2 (1)") == ([2], [1.0])


def test_accuracy_outside_unit_interval_is_not_percent() -> None:
    (ax,) = build_learning_curves_figure({"accuracy": [50.0, 90.0]}).axes
    assert not isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)


@pytest.mark.parametrize(
    "history",
    [
        {"loss": [1.7e308, -1.7e308]},  # a diverged float64 loss: the range overflows
        {"loss": [1.7e308, 0.1], "val_loss": [0.2, -1e308]},
        {"loss": [INF, 0.5, -INF], "val_loss": [-INF, INF]},
        {"accuracy": [INF, 0.5], "val_accuracy": [1e308, -1e308]},
    ],
)
def test_infinite_and_overflowing_values_do_not_crash(tmp_path: Path, history: Any) -> None:
    """Regression: these raised ``ValueError: arange: cannot compute length`` (the y range
    overflowed in Matplotlib's tick locator)."""
    out = plot_learning_curves(history, tmp_path / "c.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_non_finite_values_are_gaps_and_axes_fit_the_finite_ones() -> None:
    history = {"loss": [0.5, INF, 0.2, -INF, 0.3], "val_loss": [0.4, NAN, 1e308, 0.35, 0.36]}
    (ax,) = build_learning_curves_figure(history).axes
    xs, ys = line(ax, TRAIN)
    assert xs == [1, 2, 3, 4, 5]
    assert_same(ys, [0.5, NAN, 0.2, NAN, 0.3])
    assert_same(line(ax, VAL)[1], [0.4, NAN, NAN, 0.35, 0.36])
    assert line(ax, "best val: epoch 4 (0.35)") == ([4], [0.35])
    lo, hi = ax.get_ylim()
    assert 0.1 < lo < 0.2 and 0.5 < hi < 0.6
    assert ax.get_xlabel() == "epoch (4 non-finite values not drawn)"
    assert texts(ax) == []


def test_all_non_finite_metric_still_has_its_panel_with_a_note() -> None:
    history = {"loss": [INF, -INF, NAN], "val_loss": [NAN] * 3, "accuracy": [0.5, 0.6, 0.7]}
    fig = build_learning_curves_figure(history)
    loss, acc = panels(fig)["Loss"], panels(fig)["Accuracy"]
    assert texts(loss) == ["no finite values"]
    assert legend(loss) == [f"{TRAIN} (no finite values)", f"{VAL} (no finite values)"]
    assert loss.get_ylim() == (0.0, 1.0)
    assert loss.get_xlabel() == "epoch (6 non-finite values not drawn)"
    assert_same(line(loss, f"{TRAIN} (no finite values)")[1], [NAN] * 3)
    assert texts(acc) == [] and acc.get_xlabel() == "epoch"
    assert line(acc, TRAIN) == ([1, 2, 3], [0.5, 0.6, 0.7])


def test_one_non_finite_value_note_is_singular() -> None:
    (ax,) = build_learning_curves_figure({"loss": [NAN, 0.5]}).axes
    assert ax.get_xlabel() == "epoch (1 non-finite value not drawn)"


@pytest.mark.parametrize("history", [{}, {"loss": []}, {"loss": [], "val_loss": []}])
def test_empty_history_says_so(history: Any) -> None:
    fig = build_learning_curves_figure(history, title="run")
    (ax,) = fig.axes
    assert not ax.axison
    assert texts(ax) == ["no training history recorded"]
    assert fig.get_suptitle() == "Learning curves — run"


def test_long_metric_name_is_shortened() -> None:
    (ax,) = build_learning_curves_figure({"x" * 300: [1.0, 2.0]}).axes
    assert ax.get_title() == "X" + "x" * 38 + "…"


def test_plot_returns_the_path(tmp_path: Path) -> None:
    out = plot_learning_curves(HISTORY, tmp_path / "c.png", title="cnn")
    assert out == tmp_path / "c.png" and out.is_file()
