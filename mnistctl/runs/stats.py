"""The numbers of a group of runs: mean and sample standard deviation, Welch's t-test between two
groups, and learning curves as a band. Plain Python (``math``): no SciPy, no NumPy.

Welch's t-test (two-sided, alpha 0.05) says whether two groups' means differ by more than their
seeds' spread: t = (mean_b - mean_a) / sqrt(sd_a²/n_a + sd_b²/n_b), with the Welch-Satterthwaite
degrees of freedom; the p-value is the t distribution's two tails, through the regularized
incomplete beta function (a continued fraction, as in Numerical Recipes' ``betacf``). A group
of one run has no spread: the answer is "cannot say", never a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
RULE = (
    "Welch's t-test, two-sided, alpha 0.05: a difference is larger than the seeds' spread when "
    "p < 0.05; a group of one run cannot say"
)
LARGER, WITHIN, CANNOT_SAY = "larger than the spread", "within the spread", "cannot say"


@dataclass(frozen=True)
class Spread:
    """Values of one metric over a group's runs: ``n``, ``mean`` (None without values) and
    ``sd``, the sample standard deviation (n - 1; None for fewer than two values)."""

    n: int
    mean: float | None
    sd: float | None

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "sd": self.sd, "n": self.n}


def spread(values: Iterable[float | None]) -> Spread:
    """Mean and sample sd of the finite ``values`` (None and non-finite ones left out)."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(kept)
    if not n:
        return Spread(0, None, None)
    mean = math.fsum(kept) / n
    if n < 2:
        return Spread(1, mean, None)
    variance = math.fsum((v - mean) ** 2 for v in kept) / (n - 1)
    return Spread(n, mean, math.sqrt(variance))


@dataclass(frozen=True)
class Verdict:
    """Whether ``other``'s mean differs from ``first``'s by more than their spread."""

    difference: float | None  # other's mean minus first's
    t: float | None
    df: float | None
    p: float | None
    verdict: str  # LARGER, WITHIN or CANNOT_SAY
    why: str | None = None  # why it cannot say

    def to_json(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "t": self.t,
            "df": self.df,
            "p": self.p,
            "verdict": self.verdict,
            "why": self.why,
        }


def welch(first: Spread, other: Spread) -> Verdict:
    """Welch's t-test of ``other`` against ``first``; see the module's docstring."""
    if first.mean is None or other.mean is None:
        return Verdict(None, None, None, None, CANNOT_SAY, "no value in one group")
    difference = other.mean - first.mean
    if first.sd is None or other.sd is None:
        return Verdict(difference, None, None, None, CANNOT_SAY, "a group of one run: no spread")
    va, vb = first.sd**2 / first.n, other.sd**2 / other.n
    se = math.sqrt(va + vb)
    if se == 0:  # every seed gave the same value in both groups
        p = 1.0 if difference == 0 else 0.0
        return Verdict(difference, None, None, p, LARGER if p < ALPHA else WITHIN)
    t = difference / se
    df = (va + vb) ** 2 / (va**2 / (first.n - 1) + vb**2 / (other.n - 1))
    p = t_two_tailed(t, df)
    return Verdict(difference, t, df, p, LARGER if p < ALPHA else WITHIN)


def shown_p(p: float) -> str:
    """A p-value as the output says it: ``p = 0.012``, or ``p < 0.001`` (never ``0.000``)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def t_two_tailed(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if not math.isfinite(t):
        return 0.0
    return min(1.0, max(0.0, incomplete_beta(df / 2, 0.5, df / (df + t * t))))


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
        + b * math.log1p(-x)
    )  # fmt: skip
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


# --- learning curves as a band ------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """One history column over a group's runs, per epoch: the mean, the mean ± sd (equal to the
    mean where fewer than two runs reached that epoch) and how many runs reached it."""

    mean: list[float]
    low: list[float]
    high: list[float]
    n: list[int]


def bands(histories: Sequence[Mapping[str, Sequence[float]]]) -> dict[str, Band]:
    """Each column of Keras-style ``histories`` (``{"loss": [...], "val_accuracy": [...]}``)
    as a ``Band``; non-finite values (a diverged epoch) left out of their epoch."""
    keys = list(dict.fromkeys(k for h in histories for k in h))
    out: dict[str, Band] = {}
    for key in keys:
        columns = [list(h.get(key, ())) for h in histories]
        epochs = max((len(c) for c in columns), default=0)
        band = Band([], [], [], [])
        for e in range(epochs):
            s = spread(c[e] for c in columns if e < len(c))
            mean = s.mean if s.mean is not None else math.nan
            sd = s.sd or 0.0
            band.mean.append(mean)
            band.low.append(mean - sd)
            band.high.append(mean + sd)
            band.n.append(s.n)
        out[key] = band
    return out
