"""The example notebook (``examples/dnn_vs_cnn.ipynb``) runs from top to bottom, offline, small.

It is executed with nbclient in a fresh kernel of this Python (a kernelspec made in the
temporary folder, so no installed kernel is used), as shipped: on the MNIST sample bundled with
mnistctl, which its first cell names. Offline is made sure of: Keras's cache is an empty folder
and every HTTP(S) request goes to a proxy that is not there, so a download fails at once; no
``MNISTCTL_DATA``. Small through the environment the first cell reads: 300 of the sample's
training digits, one epoch per model, runs in the temporary folder; every cell within a time
limit. Then its outputs are checked against the runs it made.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "examples" / "dnn_vs_cnn.ipynb"
CELL_TIMEOUT_S = 300  # the first cell to import TensorFlow, and each training, stay well within
KERNEL = "mnistctl-test-python"


def test_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def _text(cell: Any) -> str:
    """A cell's output as text: streams and every text/plain and text/html representation."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        else:
            data = out.get("data", {})
            parts.extend(data.get(kind, "") for kind in ("text/plain", "text/html"))
    return "\n".join(parts)


def _images(cell: Any) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.outputs)


def _cell(nb: Any, starts: str) -> Any:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return cell


NO_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers, a download fails at once


def test_notebook_runs_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    kernel = tmp_path / "jupyter" / "kernels" / KERNEL
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mnistctl tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    # offline: no cached download to find, no network to download from, no local copy given
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(proxy, NO_PROXY)
    for name in ("no_proxy", "NO_PROXY", "MNISTCTL_DATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MNISTCTL_OVERRIDES", "data.train_samples=300 train.epochs=1")
    monkeypatch.setenv("MNISTCTL_RUNS_DIR", str(runs))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError on the first cell that fails
    seconds = time.monotonic() - started
    print(f"notebook ran in {seconds:.1f} s")

    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source

    # the first cell's settings (the bundled sample), then the environment's
    settings = _text(_cell(nb, "import os"))
    assert "data: mnist_sample\n" in settings
    assert (
        "overrides: ['data.dataset=mnist_sample', 'data.train_samples=300', 'train.epochs=1']"
        in settings
    )

    # the summaries: the CLI's tables, parameters as in the README, and the images and steps
    # of an epoch as training had them (300 digits, 30 held out for validation)
    plan = "Training: 3 optimizer steps per epoch (270 images, batch 128)"
    for start, params in (("dnn = mnistctl.load_spec", "400,906"), ("cnn.summary()", "600,810")):
        summary = _text(_cell(nb, start))
        assert f"Total params: {params}" in summary
        assert plan in summary, summary
    assert "('hidden_1', (None, 128), 589952)" in _text(_cell(nb, "model = cnn.build()"))

    # one run of each, completed, of the small settings
    made = sorted(p for p in runs.glob("*/*") if p.is_dir())
    assert [p.parent.name for p in made] == ["cnn", "dnn"]
    record = {p.parent.name: json.loads((p / "metrics.json").read_text()) for p in made}
    assert {name: (r["status"], r["epochs_completed"]) for name, r in record.items()} == {
        "cnn": ("completed", 1),
        "dnn": ("completed", 1),
    }
    for name in ("dnn", "cnn"):
        progress = _text(_cell(nb, f"{name}_run = mnistctl.train"))
        assert "training epoch 1/1, 3 batches per epoch" in progress
        assert re.search(r"epoch 1/1: loss \d+\.\d{4}", progress), progress

    # the comparison: each model's test accuracy, as its evaluate() wrote it
    table = _text(_cell(nb, "results = "))
    for p in made:
        evaluation = json.loads((p / "evaluation.json").read_text())
        assert evaluation["test_samples"] == 10_000  # MNIST's test set, in the sample
        assert re.search(rf"^{p.parent.name} .* {evaluation['accuracy']:.4f} ", table, re.M), table
    assert re.search(r"^better on the test set: (dnn|cnn)$", table, re.M)
    assert "hardest digit" in _text(_cell(nb, "import numpy as np"))

    # the pictures: learning curves, the run's plots, the digits read
    assert _images(_cell(nb, "import matplotlib.pyplot")) == 1
    plots = _cell(nb, "from IPython.display import")
    names = ["confusion_matrix", "feature_maps", "filters", "learning_curves", "misclassified",
             "model", "pca"]  # fmt: skip
    assert str(names) in _text(plots)
    assert _images(plots) == 1
    assert sorted(f.name for f in (runs.glob("cnn/*/plots/*.png"))) == [f"{n}.png" for n in names]
    # the two PCA pictures side by side: the DNN's too (no convolution: no filters, feature maps)
    assert _images(_cell(nb, "dnn_plots = ")) == 1
    drawn = ["confusion_matrix", "learning_curves", "misclassified", "model", "pca"]
    assert sorted(f.stem for f in runs.glob("dnn/*/plots/*.png")) == drawn
    # two test digits explained: MNIST's first two test digits are a 7 and a 2
    explained = _cell(nb, "explained = cnn_run.explain(test=2)")
    assert _images(explained) == 2
    for index, true in ((0, 7), (1, 2)):
        line = rf"^test digit {index}: true {true}, read as \d \d+\.\d%, \d \d+\.\d%, \d \d+\.\d%$"
        assert re.search(line, _text(explained), re.M), _text(explained)
    assert sorted(f.name for f in runs.glob("cnn/*/explain/*.png")) == ["test-0.png", "test-1.png"]
    predictions = _cell(nb, "(_, _), (x_test, y_test)")
    assert _images(predictions) == 1
    for name in ("dnn", "cnn"):
        assert re.search(rf"^{name}: \[(\d, ){{7}}\d\] \(confidence ", _text(predictions), re.M)
    assert _text(_cell(nb, "latest = mnistctl.open_run")).startswith("True ")
