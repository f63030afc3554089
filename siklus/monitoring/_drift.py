"""Drift statistics between a baseline and a current sample, exact and vectorised.

Every function here is pure numpy (SciPy for the chi-square and Jensen-Shannon parts and
for p-values), so each can be checked against SciPy on the same samples:

* :func:`ks_wasserstein` — the Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``)
  and the Wasserstein-1 distance (``scipy.stats.wasserstein_distance``) between a
  *weighted* baseline sample (the quantile sketch of ``statistics.json``; every value
  weight 1 when the baseline was small enough to keep whole) and the sorted current
  values, with binary searches and one prefix sum, so a 1,000,000-row column costs its
  one sort and little more.
* :func:`psi` — the population stability index on shared bins, with empty bins floored
  at :data:`PSI_EPSILON` so that the logarithm stays finite.
* :func:`jensen_shannon` — ``scipy.spatial.distance.jensenshannon`` (base 2, in [0, 1]).
* :func:`chi_square` — ``scipy.stats.chi2_contingency`` on the 2xK table of counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

#: Effective sample size above which KS p-values use the limiting distribution.
KS_LIMIT_N = 10_000

#: Share given to an empty bin in :func:`psi` (a zero would make ln(p/q) infinite).
PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class KsWasserstein:
    """Kolmogorov-Smirnov statistic, its asymptotic p-value, and the Wasserstein-1 distance."""

    ks: float
    ks_p_value: float
    wasserstein: float


def ks_p_value(statistic: float, n_baseline: int, n_current: int) -> float:
    """Two-sided asymptotic p-value of a two-sample KS statistic.

    The same number as ``scipy.stats.ks_2samp(..., method="asymp")`` (Smirnov's
    distribution for the effective size ``n·m/(n+m)``) up to an effective size of
    :data:`KS_LIMIT_N`; above it the limiting Kolmogorov distribution, which agrees to
    many digits there and costs microseconds instead of a fifth of a second.
    """
    if n_baseline == 0 or n_current == 0:
        return 1.0
    en = n_baseline * n_current / (n_baseline + n_current)
    if en > KS_LIMIT_N:
        return float(np.clip(stats.kstwobign.sf(statistic * np.sqrt(en)), 0.0, 1.0))
    return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0.0, 1.0))


def ks_wasserstein(
    baseline_values: np.ndarray,
    baseline_weights: np.ndarray | None,
    current_sorted: np.ndarray,
    *,
    n_baseline: int | None = None,
) -> KsWasserstein:
    """KS statistic and Wasserstein-1 distance between two one-dimensional samples.

    Cost: two binary searches of the baseline values into the current ones and one
    prefix sum over the current values, O(n + m log n) for n current and m baseline
    values; nothing of size n is sorted or merged.

    * KS: between consecutive distinct baseline values the baseline CDF is flat and the
      current one rises, so the largest gap is at an end of such a stretch: the current
      CDF is needed only just at and just before each baseline value.
    * Wasserstein-1 is the area between the two quantile functions. On each stretch of
      probability where the baseline quantile is one value ``b``, the current quantile
      runs through consecutive sorted current values; splitting that run where it passes
      ``b`` turns the area into prefix sums.

    Args:
        baseline_values: Baseline values, sorted ascending (a quantile sketch or the sample).
        baseline_weights: Weight of each baseline value (None: all equal).
        current_sorted: Current values, sorted ascending, no NaN.
        n_baseline: Number of rows the baseline stands for (for the p-value); default the
            number of baseline values.

    Returns:
        Both statistics; NaN when either side is empty.
    """
    b = np.asarray(baseline_values, dtype=np.float64)
    c = np.asarray(current_sorted, dtype=np.float64)
    m, n = len(b), len(c)
    if m == 0 or n == 0:
        return KsWasserstein(float("nan"), float("nan"), float("nan"))
    w = np.ones(m) if baseline_weights is None else np.asarray(baseline_weights, dtype=np.float64)
    w = w / w.sum()
    # KS over the distinct baseline values.
    distinct, first = np.unique(b, return_index=True)
    cdf_b = np.cumsum(w)[np.append(first[1:] - 1, m - 1)]
    at = np.searchsorted(c, distinct, side="right") / n
    before = np.searchsorted(c, distinct, side="left") / n
    ks = max(
        float(before[0]),
        float(np.max(np.abs(cdf_b - at))),
        float(np.max(np.abs(cdf_b[:-1] - before[1:]))) if len(distinct) > 1 else 0.0,
    )
    # Wasserstein-1 from quantile functions; centring keeps the prefix sums small.
    centre = float(b[m // 2])
    bc = b - centre
    prefix = np.concatenate([[0.0], np.cumsum(c - centre)])
    bounds = n * np.concatenate([[0.0], np.cumsum(w)])
    bounds[-1] = n
    lo, hi = bounds[:-1], bounds[1:]
    split = np.clip(np.searchsorted(c, b, side="left").astype(np.float64), lo, hi)

    def area(t: np.ndarray) -> np.ndarray:  # integral of the current quantile up to t
        whole = np.minimum(np.floor(t).astype(np.int64), n)
        value = c[np.minimum(whole, n - 1)] - centre
        return prefix[whole] + (t - whole) * value

    a_lo, a_split, a_hi = area(lo), area(split), area(hi)
    total = (bc * (split - lo) - (a_split - a_lo) + (a_hi - a_split) - bc * (hi - split)).sum()
    wasserstein = max(float(total) / n, 0.0)
    return KsWasserstein(ks, ks_p_value(ks, n_baseline or m, n), wasserstein)


def bin_counts(sorted_values: np.ndarray, inner_edges: Sequence[float]) -> np.ndarray:
    """Counts in the bins ``(-inf, e0), [e0, e1), …, [e_last, inf)`` of sorted values."""
    cuts = np.searchsorted(sorted_values, np.asarray(inner_edges, dtype=np.float64), side="left")
    return np.diff(np.concatenate([[0], cuts, [len(sorted_values)]])).astype(np.int64)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


def psi(baseline_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """Population stability index ``Σ (c - b) · ln(c / b)`` over shares of shared bins.

    A share of 0 on either side is replaced by :data:`PSI_EPSILON`. Rules of thumb: below
    0.1 no change, 0.1-0.2 moderate, above 0.2 a significant shift.
    """
    b = _shares(np.asarray(baseline_counts, dtype=np.float64))
    c = _shares(np.asarray(current_counts, dtype=np.float64))
    if not b.any() or not c.any():
        return float("nan")
    b = np.where(b == 0, PSI_EPSILON, b)
    c = np.where(c == 0, PSI_EPSILON, c)
    return float(np.sum((c - b) * np.log(c / b)))


def jensen_shannon(baseline_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """Jensen-Shannon distance (base 2, 0 = same, 1 = disjoint) of two count vectors."""
    b = np.asarray(baseline_counts, dtype=np.float64)
    c = np.asarray(current_counts, dtype=np.float64)
    if not b.sum() or not c.sum():
        return float("nan")
    return float(distance.jensenshannon(b, c, base=2))


def chi_square(
    baseline_counts: Sequence[float], current_counts: Sequence[float]
) -> tuple[float, float]:
    """Chi-square statistic and p-value of the 2xK contingency table (categories seen in
    neither sample are dropped; one category left means no test: ``(0.0, 1.0)``)."""
    table = np.vstack(
        [np.asarray(baseline_counts, dtype=np.float64), np.asarray(current_counts, np.float64)]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or not table[0].sum() or not table[1].sum():
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def l_infinity(baseline_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """Largest difference between the two category shares (SageMaker's ``LInfinity``)."""
    b = _shares(np.asarray(baseline_counts, dtype=np.float64))
    c = _shares(np.asarray(current_counts, dtype=np.float64))
    return float(np.max(np.abs(b - c))) if len(b) else 0.0


__all__ = [
    "PSI_EPSILON",
    "KsWasserstein",
    "bin_counts",
    "chi_square",
    "jensen_shannon",
    "ks_p_value",
    "ks_wasserstein",
    "l_infinity",
    "psi",
]
