"""Large samples: p-values flag a harmless shift, so ``auto`` judges by effect size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from siklus.monitoring import build_baseline, load_baseline, run_monitoring, set_constraints
from siklus.store import WorkspaceContext

from ._helpers import frame, store

N = 30_000


@pytest.fixture
def refs(ctx: WorkspaceContext) -> dict[str, str]:
    build_baseline(ctx, store(ctx, frame(N, 1), "people"), "people")
    return {
        "tiny": store(ctx, frame(N, 2, shift=0.04), "tiny"),  # 0.04 standard deviations
        "real": store(ctx, frame(N, 3, shift=0.5), "real"),
    }


def test_auto_uses_effect_sizes_when_samples_are_large(
    ctx: WorkspaceContext, refs: dict[str, str]
) -> None:
    tiny = run_monitoring(ctx, baseline="people", dataset=refs["tiny"])
    [score] = [d for d in tiny.drift if d.feature == "score"]
    # The KS test calls a 0.04-sigma shift significant (below 0.05 shared by 4 features) ...
    assert score.statistics["ks_p_value"] < 0.05 / 4
    # ... but its effect is tiny, and auto mode judges large samples by effect size.
    assert score.method == "effect_size" and not score.drifted
    assert score.statistics["psi"] < 0.01 and score.statistics["wasserstein_normalized"] < 0.06
    assert tiny.drifted_features == []
    real = run_monitoring(ctx, baseline="people", dataset=refs["real"])
    assert real.drifted_features == ["score"]
    assert "wasserstein_normalized" in real.violations[0]["description"]


def test_p_value_method_flags_everything_at_this_size(
    ctx: WorkspaceContext, refs: dict[str, str]
) -> None:
    document = load_baseline(ctx, "people").constraints_raw
    document["monitoring_config"]["distribution_constraints"]["drift_method"] = "ks"
    set_constraints(ctx, "people", document)
    tiny = run_monitoring(ctx, baseline="people", dataset=refs["tiny"])
    assert "score" in tiny.drifted_features


def test_sketched_baseline_stays_close_to_scipy(
    ctx: WorkspaceContext, refs: dict[str, str]
) -> None:
    """With 30,000 baseline rows the sketch keeps 1,024 order statistics: KS and
    Wasserstein are then computed against the sketch, within about 1/1024 of exact."""
    result = run_monitoring(ctx, baseline="people", dataset=refs["real"], kinds=["data_drift"])
    [score] = [d for d in result.drift if d.feature == "score"]
    base, cur = frame(N, 1)["score"].to_numpy(), frame(N, 3, shift=0.5)["score"].to_numpy()
    assert score.statistics["ks"] == pytest.approx(stats.ks_2samp(base, cur).statistic, abs=2e-3)
    assert score.statistics["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(base, cur), rel=0.02
    )
    assert score.n_baseline == N and score.n_current == N
    assert np.isfinite(score.statistics["psi"])
