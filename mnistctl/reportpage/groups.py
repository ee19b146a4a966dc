"""Groups of seeds in the report (``train --seeds``; ``runs/groups.py``): for the groups the
reported runs belong to, each metric as mean ± sample standard deviation over the group's
completed runs, the curves as the mean with a band (mean ± sd per epoch, ``runs/stats.py``),
and with several groups, whether each group's difference to the first is larger than the
seeds' spread (``stats.RULE``: Welch's t-test)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from mnistctl.reportpage import charts
from mnistctl.reportpage.gather import RunFacts
from mnistctl.reportpage.svg import Drawing
from mnistctl.runs.groups import METRICS, Group, check_group, collect
from mnistctl.runs.stats import LARGER, RULE, Spread, bands, shown_p, welch


@dataclass(frozen=True)
class GroupFacts:
    group: Group  # of the reported runs only
    labels: tuple[str, ...]  # the member runs' labels in the report


def group_facts(runs: Sequence[RunFacts]) -> list[GroupFacts]:
    """The groups among ``runs``, each checked to be one spec over seeds."""
    label = {run.info.run_dir: run.label for run in runs}
    out = []
    for group in collect(run.info for run in runs):
        check_group(group)
        out.append(GroupFacts(group, tuple(label[r.run_dir] for r in group.runs)))
    return out


def groups_context(groups: Sequence[GroupFacts], drawing: Drawing) -> dict[str, Any] | None:
    """What the page's groups section shows; None without groups."""
    if not groups:
        return None
    rows = []
    for name in METRICS:
        spreads = [g.group.metric(name) for g in groups]
        if not any(s.n for s in spreads):
            continue
        values = [_spread(name, s) for s in spreads]
        for k in range(1, len(spreads)):
            verdict = welch(spreads[0], spreads[k])
            extra = shown_p(verdict.p) if verdict.p is not None else verdict.why
            values[k] += f"; vs {groups[0].group.name}: {verdict.verdict}" + (
                f" ({extra})" if extra else ""
            )
        rows.append({"name": name, "values": values, "larger": [LARGER in v for v in values]})
    series, band_list = [], []
    for g in groups:
        found = bands(g.group.curves())
        series.append((g.group.name, {key: b.mean for key, b in found.items()}))
        band_list.append({key: (b.low, b.high) for key, b in found.items()})
    return {
        "names": [g.group.name for g in groups],
        "members": [
            {
                "name": g.group.name,
                "seeds": " ".join(map(str, g.group.seeds)),
                "n": len(g.group.complete),
                "runs": ", ".join(g.labels),
                "missing": " ".join(map(str, g.group.missing_seeds)),
            }
            for g in groups
        ],
        "metrics": rows,
        "rule": RULE if len(groups) > 1 else None,
        "charts": [Markup(svg) for svg in charts.overlaid(series, drawing, band_list)],
    }


def _spread(name: str, s: Spread) -> str:
    if s.mean is None:
        return "—"

    def shown(value: float) -> str:
        return f"{value:.2%}" if "accuracy" in name else f"{value:.4f}"

    sd = f" ± {shown(s.sd)}" if s.sd is not None else " (one run: no spread)"
    return f"{shown(s.mean)}{sd} (n = {s.n})"
