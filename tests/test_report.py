"""``mnistctl report``: the HTML page of runs, built from run folders made by hand with the
run record's own code (``test_runs_list.make_run``) and test predictions made from the bundled
sample's real pictures; no training, no TensorFlow. The page itself in Chromium, and the runs
that ``train`` and ``evaluate`` write: ``test_report_browser.py``.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import assert_user_error, cli, real_arrays
from test_runs_list import SHA, edit_metrics, make_run

from mnistctl.commands.report import REPORT, report_runs
from mnistctl.errors import UserError
from mnistctl.reportpage.page import HEADER
from mnistctl.reportpage.pictures import png_bytes
from mnistctl.reportpage.svg import Drawing, Key, Line, chart, nice_ticks
from mnistctl.runs import layout, liveness
from mnistctl.runs.record import RunRecord
from mnistctl.runs.testset import (
    PER_CELL,
    TEST_PREDICTIONS,
    arrange,
    read_test_predictions,
    write_test_predictions,
)

MB = 1 << 20
N_TEST = 400
STAMPS = ("20260101T120000Z", "20260101T130000Z", "20260101T140000Z")


def predictions(n: int = N_TEST, seed: int = 0) -> tuple[Any, Any, Any]:
    """Real test pictures and labels, and probabilities that read ~80 % of them right."""
    arrays = real_arrays()
    x, y = arrays["x_test"][:n], arrays["y_test"][:n].astype(np.int64)
    rng = np.random.default_rng(seed)
    probs = rng.random((n, 10))
    probs[np.arange(n), y] += 3.0 * (rng.random(n) < 0.8)
    return x, y, probs / probs.sum(axis=1, keepdims=True)


def add_predictions(run: Path, seed: int = 0) -> None:
    x, y, probs = predictions(seed=seed)
    write_test_predictions(RunRecord.load(run), arrange(y, probs, x, data_sha256=SHA))


def finished_run(runs: Path, stamp: str = STAMPS[0], **options: Any) -> Path:
    run = make_run(runs, stamp, **options)
    add_predictions(run)
    return run


def page_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def references(html: str) -> list[str]:
    """Every URL the page refers to: src, href, CSS url(), @import."""
    found = re.findall(r"""\b(?:src|href|action|poster|data)\s*=\s*["']([^"']*)["']""", html)
    found += re.findall(r"url\(\s*['\"]?([^'\")]*)", html)
    found += re.findall(r"@import\s+['\"]?([^'\";]*)", html)
    return found


def assert_self_contained(html: str) -> None:
    assert html.startswith(HEADER)
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    for url in references(html):
        assert url.startswith(("data:", "#")), url
    assert "<link" not in html and "<iframe" not in html
    assert "default-src 'none'" in html  # the page may not fetch anything, even by mistake


# --- test_predictions.npz ---------------------------------------------------------------------


def test_test_predictions_hold_every_cell_and_its_pictures(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", STAMPS[0])
    x, y, probs = predictions()
    write_test_predictions(RunRecord.load(run), arrange(y, probs, x, data_sha256=SHA))
    assert TEST_PREDICTIONS in RunRecord.load(run).get("files")  # recorded like the others
    found = read_test_predictions(run, RunRecord.load(run))
    predicted = probs.argmax(axis=1)
    expected = np.zeros((10, 10), np.int64)
    np.add.at(expected, (y, predicted), 1)
    assert (found.confusion() == expected).all()
    assert found.data_sha256 == SHA and found.classes == 10
    for t, p in [(3, 3), (3, 5), (7, 1), (0, 9)]:
        cell = found.cell(t, p)
        assert sorted(cell) == sorted(np.flatnonzero((y == t) & (predicted == p)))
        confidence = probs[cell, p]
        assert (np.diff(confidence) <= 0).all()  # the most confident first
        pictures = found.cell_pictures(t, p)
        assert len(pictures) == min(len(cell), PER_CELL)
        assert (pictures == x[cell[: len(pictures)]]).all()


def test_damaged_test_predictions_are_refused_in_one_line(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "runs")
    path = run / TEST_PREDICTIONS
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut short
    with pytest.raises(UserError, match="damaged test predictions"):
        read_test_predictions(run)
    with pytest.raises(UserError, match="changed since the run wrote it"):
        read_test_predictions(run, RunRecord.load(run))  # by its checksum first
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as old, zipfile.ZipFile(buf, "w") as new:
        for item in old.namelist():
            if item != "cell_offsets.npy":
                new.writestr(item, old.read(item))
    path.write_bytes(buf.getvalue())
    with pytest.raises(UserError, match="damaged test predictions"):
        read_test_predictions(run)


# --- one run -------------------------------------------------------------------------------------


def test_one_run_page_has_every_part_and_asks_nothing_of_the_network(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "runs")
    result = report_runs([run], output=None)
    assert result.output == run / REPORT and result.warnings == []
    html = page_of(result.output)
    assert_self_contained(html)
    assert result.bytes == len(html.encode()) < 3 * MB
    assert "@media print" in html
    for part in ("Results", "Layers", "Learning curves", "Per class (test set)",
                 "Confusion matrix (test set)", "Misclassified test pictures", "Spec",
                 "Training environment"):  # fmt: skip
        assert f"<h3>{part}</h3>" in html, part
    assert 'class="highlight"' in html and "categorical_crossentropy" in html  # the spec
    assert "output_tensor" in html and "(None, 64)" in html  # the layer table
    assert html.count('<svg class="chart"') == 2  # loss and accuracy
    assert "train (dashed)" in html and "validation (solid)" in html and "stroke-dasharray" in html
    found = read_test_predictions(run)
    matrix = found.confusion()
    assert html.count('<button type="button" class="cell"') == int((matrix > 0).sum())
    for t, p in [(3, 3), (3, 5)]:
        template = re.search(rf'<template id="cell-run1-{t}-{p}">(.*?)</template>', html, re.S)
        if matrix[t, p]:
            assert template and template[1].count("<img") == min(int(matrix[t, p]), PER_CELL)
    mistakes = html.split("<h3>Misclassified test pictures</h3>")[1].split("<h3>")[0]
    assert 0 < mistakes.count("<img") <= 40
    assert f"{int(matrix.sum() - np.trace(matrix))}" in mistakes


def test_pictures_are_pngs_of_the_pictures_themselves() -> None:
    from PIL import Image

    x = real_arrays()["x_test"][:2]
    for picture in (x[0], np.stack([x[0], x[1], x[0]], axis=-1)):
        png = Image.open(io.BytesIO(png_bytes(picture)))
        assert (np.asarray(png) == picture).all()  # grey: white ink on black, as stored


def test_charts() -> None:
    assert nice_ticks(0.12, 0.97) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(2.0, 2.0)[0] < 2.0 < nice_ticks(2.0, 2.0)[-1]
    svg = chart(
        "Loss", [Line([1.0, float("nan"), 0.5, 0.4], "#111", "--")], [Key("k", "#111", "--")],
        percent=False,
    )  # fmt: skip
    assert svg.count("<polyline") == 2  # the NaN breaks the curve
    assert "no finished epoch" in chart("Loss", [Line([], "#111", "-")], [], percent=False)


def test_a_run_still_training_is_reported_as_far_as_it_got(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", STAMPS[0], end="training")
    here = liveness.current().host
    edit_metrics(run, owner=liveness.Owner(os.getppid(), here, None, None).to_json())  # alive
    result = cli("report", run)
    assert result.exit_code == 0, result.stderr
    assert "warning: tiny: still training: this report shows the 3 of 3 epochs so far" in (
        result.stderr
    )
    assert "no test-set results yet" in result.stderr
    html = page_of(run / REPORT)
    assert "still training" in html and "Confusion matrix" not in html
    assert html.count('<svg class="chart"') == 2


def test_an_older_run_says_how_to_add_the_pictures(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", STAMPS[0])
    result = report_runs([run], output=tmp_path / "page.html")
    hint = f"run `mnistctl evaluate {run}` to add the confusion cells&#39; pictures"
    assert hint in page_of(tmp_path / "page.html")
    assert any("mnistctl evaluate" in w for w in result.warnings)


# --- several runs -----------------------------------------------------------------------------


def test_several_runs_side_by_side(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = finished_run(runs, STAMPS[0])
    other = finished_run(runs, STAMPS[1], units=32, test=(0.4, 0.88))
    result = cli("report", first, other, "--json")
    assert result.exit_code == 0, result.stderr
    out = yaml.safe_load(result.stdout)
    page = Path(out["output"])
    assert page.parent == runs and re.fullmatch(r"report-\d{8}T\d{6}Z\.html", page.name)
    html = page_of(page)
    assert_self_contained(html)
    assert "<h2>The runs side by side</h2>" in html
    assert "<code>model.layers.hidden.units</code>" in html  # what differs, as a --set path
    assert "runs overlaid" in html and html.count('<section class="run"') == 2
    assert f"tiny {STAMPS[0]}" in html and f"tiny {STAMPS[1]}" in html  # labels told apart
    assert "91.00%" in html and "88.00%" in html


def test_different_structures_data_and_losses_are_labelled(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = finished_run(runs, STAMPS[0])
    other = finished_run(runs, STAMPS[1], name="deeper", data=("elsewhere", "cd" * 32),
                         loss="sparse_categorical_crossentropy")  # fmt: skip
    spec = yaml.safe_load((other / layout.SPEC).read_text())
    spec["model"]["layers"].insert(2, {"type": "Dense", "name": "more", "units": 32})
    spec["description"] = "<script>alert('x')</script> & <b>"  # shown as text, everywhere
    (other / layout.SPEC).write_text(yaml.safe_dump(spec, sort_keys=False))
    RunRecord.load(other).file_written(layout.SPEC)
    result = report_runs([first, other], output=tmp_path / "both.html")
    html = page_of(tmp_path / "both.html")
    assert "The layers differ in structure" in html and "more: Dense(units=32)" in html
    assert "model.layers.more" not in html  # not as --set paths
    assert "<script>alert" not in html and html.count("<script>") == 1  # the page's own
    notes = [w for w in result.warnings if "trained with different" in w]
    assert len(notes) == 2 and "different data" in notes[0] and "different losses" in notes[1]


def test_a_group_shows_its_spread(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    members = []
    for seed, stamp in enumerate(STAMPS):
        run = finished_run(runs, stamp, test=(0.3, 0.9 + seed / 100))
        group = {"name": f"tiny-seeds-{STAMPS[0]}", "seeds": [0, 1, 2], "seed": seed}
        edit_metrics(run, group=group)
        members.append(run)
    result = report_runs([Path(f"tiny-seeds-{STAMPS[0]}")], output=None, runs_dir=runs)
    assert result.groups == [f"tiny-seeds-{STAMPS[0]}"] and len(result.runs) == 3
    html = page_of(result.output)
    assert "<h2>Groups of seeds</h2>" in html
    assert "91.00% ± 1.00% (n = 3)" in html  # test accuracy: mean ± sample sd
    assert 'class="band"' in html and "mean ± sd" in html


# --- bad input ---------------------------------------------------------------------------------


def test_output_paths(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "runs")
    foreign = tmp_path / "notes.html"
    foreign.write_text("my notes")
    assert_user_error(cli("report", run, "--output", foreign), "refusing to replace a file")
    assert foreign.read_text() == "my notes"  # never truncated
    mine = tmp_path / "mine.html"
    assert cli("report", run, "--output", mine).exit_code == 0
    assert cli("report", run, "--output", mine).exit_code == 0  # its own earlier report
    folder = tmp_path / "folder"
    folder.mkdir()
    assert cli("report", run, "--output", folder).exit_code == 0
    assert [p.suffix for p in folder.iterdir()] == [".html"]
    assert_user_error(cli("report", run, "--output", foreign / "x.html"), "cannot write the file")
    assert_user_error(
        cli("report", run, "--output", run / "elsewhere.html"), "inside a run directory"
    )
    (tmp_path / "link.html").symlink_to(mine)
    assert_user_error(cli("report", run, "--output", tmp_path / "link.html"), "symbolic link")
    assert sorted(p.name for p in run.iterdir() if p.suffix == ".html") == []
    if Path("/proc/self").is_dir():  # a folder no one may write in, even root
        assert_user_error(cli("report", run, "--output", "/proc/report.html"), "cannot write")


def test_damaged_and_repeated_runs_are_refused(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "runs")
    assert_user_error(cli("report", run, run), "the same run given twice")
    broken = make_run(tmp_path / "runs", STAMPS[1])
    (broken / "metrics.json").write_text("{")
    assert_user_error(cli("report", run, broken), "cannot report a damaged run", "damaged JSON")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    assert_user_error(cli("report", foreign), "not a run directory")
    assert not (run / REPORT).exists()


def test_the_api_writes_the_same_page(tmp_path: Path) -> None:
    import mnistctl

    run = finished_run(tmp_path / "runs")
    import mnistctl.reportpage.page  # the package's modules never hide the function

    assert callable(mnistctl.report)
    path = mnistctl.report(run, tmp_path / "api.html")
    assert path == tmp_path / "api.html" and page_of(path).startswith(HEADER)
    foreign = tmp_path / "notes.html"
    foreign.write_text("my notes")
    with pytest.raises(mnistctl.Error, match="refusing to replace"):
        mnistctl.report([run], foreign)
    assert foreign.read_text() == "my notes"


def test_drawing_is_the_plots_convention() -> None:
    from mnistctl.commands.report import drawing
    from mnistctl.plots.style import TRAIN_LINE, VAL_LINE

    made: Drawing = drawing(2)
    assert (made.train_line, made.val_line) == (TRAIN_LINE, VAL_LINE)


def test_many_classes_keep_the_page_small() -> None:
    from mnistctl.reportpage.page import _per_cell

    x, y, probs = predictions()
    assert _per_cell(arrange(y, probs, x, data_sha256=SHA)) == PER_CELL  # MNIST: every one
    rng = np.random.default_rng(1)
    many = rng.random((N_TEST, 40))
    labels = rng.integers(0, 40, N_TEST)
    pictures = np.repeat(x[:, :, :, None], 3, axis=3)  # RGB: three times the pixels
    assert _per_cell(arrange(labels, many, pictures, data_sha256=SHA)) == 2


def test_predictions_of_other_classes_are_not_shown(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", STAMPS[0])
    x, y, probs = predictions()
    found = arrange(y % 5, probs[:, :5], x, data_sha256=SHA)
    write_test_predictions(RunRecord.load(run), found)
    result = report_runs([run], output=None)
    assert any("test predictions of other classes" in w for w in result.warnings)
    assert "Confusion matrix" not in page_of(run / REPORT)


def test_a_group_whose_runs_differ_is_not_a_group(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    name = f"tiny-seeds-{STAMPS[0]}"
    for seed, stamp in enumerate(STAMPS[:2]):
        run = finished_run(runs, stamp, units=64 + 32 * seed)
        edit_metrics(run, group={"name": name, "seeds": [0, 1], "seed": seed})
    assert_user_error(cli("report", name, "--runs-dir", runs), "not a group")
