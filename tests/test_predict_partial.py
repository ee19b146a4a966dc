"""One bad picture does not stop a batch (issue 23, item 7).

``predict`` predicts every picture it can read; each one it cannot (a blank page, a link that
loops, a pipe or socket in a folder, a missing file, an empty folder) is reported in its place,
one line each, and in ``--json`` as ``{"file", "error"}``; the exit code is 3 when some were.
File names that are not UTF-8 come out as valid Unicode, each such byte written ``\\xNN``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import cli, digit_png, real_arrays
from PIL import Image

from mnistctl.commands.predict import Failure, Prediction
from mnistctl.data.imagesets import expand_images, prepare_images
from mnistctl.errors import Location, UserError, unicode_text, visible
from mnistctl.ui.errors import error_json

BAD_NAME = b"bad\xff.png"  # not UTF-8: Python holds the byte as the lone surrogate U+DCFF
SHOWN = "bad\\xff.png"  # how mnistctl writes it, in the terminal and in JSON


def strict_json(text: str) -> Any:
    """``text`` parsed as a strict parser would: no lone surrogates (``"\\udcff"``)."""
    doc = json.loads(text)

    def check(value: Any) -> None:
        if isinstance(value, str):
            value.encode("utf-8")  # raises on a lone surrogate
        elif isinstance(value, list):
            for v in value:
                check(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                check(k)
                check(v)

    check(doc)
    return doc


def drawings(folder: Path, count: int) -> list[Path]:
    """``count`` real test digits as PNG files d00.png, d01.png, ..."""
    x = real_arrays()["x_test"]
    folder.mkdir(parents=True, exist_ok=True)
    return [digit_png(folder / f"d{i:02d}.png", x[i]) for i in range(count)]


def blank_page(path: Path) -> Path:
    Image.new("L", (60, 80), 255).save(path)
    return path


@pytest.fixture
def odd_folder(tmp_path: Path) -> Iterator[Path]:
    """Good drawings among entries with image names that are not pictures: a link that leads
    to itself, a named pipe, a socket, a sub-folder (skipped, as before) and a blank page."""
    folder = tmp_path / "odd"
    drawings(folder, 3)  # d00, d01, d02
    blank_page(folder / "d01b.png")
    os.symlink("e_loop.png", folder / "e_loop.png")
    os.mkfifo(folder / "f_pipe.png")
    (folder / "g_sub.png").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "h_sock.png"))
        yield folder


# --- folders: each entry in its place, nothing refused whole ------------------------------------


def test_a_folder_with_a_link_loop_a_pipe_and_a_socket_yields_its_pictures(
    odd_folder: Path,
) -> None:
    items = expand_images([odd_folder])
    shown = [item if isinstance(item, Path) else item.one_line() for item in items]
    d = odd_folder
    assert shown[:4] == [d / "d00.png", d / "d01.png", d / "d01b.png", d / "d02.png"]
    loop, pipe, sock = (str(s) for s in shown[4:])
    assert len(shown) == 7  # the sub-folder is skipped, as sub-folders always were
    assert loop.startswith(f"{d}/e_loop.png: a symbolic link that loops;")
    assert "the link leads back to itself" in loop
    assert pipe.startswith(f"{d}/f_pipe.png: not a regular file; expected an image file; ")
    assert "received a named pipe (FIFO)" in pipe and "they could block" in pipe
    assert sock.startswith(f"{d}/h_sock.png: not a regular file;") and "a socket" in sock


def test_pipes_and_sockets_in_a_folder_are_never_opened(odd_folder: Path) -> None:
    """Were the pipe opened for reading this would wait forever for a writer."""
    items = expand_images([odd_folder])
    assert not [i for i in items if isinstance(i, Path) and i.name in {"f_pipe.png", "h_sock.png"}]
    batch = prepare_images(items, workers=1)
    assert [type(o).__name__ for o in batch.outcomes] == [
        *("int", "int", "UserError", "int"),
        *("UserError", "UserError", "UserError"),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and follows anything")
def test_an_unreadable_picture_or_link_in_a_folder_is_reported_in_its_place(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "f"
    files = drawings(folder, 3)
    files[1].chmod(0)
    locked = tmp_path / "locked"
    locked.mkdir()
    digit_png(locked / "x.png", real_arrays()["x_test"][0])
    os.symlink(locked / "x.png", folder / "d01l.png")
    locked.chmod(0)
    try:
        items = expand_images([folder])
        assert items[:2] == files[:2]
        assert isinstance(items[2], UserError) and "cannot follow the link" in items[2].message
        assert items[3] == files[2]
        batch = prepare_images(items, workers=1)
        assert [isinstance(o, int) for o in batch.outcomes] == [True, False, False, True]
    finally:
        locked.chmod(0o755)
        files[1].chmod(0o644)


# --- the preparation keeps each picture's place -------------------------------------------------


def test_eleven_drawings_with_one_blank_page_prepare_ten_in_their_places(tmp_path: Path) -> None:
    files = drawings(tmp_path, 10)
    blank = blank_page(tmp_path / "d04b.png")
    items = expand_images([tmp_path])
    assert items[5] == blank and len(items) == 11
    batch = prepare_images(items, workers=1)
    assert len(batch.errors) == 1 and batch.errors[0].location.file == str(blank)
    assert batch.outcomes[5] is batch.errors[0]
    assert batch.prepared == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    alone = prepare_images(files, workers=1)
    assert np.array_equal(batch.digits[batch.prepared], alone.digits)


def test_arguments_that_name_no_picture_keep_their_place(tmp_path: Path) -> None:
    good = drawings(tmp_path / "g", 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    items = expand_images([good[0], empty, str(tmp_path / "none*.png"), good[1]])
    batch = prepare_images(items, workers=1)
    assert [o if isinstance(o, int) else o.location.file for o in batch.outcomes] == [
        *(0, str(empty), str(tmp_path / "none*.png"), 1)
    ]


# --- names that are not UTF-8 -------------------------------------------------------------------


def test_bytes_that_are_not_utf8_are_written_backslash_x() -> None:
    name = os.fsdecode(BAD_NAME)
    assert name == "bad\udcff.png"
    assert unicode_text(name) == SHOWN
    assert visible(name) == SHOWN
    assert visible(f"a\nb/{name}") == f"a\\nb/{SHOWN}"
    assert unicode_text("plain ünïcode.png") == "plain ünïcode.png"


def test_json_names_are_valid_unicode(tmp_path: Path) -> None:
    name = os.fsdecode(BAD_NAME)
    err = UserError("no digit found", Location(file=name), received="a blank image")
    rows = [Prediction(name, 7, [0.1] * 10).to_json(), Failure(name, err).to_json()]
    doc = strict_json(json.dumps(rows))
    assert doc[0]["file"] == doc[1]["file"] == SHOWN
    assert doc[1] == {"file": SHOWN, "error": "no digit found; received a blank image"}
    error_doc = strict_json(json.dumps(error_json(err)))
    assert error_doc["error"]["file"] == SHOWN
    assert error_doc["errors"] == [f"{SHOWN}: no digit found; received a blank image"]


def test_a_folder_with_a_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    digit_png(
        Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + BAD_NAME)), real_arrays()["x_test"][0]
    )
    (item,) = expand_images([tmp_path])
    assert isinstance(item, Path) and item.name == "bad\udcff.png"
    assert not prepare_images([item], workers=1).errors


# --- through the command (a trained run: slow) --------------------------------------------------


@pytest.fixture
def batch_folder(tmp_path: Path) -> Path:
    """11 drawings, the fifth a blank page; a good drawing with a name that is not UTF-8; a
    link that loops; a named pipe."""
    folder = tmp_path / "batch"
    drawings(folder, 10)
    blank_page(folder / "d03b.png")
    x = real_arrays()["x_test"]
    digit_png(Path(os.fsdecode(os.fsencode(folder) + b"/" + BAD_NAME)), x[20])
    os.symlink("loop.png", folder / "loop.png")
    os.mkfifo(folder / "pipe.png")
    return folder


def test_predict_json_lists_every_picture_and_every_failure_in_order(
    conv_run: Path, batch_folder: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.png"
    result = cli("predict", conv_run, batch_folder, missing, "--json")
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr
    doc = strict_json(result.stdout)
    d = str(batch_folder)
    names = [
        *(f"{d}/{SHOWN}", f"{d}/d00.png", f"{d}/d01.png", f"{d}/d02.png", f"{d}/d03.png"),
        f"{d}/d03b.png",
        *(f"{d}/d0{i}.png" for i in range(4, 10)),
        *(f"{d}/loop.png", f"{d}/pipe.png", str(missing)),
    ]
    assert [row["file"] for row in doc] == names
    failed = [5, 12, 13, 14]
    for at, row in enumerate(doc):
        assert set(row) == (
            {"file", "error"} if at in failed else {"file", "label", "class", "probabilities"}
        )
    assert doc[5]["error"].startswith("no digit found")
    assert doc[12]["error"].startswith("a symbolic link that loops")
    assert doc[13]["error"].startswith("not a regular file")
    assert doc[14]["error"].startswith("image file not found")
    # the good ones are predicted as they are alone
    good = [Path(os.fsdecode(os.fsencode(batch_folder) + b"/" + BAD_NAME))]
    good += [batch_folder / f"d0{i}.png" for i in range(10)]
    alone = cli("predict", conv_run, *good, "--json")
    assert alone.exit_code == 0, alone.stderr
    assert strict_json(alone.stdout) == [row for at, row in enumerate(doc) if at not in failed]
    # stderr: which model, then one line per failure in order, then how many
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("model: ")
    assert [line.split(": ", 1)[0] for line in lines[1:-1]] == [names[at] for at in failed]
    assert lines[-1] == "4 of 15 not predicted"


def test_predict_table_shows_each_failure_in_its_place(
    conv_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # short names: one table line a row
    drawings(tmp_path, 2)
    blank_page(tmp_path / "d00b.png")
    result = cli("predict", conv_run, "d00.png", "d00b.png", "d01.png")
    assert result.exit_code == 3, result.stderr
    rows = [line for line in result.stdout.splitlines() if ".png" in line]
    assert [row.split()[1] for row in rows] == ["d00.png", "d00b.png", "d01.png"], result.stdout
    assert "│     - │ not predicted: no digit found" in rows[1], result.stdout
    assert "not predicted" not in rows[0] + rows[2]
    err = result.stderr.strip().splitlines()
    assert err[1].startswith("d00b.png: no digit found in the image; expected ")
    assert err[2:] == ["1 of 3 not predicted"]


def test_predict_shows_a_name_that_is_not_utf8_escaped(conv_run: Path, tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + BAD_NAME))
    blank_page(path)
    good = drawings(tmp_path / "g", 1)
    result = cli("predict", conv_run, good[0], path)
    assert result.exit_code == 3
    assert f"{tmp_path}/{SHOWN}: no digit found" in result.stderr
    assert "\\udcff" not in result.stderr + result.stdout


def test_when_no_picture_can_be_read_it_is_an_error_as_before(
    conv_run: Path, tmp_path: Path
) -> None:
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + BAD_NAME))
    blank_page(path)
    result = cli("predict", conv_run, path, tmp_path / "missing.png", "--json")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    doc = strict_json(result.stdout)
    assert doc["error"]["file"] == f"{tmp_path}/{SHOWN}"
    assert len(doc["errors"]) == 2
