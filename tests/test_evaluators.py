"""The built-in evaluators: conformance kit, real-vs-real ideals, and sensitivity to broken synthetic data."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from scm import simulate_sfm

from faircausesyn import get_evaluator
from faircausesyn.errors import ConfigError
from faircausesyn.plugins import PluginHost
from faircausesyn.testing import check_evaluator

NAMES = ["causal_fairness", "fidelity", "detection", "utility", "predictor_bias", "privacy"]
FAST = {"predictor_bias": {"nuisance": "linear", "lambdas": [0.0, 100.0]}, "causal_fairness": {"nuisance": "linear"}}


def _metrics(ms):
    return {m.name: m for m in ms}


@pytest.fixture(scope="module")
def scm_tables():
    real, spec, _ = simulate_sfm(1200, seed=21, kind="categorical_mediator")
    holdout, _, _ = simulate_sfm(600, seed=22, kind="categorical_mediator")
    fresh, _, _ = simulate_sfm(1200, seed=23, kind="categorical_mediator")
    return real, holdout, fresh, spec


def test_registered_lazily():
    import subprocess

    assert set(NAMES) <= set(PluginHost().registry("evaluator").names())
    code = (
        "import sys; from faircausesyn.plugins import PluginHost; "
        "names = PluginHost().registry('evaluator').names(); "
        "print(sorted(m for m in ('sdmetrics', 'faircausesyn_evaluators.fidelity', 'scipy.optimize') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("name", NAMES)
def test_conformance_kit(name):
    check_evaluator(lambda: get_evaluator(name, **FAST.get(name, {})))


def test_causal_fairness_real_vs_real_and_broken(scm_tables):
    real, _, fresh, spec = scm_tables
    ev = get_evaluator("causal_fairness", nuisance="linear")
    same = _metrics(ev.evaluate(real, real.copy(), spec))
    for m in ("TV", "DE", "IE", "SE", "ETT"):
        assert same[f"{m}_abs_deviation"].value == 0.0
        assert same[f"{m}_in_real_interval"].value == 1.0
    assert same["share_in_real_interval"].value == 1.0
    assert set(same["max_abs_deviation"].details) == {"real", "synthetic"}
    # Another draw of the same SCM: deviations are sampling noise, within a few standard errors.
    other = _metrics(ev.evaluate(real, fresh, spec))
    se_tv = other["TV_real"].details["se"]
    assert other["TV_abs_deviation"].value < 4 * math.sqrt(2) * se_tv
    # X shuffled: TV disappears, so the synthetic TV leaves the real interval.
    broken = fresh.copy()
    broken["x"] = np.random.default_rng(0).permutation(broken["x"].to_numpy())
    bad = _metrics(ev.evaluate(real, broken, spec))
    assert bad["TV_in_real_interval"].value == 0.0
    assert bad["TV_abs_deviation"].value > 5 * other["TV_abs_deviation"].value
    tv = abs(bad["TV_real"].value)
    assert bad["DE_rel_deviation"].value == pytest.approx(bad["DE_abs_deviation"].value / tv)
    # A mediator collapsed to one value (as TVAE does) is left out of the synthetic decomposition, not an error.
    w = spec.mediators[0]
    collapsed = _metrics(ev.evaluate(real, fresh.assign(**{w: fresh[w].iloc[0]}), spec))
    assert collapsed["max_abs_deviation"].details["synthetic"]["details"]["dropped_constant"] == [w]
    assert math.isfinite(collapsed["IE_synthetic"].value)


def test_fidelity(scm_tables):
    real, _, fresh, spec = scm_tables
    ev = get_evaluator("fidelity")
    same = _metrics(ev.evaluate(real, real.copy(), spec))
    assert same["quality_score"].value == pytest.approx(1.0, abs=1e-9)
    good = _metrics(ev.evaluate(real, fresh, spec))
    rng = np.random.default_rng(1)
    shuffled = fresh.apply(lambda s: rng.permutation(s.to_numpy()))  # each column on its own: dependence gone
    bad = _metrics(ev.evaluate(real, shuffled, spec))
    assert good["column_pair_trends"].value > bad["column_pair_trends"].value
    assert bad["column_shapes"].value > 0.9  # shuffling keeps every marginal
    assert set(good["column_shapes"].details["per_column"]) == set(spec.analysed)


def test_detection(scm_tables):
    real, _, fresh, spec = scm_tables
    ev = get_evaluator("detection")
    assert _metrics(ev.evaluate(real, real.copy(), spec))["detection_auc"].value == pytest.approx(0.5, abs=0.02)
    fair = _metrics(ev.evaluate(real, fresh, spec))["detection_auc"].value
    assert abs(fair - 0.5) < 0.08
    shifted = fresh.copy()
    shifted["w1"] = shifted["w1"] + 1.0
    assert _metrics(ev.evaluate(real, shifted, spec))["detection_auc"].value > 0.7
    with pytest.raises(ConfigError):
        get_evaluator("detection", classifier="svm")


def test_utility(scm_tables):
    real, holdout, fresh, spec = scm_tables
    ev = get_evaluator("utility")
    same = _metrics(ev.evaluate(real, real.copy(), spec, holdout=holdout))
    for model in ("gbm", "logistic"):
        assert same[f"{model}_tstr_auc"].value == pytest.approx(same[f"{model}_trtr_auc"].value, abs=1e-12)
        assert same[f"{model}_auc_gap"].value == pytest.approx(0.0, abs=1e-12)
        assert 0.6 < same[f"{model}_trtr_auc"].value < 1.0
    # Without a holdout the real table is split and copies of test rows are left out of synthetic training.
    split = _metrics(ev.evaluate(real, real.copy(), spec))
    assert split["logistic_auc_gap"].value == pytest.approx(0.0, abs=1e-12)
    assert "split off" in split["logistic_auc_gap"].details["holdout"]
    noise = fresh.copy()
    noise["y"] = np.random.default_rng(0).permutation(noise["y"].to_numpy())
    bad = _metrics(ev.evaluate(real, noise, spec, holdout=holdout))
    assert bad["logistic_tstr_auc"].value < 0.6 < bad["logistic_trtr_auc"].value


def test_utility_numeric_outcome():
    real, spec, _ = simulate_sfm(800, seed=3, kind="continuous_y")
    hold, _, _ = simulate_sfm(400, seed=4, kind="continuous_y")
    ms = _metrics(get_evaluator("utility", models=["logistic"]).evaluate(real, real.copy(), spec, holdout=hold))
    assert ms["logistic_trtr_r2"].value > 0.5 and ms["logistic_r2_gap"].value == pytest.approx(0.0, abs=1e-12)


def test_predictor_bias_and_fair_predictor(scm_tables):
    real, holdout, fresh, spec = scm_tables
    ev = get_evaluator("predictor_bias", nuisance="linear", lambdas=[0.0, 300.0])
    same = _metrics(ev.evaluate(real, real.copy(), spec, holdout=holdout))
    for m in ("DE", "IE", "SE"):
        assert same[f"{m}_bias_reduction"].value == pytest.approx(0.0, abs=1e-12)
    assert same["DE_pred_real"].value > 0.03  # the SCM has a direct effect the predictor learns
    # The fair predictor, penalised on every pathway, has much smaller effects than the unpenalised one.
    plain = [same[f"fair_lambda0_{m}"].value for m in ("DE", "IE", "SE")]
    fair = [same[f"fair_lambda300_{m}"].value for m in ("DE", "IE", "SE")]
    assert sum(map(abs, fair)) < 0.5 * sum(map(abs, plain))
    assert same["fair_lambda300_auc"].value > 0.55
    grid = same["fair_predictor_grid"].details["grid"]
    assert [g["lambda"] for g in grid] == [0.0, 300.0]
    # Business necessity: the direct pathway is kept, so its effect stays near the unpenalised one.
    bn = _metrics(get_evaluator("predictor_bias", nuisance="linear", lambdas=[300.0], business_necessity=["direct"]).evaluate(real, real.copy(), spec, holdout=holdout))
    assert abs(bn["fair_lambda300_DE"].value) > 0.5 * abs(plain[0])
    assert abs(bn["fair_lambda300_IE"].value) < abs(plain[1])
    # Synthetic data with the X -> Y dependence removed gives a predictor with less direct bias.
    no_direct = fresh.copy()
    no_direct["y"] = no_direct.groupby("w2")["y"].transform(lambda s: s.sample(frac=1, random_state=0).to_numpy())
    red = _metrics(get_evaluator("predictor_bias", nuisance="linear", fair_predictor=False).evaluate(real, no_direct, spec, holdout=holdout))
    assert red["DE_bias_reduction"].value > 0.3
    assert not any(k.startswith("fair_") for k in red)
    with pytest.raises(ConfigError):
        get_evaluator("predictor_bias", business_necessity=["sideways"])


def test_privacy(scm_tables):
    real, holdout, fresh, spec = scm_tables
    ev = get_evaluator("privacy")
    copy = _metrics(ev.evaluate(real, real.copy(), spec, holdout=holdout))
    assert copy["exact_copy_rate"].value == 1.0 and copy["dcr_synthetic_median"].value == 0.0
    indep = _metrics(ev.evaluate(real, fresh, spec, holdout=holdout))
    assert indep["exact_copy_rate"].value == 0.0
    assert 0.7 < indep["dcr_ratio"].value < 1.4
    assert indep["share_closer_than_holdout_p5"].value < 0.15


def test_metrics_are_json_ready(scm_tables):
    real, holdout, fresh, spec = scm_tables
    for name in ("causal_fairness", "privacy"):
        ms = get_evaluator(name, **FAST.get(name, {})).evaluate(real, fresh, spec, holdout=holdout)
        json.dumps([m.to_dict() for m in ms])
