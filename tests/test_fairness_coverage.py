"""Honest intervals: over repeated draws of a simulated SCM the 95% intervals cover the truth 90-98% of the time."""

from __future__ import annotations

import numpy as np
import pytest
from scm import simulate_sfm

from faircausesyn.fairness import MEASURES, decompose


def _coverage(kind: str, n: int, reps: int, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    hits, z = [], []
    for r in range(reps):
        df, spec, truth = simulate_sfm(n, seed=5000 + r, kind=kind)
        dec = decompose(df, spec, seed=r, **kwargs)
        hits.append([dec[m].covers(truth[m]) for m in MEASURES])
        z.append([(dec[m].estimate - truth[m]) / dec[m].se for m in MEASURES])
    return np.asarray(hits, dtype=float), np.asarray(z)


@pytest.mark.slow
def test_coverage_linear_nuisances():
    hits, z = _coverage("linear_logistic", n=1000, reps=100, nuisance="linear")
    pooled = hits.mean()
    assert 0.90 <= pooled <= 0.98, f"pooled coverage {pooled:.3f}; per measure {hits.mean(axis=0).round(3)}"
    assert np.all(hits.mean(axis=0) >= 0.87), hits.mean(axis=0)
    # The standardised errors look standard normal: no bias, no over- or under-stated spread.
    assert np.all(np.abs(z.mean(axis=0)) < 0.35), z.mean(axis=0)
    assert np.all((z.std(axis=0) > 0.8) & (z.std(axis=0) < 1.25)), z.std(axis=0)


@pytest.mark.slow
def test_intervals_not_too_narrow_with_gradient_boosting():
    # The default nuisances: 20 draws are too few to pin coverage to 90-98% (that is measured over
    # 200 draws by benchmarks/bench_decompose.py --coverage and recorded in docs/fairness.md), but
    # enough to catch intervals that are grossly too narrow (sd of the standardised errors well
    # above 1) or estimates that are biased.
    hits, z = _coverage("nonlinear", n=600, reps=20)
    assert hits.mean() >= 0.88, f"pooled coverage {hits.mean():.3f}; per measure {hits.mean(axis=0).round(3)}"
    assert np.all(np.abs(z.mean(axis=0)) < 0.5), z.mean(axis=0)
    assert np.all(z.std(axis=0) < 1.5), z.std(axis=0)
