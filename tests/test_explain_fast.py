"""``mnistctl explain`` without a model: its picture (plain data in, a PNG out) and the usage
errors the command line refuses before anything is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import real_arrays

from mnistctl.plots.explain import build_explanation_figure, plot_explanation


def _maps(rng: np.random.Generator, shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "gradcam": rng.random(shape, dtype=np.float32),
        "saliency": rng.random(shape, dtype=np.float32),
        "occlusion": rng.random(shape, dtype=np.float32) * 0.01,
    }


def _texts(fig: Any) -> list[str]:
    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        found += [t.get_text() for t in ax.get_yticklabels()]
    return found


def test_the_picture_each_map_with_a_colour_bar_and_the_top_guesses(tmp_path: Path) -> None:
    digit = real_arrays()["x_test"][0].astype(np.float32) / 255
    probs = np.full(10, 0.01)
    probs[7] = 0.91
    fig = build_explanation_figure(
        digit[..., None], _maps(np.random.default_rng(0), (28, 28)), {}, probs,
        title="cnn: test picture 0", layer="pool_1", true_label=7,
    )  # fmt: skip
    texts = _texts(fig)
    assert fig.get_suptitle() == "cnn: test picture 0: read as 7 (91%), labelled 7"
    assert "Grad-CAM at pool_1" in texts and "saliency" in texts and "occlusion" in texts
    assert "probability drop when covered" in texts
    assert "top 5 guesses" in texts and "91.0%" in texts
    picture = fig.axes[0].images[0]
    assert picture.get_cmap().name == "gray"  # white on black, as MNIST stores it
    out = plot_explanation(digit, {"saliency": np.zeros((28, 28), np.float32)}, {}, probs,
                           tmp_path / "one.png")  # fmt: skip
    assert out.read_bytes().startswith(b"\x89PNG")


def test_a_missing_map_says_why_and_class_names_are_shown(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).random((12, 12, 3))
    names = ["blue", "green", "red"]
    fig = build_explanation_figure(
        rgb, {"gradcam": None, "saliency": np.ones((12, 12), np.float32)},
        {"gradcam": "the model has no convolutional layer"}, [0.1, 0.2, 0.7], labels=names,
    )  # fmt: skip
    texts = " ".join(_texts(fig))
    assert "none: the model has no convolutional layer" in texts.replace("\n", " ")
    assert "read as red (70%)" in fig.get_suptitle()
    assert "blue" in texts and "green" in texts
    assert fig.axes[0].images[0].get_array().shape == (12, 12, 3)  # RGB as it is


def test_non_finite_map_values_do_not_break_the_picture(tmp_path: Path) -> None:
    bad = np.full((28, 28), np.nan, np.float32)
    out = plot_explanation(np.zeros((28, 28)), {"occlusion": np.zeros((28, 28), np.float32),
                           "saliency": bad}, {}, [1.0] + [0.0] * 9, tmp_path / "p.png")  # fmt: skip
    assert out.is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "lime"],
        ["--test", "many"],
        ["--checkpoint", "first"],
    ],
)
def test_usage_errors(args: list[str], cli: Any, tmp_path: Path) -> None:
    result = cli("explain", tmp_path, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "nothing to explain; expected image files (IMAGE...) or --test N"),
     (["--test", "0"], "--test 0: no test picture to explain")],
)  # fmt: skip
def test_nothing_to_explain_is_refused_before_tensorflow(
    args: list[str], message: str, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mnistctl.cli.explain_command as command

    def no_heavy_imports() -> Any:
        raise AssertionError("TensorFlow's start-up began before the request was checked")

    monkeypatch.setattr(command, "heavy_imports", no_heavy_imports)
    result = cli("explain", tmp_path, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
