"""``mnistctl predict RUN FOLDER`` and ``predict RUN 'digits/*.png'``: many pictures at once.

Folders and patterns become image files in name order; the pictures are prepared in worker
processes with the same results as one at a time, every problem is reported in order, and the
model reads them in batches with the same answers as one picture at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import procs_tasks
import pytest
from helpers import (
    assert_user_error,
    cli,
    digit_png,
    real_arrays,
)
from PIL import Image

from mnistctl.data import imagesets
from mnistctl.data.imagesets import Preparation, expand_images, prepare_images
from mnistctl.data.inputs import MNIST_TARGET, load_inputs
from mnistctl.errors import UserError
from mnistctl.procs.worker import Worker

# A small convnet, so that batched convolutions are compared with one picture at a time too.


def digits(folder: Path, count: int, *, start: int = 0, photo_every: int = 3) -> list[Path]:
    """``count`` real test digits as PNG files 0000.png, ...; every ``photo_every``-th one dark
    on light and enlarged 4x."""
    x = real_arrays()["x_test"]
    folder.mkdir(parents=True, exist_ok=True)
    return [
        digit_png(
            folder / f"{i:04d}.png",
            x[i],
            invert=i % photo_every == 1,
            scale=4 if i % photo_every == 1 else 1,
        )
        for i in range(start, start + count)
    ]


def touch(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def lines(errors: list[UserError]) -> list[str]:
    return [e.one_line() for e in errors]


# --- folders and patterns ----------------------------------------------------------------------


def test_a_folder_is_its_image_files_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    for name in ["b.png", "a.PNG", "10.jpg", "2.webp", "c.jpeg", "notes.txt", ".hidden.png"]:
        touch(folder / name)
    touch(folder / "sub" / "inner.png")
    (folder / "z.png").symlink_to(folder / "b.png")
    (folder / "no-suffix").write_bytes(b"")
    os.mkfifo(folder / "pipe.png")  # not a regular file: never read, reported in its place
    items = expand_images([folder])
    assert items[:5] + items[6:] == [
        folder / name for name in ["10.jpg", "2.webp", "a.PNG", "b.png", "c.jpeg", "z.png"]
    ]
    assert isinstance(items[5], UserError) and items[5].received == "a named pipe (FIFO)"


def test_a_pattern_is_its_matches_in_name_order_each_as_if_typed(tmp_path: Path) -> None:
    for name in ["d2.png", "d1.png", "d10.png", "x.txt", ".d0.png"]:
        touch(tmp_path / "digits" / name)
    touch(tmp_path / "digits" / "more" / "m.png")
    pattern = str(tmp_path / "digits" / "d*.png")
    expected = [tmp_path / "digits" / n for n in ["d1.png", "d10.png", "d2.png"]]
    assert expand_images([pattern]) == expected
    # a matched folder is expanded, a matched file is taken whatever its extension
    assert expand_images([str(tmp_path / "digits" / "[mx]*")]) == [
        tmp_path / "digits" / "more" / "m.png",
        tmp_path / "digits" / "x.txt",
    ]
    assert expand_images([str(tmp_path / "**" / "m.png")]) == [
        tmp_path / "digits" / "more" / "m.png"
    ]


def test_a_path_that_exists_is_never_a_pattern(tmp_path: Path) -> None:
    literal = touch(tmp_path / "seven[v2].png")
    touch(tmp_path / "seven2.png")
    assert expand_images([literal]) == [literal]
    missing = tmp_path / "missing.png"
    assert expand_images([missing, "/dev/stdin"]) == [missing, Path("/dev/stdin")]


def test_empty_folders_and_patterns_without_matches_are_errors_in_their_place(
    tmp_path: Path,
) -> None:
    empty, texts = tmp_path / "empty", tmp_path / "texts"
    empty.mkdir()
    touch(texts / "a.txt")
    touch(texts / "b.csv")
    good = touch(tmp_path / "good.png")
    items = expand_images([empty, good, str(tmp_path / "nothing*.png"), texts])
    assert items[1] == good
    problems = [item for item in items if isinstance(item, UserError)]
    assert len(problems) == 3 and len(items) == 4
    assert lines(problems) == [
        f"{empty}: no image files in the folder; expected image files in it (.png, .jpg, "
        ".jpeg, .bmp, .gif, .tif, .webp, ...); received an empty folder (hint: name the files "
        "themselves if their names do not end in an image extension; sub-folders and hidden "
        "files are not read)",
        f"{tmp_path}/nothing*.png: no file matches the pattern; expected an existing path, or "
        "a pattern that matches at least one; received no matches (hint: check the folder and "
        "the pattern)",
        f"{texts}: no image files in the folder; expected image files in it (.png, .jpg, .jpeg,"
        " .bmp, .gif, .tif, .webp, ...); received 2 entries, none of them an image file (hint: "
        "name the files themselves if their names do not end in an image extension; "
        "sub-folders and hidden files are not read)",
    ]


# --- preparing in parallel ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 real digits (plain, and dark on light 4x), an RGB JPEG, and four bad files."""
    folder = tmp_path_factory.mktemp("mixed")
    digits(folder, 90)
    rgb = Image.open(folder / "0001.png").convert("RGB")
    rgb.save(folder / "0050b.jpg", quality=90)
    touch(folder / "0003b.png")  # empty
    touch(folder / "0020b.png", b"not a picture\n")
    Image.new("L", (40, 40), 200).save(folder / "0060b.png")  # blank
    touch(folder / "0089b.png", (folder / "0001.png").read_bytes()[:60])  # truncated
    return folder


