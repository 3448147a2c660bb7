"""``utility``: train on synthetic, test on real (TSTR) against train on real, test on real (TRTR)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from faircausesyn import Evaluator, Metric
from faircausesyn.errors import DataError
from faircausesyn.interfaces import ComponentConfig

from ._features import FeatureEncoder, categorical_columns, is_binary, resolve_holdout


class UtilityConfig(ComponentConfig):
    """The models and, without a holdout table, the share of real rows split off for testing."""

    models: list[str] = Field(default_factory=lambda: ["gbm", "logistic"], description="any of gbm, logistic")
    holdout_share: float = Field(0.3, gt=0.0, lt=1.0)
    seed: int = 0


def make_model(kind: str, binary: bool, seed: int):
    """A fresh predictor of Y: gradient boosting or (logistic / ridge) regression."""
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor
        return cls(max_iter=100, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False, random_state=seed)
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression, Ridge

        return LogisticRegression(max_iter=2000) if binary else Ridge(alpha=1.0)
    raise DataError(f"unknown model {kind!r}", hint="use gbm or logistic")


def fit_predict(kind: str, binary: bool, seed: int, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Predictions (P(Y=1) for binary Y) of a model trained on ``(x_train, y_train)``; a constant if y_train is."""
    if np.ptp(y_train) == 0:
        return np.full(len(x_test), float(y_train[0]))
    m = make_model(kind, binary, seed)
    m.fit(x_train, y_train.astype(int) if binary else y_train)
    return m.predict_proba(x_test)[:, 1] if binary else m.predict(x_test)


class Utility(Evaluator):
    """TSTR and TRTR scores of Y from X, Z and W on real test rows, per model.

    Binary Y: ``<model>_tstr_auc``, ``<model>_trtr_auc``, ``<model>_auc_gap``
    (TSTR - TRTR, ideal 0) and the same for accuracy; numeric Y: R^2. Without a
    holdout, part of the real table is split off as test rows (see details).
    """

    Config = UtilityConfig
    needs_holdout = True

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

        c = self.config
        split = resolve_holdout(real, synthetic, spec, holdout, share=c.holdout_share, seed=c.seed)
        features = [spec.sensitive, *spec.confounders, *spec.mediators]
        y_col = spec.outcome
        frames = [f.dropna(subset=[*features, y_col]) for f in (split.train, split.test, split.synthetic)]
        train, test, syn = frames
        binary = is_binary(train[y_col])
        enc = FeatureEncoder(features, categorical_columns(spec)).fit(train, syn, test)
        xs = {k: enc.transform(f) for k, f in (("train", train), ("test", test), ("syn", syn))}
        ys = {k: f[y_col].to_numpy(dtype=float) for k, f in (("train", train), ("test", test), ("syn", syn))}
        if binary and len(np.unique(ys["test"])) < 2:
            raise DataError("the real test rows hold one outcome class only; AUC is undefined", hint="use a larger holdout")
        details = {"holdout": split.note, "rows_train": len(train), "rows_test": len(test), "rows_synthetic": len(syn)}
        metrics: list[Metric] = []
        for kind in c.models:
            scores = {}
            for src in ("syn", "train"):
                pred = fit_predict(kind, binary, c.seed, xs[src], ys[src], xs["test"])
                if binary:
                    scores[src] = {"auc": float(roc_auc_score(ys["test"], pred)), "accuracy": float(accuracy_score(ys["test"], pred >= 0.5))}
                else:
                    scores[src] = {"r2": float(r2_score(ys["test"], pred))}
            for score in scores["syn"]:
                tstr, trtr = scores["syn"][score], scores["train"][score]
                metrics += [
                    Metric(f"{kind}_tstr_{score}", tstr, goal="max", details=details),
                    Metric(f"{kind}_trtr_{score}", trtr, goal="max", details=details),
                    Metric(f"{kind}_{score}_gap", tstr - trtr, ideal=0.0, goal="target", details=details),
                ]
        return metrics
