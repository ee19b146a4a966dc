"""A study's name and where its files go.

A study is a folder of the runs directory, ``RUNS/<study>/``: one run directory per trial
(``RUNS/<study>/<stamp>/``, so ``mnistctl runs RUNS/<study>`` lists the trials), and the
study's own files beside them: its journal (the default storage), ``best.yaml``, ``study.json``
and ``plots/``. Its name therefore names a folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mnistctl.errors import Location, UserError, visible

STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SUFFIX = "-tune"


def default_study_name(spec_name: str) -> str:
    """``<spec name>-tune``, cut to the longest name allowed."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", spec_name).lstrip("_.-") or "study"
    return cleaned[: 64 - len(SUFFIX)] + SUFFIX


def check_study_name(name: str) -> str:
    if STUDY_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    raise UserError(
        "a study name names a folder",
        Location("--study"),
        expected="1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit",
        received=repr(visible(name))[:80],
        hint="e.g. --study cnn-tune-2",
    )


@dataclass(frozen=True)
class StudyPaths:
    """The files of study ``name`` under ``runs_dir``."""

    runs_dir: Path
    name: str

    @property
    def folder(self) -> Path:
        return self.runs_dir / self.name

    @property
    def journal(self) -> Path:
        return self.folder / "study.journal"

    @property
    def best_spec(self) -> Path:
        return self.folder / "best.yaml"

    @property
    def result(self) -> Path:
        return self.folder / "study.json"

    @property
    def plots(self) -> Path:
        return self.folder / "plots"

    def worker_log(self, index: int) -> Path:
        return self.folder / "workers" / f"worker-{index}.log"
