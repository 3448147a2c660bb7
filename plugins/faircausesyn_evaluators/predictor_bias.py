"""``predictor_bias``: the causal fairness decomposition of predictors' outputs on real holdout rows."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from faircausesyn import Evaluator, Metric
from faircausesyn.interfaces import ComponentConfig

from ._features import FeatureEncoder, categorical_columns, is_binary, resolve_holdout
from .fair_predictor import FairPredictor
from .utility import fit_predict

EFFECTS = ("TV", "DE", "IE", "SE")


class PredictorBiasConfig(ComponentConfig):
    """The predictor, the fair predictor's penalty grid and business-necessity set, and the decomposition settings."""

    model: Literal["gbm", "logistic"] = "gbm"
    lambdas: list[float] = Field(default_factory=lambda: [0.0, 10.0, 100.0], description="penalty weights of the fair predictor")
    business_necessity: list[str] = Field(default_factory=list, description="pathways the fair predictor may keep")
    fair_predictor: bool = True
    method: Literal["debiased", "plugin"] = "debiased"
    nuisance: Literal["gbm", "linear"] = "gbm"
    folds: int = Field(5, ge=2)
    holdout_share: float = Field(0.3, gt=0.0, lt=1.0)
    seed: int = 0

    @field_validator("business_necessity", mode="before")
    @classmethod
    def _pathways(cls, v):
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",") if s.strip()]
        bad = [p for p in v if p not in ("direct", "indirect", "spurious")]
        if bad:
            raise ValueError(f"unknown pathway(s) {bad}; choose from direct, indirect, spurious")
        return list(v)

    @field_validator("lambdas")
    @classmethod
    def _nonneg(cls, v):
        if not v or any(x < 0 for x in v):
            raise ValueError("lambdas must be a non-empty list of numbers >= 0")
        return v


