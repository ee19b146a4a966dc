"""Tests for mnistctl.data.pictures.load: pictures to arrays (split, order, shapes, labels),
bad files collected, and the cache (hit without decoding, changes noticed, damage repaired).
Tiny PNG, JPEG and BMP files made with Pillow in tmp_path; each test its own cache folder."""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistctl.data.arrays import ALIGNMENT
from mnistctl.data.pictures import decode, load, stats
from mnistctl.data.pictures.cache import cache_dir
from mnistctl.data.pictures.layout import hold_out
from mnistctl.data.pictures.load import PictureSet, load_pictures
from mnistctl.data.pictures.prepare import PictureShape
from mnistctl.errors import UserError

GREY = PictureShape(8, 8, 1)


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MNISTCTL_CACHE_DIR", str(folder))
    return folder / "pictures"


def picture(path: Path, value: int, size: tuple[int, int] = (8, 8), mode: str = "L") -> Path:
    """A picture of one grey ``value`` (its class and name can be told from it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("L", size, value)
    if mode != "L":
        img = img.convert(mode)
    img.save(path, format=None if path.suffix else "PNG")
    return path


def folder_set(root: Path, counts: dict[str, int], *, split: str = "train") -> Path:
    """``counts[class]`` pictures per class, each of its own value: 10 x class + number."""
    for c, (name, count) in enumerate(sorted(counts.items())):
        for i in range(count):
            picture(root / split / name / f"{i:03d}.png", 10 * c + i)
    return root


def values(x: np.ndarray) -> list[int]:
    return [int(v) for v in x.reshape(len(x), -1)[:, 0]]


def aligned(arr: np.ndarray) -> bool:
    return arr.flags.c_contiguous and arr.ctypes.data % ALIGNMENT == 0


def bomb_png(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A PNG whose header says width x height pixels (one tiny IDAT: never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return path


# --- arrays -------------------------------------------------------------------------------------


def test_train_and_test_folders(tmp_path: Path) -> None:
    folder_set(tmp_path, {"cat": 3, "dog": 2})
    folder_set(tmp_path, {"cat": 1, "dog": 1}, split="test")
    got = load_pictures(tmp_path, shape=GREY, workers=1)
    assert got.classes == ("cat", "dog") and not got.bad and not got.cached
    assert got.x_train.shape == (5, 8, 8) and got.x_test.shape == (2, 8, 8)
    assert got.x_train.dtype == np.uint8 and got.y_train.dtype == np.uint8
    assert values(got.x_train) == [0, 1, 2, 10, 11] and got.y_train.tolist() == [0, 0, 0, 1, 1]
    assert values(got.x_test) == [0, 10] and got.y_test.tolist() == [0, 1]
    assert all(aligned(a) for a in (got.x_train, got.x_test, got.y_train, got.y_test))
    assert got.sizes == {"8x8": 7} and got.modes == {"L": 7} and got.shape == GREY


def test_held_out_share_is_stratified_and_seeded(tmp_path: Path) -> None:
    folder_set(tmp_path, {"a": 10, "b": 5, "c": 1})
    got = load_pictures(tmp_path, shape=GREY, workers=1, test_split=0.2, seed=3)
    assert got.y_test.tolist() == [0, 0, 1]  # 2 of 10, 1 of 5, none of 1
    assert got.y_train.tolist() == [0] * 8 + [1] * 4 + [2]
    assert values(got.x_train) == sorted(values(got.x_train))  # class, then name
    again = load_pictures(tmp_path, shape=GREY, workers=1, test_split=0.2, seed=3)
    assert again.cached and values(again.x_test) == values(got.x_test)
    other = [
        values(load_pictures(tmp_path, shape=GREY, workers=1, seed=s).x_test) for s in range(6)
    ]
    assert len({tuple(v) for v in other}) > 1


def test_the_hold_out_does_not_depend_on_the_listing_order() -> None:
    labels = np.repeat(np.arange(3, dtype=np.int32), [50, 30, 20])
    first = hold_out(labels, 0.2, 7)
    assert first.tolist() == hold_out(labels, 0.2, 7).tolist()
    assert np.bincount(labels[first == 1]).tolist() == [10, 6, 4]
    assert first.tolist() != hold_out(labels, 0.2, 8).tolist()
    assert hold_out(labels, 0.0, 7).sum() == 0


def test_the_default_test_split(tmp_path: Path) -> None:
    folder_set(tmp_path, {"a": 10, "b": 10})
    got = load_pictures(tmp_path, shape=GREY, workers=1)
    assert len(got.x_test) == 4 and len(got.x_train) == 16


def test_a_csv_with_and_without_split(tmp_path: Path) -> None:
    for i in range(4):
        picture(tmp_path / f"p{i}.bmp", 50 * i)
    (tmp_path / "s.csv").write_text(
        "image,label,split\np0.bmp,x,train\np1.bmp,y,train\np2.bmp,x,test\np3.bmp,y,test\n"
    )
    got = load_pictures(tmp_path / "s.csv", shape=GREY, workers=1)
    assert values(got.x_train) == [0, 50] and values(got.x_test) == [100, 150]
    (tmp_path / "n.csv").write_text("image,label\np0.bmp,x\np1.bmp,x\np2.bmp,y\np3.bmp,y\n")
    got = load_pictures(tmp_path / "n.csv", shape=GREY, workers=1, test_split=0.5)
    assert got.y_train.tolist() == [0, 1] and got.y_test.tolist() == [0, 1]


def test_mixed_sizes_and_modes_become_the_common_one(tmp_path: Path) -> None:
    picture(tmp_path / "train/a/1.png", 10, (12, 10))
    picture(tmp_path / "train/a/2.png", 20, (12, 10), "RGB")
    picture(tmp_path / "train/a/3.jpg", 30, (12, 10), "RGB")
    picture(tmp_path / "train/b/1.png", 40, (12, 10), "P")
    picture(tmp_path / "train/b/2.png", 50, (30, 30), "RGBA")
    picture(tmp_path / "train/b/3.bmp", 60, (12, 10), "RGB")
    sixteen = Image.fromarray(np.full((10, 12), 70 * 257, np.uint16))
    sixteen.save(tmp_path / "train/b/4.png")
    got = load_pictures(tmp_path, workers=1, test_split=0.0)
    assert got.shape == PictureShape(10, 12, 3)  # the common size; most are colour
    assert got.x_train.shape == (7, 10, 12, 3) and got.x_test.shape == (0, 10, 12, 3)
    assert got.sizes == {"12x10": 6, "30x30": 1}
    assert got.modes == {"RGB": 3, "I;16": 1, "L": 1, "P": 1, "RGBA": 1}
    assert abs(int(got.x_train[-1, 5, 5, 0]) - 70) <= 1  # 16-bit scaled


def test_mostly_grey_pictures_make_one_channel(tmp_path: Path) -> None:
    for i in range(3):
        picture(tmp_path / f"train/a/{i}.png", 10 * i, (6, 9))
        picture(tmp_path / f"train/b/{i}.png", 10 * i, (6, 9))
    picture(tmp_path / "train/b/rgb.png", 5, (6, 9), "RGB")
    got = load_pictures(tmp_path, workers=1)
    assert got.shape == PictureShape(9, 6, 1) and got.x_train.ndim == 3


def test_mnist_style(tmp_path: Path) -> None:
    for c, name in enumerate(("a", "b")):
        for i in range(2):
            img = Image.new("L", (40, 40), 255)
            img.paste(0, (10 + c * 5, 8, 20 + i * 5, 30))
            path = tmp_path / "train" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            img.save(path)
    picture(tmp_path / "train/a/blank.png", 255, (40, 40))
    got = load_pictures(tmp_path, shape=PictureShape(28, 28, 1), mode="mnist_style", workers=1)
    assert len(got.x_train) + len(got.x_test) == 4
    assert got.x_train.max() == 255 and got.x_train[:, 0, :].max() == 0
    assert [b.error for b in got.bad] == [
        "no digit found in the image (a blank image (all one colour))"
    ]


def test_more_than_256_classes_have_uint16_labels(tmp_path: Path) -> None:
    for c in range(300):
        for i in range(2):
            picture(tmp_path / f"train/c{c:03d}/{i}.png", i, (2, 2))
    got = load_pictures(tmp_path, shape=PictureShape(2, 2, 1), workers=1)
    assert len(got.classes) == 300 and got.y_train.dtype == np.uint16
    assert got.y_test.tolist() == list(range(300)) and got.y_train.tolist() == list(range(300))


def test_test_split_out_of_range(tmp_path: Path) -> None:
    folder_set(tmp_path, {"a": 2, "b": 2})
    with pytest.raises(UserError, match="test_split is out of range"):
        load_pictures(tmp_path, test_split=1.0)


# --- bad files ----------------------------------------------------------------------------------


def test_bad_files_are_collected_all_of_them(tmp_path: Path) -> None:
    folder_set(tmp_path, {"a": 3, "b": 3})
    folder_set(tmp_path, {"a": 1, "b": 1}, split="test")
    (tmp_path / "train/a/text.png").write_text("hello, not a picture")
    (tmp_path / "train/a/empty.png").write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    good = (tmp_path / "noise.png").read_bytes()
    (tmp_path / "train/b/cut.png").write_bytes(good[: len(good) // 2])
    bomb_png(tmp_path / "train/b/bomb.png")
    (tmp_path / "train/b/unknown.xyz").write_bytes(b"\x00\x01 binary")
    os.mkfifo(tmp_path / "test/a/fifo.png")
    (tmp_path / "train/b/notes.txt").write_text("skipped without a word")
    picture(tmp_path / "train/b/noext", 99)
    got = load_pictures(tmp_path, shape=GREY, workers=1)
    errors = {Path(b.file).name: b.error for b in got.bad}
    assert sorted(errors) == [
        "bomb.png",
        "cut.png",
        "empty.png",
        "fifo.png",
        "text.png",
        "unknown.xyz",
    ]
    assert errors["bomb.png"].startswith("image is too large (Image size (2500000000 pixels)")
    assert errors["text.png"].startswith("not an image file Pillow can read (a text file")
    assert errors["empty.png"] == "the file is empty (0 bytes)"
    assert "damaged or truncated" in errors["cut.png"]
    assert "FIFO" in errors["fifo.png"]
    assert all(b.file.startswith(str(tmp_path)) for b in got.bad)
    assert values(got.x_train) == [0, 1, 2, 10, 11, 12, 99] and values(got.x_test) == [0, 10]
    assert got.y_train.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert aligned(got.x_train)
    cached = load_pictures(tmp_path, shape=GREY, workers=1)
    assert cached.cached and cached.bad == got.bad
    assert np.array_equal(cached.x_train, got.x_train)


def test_a_fifo_put_in_place_of_a_picture_is_never_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "late.png")  # as if it replaced a file after the listing
    picture(tmp_path / "ok.png", 5)
    done = decode.decode_files(
        [str(tmp_path / "late.png"), str(tmp_path / "ok.png")], GREY, "resize"
    )
    assert done.bad == [(0, "not a regular file: a FIFO (named pipe) (not read)")]
    assert int(done.pictures[1, 0, 0]) == 5 and done.sizes == {"8x8": 1}


def test_every_picture_bad(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "train" / name / "x.png").write_text("no")
    got = load_pictures(tmp_path, workers=1)
    assert len(got.bad) == 2 and got.x_train.shape[0] == 0 and got.x_test.shape[0] == 0


# --- the cache ----------------------------------------------------------------------------------


def fail_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(load, "decode_chunks", refuse)
    monkeypatch.setattr(load, "peek", refuse)


def cached_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz"))


def loaded(root: Path, **kw: object) -> PictureSet:
    return load_pictures(root, shape=GREY, workers=1, **kw)  # type: ignore[arg-type]


def test_a_second_load_decodes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _cache: Path
) -> None:
    folder_set(tmp_path / "set", {"a": 3, "b": 2})
    first = loaded(tmp_path / "set")
    assert cache_dir() == _cache and len(cached_files(_cache)) == 1
    fail_decoding(monkeypatch)
    for seed in (0, 1):  # another hold-out: the same cache file
        second = loaded(tmp_path / "set", seed=seed)
        assert second.cached
    assert np.array_equal(loaded(tmp_path / "set").x_train, first.x_train)
    assert aligned(second.x_train) and aligned(second.x_test)
    shape_none = pytest.raises(AssertionError)  # another target: another key, so decoding
    with shape_none:
        load_pictures(tmp_path / "set", workers=1)


def test_cached_arrays_can_be_changed_without_changing_the_cache(tmp_path: Path) -> None:
    folder_set(tmp_path, {"a": 3, "b": 3})
    folder_set(tmp_path, {"a": 1, "b": 1}, split="test")
    first = loaded(tmp_path)
    second = loaded(tmp_path)
    assert second.cached and all(aligned(x) for x in (second.x_train, second.x_test))
    second.x_train[:] = 7  # copy on write: the file keeps its pictures
    second.x_test[:] = 7
    third = loaded(tmp_path)
    assert third.cached and np.array_equal(third.x_train, first.x_train)
    assert np.array_equal(third.x_test, first.x_test)


def test_a_cache_on_a_file_system_that_cannot_map_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnistctl.data.pictures import cache

    def refuse(*args: object, **kw: object) -> None:
        raise OSError(errno.ENODEV, "No such device")

    folder_set(tmp_path, {"a": 3, "b": 3})
    folder_set(tmp_path, {"a": 1, "b": 1}, split="test")
    first = loaded(tmp_path)
    monkeypatch.setattr(cache.mmap, "mmap", refuse)
    second = loaded(tmp_path)
    assert second.cached and aligned(second.x_train) and aligned(second.x_test)
    assert np.array_equal(second.x_train, first.x_train)


def test_a_changed_file_is_noticed(tmp_path: Path, _cache: Path) -> None:
    folder_set(tmp_path, {"a": 2, "b": 2})
    loaded(tmp_path)
    picture(tmp_path / "train/a/000.png", 200, (9, 9))  # another size
    again = loaded(tmp_path)
    assert not again.cached and 200 in values(np.concatenate([again.x_train, again.x_test]))
    path = tmp_path / "train/b/001.png"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size, newer
    assert not loaded(tmp_path).cached
    assert loaded(tmp_path).cached and len(cached_files(_cache)) == 1  # the old one removed
    picture(tmp_path / "train/b/new.png", 1)
    assert not loaded(tmp_path).cached


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign", "empty"])
def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, _cache: Path, damage: str) -> None:
    folder_set(tmp_path / "set", {"a": 3, "b": 3})
    first = loaded(tmp_path / "set")
    (path,) = cached_files(_cache)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        at = data.index(b"\x93NUMPY") + 200  # a picture's byte
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
    elif damage == "foreign":
        np.savez(path, x=np.zeros(3))
    else:
        path.write_bytes(b"")
    again = loaded(tmp_path / "set")
    assert not again.cached and np.array_equal(again.x_train, first.x_train)
    assert loaded(tmp_path / "set").cached  # written again, whole


def test_an_unwritable_cache_folder_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder_set(tmp_path / "set", {"a": 2, "b": 2})
    (tmp_path / "file").write_text("a file where the cache folder would be")
    monkeypatch.setenv("MNISTCTL_CACHE_DIR", str(tmp_path / "file"))
    assert not loaded(tmp_path / "set").cached
    assert not loaded(tmp_path / "set").cached


def test_a_cache_folder_keeps_one_file_per_source(tmp_path: Path, _cache: Path) -> None:
    folder_set(tmp_path / "one", {"a": 2, "b": 2})
    folder_set(tmp_path / "two", {"a": 2, "b": 2})
    loaded(tmp_path / "one")
    loaded(tmp_path / "two")
    load_pictures(tmp_path / "one", shape=PictureShape(4, 4, 3), workers=1)
    assert len(cached_files(_cache)) == 2
    assert not list(_cache.glob(".tmp-*"))


# --- worker processes -----------------------------------------------------------------------------


@pytest.mark.slow
def test_many_files_are_decoded_in_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "PARALLEL_MIN", 10)
    monkeypatch.setattr(decode, "CHUNK_MIN", 8)
    monkeypatch.setattr(stats, "PARALLEL_MIN", 10)
    monkeypatch.setattr(stats, "CHUNK", 7)
    folder_set(tmp_path, {"a": 30, "b": 30})
    (tmp_path / "train/a/bad.png").write_text("no")
    here = load_pictures(tmp_path, shape=GREY, workers=1)
    monkeypatch.setenv("MNISTCTL_CACHE_DIR", str(tmp_path / "other-cache"))
    there = load_pictures(tmp_path, shape=GREY, workers=2)
    assert not there.cached and there.bad == here.bad
    assert np.array_equal(there.x_train, here.x_train) and np.array_equal(there.y_test, here.y_test)


@pytest.mark.slow
def test_many_files_are_looked_at_in_two_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "PARALLEL_MIN", 10)
    monkeypatch.setattr(stats, "CHUNK", 3)
    names = [f"{i:02d}.png" for i in range(40)]
    for name in names:
        picture(tmp_path / "f" / name, 1, (2 + len(name), 2))
    groups = [(str(tmp_path / "f"), [*names, "missing.png"]), (str(tmp_path / "gone"), ["x"])]
    alone = stats.lstat_groups(groups, workers=1)
    shared = stats.lstat_groups(groups, workers=2)
    assert shared == alone
    assert alone[0][0][-1] == 0 and alone[0][1][-1] == errno.ENOENT  # the missing one
    assert alone[0][1][:-1] == [(tmp_path / "f" / n).stat().st_size for n in names]
    assert alone[1] == ([0], [errno.ENOENT], [0])
