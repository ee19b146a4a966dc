"""The one rule for output paths (``mnistctl/runs/outputs.py``), issue 23 items 1 and 2.

A command writes where it is told only at a new path or over an earlier output of the same kind
(a PNG where it writes a PNG, an earlier export holding only what export wrote); never through
a symbolic link, over a special file, inside a run directory, or under a file; a refusal is one
line, exit 1, and nothing under the test's folder changed (compared entry by entry, links and
FIFOs included). ``compare`` runs on runs built by hand (no training: fast tier); ``plot``'s
and ``export``'s uses of the rule are tested at their functions, before anything trains.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import assert_user_error, cli
from test_compare import F1_A, F1_B, STAMP, write_evaluation
from test_runs_list import make_run

from mnistctl.commands import export_files
from mnistctl.errors import UserError
from mnistctl.runs import layout, outputs

PNG = outputs.PNG_SIGNATURE
DEFAULT = f"compare-{STAMP}.png"


@pytest.fixture
def two(tmp_path: Path, clock: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two evaluated runs under ``tmp_path/runs``, the working folder ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(layout, "timestamp", lambda: STAMP)
    runs = tmp_path / "runs"
    clock["now"] = "2026-01-01T10:00:00Z"
    a = make_run(runs, "20260101T100000Z")
    write_evaluation(a, F1_A)
    clock["now"] = "2026-01-02T10:00:00Z"
    b = make_run(runs, "20260102T100000Z", name="wide", units=128)
    write_evaluation(b, F1_B)
    return [a, b]


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root`` (links not followed): its type and content."""
    out: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                out[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                out[str(path)] = ("file", path.read_bytes())
            else:
                out[str(path)] = (stat.S_IFMT(mode),)
    return out


# --- compare --output: refused, nothing touched ---------------------------------------------------


def _victim_spec(tmp: Path, runs: list[Path]) -> Path:
    (tmp / "victim.yaml").write_text("name: mine\n")
    return tmp / "victim.yaml"


def _not_a_png(tmp: Path, runs: list[Path]) -> Path:
    (tmp / "notes.png").write_text("my notes, named .png")
    return tmp / "notes.png"


def _link_to_file(tmp: Path, runs: list[Path]) -> Path:
    (tmp / "real.png").write_bytes(PNG + b"a PNG, but the link is not compare's")
    (tmp / "link.png").symlink_to(tmp / "real.png")
    return tmp / "link.png"


def _link_to_folder(tmp: Path, runs: list[Path]) -> Path:
    (tmp / "figures").mkdir()
    (tmp / "to_figures").symlink_to(tmp / "figures", target_is_directory=True)
    return tmp / "to_figures"


def _dangling_link(tmp: Path, runs: list[Path]) -> Path:
    (tmp / "dangling.png").symlink_to(tmp / "nowhere.png")
    return tmp / "dangling.png"


def _fifo(tmp: Path, runs: list[Path]) -> Path:
    os.mkfifo(tmp / "fifo.png")
    return tmp / "fifo.png"


REFUSED: dict[str, tuple[Callable[[Path, list[Path]], Path], str]] = {
    "an existing spec": (_victim_spec, "refusing to replace a file that is not a PNG image"),
    "a .png that is not a PNG": (_not_a_png, "refusing to replace a file that is not a PNG image"),
    "a run's model": (lambda t, r: r[0] / "model.keras", "inside a run directory"),
    "a new file in a run": (lambda t, r: r[0] / "new.png", "inside a run directory"),
    "a run's plots folder": (lambda t, r: r[0] / "plots", "inside a run directory"),
    "a run directory": (lambda t, r: r[1], "inside a run directory"),
    "a run through ..": (lambda t, r: r[0] / ".." / r[0].name / "x.png", "inside a run directory"),
    "a symlink to a file": (_link_to_file, "refusing to write through a symbolic link"),
    "a symlink to a folder": (_link_to_folder, "refusing to write through a symbolic link"),
    "a dangling symlink": (_dangling_link, "refusing to write through a symbolic link"),
    "a FIFO": (_fifo, "refusing to write over a FIFO"),
    "under a file": (_victim_spec, "cannot write the file"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_compare_refuses_and_touches_nothing(two: list[Path], tmp_path: Path, case: str) -> None:
    make, fragment = REFUSED[case]
    out = make(tmp_path, two)
    if case == "under a file":
        out = out / "x.png"
    before = snapshot(tmp_path)
    for json_ in ([], ["--json"]):
        line = assert_user_error(cli("compare", *two, "--output", out, *json_), fragment)
        assert "(hint: " in line
        assert snapshot(tmp_path) == before, case


def test_a_device_node_is_refused_and_stays_a_device(two: list[Path], tmp_path: Path) -> None:
    """``--output /dev/null`` as root: the code before the rule replaced the device node with a
    regular file. A node made here stands in for it (the same character device, 1:3), so that
    running this test against code without the rule breaks nothing outside the test's folder."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root (as does replacing /dev/null)")
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    line = assert_user_error(cli("compare", *two, "--output", null))
    assert line.startswith(f"{null}: refusing to write over a character device;"), line
    assert stat.S_ISCHR(null.lstat().st_mode) and sorted(tmp_path.iterdir()) == sorted(
        [null, tmp_path / "runs", tmp_path / "specs"]
    )


# --- compare --output: written -------------------------------------------------------------------


def test_a_new_path_gets_its_missing_folders(two: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "new" / "sub" / "cmp.png"
    result = cli("compare", *two, "--output", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["figure"] == str(out)
    assert out.read_bytes()[:8] == PNG


def test_an_earlier_png_is_replaced(two: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp.png"
    out.write_bytes(PNG + b"an earlier figure")
    assert cli("compare", *two, "--output", out).exit_code == 0
    drawn = out.read_bytes()
    assert drawn[:8] == PNG and drawn != PNG + b"an earlier figure" and len(drawn) > 1000


def test_a_folder_gets_a_new_file(two: list[Path], tmp_path: Path) -> None:
    (tmp_path / "figs").mkdir()
    assert cli("compare", *two, "--output", tmp_path / "figs").exit_code == 0
    assert [p.name for p in (tmp_path / "figs").iterdir()] == [DEFAULT]


def test_the_default_place_follows_the_same_rule(two: list[Path], tmp_path: Path) -> None:
    default = tmp_path / "runs" / DEFAULT
    assert cli("compare", *two).exit_code == 0 and default.read_bytes()[:8] == PNG
    default.write_bytes(PNG + b"the earlier one")
    assert cli("compare", *two).exit_code == 0  # compare's own earlier PNG: replaced
    assert default.read_bytes() != PNG + b"the earlier one"
    default.unlink()
    (tmp_path / "mine.txt").write_text("mine")
    default.symlink_to(tmp_path / "mine.txt")
    assert_user_error(cli("compare", *two), str(default), "symbolic link")
    default.unlink()
    default.write_text("not a picture")
    assert_user_error(cli("compare", *two), "not a PNG image")
    assert (tmp_path / "mine.txt").read_text() == "mine"
    assert default.read_text() == "not a picture"


# --- plot's pictures: its own folder of the run, through the same rule ---------------------------


def test_plot_checks_its_pictures_before_drawing(two: list[Path], tmp_path: Path) -> None:
    from mnistctl.commands.plot import PICTURE, plot_run

    plots = two[0] / layout.PLOTS
    outputs.check_output(plots / "model.png", PICTURE, own=plots)  # new: fine
    (plots / "model.png").write_bytes(PNG + b"drawn earlier")
    outputs.check_output(plots / "model.png", PICTURE, own=plots)  # an earlier PNG: fine
    with pytest.raises(UserError, match="inside a run directory"):
        outputs.check_output(plots / "model.png", PICTURE)  # not plot's own folder
    (tmp_path / "mine.txt").write_text("mine")
    (plots / "learning_curves.png").symlink_to(tmp_path / "mine.txt")
    before = snapshot(tmp_path)
    with pytest.raises(UserError, match="symbolic link") as caught:
        plot_run(two[0], data=None, runs_dir=None)  # refused before data or model is loaded
    assert caught.value.location.file == str(plots / "learning_curves.png")
    assert snapshot(tmp_path) == before
    (plots / "learning_curves.png").unlink()
    moved = tmp_path / "elsewhere"
    plots.rename(moved)
    plots.symlink_to(moved, target_is_directory=True)  # the run's plots/ itself a link
    with pytest.raises(UserError, match="symbolic link"):
        outputs.check_output(plots / "model.png", PICTURE, own=plots)


# --- export: the folder, and the files a user added to it -----------------------------------------


def earlier_export(folder: Path, artifact: str = "model.onnx") -> Path:
    folder.mkdir(parents=True)
    (folder / artifact).write_bytes(b"an earlier model")
    (folder / export_files.EXPORT_JSON).write_text(json.dumps({"file": artifact}))
    return folder


def built_export(beside: Path) -> Path:
    built = beside / ".built.tmp"
    built.mkdir()
    (built / "model.onnx").write_bytes(b"the new model")
    (built / export_files.EXPORT_JSON).write_text(json.dumps({"file": "model.onnx"}))
    return built


def test_reexport_refuses_a_folder_with_the_users_files(tmp_path: Path) -> None:
    """Item 2: the files and folders a user added to an export folder survive a re-export:
    it is refused, in one line naming them, before and after the export ran."""
    target = earlier_export(tmp_path / "run" / "export" / "onnx")
    (target / "notes.txt").write_text("mine")
    (target / "mine").mkdir()
    (target / "mine" / "deep.txt").write_text("mine too")
    built = built_export(tmp_path)
    before = snapshot(tmp_path)
    calls: list[Callable[[], None]] = [
        lambda: export_files.check_target(target, "model.onnx"),
        lambda: export_files.put_in_place(built, target, "model.onnx"),
    ]
    for call in calls:
        with pytest.raises(UserError) as caught:
            call()
        line = caught.value.one_line()
        assert line.startswith(f"{target}: refusing to replace an export folder holding "), line
        assert "received 2 entries export did not write: mine, notes.txt" in line
        assert "move them out of it, or choose another --output" in line
        assert snapshot(tmp_path) == before


def test_an_earlier_export_alone_is_replaced(tmp_path: Path) -> None:
    target = earlier_export(tmp_path / "out", artifact="model.tflite")  # another format's
    export_files.put_in_place(built_export(tmp_path), target, "model.onnx")
    assert sorted(p.name for p in target.iterdir()) == ["export.json", "model.onnx"]
    assert (target / "model.onnx").read_bytes() == b"the new model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing aside, nothing built


def test_export_targets_follow_the_rule(two: list[Path], tmp_path: Path) -> None:
    a, b = two
    own = a / export_files.EXPORT_DIR
    export_files.check_target(own / "onnx", "model.onnx", own)  # the run's own export folder
    os.mkfifo(tmp_path / "fifo")
    refused = {
        b / export_files.EXPORT_DIR / "onnx": "inside a run directory",  # another run's
        a / "mine": "inside a run directory",
        own / "onnx-x": None,  # allowed: a new folder in the run's own export/
        tmp_path / "fifo": "over a FIFO",
        Path("/dev/null"): "over a character device",
    }
    before = snapshot(tmp_path)
    for target, fragment in refused.items():
        if fragment is None:
            export_files.check_target(target, "model.onnx", own)
            continue
        with pytest.raises(UserError, match=fragment):
            export_files.check_target(target, "model.onnx", own)
    assert snapshot(tmp_path) == before
    (tmp_path / "elsewhere").mkdir()
    own.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link"):
        export_files.check_target(own / "onnx", "model.onnx", own)
