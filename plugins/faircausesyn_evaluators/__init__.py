"""Built-in evaluators of synthetic tables.

``causal_fairness`` (the decomposition of real and synthetic data and the
deviations), ``fidelity`` (SDMetrics quality report), ``detection`` (real vs
synthetic classifier AUC), ``utility`` (TSTR against TRTR), ``predictor_bias``
(decomposition of predictors' outputs, with a causally fair predictor) and
``privacy`` (distance to closest record, exact copies). Registered lazily: the
modules (and scikit-learn, sdmetrics) are imported only when an evaluator is used.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_evaluators(registry):
    registry.register("causal_fairness", "faircausesyn_evaluators.causal:CausalFairness", description="TV, ctf-DE/IE/SE, ETT of real and synthetic data and their deviations")
    registry.register("fidelity", "faircausesyn_evaluators.fidelity:Fidelity", description="SDMetrics quality report: column shapes, pair trends, overall score")
    registry.register("detection", "faircausesyn_evaluators.detection:Detection", description="cross-validated AUC of a real-vs-synthetic classifier (0.5 is best)")
    registry.register("utility", "faircausesyn_evaluators.utility:Utility", description="train on synthetic, test on real (TSTR) against TRTR: AUC, accuracy")
    registry.register("predictor_bias", "faircausesyn_evaluators.predictor_bias:PredictorBias", description="decomposition of predictors' outputs on real holdout rows; causally fair predictor")
    registry.register("privacy", "faircausesyn_evaluators.privacy:Privacy", description="distance to closest record against a real holdout; exact-copy rate")
