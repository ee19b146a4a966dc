"""``mnistctl report RUN... [--output FILE.html]``: one self-contained HTML page of runs.

Per run its spec, layers, learning curves, results, per-class table, confusion matrix (a
click on a cell shows its pictures), misclassified pictures and environment; for several runs
also what differs and the curves overlaid; for groups of seeds their spread. Made from the
runs' files alone (``report/``), without TensorFlow.

Which runs: each RUN is a run directory, a spec (its latest run) or a group's name
(``dnn-seeds-20260101T120000Z``: all its runs); ``--groups`` makes each RUN stand for its
whole group. A run given twice, or a damaged or foreign folder, is refused (``report/gather``
says why); a run still training is reported as far as it got, with a warning.

Where: ``--output FILE`` (a folder: ``report-<UTC time>.html`` in it); else ``RUN/report.html``
for one run, and ``report-<UTC time>.html`` in the runs directory for several (as ``compare``
puts its figure). Checked by ``runs/outputs.py``'s one rule, before anything is read: a new
file, or a report mnistctl wrote earlier (its first line), never another file, a link or a
special file; written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistctl.errors import Location, UserError
from mnistctl.reportpage.gather import read_runs
from mnistctl.reportpage.groups import group_facts
from mnistctl.reportpage.page import HEADER, render
from mnistctl.reportpage.svg import Drawing
from mnistctl.runs import layout, outputs
from mnistctl.runs.atomic import write_text
from mnistctl.runs.groups import named_runs

REPORT = "report.html"
KIND = outputs.header_kind(
    "report", HEADER, "give a new file name, or a folder to put report-<UTC time>.html in"
)


@dataclass(frozen=True)
class ReportResult:
    output: Path
    runs: list[Path]
    groups: list[str]
    bytes: int
    seconds: float
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "runs": [str(run) for run in self.runs],
            "groups": list(self.groups),
            "bytes": self.bytes,
            "seconds": self.seconds,
            "warnings": list(self.warnings),
        }


def report_runs(
    runs: Sequence[Path],
    *,
    output: Path | None,
    runs_dir: Path | None = None,
    whole_groups: bool = False,
) -> ReportResult:
    start = time.perf_counter()
    warnings: list[str] = []
    dirs = _resolve(runs, runs_dir, whole_groups, warnings)
    target = _output_path(output, runs_dir, dirs)
    facts = read_runs(dirs)
    groups = group_facts(facts)
    page = render(facts, drawing(len(facts)), groups)
    outputs.check_output(target, KIND, own=_own(target, dirs, output))  # again: just before
    write_text(target, page.html)
    return ReportResult(
        output=target,
        runs=dirs,
        groups=[g.group.name for g in groups],
        bytes=len(page.html.encode("utf-8")),
        seconds=round(time.perf_counter() - start, 3),
        warnings=warnings + page.warnings,
    )


def drawing(n: int) -> Drawing:
    """The one drawing convention (``plots/style.py``), for SVG; ``n`` colours for runs."""
    from mnistctl.plots.common import MUTED, TRAIN, VAL
    from mnistctl.plots.compare import run_colours
    from mnistctl.plots.style import TRAIN_LABEL, TRAIN_LINE, VAL_LABEL, VAL_LINE

    return Drawing(
        train_line=TRAIN_LINE,
        val_line=VAL_LINE,
        train_label=TRAIN_LABEL,
        val_label=VAL_LABEL,
        train_colour=TRAIN,
        val_colour=VAL,
        muted=MUTED,
        colours=tuple(run_colours(max(n, 1))),
    )


# --- which runs --------------------------------------------------------------------------------


def _resolve(
    runs: Sequence[Path], runs_dir: Path | None, whole_groups: bool, warnings: list[str]
) -> list[Path]:
    """Each RUN as absolute run directories (``runs/groups.named_runs``); at least one."""
    if not runs:
        raise UserError("no run given", Location(), expected="one or more runs")
    return named_runs(runs, runs_dir, whole_groups=whole_groups, warnings=warnings)


# --- where ---------------------------------------------------------------------------------------


def _output_path(output: Path | None, runs_dir: Path | None, dirs: Sequence[Path]) -> Path:
    """See the module's docstring; checked here, before any run is read."""
    name = f"report-{layout.timestamp()}.html"
    if output is None:
        if len(dirs) == 1:
            target = dirs[0] / REPORT
        else:
            target = (runs_dir if runs_dir is not None else dirs[0].parent.parent) / name
    elif output.is_dir() and not output.is_symlink():
        target = output / name
    else:
        target = output
    outputs.check_output(target, KIND, own=_own(target, dirs, output))
    return target


def _own(target: Path, dirs: Sequence[Path], output: Path | None) -> Path | None:
    """The one file inside a run the report may write: that run's own ``report.html``."""
    if output is None and len(dirs) == 1:
        return dirs[0] / REPORT
    return target if target.name == REPORT and target.parent.resolve() in dirs else None
