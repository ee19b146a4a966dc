"""``mnistctl report`` on a trained run: what ``train`` and ``evaluate`` leave for it
(``test_predictions.npz``), the page built without TensorFlow, and the page in Debian's
Chromium driven by Playwright (as ``test_serve_browser.py``), opened from a ``file://`` URL:
its parts present, a click on a confusion cell showing that cell's pictures, no console error,
no request for anything but the page itself, and the print stylesheet.

One small CNN (300 real digits, 1 epoch, 300 test digits) is trained for the module. To look
at the page: each browser test saves a screenshot in its temporary folder;
``MNISTCTL_REPORT_SCREENSHOT=PATH`` saves the page's first screen, a cell clicked, there (that
is how ``docs/report.png`` is made), and ``MNISTCTL_REPORT_RUN=RUN`` reports that run instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import CONV_SPEC, cli, subprocess_env, trained_run
from playwright.sync_api import Browser, Page, Route, sync_playwright

from mnistctl.runs.record import RunRecord
from mnistctl.runs.testset import PER_CELL, TEST_PREDICTIONS, read_test_predictions

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
)
N_TEST = 300


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("MNISTCTL_REPORT_RUN")
    if given:
        return Path(given)
    folder = tmp_path_factory.mktemp("report")
    return trained_run(folder, CONV_SPEC, "conv.yaml", n_train=300, n_test=N_TEST)


@pytest.fixture(scope="module")
def page_file(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    result = cli("report", run_dir, "--output", out)
    assert result.exit_code == 0, result.stderr
    return out


# --- what train and evaluate leave --------------------------------------------------------------


def test_train_leaves_the_test_predictions_evaluate_agrees(run_dir: Path) -> None:
    if os.environ.get("MNISTCTL_REPORT_RUN"):
        pytest.skip("a given run")
    record = RunRecord.load(run_dir)
    assert TEST_PREDICTIONS in record.get("files")
    found = read_test_predictions(run_dir, record)
    assert found.confusion().sum() == N_TEST and found.pictures.shape[1:] == (28, 28)
    before = (run_dir / TEST_PREDICTIONS).read_bytes()
    result = cli("evaluate", run_dir, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["confusion_matrix"] == found.confusion().tolist()
    assert (run_dir / TEST_PREDICTIONS).read_bytes() == before  # kept, not written again


def test_evaluate_adds_them_to_an_older_run(run_dir: Path, tmp_path: Path) -> None:
    older = tmp_path / "older"
    shutil.copytree(run_dir, older)
    (older / TEST_PREDICTIONS).unlink(missing_ok=True)
    metrics = json.loads((older / "metrics.json").read_text())
    metrics["files"].pop(TEST_PREDICTIONS, None)
    (older / "metrics.json").write_text(json.dumps(metrics))
    report = cli("report", older)
    assert report.exit_code == 0 and "mnistctl evaluate" in report.stderr
    result = cli("evaluate", older)
    assert result.exit_code == 0, result.stderr
    found = read_test_predictions(older, RunRecord.load(older))  # recorded, checked
    assert found.confusion().sum() == sum(map(sum, json.loads(
        (older / "evaluation.json").read_text())["confusion_matrix"]))  # fmt: skip
    assert "mnistctl evaluate" not in cli("report", older).stderr


def test_the_page_is_made_without_tensorflow_and_quickly(run_dir: Path, tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path\n"
        "from mnistctl.commands.report import report_runs\n"
        "start = time.perf_counter()\n"
        f"run, out = Path({str(run_dir)!r}), Path({str(tmp_path)!r}) / 'r.html'\n"
        "result = report_runs([run], output=out)\n"
        "took = time.perf_counter() - start\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules)\n"
        "print(result.bytes, round(took, 3), heavy)\n"
    )  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    size, took, heavy = done.stdout.split(maxsplit=2)
    assert heavy.strip() == "[]", heavy
    assert int(size) < 3 << 20
    assert float(took) < 10, took  # 3 s is the goal on an idle machine (bench/report.py)
    assert time.perf_counter() - started < 30


# --- in Chromium ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def opened(browser: Browser, page_file: Path, tmp_path: Path) -> Iterator[Page]:
    """The page from its file; afterwards: no console error, no request but the page's."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.goto(page_file.as_uri())
    yield page
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    context.close()
    assert errors == [] and outside == [], (errors, outside)


def test_the_page_in_chromium(opened: Page, page_file: Path, run_dir: Path) -> None:
    page = opened
    assert page.title().startswith("mnistctl report: ")
    for part in ("Results", "Layers", "Learning curves", "Confusion matrix (test set)",
                 "Misclassified test pictures", "Spec", "Training environment"):  # fmt: skip
        assert page.get_by_role("heading", name=part).count() == 1, part
    assert page.locator("svg.chart").count() == 2
    assert page.locator(".spec .highlight").is_visible()
    found = read_test_predictions(run_dir)
    matrix = found.confusion()
    cells = page.locator("button.cell")
    assert cells.count() == int((matrix > 0).sum())
    big = next((t, p) for t, p in zip(*np.nonzero(matrix >= PER_CELL), strict=True))
    small = next((t, p) for t, p in zip(*np.nonzero((matrix > 0) & (matrix < PER_CELL)),
                 strict=True))  # fmt: skip
    viewer = page.locator("#viewer-run1")
    for t, p in (big, small, big):
        page.locator(f'button.cell[data-cell="{t}-{p}"]').click()
        assert viewer.locator("img").count() == min(int(matrix[t, p]), PER_CELL)
        assert page.locator('button.cell[aria-pressed="true"]').count() == 1
        shown = [int(i) for i in viewer.locator("figure").evaluate_all(
            "fs => fs.map(f => f.dataset.index)")]  # fmt: skip
        assert shown == found.cell(t, p)[: len(shown)].tolist()
    loaded = viewer.locator("img").evaluate_all("imgs => imgs.every(i => i.naturalWidth === 28)")
    assert loaded
    shot = os.environ.get("MNISTCTL_REPORT_SCREENSHOT")
    if shot:  # the confusion matrix, its most common confusion's pictures shown
        off = matrix - np.diag(np.diag(matrix))
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        page.locator(f'button.cell[data-cell="{t}-{p}"]').click()
        top = page.get_by_role("heading", name="Confusion matrix (test set)").bounding_box()
        area = page.locator(".confusion-area").bounding_box()
        assert top is not None and area is not None
        page.screenshot(
            path=shot, clip={"x": 0, "y": top["y"] - 16, "width": 1280,
                             "height": area["y"] + area["height"] - top["y"] + 32},
        )  # fmt: skip


def test_the_page_prints(opened: Page, tmp_path: Path) -> None:
    page = opened
    page.locator("button.cell").first.click()
    page.emulate_media(media="print")
    assert not page.locator("#viewer-run1").is_visible()  # interactive only
    assert page.locator(".misclassified img").first.is_visible()  # printed
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.wide')].filter("
        "e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')"
        ".length"
    )
    assert clipped == 0
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (tmp_path / "report.pdf").write_bytes(pdf)