class PredictorBias(Evaluator):
    """Bias of predictors of Y trained on real and on synthetic rows, measured on real holdout rows.

    Y is replaced by each predictor's output on the holdout and decomposed:
    ``<M>_pred_real`` and ``<M>_pred_synthetic`` (M in TV, DE, IE, SE),
    ``<M>_bias_reduction`` = 1 - |M_synthetic| / |M_real| (positive: the
    predictor trained on synthetic data is less biased along that pathway),
    ``DE_exact_pred_<src>`` and ``DE_exact_bias_reduction``: the predictor's
    ctf-DE computed without estimation, because the predictor is a known
    function f: the mean of f(x1, z, w) - f(x0, z, w) over the holdout's x0 rows
    (far less noisy than the estimated DE on a small holdout),
    and the predictors' AUC (binary Y) or R^2. With ``fair_predictor``, a
    penalised predictor trained on the real rows (penalty ``lambda`` on its DE,
    IE and SE except ``business_necessity`` pathways) over the ``lambdas`` grid:
    ``fair_lambda<L>_<M>`` and ``fair_lambda<L>_auc``; the grid is in the
    details of ``fair_predictor_grid``.
    """

    Config = PredictorBiasConfig
    needs_holdout = True

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        from sklearn.metrics import r2_score, roc_auc_score

        from faircausesyn.fairness import decompose

        c = self.config
        split = resolve_holdout(real, synthetic, spec, holdout, share=c.holdout_share, seed=c.seed)
        features = [spec.sensitive, *spec.confounders, *spec.mediators]
        cols = [*features, spec.outcome]
        train, test, syn = (f[cols].dropna().reset_index(drop=True) for f in (split.train, split.test, split.synthetic))
        binary = is_binary(train[spec.outcome])
        enc = FeatureEncoder(features, categorical_columns(spec)).fit(train, syn, test)
        y_test = test[spec.outcome].to_numpy(dtype=float)
        pred_spec = spec.model_copy(update={"other": [], "column_types": {k: v for k, v in spec.column_types.items() if k in features}})
        dkw = {"method": c.method, "nuisance": c.nuisance, "folds": c.folds, "seed": c.seed}

        def score(pred: np.ndarray) -> float:
            if binary:
                return float(roc_auc_score(y_test, pred)) if len(np.unique(y_test)) > 1 else float("nan")
            return float(r2_score(y_test, pred))

        def decompose_prediction(pred: np.ndarray):
            frame = test[features].copy()
            frame[spec.outcome] = pred
            if np.ptp(pred) == 0:  # a constant predictor has no disparity at all
                return None
            return decompose(frame, pred_spec, **dkw)

        score_name = "auc" if binary else "r2"
        details = {"holdout": split.note, "rows_test": len(test), "model": c.model}
        decs = {}
        metrics: list[Metric] = []
        # The predictor is a known function f(x, z, w), so its ctf-DE on the holdout needs no estimation:
        # E[f(x1, Z, W) - f(x0, Z, W) | x0] over the holdout's x0 rows (W there is W_{x0}).
        x_test = spec.x_indicator(test)
        x0_rows = test[x_test == 0].reset_index(drop=True)
        flipped = x0_rows.copy()
        flipped[spec.sensitive] = spec.level_value(test[spec.sensitive], "x1")
        exact_de: dict[str, float] = {}
        for src, frame in (("real", train), ("synthetic", syn)):
            stacked = enc.transform(test), enc.transform(flipped), enc.transform(x0_rows)
            out = fit_predict(c.model, binary, c.seed, enc.transform(frame), frame[spec.outcome].to_numpy(dtype=float), np.vstack(stacked))
            pred = out[: len(test)]
            exact_de[src] = float(np.mean(out[len(test) : len(test) + len(x0_rows)] - out[len(test) + len(x0_rows) :])) if len(x0_rows) else 0.0
            decs[src] = decompose_prediction(pred)
            metrics.append(Metric(f"{score_name}_pred_{src}", score(pred), goal="max", details=details))
            metrics.append(Metric(f"DE_exact_pred_{src}", exact_de[src], details={"rows_x0": len(x0_rows), "how": "mean of f(x1,z,w) - f(x0,z,w) over holdout x0 rows"}))
        red = 1.0 - abs(exact_de["synthetic"]) / abs(exact_de["real"]) if abs(exact_de["real"]) > 1e-12 else 0.0
        metrics.append(Metric("DE_exact_bias_reduction", red, details={"real": exact_de["real"], "synthetic": exact_de["synthetic"]}))
        for m in EFFECTS:
            eff = {src: (decs[src][m].estimate if decs[src] is not None else 0.0) for src in decs}
            for src in ("real", "synthetic"):
                metrics.append(Metric(f"{m}_pred_{src}", eff[src], details=decs[src][m].to_dict() if decs[src] is not None else {}))
            reduction = 1.0 - abs(eff["synthetic"]) / abs(eff["real"]) if abs(eff["real"]) > 1e-12 else 0.0
            metrics.append(Metric(f"{m}_bias_reduction", reduction, details={"real": eff["real"], "synthetic": eff["synthetic"]}))
        if c.fair_predictor:
            metrics += self._fair_grid(train, test, spec, binary, score, decompose_prediction, score_name)
        return metrics

    def _fair_grid(self, train, test, spec, binary, score, decompose_prediction, score_name) -> list[Metric]:
        c = self.config
        grid = []
        metrics: list[Metric] = []
        for lam in c.lambdas:
            model = FairPredictor(lam, keep=c.business_necessity, binary=binary).fit(train, spec)
            pred = model.predict(test)
            dec = decompose_prediction(pred)
            row = {"lambda": lam, score_name: score(pred), "converged": model.converged_, "train_effects": model.train_effects_}
            tag = f"fair_lambda{lam:g}"
            for m in EFFECTS:
                row[m] = dec[m].estimate if dec is not None else 0.0
                row[f"{m}_se"] = dec[m].se if dec is not None else 0.0
                if m != "TV":
                    metrics.append(Metric(f"{tag}_{m}", row[m], goal="target" if _pathway(m) in c.business_necessity else "min", details={"se": row[f"{m}_se"]}))
            metrics.append(Metric(f"{tag}_{score_name}", row[score_name], goal="max"))
            grid.append(row)
        best = max(c.lambdas)
        metrics.append(Metric("fair_predictor_grid", float(len(grid)), details={"grid": grid, "business_necessity": list(c.business_necessity), "strongest_lambda": best}))
        return metrics


def _pathway(measure: str) -> str:
    return {"DE": "direct", "IE": "indirect", "SE": "spurious"}[measure]
