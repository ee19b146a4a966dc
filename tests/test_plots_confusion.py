"""Confusion matrix, tested on the figure: the two colour images, cell texts, ticks, title."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.plots import build_confusion_matrix_figure, plot_confusion_matrix
from mnistctl.plots.confusion import ZERO_COLOUR

RAW = [[5, 1, 0], [0, 7, 2], [1, 0, 0]]  # the last class is never predicted correctly


def confusion(n: int = 10) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(1)
    m = rng.integers(0, 6, size=(n, n))
    np.fill_diagonal(m, rng.integers(900, 1100, size=n))
    return m


def cells(ax: Any) -> dict[tuple[int, int], Any]:
    """(row, column) -> the Text drawn in that cell."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}


def cell_images(ax: Any) -> tuple[Any, Any]:
    """The two images: the diagonal (correct) and the errors, as masked arrays with norms."""
    diag, err = ax.images
    return diag, err


def tick_labels(ax: Any, axis: str) -> list[str]:
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in ticks]


def test_raw_counts_images_and_texts() -> None:
    fig = build_confusion_matrix_figure(RAW, labels=["cat", "dog", "emu"], normalize=False)
    ax, err_bar, diag_bar = fig.axes
    assert ax.get_title() == "Confusion matrix — accuracy 75.00% (12/16)"
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert tick_labels(ax, "x") == tick_labels(ax, "y") == ["cat", "dog", "emu"]
    diag, err = cell_images(ax)
    np.testing.assert_array_equal(diag.get_array().mask, ~np.eye(3, dtype=bool))
    np.testing.assert_array_equal(np.diag(diag.get_array().data), [5, 7, 0])
    assert (diag.norm.vmin, diag.norm.vmax) == (0.0, 7.0)
    # errors: the non-zero off-diagonal cells only, on their own scale
    np.testing.assert_array_equal(
        err.get_array().mask, [[True, False, True], [True, True, False], [False, True, True]]
    )
    assert (err.norm.vmin, err.norm.vmax) == (0.0, 2.0)
    text = {k: t.get_text() for k, t in cells(ax).items()}
    assert text == {
        (0, 0): "5", (0, 1): "1", (0, 2): "0",
        (1, 0): "0", (1, 1): "7", (1, 2): "2",
        (2, 0): "1", (2, 1): "0", (2, 2): "0",
    }  # fmt: skip
    c = cells(ax)
    assert c[(1, 1)].get_color() == "white"  # darkest blue
    assert c[(1, 2)].get_color() == "white" and c[(0, 1)].get_color() == "black"
    assert c[(0, 2)].get_color() == ZERO_COLOUR and c[(2, 2)].get_color() == "black"
    assert c[(1, 1)].get_fontweight() == "bold" and c[(1, 2)].get_fontweight() == "normal"
    assert err_bar.get_ylabel() == "errors (count)" and diag_bar.get_ylabel() == "correct (count)"


def test_normalized_shows_shares_and_recall() -> None:
    fig = build_confusion_matrix_figure(RAW, title="test set")
    ax = fig.axes[0]
    assert ax.get_title() == "test set — accuracy 75.00% (12/16)"
    diag, err = cell_images(ax)
    np.testing.assert_allclose(np.diag(diag.get_array().data), [5 / 6, 7 / 9, 0.0])
    assert diag.norm.vmax == 1.0
    assert err.norm.vmax == pytest.approx(1.0)  # class 2: its only sample is an error
    text = {k: t.get_text() for k, t in cells(ax).items()}
    assert text[(0, 0)] == "5\n83.3%" and text[(1, 1)] == "7\n77.8%"
    assert text[(2, 2)] == "0\n0.0%" and text[(0, 1)] == "1"
    assert [a.get_ylabel() for a in fig.axes[1:]] == [
        "errors (% of true class)", "correct (% of true class)",
    ]  # fmt: skip
    assert tick_labels(ax, "x") == ["0", "1", "2"]


def test_ten_classes_default_labels_and_thousands() -> None:
    ax = build_confusion_matrix_figure(confusion()).axes[0]
    assert tick_labels(ax, "y") == [str(d) for d in range(10)]
    assert len(ax.texts) == 100
    m = confusion()
    assert cells(ax)[(3, 3)].get_text() == f"{m[3, 3]:,}\n{m[3, 3] / m[3].sum():.1%}"


def test_many_classes_are_not_annotated() -> None:
    m = np.random.default_rng(0).integers(0, 9, (40, 40))
    ax = build_confusion_matrix_figure(m).axes[0]
    assert len(ax.texts) == 0
    assert len(tick_labels(ax, "x")) == 40


def test_recall_only_for_up_to_15_classes() -> None:
    ax = build_confusion_matrix_figure(np.eye(16, dtype=int) * 3).axes[0]
    assert cells(ax)[(0, 0)].get_text() == "3"


def test_all_zero_matrix() -> None:
    fig = build_confusion_matrix_figure(np.zeros((10, 10), int))
    ax = fig.axes[0]
    assert ax.get_title() == "Confusion matrix — accuracy n/a"
    diag, err = cell_images(ax)
    assert np.all(diag.get_array().data == 0) and np.all(err.get_array().mask)
    assert diag.norm.vmax == 1.0 and err.norm.vmax == 1.0  # no zero-width colour scale
    assert {t.get_text() for t in ax.texts} == {"0"}


def test_single_class_and_bool_counts() -> None:
    ax = build_confusion_matrix_figure(np.eye(1, dtype=bool), normalize=False).axes[0]
    assert ax.get_title() == "Confusion matrix — accuracy 100.00% (1/1)"
    assert [t.get_text() for t in ax.texts] == ["1"]


def test_empty_matrix_says_so() -> None:
    fig = build_confusion_matrix_figure(np.zeros((0, 0), int), title="t")
    assert [t.get_text() for t in fig.axes[0].texts] == ["empty confusion matrix"]
    assert fig.get_suptitle() == "t — accuracy n/a"


def test_long_labels_are_shortened_and_slanted() -> None:
    ax = build_confusion_matrix_figure(np.eye(2, dtype=int), labels=["x" * 40, "y"]).axes[0]
    assert tick_labels(ax, "x") == ["x" * 23 + "…", "y"]
    assert ax.get_xticklabels()[0].get_rotation() == 45
    short = build_confusion_matrix_figure(np.eye(2, dtype=int), labels=["Ankle boot", "y"])
    assert short.axes[0].get_xticklabels()[0].get_rotation() == 0


@pytest.mark.parametrize(
    ("matrix", "labels", "message"),
    [
        ([[1, 2, 3], [4, 5, 6]], None, "square"),
        ([1, 2], None, "square"),
        (confusion(3), ["a", "b"], "labels"),
        ([[1, -1], [0, 1]], None, "non-negative"),
        ([[1.0, float("nan")], [0, 1]], None, "non-negative"),
        ([[1.0, float("inf")], [0, 1]], None, "non-negative"),
        ([["a", "b"], ["c", "d"]], None, "non-negative"),
    ],
)
def test_rejects_bad_input(tmp_path: Path, matrix: Any, labels: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(matrix, tmp_path / "bad.png", labels=labels)
    assert not list(tmp_path.iterdir())
