"""The exact (estimation-free) direct effect of predictors in the predictor_bias evaluator."""

from __future__ import annotations

import numpy as np

import faircausesyn as fcs
from faircausesyn.testing import toy_sfm


def _metrics(real, synthetic, spec, holdout):
    ev = fcs.get_evaluator("predictor_bias", fair_predictor=False, model="logistic")
    return {m.name: m.value for m in ev.evaluate(real, synthetic, spec, holdout=holdout)}


def test_exact_de_is_zero_for_a_predictor_blind_to_x_and_positive_otherwise():
    df, spec = toy_sfm(3000, seed=4)
    train, holdout = df.iloc[:2000].reset_index(drop=True), df.iloc[2000:].reset_index(drop=True)
    blind = train.copy()
    blind[spec.sensitive] = np.random.default_rng(0).permutation(blind[spec.sensitive].to_numpy())
    m = _metrics(train, blind, spec, holdout)
    assert m["DE_exact_pred_real"] > 0.03  # the toy SFM has a direct effect of +0.6 on the logit
    assert abs(m["DE_exact_pred_synthetic"]) < 0.3 * m["DE_exact_pred_real"]
    assert m["DE_exact_bias_reduction"] > 0.7
    same = _metrics(train, train.copy(), spec, holdout)
    assert same["DE_exact_pred_real"] == same["DE_exact_pred_synthetic"] and same["DE_exact_bias_reduction"] == 0.0