@pytest.mark.slow  # worker processes
def test_parallel_preparation_equals_one_at_a_time(
    mixed_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imagesets, "CHUNK_MIN", 8)  # several chunks per worker
    items = expand_images([mixed_folder])
    assert len(items) == 95
    serial = prepare_images(items, workers=1)
    parallel = prepare_images(items, workers=2)
    assert parallel.names == serial.names == [str(p) for p in items]
    assert parallel.digits.dtype == np.float32 and parallel.digits.shape == (95, 28, 28)
    assert np.array_equal(parallel.digits, serial.digits)
    assert lines(parallel.errors) == lines(serial.errors)
    bad = ["0003b.png", "0020b.png", "0060b.png", "0089b.png"]
    assert [e.location.file for e in parallel.errors] == [str(mixed_folder / n) for n in bad]
    for name, digit in zip(parallel.names, parallel.digits, strict=True):
        if Path(name).name not in bad:
            assert np.array_equal(digit, load_inputs([name], MNIST_TARGET)[0]), name


@pytest.mark.slow  # worker processes
def test_workers_report_paths_as_given(
    mixed_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(mixed_folder, tmp_path / "pics")
    monkeypatch.chdir(tmp_path)
    batch = prepare_images(expand_images(["pics"]), workers=2)
    assert batch.names[0] == "pics/0000.png"
    assert [e.location.file for e in batch.errors][:2] == ["pics/0003b.png", "pics/0020b.png"]
    assert batch.errors[1].one_line().startswith("pics/0020b.png: not an image file")


@pytest.mark.slow  # worker processes
def test_pipes_are_read_here_among_many_files(tmp_path: Path) -> None:
    """``/dev/fd/N`` means this process's descriptor: never sent to a worker."""
    files = digits(tmp_path / "d", imagesets.PARALLEL_MIN)
    data = files[5].read_bytes()
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        batch = prepare_images([*files, Path(f"/dev/fd/{read_end}")], workers=2)
    finally:
        writer.join()
        os.close(read_end)
    assert not batch.errors, lines(batch.errors)
    assert np.array_equal(batch.digits[-1], batch.digits[5])


def test_without_worker_processes_everything_is_prepared_here(
    mixed_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_processes(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no processes")

    monkeypatch.setattr(Worker, "start", no_processes)
    items = expand_images([mixed_folder])
    batch = prepare_images(items, workers=4)
    assert np.array_equal(batch.digits, prepare_images(items, workers=1).digits)
    assert len(batch.errors) == 4


@pytest.mark.slow  # starts worker processes
def test_the_files_of_a_worker_that_dies_are_prepared_here(
    mixed_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # workers find procs_tasks
    monkeypatch.setattr(imagesets, "_chunk_preparer", procs_tasks.exits)  # ends on a chunk
    items = expand_images([mixed_folder])
    batch = prepare_images(items, workers=2)
    assert np.array_equal(batch.digits, prepare_images(items, workers=1).digits)
    assert [e.location.file for e in batch.errors] == [
        str(mixed_folder / n) for n in ["0003b.png", "0020b.png", "0060b.png", "0089b.png"]
    ]


@pytest.mark.slow  # starts worker processes
def test_leaving_early_stops_the_workers(mixed_folder: Path) -> None:
    with Preparation(expand_images([mixed_folder]), workers=2) as preparation:
        assert preparation._pool is not None
        pids = preparation._pool.pids
        assert pids
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


# --- through the command -----------------------------------------------------------------------


def test_predict_a_folder_of_300_digits(conv_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "digits"
    files = digits(folder, 300)
    touch(folder / "README.txt", b"not read")
    result = cli("predict", conv_run, folder, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert isinstance(out, list) and len(out) == 300
    assert [row["file"] for row in out] == [str(p) for p in files]
    for row in out:
        assert set(row) == {"file", "label", "class", "probabilities"}
        assert len(row["probabilities"]) == 10
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in row["probabilities"])
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert row["label"] == int(np.argmax(row["probabilities"]))
    # the same answers as one picture at a time, through the command ...
    for i in (0, 1, 299):
        one = cli("predict", conv_run, files[i], "--json")
        assert one.exit_code == 0, one.stderr
        [alone] = json.loads(one.stdout)
        assert alone["label"] == out[i]["label"]
        np.testing.assert_allclose(alone["probabilities"], out[i]["probabilities"], atol=1e-6)
    # ... and through the model, every one of them
    from mnistctl.commands.common import open_run

    model = open_run(conv_run, None).load_model()
    for i, path in enumerate(files):
        x = np.asarray(load_inputs([path], MNIST_TARGET)[0]).reshape(1, 28, 28, 1)
        alone = np.asarray(model(x, training=False).numpy(), dtype=np.float64)[0]
        assert int(alone.argmax()) == out[i]["label"], path
        np.testing.assert_allclose(alone, out[i]["probabilities"], rtol=1e-5, atol=1e-6)
    # a quoted pattern gives the same rows for the files it matches
    some = cli("predict", conv_run, str(folder / "00[0-4]?.png"), "--json")
    assert some.exit_code == 0, some.stderr
    rows = json.loads(some.stdout)
    assert [(r["file"], r["label"]) for r in rows] == [(r["file"], r["label"]) for r in out[:50]]
    np.testing.assert_allclose(
        [r["probabilities"] for r in rows], [r["probabilities"] for r in out[:50]], atol=1e-6
    )


def test_a_script_without_a_main_guard_predicts_many_pictures_once(
    conv_run: Path, tmp_path: Path
) -> None:
    """The Python API from a script with no ``if __name__ == "__main__":``: the pictures are
    prepared in worker processes that run nothing of the script again."""
    files = digits(tmp_path / "d", 2 * imagesets.PARALLEL_MIN)
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "import mnistctl\n"
        "print('the script ran', flush=True)\n"
        "probabilities = mnistctl.open_run(sys.argv[1]).predict(sys.argv[2:])\n"
        "print(len(probabilities.labels), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), str(conv_run), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["the script ran", str(len(files))], done.stdout


def test_every_bad_file_is_reported_in_order(
    conv_run: Path, mixed_folder: Path, tmp_path: Path
) -> None:
    """The good pictures are predicted; each problem is one line on stderr and an
    ``{"file", "error"}`` entry in its place; exit 3 (some pictures were not predicted)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing.png"
    args = [mixed_folder, missing, str(tmp_path / "no*.png"), empty]
    result = cli("predict", conv_run, *args, "--json")
    assert result.exit_code == 3, result.stderr
    got = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    expected_files = [
        *(str(mixed_folder / n) for n in ["0003b.png", "0020b.png", "0060b.png", "0089b.png"]),
        str(missing),
        str(tmp_path / "no*.png"),
        str(empty),
    ]
    assert got[0].startswith("model: ")
    assert [line.split(": ", 1)[0] for line in got[1:-1]] == expected_files
    assert got[-1] == "7 of 98 not predicted"
    doc = json.loads(result.stdout)
    assert len(doc) == 98 and sum("label" in row for row in doc) == 91
    failed = [row for row in doc if "error" in row]
    assert [row["file"] for row in failed] == expected_files
    assert failed[0]["error"].startswith("image file is empty")
    assert doc[4] == failed[0]  # 0000, 0001, 0002, 0003, then 0003b


def test_an_empty_folder_alone_is_one_located_line(conv_run: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nothing here"
    empty.mkdir()
    line = assert_user_error(cli("predict", conv_run, empty), "no image files in the folder")
    assert line.startswith(f"{empty}: no image files in the folder;")
    pattern = str(tmp_path / "*.png")
    line = assert_user_error(cli("predict", conv_run, pattern, "--json"), "no file matches")
    assert line.startswith(f"{pattern}: no file matches the pattern;")


# --- the faster preparation gives numpy's exact numbers ----------------------------------------


def test_fast_statistics_are_numpys_to_the_bit() -> None:
    from mnistctl.data import digitink, rowstats

    rng = np.random.default_rng(0)
    for n in [*range(1, 40), 784, 12_544, 70_001]:
        a = rng.random(n) if n % 3 else np.round(rng.random(n) * 8) / 8  # ties too
        for q in (25.0, 50.0, 75.0, 90.0, 100.0):
            assert rowstats.percentile(a, q) == float(np.percentile(a, q)), (n, q)
        assert rowstats.median(a) == float(np.median(a)), n
    rows = rng.random((37, 196))
    rows[::3] = np.round(rows[::3] * 4) / 4
    for q in (25.0, 50.0, 75.0, 90.0):
        expected = np.percentile(rows, q, axis=1).tobytes()
        assert rowstats.percentile_rows(rows, q).tobytes() == expected
        assert rowstats.sorted_percentiles(np.sort(rows, axis=1), q).tobytes() == expected
    for width in (195, 196):
        assert rowstats.median_rows(rows[:, :width]).tobytes() == (
            np.median(rows[:, :width], axis=1).tobytes()
        )
    grid = rng.random((5, 7))
    padded = np.pad(grid, 1, mode="reflect", reflect_type="odd")
    assert digitink._pad_odd(grid).tobytes() == padded.tobytes()
    assert digitink._pad_odd(np.stack([grid, grid])).tobytes() == np.stack([padded] * 2).tobytes()


def test_row_statistics_are_those_of_each_row_alone() -> None:
    """Histograms (for Otsu's threshold), percentiles of chosen pixels and zero medians, for
    many pictures at once: numpy's numbers for each picture alone."""
    from mnistctl.data import rowstats

    rng = np.random.default_rng(1)
    for width in (784, 5000):  # sorted rows, and one row at a time
        ink = np.where(rng.random((9, width)) < 0.7, 0.0, rng.random((9, width)))
        ink[1] = 0.0
        ink[2, :-1] = 0.0  # one value
        ink[3] = np.round(ink[3] * 4) / 4  # on bin edges
        ink[4] = rng.integers(0, 257, width) * (0.7 / 256)  # on (or a rounding off) every edge
        ink[4, 0] = 0.7
        inked = ink.max(axis=1) > 0
        hist, edges = rowstats.histograms(ink[inked], 256, ink[inked].max(axis=1))
        for row, h, e in zip(ink[inked], hist, edges, strict=True):
            ref_hist, ref_edges = np.histogram(row, bins=256, range=(0.0, row.max()))
            assert np.array_equal(h, ref_hist) and e.tobytes() == ref_edges.tobytes()
        chosen = ink > 0.3
        got = rowstats.percentiles_where(ink, chosen, 90.0)
        for i, row in enumerate(ink):
            if chosen[i].any():
                assert got[i] == float(np.percentile(row[chosen[i]], 90.0)), (width, i)
            else:
                assert np.isnan(got[i])
        zero = rowstats.zero_median(np.vstack([ink, ink - 0.5]))
        assert zero.tolist() == [
            bool(np.median(row) == 0.0 and row.min() >= 0.0) for row in np.vstack([ink, ink - 0.5])
        ]


# --- predicting in batches -----------------------------------------------------------------------


def test_batched_answers_equal_one_at_a_time_with_a_last_partial_batch(
    conv_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnistctl.commands import predict
    from mnistctl.commands.common import open_run

    model = open_run(conv_run, None).load_model()
    x = (real_arrays()["x_test"][:21].astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    monkeypatch.setattr(predict, "PREDICT_BATCH", 8)  # 8 + 8 + a last batch of 5
    batched = predict.model_outputs(model, x)
    assert batched.shape == (21, 10) and batched.dtype == np.float64
    alone = np.concatenate([np.asarray(model(x[i : i + 1], training=False)) for i in range(21)])
    np.testing.assert_allclose(batched, alone, rtol=1e-5, atol=1e-6)
    assert batched.argmax(axis=1).tolist() == alone.argmax(axis=1).tolist()
    keras_way = model.predict(x, batch_size=8, verbose=0)
    np.testing.assert_allclose(batched, keras_way, rtol=1e-5, atol=1e-6)
    few = predict.model_outputs(model, x[:3])  # fewer than a batch: one batch of 3
    np.testing.assert_allclose(few, batched[:3], rtol=1e-5, atol=1e-6)


# --- the workers ---------------------------------------------------------------------------------


@pytest.mark.slow  # starts worker processes
def test_the_last_worker_starts_when_the_result_is_wanted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All workers but one start at once; the last when ``result()`` is called and chunks are
    still waiting (the caller's own work, such as importing TensorFlow, is done then)."""
    monkeypatch.setattr(imagesets, "CHUNK_MIN", 4)
    files = digits(tmp_path / "d", imagesets.PARALLEL_MIN)
    with Preparation(files, workers=2) as preparation:
        pool = preparation._pool
        assert pool is not None and len(pool.pids) == 1
        batch = preparation.result()
    assert len(pool.pids) == 2  # 16 chunks of 4: most still waiting when result() was called
    assert np.array_equal(batch.digits, prepare_images(files, workers=1).digits)
