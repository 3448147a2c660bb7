"""dowhy_scm: contract, interventions for constraints on a simulated SFM, categorical columns."""

from __future__ import annotations

import numpy as np
import pytest

from faircausesyn import decompose, get_generator
from faircausesyn.errors import ConfigError
from faircausesyn.testing import check_generator
from faircausesyn.testing.data import toy_sfm

__import__("dowhy")

from scm import simulate_sfm  # noqa: E402


@pytest.fixture(scope="module")
def sfm():
    return simulate_sfm(1000, 5, "linear_logistic")


def test_conformance():
    df, spec = toy_sfm(200, seed=2)
    check_generator(lambda: get_generator("dowhy_scm", seed=1, quality="fast"), df, spec, n=40)


def test_good_quality_on_mixed_types():
    df, spec = toy_sfm(150, seed=2)
    g = get_generator("dowhy_scm", seed=1).fit(df, spec)
    out = g.sample(100, seed=0)
    assert list(out.columns) == list(df.columns) and out.dtypes.equals(df.dtypes)
    assert set(out["stage"]) <= {"I", "II", "III"}


def _measures(df, spec):
    d = decompose(df, spec, method="debiased", nuisance="linear", folds=3, seed=0)
    return {m: d[m].estimate for m in ("DE", "IE", "SE")}


def test_preserve_and_remove_direct(sfm):
    df, spec, truth = sfm
    g = get_generator("dowhy_scm", seed=0).fit(df, spec, constraint="remove_direct")
    assert g.fit_report_["dowhy_scm"]["mechanisms"]["y"] == "ClassifierFCM"
    m = _measures(g.sample(60000, seed=0), spec)
    assert abs(m["DE"]) <= 0.2 * abs(truth["DE"]), (m, truth)
    assert abs(m["IE"] - truth["IE"]) < 0.05, (m, truth)
    assert abs(m["SE"] - truth["SE"]) < 0.05, (m, truth)


def test_remove_spurious_and_indirect_cut_their_edges(sfm):
    df, spec, _ = sfm
    out = get_generator("dowhy_scm", seed=0, quality="fast").fit(df, spec, constraint="remove_spurious").sample(20000, seed=1)
    assert abs(np.corrcoef(out["x"], out["z1"])[0, 1]) < 0.03
    out = get_generator("dowhy_scm", seed=0, quality="fast").fit(df, spec, constraint="remove_indirect").sample(20000, seed=1)
    # W generated with X = x0 for everyone: what is left of the X-W association flows through Z only.
    real_gap = df.loc[df.x == 1, "w1"].mean() - df.loc[df.x == 0, "w1"].mean()
    syn_gap = out.loc[out.x == 1, "w1"].mean() - out.loc[out.x == 0, "w1"].mean()
    assert syn_gap < 0.6 * real_gap, (syn_gap, real_gap)


def test_text_categories_round_trip():
    df, spec, _ = simulate_sfm(300, 1, "categorical_mediator")
    g = get_generator("dowhy_scm", seed=0).fit(df, spec, constraint="remove_direct")
    out = g.sample(200, seed=0)
    assert set(out["x"]) <= {"female", "male"} and set(out["w2"]) <= {"a", "b", "c"}
    assert out.dtypes.equals(df.dtypes)


def test_global_rng_is_left_alone(sfm):
    df, spec, _ = sfm
    g = get_generator("dowhy_scm", seed=0).fit(df.iloc[:300], spec)
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    g.sample(50, seed=4)
    assert np.array_equal(np.random.random(3), expected)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="quality"):
        get_generator("dowhy_scm", quality="best_possible")
