"""Each drift statistic equals SciPy's (or a PSI computed by hand) on the same samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from siklus.monitoring import (
    PSI_EPSILON,
    bin_counts,
    chi_square,
    jensen_shannon,
    ks_wasserstein,
    l_infinity,
    psi,
)

rng = np.random.default_rng(20261127)

SAMPLES = {
    "normal vs shifted": (rng.normal(0, 1, 400), rng.normal(0.4, 1.3, 650)),
    "integers with ties": (
        rng.integers(0, 6, 300).astype(float),
        rng.integers(0, 8, 500).astype(float),
    ),
    "same distribution": (rng.exponential(2.0, 900), rng.exponential(2.0, 700)),
    "tiny": (np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.5])),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_ks_and_wasserstein_equal_scipy(name: str) -> None:
    a, b = SAMPLES[name]
    ours = ks_wasserstein(np.sort(a), None, np.sort(b))
    ref = stats.ks_2samp(a, b, method="asymp")
    assert ours.ks == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.ks_p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert ours.wasserstein == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


def test_weighted_baseline_equals_scipy_weighted_wasserstein() -> None:
    a, b = rng.normal(size=300), rng.gamma(2.0, size=500)
    weights = rng.random(300)
    order = np.argsort(a)
    ours = ks_wasserstein(a[order], weights[order], np.sort(b))
    assert ours.wasserstein == pytest.approx(
        stats.wasserstein_distance(a, b, u_weights=weights), rel=1e-9
    )
    # The weighted KS statistic by brute force: the largest CDF gap over all points.
    points = np.concatenate([a, b])
    cdf_a = np.array([weights[a <= x].sum() for x in points]) / weights.sum()
    cdf_b = np.array([(b <= x).mean() for x in points])
    assert ours.ks == pytest.approx(np.abs(cdf_a - cdf_b).max(), abs=1e-12)


def test_psi_by_hand() -> None:
    baseline, current = [10, 20, 30, 40], [20, 20, 20, 40]
    b = np.array(baseline) / 100
    c = np.array(current) / 100
    by_hand = sum((ci - bi) * math.log(ci / bi) for bi, ci in zip(b, c, strict=True))
    assert psi(baseline, current) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.1 * math.log(2) - 0.1 * math.log(2 / 3), rel=1e-12)
    # An empty bin is floored at PSI_EPSILON rather than making the index infinite.
    with_empty = psi([50, 50, 0], [40, 40, 20])
    terms = [(0.4 - 0.5) * math.log(0.4 / 0.5)] * 2 + [
        (0.2 - PSI_EPSILON) * math.log(0.2 / PSI_EPSILON)
    ]
    assert with_empty == pytest.approx(sum(terms), rel=1e-12)
    assert psi([5, 5], [5, 5]) == 0.0


def test_psi_on_numeric_bins_by_hand() -> None:
    a, b = SAMPLES["normal vs shifted"]
    edges = np.quantile(a, [0.25, 0.5, 0.75])
    expected = np.histogram(a, bins=[-np.inf, *edges, np.inf])[0]
    actual = np.histogram(b, bins=[-np.inf, *edges, np.inf])[0]
    # np.histogram's bins are [e_i, e_i+1) like ours (values equal to an edge go right).
    assert bin_counts(np.sort(a), edges).tolist() == expected.tolist()
    assert bin_counts(np.sort(b), edges).tolist() == actual.tolist()
    p, q = expected / expected.sum(), actual / actual.sum()
    assert psi(expected, actual) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))


def test_jensen_shannon_equals_scipy() -> None:
    baseline, current = [120, 30, 50, 0], [60, 60, 70, 10]
    assert jensen_shannon(baseline, current) == pytest.approx(
        distance.jensenshannon(baseline, current, base=2), rel=1e-12
    )
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)


def test_chi_square_equals_scipy() -> None:
    baseline, current = [200, 150, 50], [40, 60, 50]
    ref = stats.chi2_contingency(np.array([baseline, current]))
    assert chi_square(baseline, current) == pytest.approx((ref.statistic, ref.pvalue))
    # Categories unseen on both sides are dropped; a 2x2 table gets Yates' correction too.
    ref2 = stats.chi2_contingency(np.array([[30, 70], [50, 50]]))
    assert chi_square([30, 0, 70], [50, 0, 50]) == pytest.approx((ref2.statistic, ref2.pvalue))
    assert chi_square([10], [3]) == (0.0, 1.0)


def test_l_infinity() -> None:
    assert l_infinity([50, 50], [80, 20]) == pytest.approx(0.3)


def test_empty_sides_give_nan_not_errors() -> None:
    result = ks_wasserstein(np.array([]), None, np.array([1.0]))
    assert math.isnan(result.ks) and math.isnan(result.wasserstein)
    assert math.isnan(psi([0, 0], [1, 2]))
    assert math.isnan(jensen_shannon([0, 0], [1, 2]))


def test_ks_p_value_of_large_samples_uses_the_limiting_distribution() -> None:
    from siklus.monitoring._drift import KS_LIMIT_N, ks_p_value

    exact = stats.kstwo.sf(0.004, 2 * KS_LIMIT_N)
    assert ks_p_value(0.004, 4 * KS_LIMIT_N, 4 * KS_LIMIT_N) == pytest.approx(exact, rel=0.02)
    assert ks_p_value(0.5, 0, 10) == 1.0
