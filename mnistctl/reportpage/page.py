"""The report page: the runs' facts (``gather.py``) made into one self-contained HTML file.

Jinja2 with autoescaping fills ``templates/report.html.j2``; its stylesheet and its one small
script are put inline, every picture is a ``data:`` URI, charts are inline SVG and a
Content-Security-Policy forbids any request at all, so the page opens offline by double-click
and asks no other host for anything. The spec is highlighted by Pygments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from mnistctl.reportpage import charts
from mnistctl.reportpage.gather import RunFacts
from mnistctl.reportpage.groups import GroupFacts, groups_context
from mnistctl.reportpage.pictures import data_uri
from mnistctl.reportpage.svg import Drawing
from mnistctl.runs.specdiff import compare_specs, shown_value
from mnistctl.runs.testset import PER_CELL, TestPredictions
from mnistctl.version import __version__

HEADER = "<!DOCTYPE html>\n<!-- mnistctl report -->\n"  # how an earlier report is known
MISCLASSIFIED = 40  # pictures in a run's "misclassified" section
PIXEL_BUDGET = 2_000_000  # the confusion cells' pictures of a run, in pixel values: < 3 MB
_OPS = {"same": "=", "changed": "≠", "only_first": "←", "only_other": "→"}


@dataclass(frozen=True)
class Page:
    html: str
    warnings: list[str]


def render(runs: Sequence[RunFacts], drawing: Drawing, groups: Sequence[GroupFacts] = ()) -> Page:
    """The whole page for ``runs`` (and the groups they form)."""
    warnings = [f"{run.label}: {note}" for run in runs for note in run.notes]
    comparison = _comparison(runs, drawing) if len(runs) > 1 else None
    if comparison:
        warnings += comparison["notes"]
    title = f"mnistctl report: {runs[0].label}" if len(runs) == 1 else (
        f"mnistctl report: {len(runs)} runs"
    )  # fmt: skip
    html = _template().render(
        title=title,
        version=__version__,
        made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        highlight_css=Markup(_highlight_css()),
        warnings=warnings,
        groups=groups_context(groups, drawing),
        comparison=comparison,
        runs=[_run_context(run, k, drawing) for k, run in enumerate(runs)],
    )
    return Page(html, warnings)


# --- assets ------------------------------------------------------------------------------------


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mnistctl.reportpage", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


@cache
def _asset(name: str) -> str:
    return (
        resources.files("mnistctl.reportpage")
        .joinpath("templates")
        .joinpath(name)
        .read_text("utf-8")
    )


@cache
def _highlight_css() -> str:
    from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]

    return str(HtmlFormatter(style="default").get_style_defs(".spec .highlight"))


def highlighted_yaml(text: str) -> Markup:
    from pygments import highlight  # type: ignore[import-untyped]
    from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
    from pygments.lexers import YamlLexer  # type: ignore[import-untyped]

    return Markup(highlight(text, YamlLexer(), HtmlFormatter(style="default")))


# --- one run -----------------------------------------------------------------------------------


def _run_context(run: RunFacts, index: int, drawing: Drawing) -> dict[str, Any]:
    info = run.info
    run_id = f"run{index + 1}"
    context: dict[str, Any] = {
        "id": run_id,
        "label": run.label,
        "status": info.status,
        "run_dir": str(info.run_dir),
        "notes": run.notes,
        "facts": _facts(run),
        "layers": [{**vars(layer), "params": _count(layer.params)} for layer in run.layers],
        "total_params": _count(info.total_params),
        "charts": [Markup(svg) for svg in charts.one_run(run.history, drawing)],
        "class_names": run.class_names,
        "spec_html": highlighted_yaml(run.spec_text),
        "env": _env_rows(run.env),
        "confusion": None,
    }
    if run.predictions is not None:
        context.update(_test_set(run, run.predictions, run_id))
    return context


def _facts(run: RunFacts) -> list[tuple[str, str]]:
    info = run.info
    best = info.best.get("val_accuracy")
    rows = [
        ("status", info.shown_status),
        ("epochs", f"{info.epochs_completed or 0} of {info.epochs or '?'}"),
        ("test accuracy", _pct(info.test_accuracy)),
        ("test loss", _num(info.test_loss)),
        ("best validation accuracy", f"{_pct(best.value)} (epoch {best.epoch})" if best else "—"),
    ]
    rows += [(f"last epoch: {key}", _metric(key, value)) for key, value in info.final.items()]
    rows += [
        ("data", run.dataset),
        ("loss", run.loss),
        ("parameters", _count(info.total_params)),
        ("training time", f"{info.seconds:.1f} s" if info.seconds is not None else "—"),
        ("precision", info.precision or "—"),
        ("started", info.started or "—"),
    ]
    return rows


def _test_set(run: RunFacts, found: TestPredictions, run_id: str) -> dict[str, Any]:
    matrix = found.confusion()
    names = run.class_names
    cells, grid = [], []
    cap = _per_cell(found)
    for t in range(len(names)):
        row = []
        total = max(int(matrix[t].sum()), 1)
        for p in range(len(names)):
            count = int(matrix[t, p])
            shown = min(len(found.cell_pictures(t, p)), cap)
            key = f"{t}-{p}"
            row.append(
                {"count": count, "shown": shown, "key": key, "true": names[t], "read": names[p],
                 "kind": "diag" if t == p else "off",
                 "shade": f"{(count / total) ** 0.5 * 0.85:.3f}" if count else "0"}
            )  # fmt: skip
            if count:
                title = f"true {names[t]}, read {names[p]}: {count} test picture" + (
                    "s" if count != 1 else ""
                ) + (f", the {shown} most confident" if shown < count else "")  # fmt: skip
                cells.append({"key": key, "title": title, "pictures": _pictures(found, t, p, cap)})
        grid.append(row)
    per_class = [
        {"name": r.name, "precision": _num(r.precision), "recall": _num(r.recall),
         "f1": _num(r.f1), "support": _count(r.support)}
        for r in run.per_class()
    ]  # fmt: skip
    mistakes, shown_mistakes = _misclassified(found, names)
    return {
        "per_cell": cap,
        "confusion": grid,
        "cells": cells,
        "per_class": per_class,
        "misclassified": shown_mistakes,
        "mistakes": mistakes,
    }


def _per_cell(found: TestPredictions) -> int:
    """How many of each cell's kept pictures the page shows: all (``PER_CELL``) for MNIST's
    ten classes; fewer for many classes or large pictures, so that the page stays small."""
    cells = max(int(np.count_nonzero(np.diff(found.picture_offsets))), 1)
    size = max(int(np.prod(found.pictures.shape[1:])), 1)
    return max(2, min(PER_CELL, PIXEL_BUDGET // (cells * size)))


def _pictures(found: TestPredictions, t: int, p: int, cap: int) -> list[dict[str, Any]]:
    pictures = found.cell_pictures(t, p)[:cap]
    indices = found.cell(t, p)[: len(pictures)]
    return [
        _picture(picture, int(i), f"{found.confidence[i]:.0%}")
        for picture, i in zip(pictures, indices, strict=True)
    ]


def _picture(picture: Any, index: int, caption: str) -> dict[str, Any]:
    height, width = picture.shape[:2]
    scale = 56 / max(height, width)
    return {
        "uri": data_uri(picture),
        "index": index,
        "caption": caption,
        "width": round(width * scale),
        "height": round(height * scale),
    }


def _misclassified(found: TestPredictions, names: Sequence[str]) -> tuple[int, list[Any]]:
    """The most confident mistakes among the kept pictures of the cells off the diagonal."""
    kept = []
    n = len(names)
    for t in range(n):
        for p in range(n):
            if t != p:
                pictures = found.cell_pictures(t, p)
                for picture, i in zip(pictures, found.cell(t, p), strict=False):
                    kept.append((float(found.confidence[i]), int(i), t, p, picture))
    kept.sort(key=lambda k: (-k[0], k[1]))
    mistakes = int((found.labels != found.predicted).sum())
    shown = [
        _picture(picture, i, f"{names[t]} → {names[p]} ({confidence:.0%})")
        for confidence, i, t, p, picture in kept[:MISCLASSIFIED]
    ]
    return mistakes, shown


def _env_rows(env: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in env.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _env_rows(value, f"{name}.")
        elif isinstance(value, list):
            rows.append((name, ", ".join(map(str, value)) or "none"))
        else:
            rows.append((name, "—" if value is None else str(value)))
    return rows


# --- several runs -------------------------------------------------------------------------------


def _comparison(runs: Sequence[RunFacts], drawing: Drawing) -> dict[str, Any]:
    found = compare_specs([run.compared for run in runs], show_all=False)
    differences = [
        {"path": d.path, "values": [shown_value(v) for v in d.values]} for d in found.differences
    ]
    return {
        "notes": _mixed(runs),
        "metrics": _side_by_side(runs),
        "differences": differences,
        "structure": _structures(runs, found.structure.aligned),
        "charts": [
            Markup(svg) for svg in charts.overlaid([(r.label, r.history) for r in runs], drawing)
        ],
    }


def _structures(runs: Sequence[RunFacts], aligned: Sequence[Sequence[Any]]) -> list[Any]:
    """One table per other structure than the first run's: its layers aligned with the
    first's (runs of the first's structure have none; runs of one structure share one)."""
    tables: dict[tuple[Any, ...], dict[str, Any]] = {}
    for j, rows in enumerate(aligned):
        if all(row.op == "same" for row in rows):
            continue
        key = tuple(rows)
        if key in tables:
            tables[key]["other"] += f", {runs[j + 1].label}"
            continue
        tables[key] = {
            "first": runs[0].label,
            "other": runs[j + 1].label,
            "rows": [{**vars(row), "mark": _OPS.get(row.op, "")} for row in rows],
        }
    return list(tables.values())


def _mixed(runs: Sequence[RunFacts]) -> list[str]:
    """What the reader must know before comparing: other data, other losses, other classes."""
    notes = []
    for what, values in (
        ("data", [run.dataset for run in runs]),
        ("losses", [run.loss for run in runs]),
        ("classes", [", ".join(run.class_names) for run in runs]),
    ):
        if len(set(values)) > 1:
            used = "; ".join(f"{run.label}: {v}" for run, v in zip(runs, values, strict=True))
            notes.append(f"the runs were trained with different {what} ({used})")
    return notes


def _side_by_side(runs: Sequence[RunFacts]) -> list[dict[str, Any]]:
    def best(run: RunFacts) -> str:
        found = run.info.best.get("val_accuracy")
        return f"{_pct(found.value)} (epoch {found.epoch})" if found else "—"

    rows: list[tuple[str, list[str]]] = [
        ("test accuracy", [_pct(r.info.test_accuracy) for r in runs]),
        ("test loss", [_num(r.info.test_loss) for r in runs]),
        ("best validation accuracy", [best(r) for r in runs]),
        ("status", [r.info.shown_status for r in runs]),
        ("epochs", [f"{r.info.epochs_completed or 0} of {r.info.epochs or '?'}" for r in runs]),
        ("parameters", [_count(r.info.total_params) for r in runs]),
        ("training time", [_seconds(r.info.seconds) for r in runs]),
        ("data", [r.dataset for r in runs]),
        ("loss", [r.loss for r in runs]),
    ]
    return [{"name": name, "values": values} for name, values in rows]


# --- numbers -----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2%}"


def _num(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _metric(key: str, value: float) -> str:
    return _pct(value) if "accuracy" in key else _num(value)
