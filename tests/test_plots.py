"""Tests for mnistctl.plots as a whole: the public API, valid PNGs, atomic writes, and
that the light path (CLI, terminal renderers) never imports matplotlib.

The content of each figure is tested in test_plots_<kind>.py, on the Figure itself."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mnistctl import plots
from mnistctl.errors import UserError
from mnistctl.plots import common

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.6, 0.3, 0.2], "val_loss": [0.35, 0.25, 0.24]}
GRAPH = [
    {"name": "input", "type": "InputLayer", "output_shape": [None, 784], "params": 0},
    {"name": "dense", "type": "Dense", "output_shape": [None, 10], "params": 7850,
     "inputs": ["input"]},
]  # fmt: skip

# each plot function with arguments that draw a real (non-message) figure
PLOTS: dict[str, Callable[[Path], Path]] = {
    "curves": lambda out: plots.plot_learning_curves(HISTORY, out, title="t"),
    "confusion": lambda out: plots.plot_confusion_matrix(np.eye(10, dtype=int) * 9 + 1, out),
    "misclassified": lambda out: plots.plot_misclassified(
        np.zeros((2, 28, 28), np.uint8), [1, 2], [3, 4], [0.9, 0.8], out
    ),
    "graph": lambda out: plots.plot_model_graph(GRAPH, out, title="mlp"),
}


def png_size(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
        return width, height


# --- the public API ----------------------------------------------------------------------------


def test_public_api_signatures() -> None:
    """Callers (``train``, ``plot``) rely on these names, parameters and defaults."""
    expected = {
        "plot_learning_curves": "(history, out, title='')",
        "plot_confusion_matrix": "(matrix, out, labels=None, title='', *, normalize=True)",
        "plot_misclassified": (
            "(images, true, pred, confidence, out, max_images=36, labels=None, title='')"
        ),
        "plot_model_graph": "(layers, out, title='')",
    }
    for name, params in expected.items():
        fn = getattr(plots, name)
        sig = inspect.signature(fn).replace(
            parameters=[p.replace(annotation=inspect.Parameter.empty) for p in
                        inspect.signature(fn).parameters.values()],
            return_annotation=inspect.Signature.empty,
        )  # fmt: skip
        assert str(sig) == params, name
        assert name in plots.__all__


@pytest.mark.parametrize("which", list(PLOTS))
def test_plot_writes_png_of_the_figure_size(tmp_path: Path, which: str) -> None:
    out = tmp_path / f"{which}.png"
    assert PLOTS[which](out) == out
    width, height = png_size(out)
    assert 200 <= width <= 12_000 and 150 <= height <= 12_000
    assert [p.name for p in tmp_path.iterdir()] == [out.name], "temporary file left behind"


def test_creates_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "run" / "plots" / "curves.png"
    assert plots.plot_learning_curves(HISTORY, out) == out
    png_size(out)


# --- atomic writes -----------------------------------------------------------------------------


@pytest.fixture
def failing_print_png(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def boom(self: Any, filename_or_obj: Any, *args: Any, **kwargs: Any) -> None:
        filename_or_obj.write(PNG_SIGNATURE + b"half a picture")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(FigureCanvasAgg, "print_png", boom)
    yield


@pytest.mark.usefixtures("failing_print_png")
@pytest.mark.parametrize("which", list(PLOTS))
def test_failure_mid_write_leaves_no_file(tmp_path: Path, which: str) -> None:
    out = tmp_path / "plots" / f"{which}.png"
    with pytest.raises(RuntimeError, match="disk on fire"):
        PLOTS[which](out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_failure_keeps_previous_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = plots.plot_learning_curves(HISTORY, tmp_path / "curves.png")
    before = out.read_bytes()

    def boom(self: Any, filename_or_obj: Any, *args: Any, **kwargs: Any) -> None:
        filename_or_obj.write(b"partial")
        raise OSError("no space left on device")

    monkeypatch.setattr(FigureCanvasAgg, "print_png", boom)
    with pytest.raises(UserError, match="cannot write the file") as info:
        plots.plot_learning_curves({"loss": [1.0]}, out)
    assert info.value.location.file == str(out)  # a full disk is one located line
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_save_figure_uses_the_figure_dpi(tmp_path: Path) -> None:
    fig = common.new_figure(2.0, 1.0, constrained=False)
    assert fig.dpi == common.DPI
    fig.set_dpi(50)
    assert png_size(common.save_figure(fig, tmp_path / "f.png")) == (100, 50)


# --- shared helpers ----------------------------------------------------------------------------


def test_text_colour_contrasts_with_background() -> None:
    assert common.text_colour_on((0.03, 0.19, 0.42, 1.0)) == "white"  # dark blue
    assert common.text_colour_on((0.97, 0.98, 1.0, 1.0)) == "black"  # near white
    assert common.luminance((1.0, 1.0, 1.0)) == pytest.approx(1.0)
    assert common.luminance((0.0, 0.0, 0.0)) == 0.0


def test_capped_dpi_keeps_sides_under_the_limit() -> None:
    assert common.capped_dpi(5.0, 8.0) == common.DPI
    assert common.capped_dpi(10.0, 1000.0) * 1000.0 == pytest.approx(common.MAX_PIXELS)
    assert common.capped_dpi(0.0, 0.0) == common.DPI


def test_labels_for() -> None:
    assert common.labels_for(10, None) == list("0123456789")
    assert common.labels_for(3, None) == ["0", "1", "2"]
    assert common.labels_for(2, ["cat", "dog"]) == ["cat", "dog"]
    with pytest.raises(ValueError, match="expected 3 class labels, got 2"):
        common.labels_for(3, ["a", "b"])
    assert common.label(12, ["a"]) == "12" and common.label(-1, ["a"]) == "-1"
    assert common.ellipsize("abcdef", 4) == "abc…" and common.ellipsize("abc", 4) == "abc"


# --- import isolation --------------------------------------------------------------------------


def run_python(code: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=120)


def test_light_path_does_not_import_matplotlib() -> None:
    """The plots package imports matplotlib at the top; the CLI and the terminal renderers
    must not import it (``--help`` and ``validate`` stay instant)."""
    run_python(
        """
        import sys
        import mnistctl.cli
        import mnistctl.ui.results, mnistctl.ui.tables, mnistctl.ui.errors
        leaked = sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib")
        assert not leaked, leaked[:5]
        assert "mnistctl.plots" not in sys.modules
        """
    )


def test_plotting_is_pyplot_free(tmp_path: Path) -> None:
    """No pyplot: no GUI backend, no global figure registry, the global backend untouched."""
    run_python(
        f"""
        import sys
        from pathlib import Path
        import matplotlib
        backend = matplotlib.rcParams._get_backend_or_none()
        import mnistctl.plots as plots
        plots.plot_learning_curves({{"loss": [1.0, 0.5]}}, Path({str(tmp_path)!r}) / "c.png")
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        assert matplotlib.rcParams._get_backend_or_none() == backend, "backend changed"
        """
    )
    png_size(tmp_path / "c.png")
