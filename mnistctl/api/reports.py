"""The HTML report in the Python API: ``mnistctl.report(runs, path)``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnistctl.api.arguments import path_items
from mnistctl.api.common import PathArg, _user_errors
from mnistctl.errors import Location, UserError


@_user_errors
def report(
    runs: PathArg | Sequence[PathArg],
    path: PathArg | None = None,
    runs_dir: PathArg | None = None,
) -> Path:
    """Write one self-contained HTML page of ``runs`` (a run, a run directory, a spec meaning
    its latest run, a group's name, or a list of these) as ``mnistctl report`` does, to ``path``
    (default: ``RUN/report.html`` for one run; for several, ``report-<UTC time>.html`` in the
    runs directory); returns where it was written. No TensorFlow."""
    from mnistctl.commands.report import report_runs

    result = report_runs(
        _run_paths(runs),
        output=Path(path) if path is not None else None,
        runs_dir=Path(runs_dir) if runs_dir is not None else None,
    )
    return result.output


def _run_paths(runs: PathArg | Sequence[PathArg]) -> list[Path]:
    paths = path_items(
        runs, "runs", what="a run",
        expected="a run, a run directory, a spec or a group's name (str or os.PathLike)",
    )  # fmt: skip
    if not paths:
        raise UserError(
            "no run given", Location("runs"), expected="one or more runs", received="none"
        )
    return paths
