"""``mnistctl export`` in the terminal: what the check found, and where the files went.

``--json`` prints ``result.to_json()``, the same object written as ``export.json``. Nothing here
imports TensorFlow: the result type is imported for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mnistctl.ui.console import plain
from mnistctl.ui.results import checkpoint_line

if TYPE_CHECKING:
    from mnistctl.commands.export import ExportResult


def size_text(size: int) -> str:
    """Bytes as people read them: ``812 B``, ``57.6 KB``, ``1.2 MB``."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def export_rows(result: ExportResult) -> list[tuple[str, str | Text]]:
    check, speed = result.check, result.speed
    precision = (
        result.exported_precision
        if result.trained_precision == result.exported_precision
        else f"{result.exported_precision} (trained in {result.trained_precision})"
    )
    rows: list[tuple[str, str | Text]] = [
        ("format", result.format),
        ("file", plain(result.artifact.name)),
        ("size", size_text(result.size_bytes)),
        ("precision", precision),
        ("samples", f"{check.samples:,} test images"),
        ("agreement", f"{check.agree:,}/{check.samples:,} same class ({check.fraction:.1%})"),
        ("max diff", f"{check.max_abs_diff:.2g} (tolerance {check.tolerance:g})"),
    ]
    if check.accuracy is not None:
        rows.append(("accuracy", f"{check.accuracy:.4f} on these images"))
    rows += [
        ("latency", f"{speed.latency_ms:.3f} ms per image (median of {speed.calls})"),
        ("throughput", f"{speed.images_per_s:,.0f} images/s (batches of {speed.batch})"),
        ("runtime", plain(result.runtime)),
    ]
    return rows


def export_table(result: ExportResult) -> Table:
    table = Table(title=plain(f"{result.name}: exported and checked"), title_justify="left")
    table.add_column("")
    table.add_column("")
    table.show_header = False
    for key, value in export_rows(result):
        table.add_row(key, value)
    return table


def render_export(result: ExportResult, out: Console) -> None:
    out.print(plain(checkpoint_line(result.checkpoint)), soft_wrap=True)
    out.print(export_table(result))
    out.print(plain(f"saved: {result.artifact}"), soft_wrap=True)
    out.print(plain(f"check: {result.saved_as}"), soft_wrap=True)
