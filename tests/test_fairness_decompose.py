"""decompose(): recovery of known measures on simulated SCMs, identities, missing rows, options, JSON, plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scm import KINDS, simulate_sfm

from faircausesyn.errors import ConfigError, DataError, SpecError
from faircausesyn.fairness import MEASURES, Decomposition, Estimate, decompose

N = 2000


def _check_within(dec: Decomposition, truth: dict[str, float], k: float = 3.0) -> None:
    for m in MEASURES:
        e = dec[m]
        if e.se == 0.0:  # a measure that is 0 by construction (no Z: SE; no W: IE)
            assert e.estimate == pytest.approx(truth[m], abs=2e-3), m
        else:
            assert abs(e.estimate - truth[m]) <= k * e.se, f"{m}: estimate {e.estimate:.4f}, truth {truth[m]:.4f}, se {e.se:.4f}"


def _check_identities(dec: Decomposition) -> None:
    est = dec.estimates()
    assert est["TV"] == pytest.approx(est["DE"] - est["IE"] - est["SE"], abs=1e-12)
    assert est["ETT"] == pytest.approx(est["DE"] - est["IE"], abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_debiased_recovers_truth(kind):
    df, spec, truth = simulate_sfm(N, seed=11, kind=kind)
    dec = decompose(df, spec, seed=3)
    _check_within(dec, truth)
    _check_identities(dec)
    assert dec.method == "debiased" and dec.n_used == N and dec.n_dropped == 0
    for m in MEASURES:
        e = dec[m]
        assert e.lower <= e.estimate <= e.upper
        assert e.upper - e.lower == pytest.approx(2 * 1.959963984540054 * e.se)


def test_structural_zeros():
    df, spec, _ = simulate_sfm(800, seed=1, kind="no_confounders")
    dec = decompose(df, spec, seed=0)
    assert dec["SE"].estimate == 0.0 and dec["SE"].se == 0.0
    assert dec["ETT"].estimate == dec["TV"].estimate
    df, spec, _ = simulate_sfm(800, seed=1, kind="no_mediators")
    dec = decompose(df, spec, seed=0)
    assert dec["IE"].estimate == 0.0 and dec["IE"].se == 0.0
    assert dec["DE"].estimate == dec["ETT"].estimate


def test_tv_is_difference_of_group_means():
    df, spec, _ = simulate_sfm(1000, seed=5, kind="linear_logistic")
    dec = decompose(df, spec, nuisance="linear")
    means = df.groupby("x")["y"].mean()
    assert dec["TV"].estimate == pytest.approx(means[1] - means[0], abs=1e-12)
    p = means.to_numpy()
    n = df["x"].value_counts().sort_index().to_numpy()
    assert dec["TV"].se == pytest.approx(math.sqrt((p * (1 - p) / n).sum()), rel=0.01)


def test_plugin_linear_recovers_truth_and_bootstraps():
    df, spec, truth = simulate_sfm(N, seed=12, kind="linear_logistic")
    dec = decompose(df, spec, method="plugin", nuisance="linear", n_boot=60, seed=1)
    assert dec.method == "plugin" and dec.details["n_boot"] == 60 and dec.n_clipped == 0
    _check_within(dec, truth)
    _check_identities(dec)
    for m in MEASURES:
        assert dec[m].se > 0 and dec[m].lower < dec[m].upper


def test_plugin_gbm_continuous_outcome():
    df, spec, truth = simulate_sfm(N, seed=13, kind="continuous_y")
    dec = decompose(df, spec, method="plugin", n_boot=20, seed=2)
    assert not dec.binary_outcome
    _check_identities(dec)
    # Gradient boosting shrinks the plug-in a little: allow the bootstrap noise plus 10% of the effect.
    for m in MEASURES:
        assert abs(dec[m].estimate - truth[m]) <= 3 * dec[m].se + 0.1 * abs(truth[m]), m


def test_missing_rows_are_dropped_and_counted():
    df, spec, truth = simulate_sfm(1500, seed=4, kind="linear_logistic")
    df = df.astype({"w1": float, "z1": float})
    df.loc[[3, 10, 200], "w1"] = np.nan
    df.loc[[10, 500], "z1"] = np.nan
    df["x"] = df["x"].astype(float)
    df.loc[[7], "x"] = np.nan
    df["note"] = "kept"  # an unanalysed column may hold anything
    dec = decompose(df, spec, nuisance="linear")
    assert dec.n_dropped == 5 and dec.n_used == 1495
    assert dec.n_x0 + dec.n_x1 == 1495


def test_deterministic_and_seed_dependent():
    df, spec, _ = simulate_sfm(600, seed=2, kind="nonlinear")
    a = decompose(df, spec, seed=7).to_dict()
    b = decompose(df, spec, seed=7).to_dict()
    c = decompose(df, spec, seed=8).to_dict()
    a["details"].pop("seconds"), b["details"].pop("seconds"), c["details"].pop("seconds")
    assert a == b
    assert a["measures"]["DE"] != c["measures"]["DE"]


def test_repeated_cross_fitting():
    df, spec, truth = simulate_sfm(1500, seed=6, kind="nonlinear")
    one = decompose(df, spec, nuisance="linear", seed=1)
    three = decompose(df, spec, nuisance="linear", seed=1, repeats=3)
    assert three.details["repeats"] == 3 and one.details["repeats"] == 1
    _check_identities(three)
    assert three["DE"].estimate != one["DE"].estimate
    assert three["TV"].estimate == one["TV"].estimate  # a difference of group means: no folds involved
    _check_within(three, truth)
    with pytest.raises(ConfigError, match="repeats"):
        decompose(df, spec, repeats=0)


def test_input_not_mutated():
    df, spec, _ = simulate_sfm(500, seed=2, kind="categorical_mediator")
    before = df.copy()
    decompose(df, spec, nuisance="linear")
    pd.testing.assert_frame_equal(df, before)


def test_custom_estimators_and_clipping():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    df, spec, truth = simulate_sfm(N, seed=14, kind="linear_logistic")
    dec = decompose(
        df,
        spec,
        outcome_model=LogisticRegression(max_iter=1000),
        propensity_model=RandomForestClassifier(n_estimators=50, min_samples_leaf=20, random_state=0),
    )
    assert dec.details["nuisance"] == "custom"
    _check_within(dec, truth)
    heavy = decompose(df, spec, nuisance="linear", clip=0.3)
    light = decompose(df, spec, nuisance="linear", clip=0.0)
    assert heavy.n_clipped > 0 and light.n_clipped == 0 and heavy.details["clip"] == 0.3


def test_constant_mediator_is_an_error_or_dropped_on_request():
    df, spec, _ = simulate_sfm(1500, seed=5, kind="linear_logistic")
    collapsed = df.assign(w_const=0)
    spec_c = spec.model_copy(update={"mediators": [*spec.mediators, "w_const"]})
    with pytest.raises(SpecError, match="constant"):
        decompose(collapsed, spec_c, nuisance="linear")
    dropped = decompose(collapsed, spec_c, nuisance="linear", constant_columns="drop")
    plain = decompose(df, spec, nuisance="linear")
    assert dropped.details["dropped_constant"] == ["w_const"] and "w_const" not in dropped.details["mediators"]
    assert dropped.estimates() == pytest.approx(plain.estimates(), abs=1e-12)
    assert "dropped_constant" not in plain.details
    # X itself may not be dropped: with one group there is nothing to decompose
    with pytest.raises(SpecError):
        decompose(df.assign(x=df.x.iloc[0]), spec, constant_columns="drop")
    with pytest.raises(ConfigError, match="constant_columns"):
        decompose(df, spec, constant_columns="ignore")


def test_errors_are_user_errors():
    df, spec, _ = simulate_sfm(300, seed=0, kind="linear_logistic")
    with pytest.raises(ConfigError, match="method"):
        decompose(df, spec, method="magic")
    with pytest.raises(ConfigError, match="folds"):
        decompose(df, spec, folds=1)
    with pytest.raises(ConfigError, match="clip"):
        decompose(df, spec, clip=0.7)
    with pytest.raises(ConfigError, match="scikit-learn"):
        decompose(df, spec, outcome_model=object())
    with pytest.raises(SpecError, match="w9"):
        decompose(df, spec.model_copy(update={"mediators": ["w1", "w9"]}))
    tiny = pd.concat([df[df.x == 0].head(50), df[df.x == 1].head(4)])
    with pytest.raises(DataError, match="too few rows"):
        decompose(tiny, spec)
    with pytest.raises(DataError, match="DataFrame"):
        decompose(df.to_numpy(), spec)


def test_json_round_trip():
    df, spec, _ = simulate_sfm(500, seed=3, kind="categorical_mediator")
    dec = decompose(df, spec, nuisance="linear")
    text = dec.to_json()
    data = json.loads(text)
    assert set(data["measures"]) == set(MEASURES)
    assert data["x0"] == "female" and data["x1"] == "male"
    back = Decomposition.from_json(text)
    assert back.to_dict() == dec.to_dict()
    assert isinstance(back["DE"], Estimate) and back["DE"].estimate == dec["DE"].estimate
    assert set(back.means) == {"E[Y|x0]", "E[Y|x1]", "E[Y_x1|x0]", "E[Y_x1,W_x0|x0]"}
    assert list(dec.to_frame().index) == list(MEASURES)
    assert "DE" in str(dec)
    with pytest.raises(DataError):
        Decomposition.from_dict({"nope": 1})


def test_plot_one_and_two(tmp_path):
    from matplotlib.figure import Figure

    df, spec, _ = simulate_sfm(500, seed=3, kind="linear_logistic")
    real = decompose(df, spec, nuisance="linear")
    other = decompose(simulate_sfm(500, seed=4, kind="linear_logistic")[0], spec, nuisance="linear")
    fig = real.plot()
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == len(MEASURES)
    fig2 = real.plot(other, labels=["real", "synthetic"])
    assert len(fig2.axes[0].patches) == 2 * len(MEASURES)
    assert [t.get_text() for t in fig2.axes[0].get_legend().get_texts()] == ["real", "synthetic"]
    fig2.savefig(tmp_path / "dec.png")
    assert (tmp_path / "dec.png").stat().st_size > 1000


def test_top_level_export():
    import faircausesyn

    assert faircausesyn.decompose is decompose
