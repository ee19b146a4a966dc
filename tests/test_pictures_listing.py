"""Tests for mnistctl.data.pictures.listing: which paths are picture sources, and what a folder
of class folders or a CSV file holds, without decoding (every structural problem a one-line
UserError naming the folder, file or line). Tiny pictures made with Pillow in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistctl.data.pictures.listing import (
    BadFile,
    count_classes,
    is_picture_source,
    list_source,
)
from mnistctl.errors import UserError


def png(path: Path, value: int = 128, size: tuple[int, int] = (4, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(path)
    return path


def folders(root: Path, layout: dict[str, Sequence[str]]) -> Path:
    """``{"train/cat": ["a.png", ...], ...}`` as tiny PNG files under ``root``."""
    for folder, names in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            png(root / folder / name)
    return root


def two_classes(root: Path, *, test: bool = True) -> Path:
    layout: dict[str, Sequence[str]] = {"train/cat": ["b.png", "a.png"], "train/dog": ["c.png"]}
    if test:
        layout |= {"test/cat": ["t.png"], "test/dog": ["u.png"]}
    return folders(root, layout)


def error(path: Path, classes: Sequence[str] | None = None) -> UserError:
    with pytest.raises(UserError) as info:
        list_source(path, classes)
    text = info.value.one_line()
    assert "\n" not in text
    return info.value


# --- which paths --------------------------------------------------------------------------------


def test_picture_sources(tmp_path: Path) -> None:
    assert is_picture_source(two_classes(tmp_path / "set"))
    assert is_picture_source(tmp_path / "labels.CSV")  # by its name, even before it exists
    (tmp_path / "idx").mkdir()
    assert not is_picture_source(tmp_path / "idx")
    assert not is_picture_source(tmp_path / "data.npz")
    assert not is_picture_source(tmp_path / "missing")


# --- folders ------------------------------------------------------------------------------------


def test_a_folder_is_listed_by_split_class_and_name(tmp_path: Path) -> None:
    listing = list_source(two_classes(tmp_path), None)
    assert listing.classes == ("cat", "dog")
    assert listing.files == [
        "train/cat/a.png",
        "train/cat/b.png",
        "train/dog/c.png",
        "test/cat/t.png",
        "test/dog/u.png",
    ]
    assert listing.labels.tolist() == [0, 0, 1, 0, 1]
    assert listing.splits is not None and listing.splits.tolist() == [0, 0, 0, 1, 1]
    assert listing.sizes is not None and np.all(listing.sizes > 0)
    assert count_classes(tmp_path, None) == 2


def test_without_test_the_listing_has_no_splits(tmp_path: Path) -> None:
    listing = list_source(two_classes(tmp_path, test=False), None)
    assert listing.splits is None and len(listing.files) == 3


def test_data_classes_set_the_label_order(tmp_path: Path) -> None:
    listing = list_source(two_classes(tmp_path), ["dog", "cat"])
    assert listing.classes == ("dog", "cat")
    assert listing.files[0] == "train/dog/c.png" and listing.labels.tolist()[:3] == [0, 1, 1]


def test_sub_folders_hidden_and_non_picture_files(tmp_path: Path) -> None:
    two_classes(tmp_path)
    png(tmp_path / "train/cat/deeper/z.png")
    png(tmp_path / "train/cat/.hidden.png")
    png(tmp_path / "train/cat/.ipynb_checkpoints/x.png")
    (tmp_path / "train/cat/notes.txt").write_text("not a picture")
    (tmp_path / "train/cat/Thumbs.db").write_bytes(b"\0")
    (tmp_path / "train/cat/no_extension").write_bytes(b"maybe")
    (tmp_path / "train/cat/photo.heic").write_bytes(b"maybe")
    (tmp_path / "train/.DS_Store").write_bytes(b"\0")
    (tmp_path / "train/readme.md").write_text("ignored: not a class folder")
    listing = list_source(tmp_path, None)
    cats = [f for f in listing.files if f.startswith("train/cat/")]
    assert cats == [
        "train/cat/a.png",
        "train/cat/b.png",
        "train/cat/deeper/z.png",
        "train/cat/no_extension",
        "train/cat/photo.heic",
    ]
    assert listing.classes == ("cat", "dog") and not listing.bad


def test_no_train_folder(tmp_path: Path) -> None:
    folders(tmp_path, {"cat": ["a.png"], "dog": ["b.png"]})
    err = error(tmp_path)
    assert "no train/ folder" in err.message and err.location.file == str(tmp_path)
    assert "'cat', 'dog'" in str(err.received)


def test_train_without_class_folders(tmp_path: Path) -> None:
    png(tmp_path / "train/a.png")
    err = error(tmp_path)
    assert "no class folders" in err.message
    assert err.location.file == str(tmp_path / "train")


def test_an_empty_class(tmp_path: Path) -> None:
    two_classes(tmp_path)
    (tmp_path / "train/bird").mkdir()
    (tmp_path / "train/bird/notes.txt").write_text("x")
    err = error(tmp_path)
    assert "no pictures" in err.message and err.location.file == str(tmp_path / "train/bird")


def test_one_class_only(tmp_path: Path) -> None:
    folders(tmp_path, {"train/cat": ["a.png"]})
    err = error(tmp_path)
    assert "only one class" in err.message and "'cat'" in str(err.received)


def test_class_names_that_differ_only_in_case(tmp_path: Path) -> None:
    folders(tmp_path, {"train/Cat": ["a.png"], "train/dog": ["b.png"]})
    try:
        folders(tmp_path, {"train/cat": ["c.png"]})
    except OSError:
        pytest.skip("a file system that ignores case")
    if len(os.listdir(tmp_path / "train")) < 3:
        pytest.skip("a file system that ignores case")
    err = error(tmp_path)
    assert "differ only in case" in err.message and "'Cat' and 'cat'" in str(err.received)


def test_data_classes_must_match_the_folders(tmp_path: Path) -> None:
    two_classes(tmp_path)
    err = error(tmp_path, ["cat", "bird"])
    assert "do not match data.classes" in err.message
    assert "no pictures of 'bird'" in str(err.received)
    assert "not in data.classes: 'dog'" in str(err.received)
    assert "names a class twice" in error(tmp_path, ["cat", "dog", "cat"]).message


def test_classes_in_test_only(tmp_path: Path) -> None:
    two_classes(tmp_path)
    folders(tmp_path, {"test/Bird": ["x.png"]})
    err = error(tmp_path)
    assert "test/ has classes that train/ does not have" in err.message
    assert err.location.file == str(tmp_path / "test") and "'Bird'" in str(err.received)


def test_a_train_only_class_is_fine(tmp_path: Path) -> None:
    two_classes(tmp_path)
    folders(tmp_path, {"train/bird": ["x.png"]})
    assert list_source(tmp_path, None).classes == ("bird", "cat", "dog")


def test_too_many_classes(tmp_path: Path) -> None:
    for i in range(1001):
        png(tmp_path / f"train/c{i:04d}/a.png")
    assert "too many classes" in error(tmp_path).message


def test_a_fifo_is_a_bad_file_never_opened(tmp_path: Path) -> None:
    two_classes(tmp_path)
    os.mkfifo(tmp_path / "train/cat/pipe.png")
    listing = list_source(tmp_path, None)  # would block if opened
    assert listing.bad == (
        BadFile(
            str(tmp_path / "train/cat/pipe.png"),
            "not a regular file: a FIFO (named pipe) (not opened)",
        ),
    )
    assert "train/cat/pipe.png" not in listing.files


def test_links_inside_are_followed(tmp_path: Path) -> None:
    two_classes(tmp_path)
    (tmp_path / "train/cat/linked.png").symlink_to(tmp_path / "train/dog/c.png")
    (tmp_path / "train/cat/more").symlink_to(tmp_path / "test/dog")
    (tmp_path / "train/bird").symlink_to(tmp_path / "test/cat")
    listing = list_source(tmp_path, None)
    assert "train/cat/linked.png" in listing.files and "train/cat/more/u.png" in listing.files
    assert "train/bird/t.png" in listing.files and not listing.bad


def test_links_out_of_the_folder(tmp_path: Path) -> None:
    source = two_classes(tmp_path / "set")
    outside = png(tmp_path / "elsewhere/x.png")
    (source / "train/cat/out.png").symlink_to(outside)
    (source / "train/cat/outdir").symlink_to(outside.parent)
    (source / "train/cat/nowhere.png").symlink_to(tmp_path / "gone.png")
    listing = list_source(source, None)
    assert [b.file for b in listing.bad] == [
        str(source / "train/cat/nowhere.png"),
        str(source / "train/cat/out.png"),
        str(source / "train/cat/outdir"),
    ]
    assert "out of the data folder" in listing.bad[1].error
    assert "leads nowhere" in listing.bad[0].error
    (source / "train/bird").symlink_to(outside.parent)
    err = error(source)
    assert "leads out of the data folder" in err.message
    assert err.location.file == str(source / "train/bird")


def test_a_link_to_a_folder_that_holds_it_loops(tmp_path: Path) -> None:
    two_classes(tmp_path)
    (tmp_path / "train/cat/again").symlink_to(tmp_path / "train")
    err = error(tmp_path)
    assert "loops" in err.message and err.location.file == str(tmp_path / "train/cat/again")


def test_a_link_to_itself_loops(tmp_path: Path) -> None:
    two_classes(tmp_path)
    (tmp_path / "train/cat/self.png").symlink_to(tmp_path / "train/cat/self.png")
    err = error(tmp_path)
    assert "loops" in err.message and err.location.file == str(tmp_path / "train/cat/self.png")
    os.unlink(tmp_path / "train/cat/self.png")
    (tmp_path / "train/bird").symlink_to(tmp_path / "train/bird")
    assert "loops" in error(tmp_path).message


def test_count_classes_does_not_stat_files(tmp_path: Path) -> None:
    two_classes(tmp_path)
    assert count_classes(tmp_path, ["dog", "cat"]) == 2
    assert list_source(tmp_path, None, look=False).sizes is None


# --- CSV ----------------------------------------------------------------------------------------


def csv_set(root: Path, text: str, pictures: Sequence[str] = ()) -> Path:
    for name in pictures:
        png(root / name)
    path = root / "labels.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_csv_file(tmp_path: Path) -> None:
    path = csv_set(
        tmp_path,
        "\ufeffImage, Label ,note\nimg/b.png,dog,x\nimg/a.png,cat,\n\n./img/c.png,cat,y\n",
        ["img/a.png", "img/b.png", "img/c.png"],
    )
    listing = list_source(path, None)
    assert listing.classes == ("cat", "dog") and listing.splits is None
    assert listing.files == ["img/a.png", "img/c.png", "img/b.png"]
    assert listing.labels.tolist() == [0, 0, 1]
    assert listing.shown_name("img/a.png") == str(tmp_path / "img/a.png")
    assert count_classes(path, None) == 2


def test_a_csv_split_column(tmp_path: Path) -> None:
    path = csv_set(
        tmp_path,
        "image,label,split\na.png,1,test\nb.png,10,train\nc.png,2,TRAIN\nd.png,1,train\n",
        ["a.png", "b.png", "c.png", "d.png"],
    )
    listing = list_source(path, None)
    assert listing.classes == ("1", "2", "10")  # whole numbers sorted as numbers
    assert listing.files == ["d.png", "c.png", "b.png", "a.png"]
    assert listing.splits is not None and listing.splits.tolist() == [0, 0, 0, 1]


def test_a_split_column_without_test_rows_means_no_split(tmp_path: Path) -> None:
    path = csv_set(tmp_path, "image,label,split\na.png,x,train\nb.png,y,\n", ["a.png", "b.png"])
    assert list_source(path, None).splits is None


def test_csv_class_numbers_into_data_classes(tmp_path: Path) -> None:
    path = csv_set(tmp_path, "image,label\na.png,0\nb.png,1\n", ["a.png", "b.png"])
    listing = list_source(path, ["zero", "one"])
    assert listing.classes == ("zero", "one") and listing.labels.tolist() == [0, 1]
    named = csv_set(tmp_path, "image,label\na.png,one\nb.png,zero\n")
    assert list_source(named, ["zero", "one"]).labels.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("picture,label\na.png,x\n", 1, "no image column"),
        ("image,class\na.png,x\n", 1, "no label column"),
        ("pic,cls\na.png,x\n", 1, "no image and no label column"),
        ("image,label\na.png,x\nb.png,\n", 3, "label is empty"),
        ("image,label\na.png,x\n,y\n", 3, "image path is empty"),
        ("image,label\na.png,x\n../b.png,y\n", 3, "leads out of the CSV file's folder"),
        ("image,label\na.png,x\n/etc/passwd,y\n", 3, "leads out of the CSV file's folder"),
        ("image,label\na.png,x\nsub\\..\\..\\b.png,y\n", 3, "leads out of the CSV file's folder"),
        ("image,label,split\na.png,x,train\nb.png,y,valid\n", 3, "neither train nor test"),
        ("image,label,split\na.png,x,test\nb.png,y,\n", 3, "split is empty"),
        ("image,label,split\na.png,x,train\nb.png,y,test\n", 3, "test pictures but no training"),
        ("image,label\na.png,x\nmissing.png,y\n", 3, "image file is not there"),
        ("image,label\na.png,x\n", None, "only one class"),
        ("image,label\n", None, "names no pictures"),
        ("", None, "is empty"),
    ],
)
def test_csv_problems(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    path = csv_set(tmp_path, text, ["a.png", "b.png"])
    err = error(path)
    assert fragment in err.message
    assert err.location.file == str(path) and err.location.line == line


def test_csv_missing_files_are_counted(tmp_path: Path) -> None:
    path = csv_set(tmp_path, "image,label\na.png,x\nm1.png,y\nm2.png,y\n", ["a.png"])
    err = error(path)
    assert err.location.line == 3 and "1 more rows name missing files" in str(err.received)
    assert count_classes(path, None) == 2  # the CSV alone: files are not looked at


def test_csv_label_not_in_data_classes(tmp_path: Path) -> None:
    path = csv_set(tmp_path, "image,label\na.png,cat\nb.png,emu\n", ["a.png", "b.png"])
    err = error(path, ["cat", "dog"])
    assert "not in data.classes" in err.message and err.location.line == 3


def test_csv_link_out_of_its_folder(tmp_path: Path) -> None:
    outside = png(tmp_path / "elsewhere/x.png")
    path = csv_set(tmp_path / "set", "image,label\na.png,x\nout.png,y\n", ["a.png"])
    (tmp_path / "set/out.png").symlink_to(outside)
    err = error(path)
    assert "through a symbolic link" in err.message and err.location.line == 3
    os.unlink(tmp_path / "set/out.png")
    (tmp_path / "set/sub").symlink_to(outside.parent)
    path.write_text("image,label\na.png,x\nsub/x.png,y\n")
    assert "through a symbolic link" in error(path).message


def test_csv_bad_files(tmp_path: Path) -> None:
    path = csv_set(tmp_path, "image,label\na.png,x\nfifo.png,y\nfolder,y\n", ["a.png"])
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "folder").mkdir()
    listing = list_source(path, None)
    assert listing.files == ["a.png"]
    assert [b.file for b in listing.bad] == [str(tmp_path / "fifo.png"), str(tmp_path / "folder")]


def test_csv_not_utf8_and_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"image,label\n\xe9.png,x\n")
    assert "not UTF-8" in error(path).message
    assert "not found" in error(tmp_path / "missing.csv").message
    os.mkfifo(tmp_path / "pipe.csv")
    assert "not a regular file" in error(tmp_path / "pipe.csv").message
