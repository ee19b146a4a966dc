"""Misclassified digits, tested on the figure: which images, captions and heading are shown."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnistctl.plots import build_misclassified_figure, plot_misclassified

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]  # fmt: skip


def captions(fig: Any) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def heading(fig: Any) -> str:
    (text,) = fig.texts
    return str(text.get_text())


def shown_images(fig: Any) -> list[np.ndarray[Any, Any]]:
    return [np.asarray(ax.images[0].get_array()) for ax in fig.axes]


def test_grid_shows_the_first_max_images_in_order() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    true = [int(t) for t in rng.integers(0, 10, 50)]
    pred = [(t + 1) % 10 for t in true]
    conf = [float(c) for c in rng.random(50)]
    fig = build_misclassified_figure(images, true, pred, conf)
    assert len(fig.axes) == 36
    assert heading(fig) == "Misclassified test images (showing 36 of 50)"
    assert captions(fig) == [f"true {true[k]} → pred {pred[k]} ({conf[k]:.0%})" for k in range(36)]
    for k, img in enumerate(shown_images(fig)):
        np.testing.assert_array_equal(img, images[k])
    assert fig.axes[0].images[0].get_clim() == (0.0, 255.0)
    assert fig.axes[0].images[0].get_cmap().name == "gray"  # white ink on black, as MNIST
    # a 6 x 6 grid: six columns, six rows
    assert len({round(ax.get_position().x0, 6) for ax in fig.axes}) == 6
    assert len({round(ax.get_position().y0, 6) for ax in fig.axes}) == 6
    assert list(fig.axes[0].get_xticks()) == [] and list(fig.axes[0].get_yticks()) == []


def test_float_images_with_channel_and_no_confidence() -> None:
    images = np.random.default_rng(3).random((3, 28, 28, 1)).astype(np.float32)
    fig = build_misclassified_figure(images, [1, 2, 3], [7, 7, 8], None, max_images=2)
    assert captions(fig) == ["true 1 → pred 7", "true 2 → pred 7"]
    assert heading(fig) == "Misclassified test images (showing 2 of 3)"
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)
    np.testing.assert_allclose(shown_images(fig)[1], images[1, ..., 0])


def test_flat_images_labels_and_title() -> None:
    images = np.zeros((2, 784), np.uint8)
    fig = build_misclassified_figure(
        images, [0, 9], [6, 12], [0.5, 0.995], labels=FASHION, title="Fashion"
    )
    assert captions(fig) == [  # longer than a cell's line: two lines, never overlapping
        "true T-shirt/top\n→ pred Shirt (50%)",
        "true Ankle boot\n→ pred 12 (100%)",
    ]
    assert heading(fig) == "Fashion (2)"


def test_non_finite_pixels_and_confidences() -> None:
    images = np.full((3, 28, 28), 0.5)
    images[0, 0, 0], images[0, 0, 1], images[1, 5, 5] = np.nan, np.inf, -np.inf
    fig = build_misclassified_figure(images, [1, 2, 3], [4, 5, 6], [math.nan, math.inf, 0.25])
    assert captions(fig) == ["true 1 → pred 4", "true 2 → pred 5", "true 3 → pred 6 (25%)"]
    first, second, _ = shown_images(fig)
    assert np.all(np.isfinite(first)) and first[0, 0] == 0 and first[0, 1] == 0
    assert second[5, 5] == 0
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)  # the scale of the finite pixels


def test_all_non_finite_images() -> None:
    fig = build_misclassified_figure(np.full((1, 28, 28), np.inf), [1], [2], [0.9])
    assert np.all(shown_images(fig)[0] == 0)
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)


def test_long_class_names_are_shortened() -> None:
    fig = build_misclassified_figure(np.zeros((1, 28, 28)), [0], [1], None, labels=["x" * 50, "y"])
    assert captions(fig) == ["true " + "x" * 13 + "…\n→ pred y"]


def test_one_image_figure_is_wide_enough_for_its_heading() -> None:
    fig = build_misclassified_figure(np.zeros((1, 28, 28)), [1], [2], [0.9])
    canvas: Any = fig.canvas
    box = fig.texts[0].get_window_extent(canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    (ax,) = fig.axes
    assert ax.get_position().x0 + ax.get_position().x1 == pytest.approx(1.0)  # centred


def test_no_images_says_so() -> None:
    fig = build_misclassified_figure(np.zeros((0, 28, 28), np.uint8), [], [], [])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no misclassified test images"]
    assert fig.get_suptitle() == "Misclassified test images"


@pytest.mark.parametrize(
    ("images", "true", "pred", "conf", "max_images", "message"),
    [
        (np.zeros((2, 28, 28)), [1], [2, 3], None, 36, "labels"),
        (np.zeros((2, 28, 28)), [1, 2], [2, 3], [0.5], 36, "confidences"),
        (np.zeros((2, 5)), [1, 2], [2, 3], None, 36, "shape"),
        (np.zeros((2, 28, 28)), [1, 2], [2, 3], None, 0, "max_images"),
        (np.zeros((1, 28, 28)), [math.nan], [2], None, 36, "class indices"),
        (np.zeros((1, 28, 28)), [1], [2.5], None, 36, "class indices"),
    ],
)
def test_rejects_bad_input(
    tmp_path: Path, images: Any, true: Any, pred: Any, conf: Any, max_images: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plot_misclassified(images, true, pred, conf, tmp_path / "bad.png", max_images=max_images)
    assert not list(tmp_path.iterdir())
