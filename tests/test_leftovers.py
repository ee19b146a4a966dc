"""What killed commands leave behind (issue 23 item 9): an export's temporary folder beside its
target and a command's native TensorFlow log in the temp folder. The next export (or command)
deletes those whose process is gone and keeps those a live process still uses.

The leftovers are made by hand, named as a killed process would have named them: a pid that no
process has (dead), this process and its parent (alive), a live pid with another start time (a
pid reused since: the owner is gone), and the names from before the owner was in them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mnistctl.cli.app import guard
from mnistctl.commands import export_files
from mnistctl.ml import native_log
from mnistctl.runs import liveness


def _dead_pid() -> int:
    return next(pid for pid in range(4_000_000, 4_100_000) if not Path(f"/proc/{pid}").exists())


ME = liveness.current()
DEAD = _dead_pid()
PARENT = os.getppid()
WRONG_START = (ME.start or 0) + 987_654  # the parent's pid, started at another time: reused


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --- the native log ---------------------------------------------------------------------------


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder commands use, here a private one."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_next_command_deletes_dead_commands_native_logs(tmpdir_: Path) -> None:
    stale = [
        f"mnistctl-tf-{DEAD}.12345-abcd1234.log",  # SIGKILLed
        f"mnistctl-tf-{DEAD}-abcd_123.log",  # SIGKILLed, the name before start times
        f"mnistctl-tf-{PARENT}.{WRONG_START}-zz001122.log",  # its pid reused since
    ]
    live = [
        f"mnistctl-tf-{ME.pid}.{ME.start or 0}-abcd1234.log",  # this process
        f"mnistctl-tf-{PARENT}-abcd1234.log",  # a live pid, no start time to tell
        f"mnistctl-tf-{PARENT}.0-abcd1234.log",  # the same, start time unknown
    ]
    other = [
        f"mnistctl-tf-{os.getuid()}.log",  # the old fixed name: not a per-process log
        "mnistctl-tf-notes.log",
    ]
    for name in stale + live + other:
        (tmpdir_ / name).write_text("I tensorflow ...\n")
    (tmpdir_ / "victim").write_text("precious\n")
    (tmpdir_ / f"mnistctl-tf-{DEAD}.1-linkxxxx.log").symlink_to(tmpdir_ / "victim")
    guard(lambda: None, tensorflow=True)  # what every command that loads TensorFlow does
    kept = _names(tmpdir_)
    assert not kept & set(stale)
    assert kept >= {*live, *other, "victim", f"mnistctl-tf-{DEAD}.1-linkxxxx.log"}
    assert (tmpdir_ / "victim").read_text() == "precious\n"


def test_clean_stale_logs_lists_what_it_deleted(tmp_path: Path) -> None:
    (tmp_path / f"mnistctl-tf-{DEAD}.7-abcd1234.log").write_text("")
    (tmp_path / f"mnistctl-tf-{ME.pid}.{ME.start or 0}-abcd1234.log").write_text("")
    assert native_log.clean_stale(tmp_path) == [tmp_path / f"mnistctl-tf-{DEAD}.7-abcd1234.log"]
    assert native_log.clean_stale(tmp_path / "missing") == []


def test_private_log_names_its_owner(tmpdir_: Path) -> None:
    made = native_log._private_log()
    assert made is not None
    os.close(made[0])
    assert Path(made[1]).name.startswith(f"mnistctl-tf-{ME.pid}.{ME.start or 0}-")
    assert native_log.clean_stale(tmpdir_) == []  # its own: kept


# --- the export's temporary folder ------------------------------------------------------------


def _leftover(folder: Path, name: str, age_s: float = 0) -> None:
    (folder / name).mkdir()
    (folder / name / "model.onnx").write_bytes(b"half")
    if age_s:
        then = time.time() - age_s
        os.utime(folder / name, (then, then))


def test_next_export_deletes_killed_exports_folders(tmp_path: Path) -> None:
    export = tmp_path / "run" / "export"
    export.mkdir(parents=True)
    target = export / "onnx"
    day = export_files.UNOWNED_STALE_S
    stale = {
        f".onnx.{DEAD}-12345.abcd1234.tmp": 0,  # SIGKILLed
        f".onnx.{DEAD}-0.abcd1234.tmp": 0,  # SIGKILLed, start time unknown
        f".onnx.{PARENT}-{WRONG_START}.zz001122.tmp": 0,  # its pid reused since
        ".onnx.abcd1234.tmp": day + 60,  # the name before owners: a day old
    }
    live = {
        f".onnx.{ME.pid}-{ME.start or 0}.abcd1234.tmp": 0,  # another export of this process
        f".onnx.{PARENT}-0.abcd1234.tmp": 0,  # a live pid, no start time to tell
        ".onnx.zz001122.tmp": day - 600,  # the name before owners, not yet a day old
    }
    other = {
        f".onnx-best.{DEAD}-1.abcd1234.tmp": 0,  # another target's: its own export cleans it
        f".onnx.{DEAD}-1.abcd1234.old": 0,  # an earlier export moved aside: never deleted
        "litert": 0,
    }
    for name, age in {**stale, **live, **other}.items():
        _leftover(export, name, age)
    with export_files.building(target) as tmp:
        assert tmp.name.startswith(f".onnx.{ME.pid}-{ME.start or 0}.")
        kept = _names(export)
        assert not kept & set(stale)
        assert kept >= {*live, *other}
    assert _names(export) == {*live, *other}  # its own folder deleted as before


def test_clean_stale_export_folders_keeps_files_and_links(tmp_path: Path) -> None:
    (tmp_path / f".onnx.{DEAD}-5.abcd1234.tmp").write_text("a file, not a folder")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / f".onnx.{DEAD}-6.abcd1234.tmp").symlink_to(tmp_path / "elsewhere")
    assert export_files.clean_stale(tmp_path / "onnx") == []
    assert len(_names(tmp_path)) == 3


# --- end to end: a process really killed ------------------------------------------------------

HOLDS_LOG = """
import sys, time
from mnistctl.ml.native_log import native_stderr_to_log
with native_stderr_to_log():
    print("ready", flush=True)
    time.sleep(60)
"""
NEXT_COMMAND = "from mnistctl.cli.app import guard; guard(lambda: None, tensorflow=True)"


def test_a_sigkilled_commands_log_is_deleted_by_the_next(tmp_path: Path) -> None:
    """A process holding its native log (as a command does) is killed with SIGKILL; while it
    ran, the next command kept its log; once it is gone, the next command deletes it."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("MNISTCTL_TF_LOG", None)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDS_LOG], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        logs = list(tmp_path.glob("mnistctl-tf-*.log"))
        assert len(logs) == 1 and logs[0].name.startswith(f"mnistctl-tf-{holder.pid}.")
        subprocess.run([sys.executable, "-c", NEXT_COMMAND], env=env, check=True, timeout=120)
        assert logs[0].exists()  # its process still runs
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert logs[0].exists()  # SIGKILL: nothing deleted it
    subprocess.run([sys.executable, "-c", NEXT_COMMAND], env=env, check=True, timeout=120)
    assert not list(tmp_path.glob("mnistctl-tf-*"))
