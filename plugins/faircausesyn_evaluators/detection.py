"""``detection``: how well a classifier tells real rows from synthetic ones (cross-validated AUC; 0.5 is best)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from faircausesyn import Evaluator, Metric
from faircausesyn.errors import DataError
from faircausesyn.interfaces import ComponentConfig

from ._features import FeatureEncoder, categorical_columns


class DetectionConfig(ComponentConfig):
    """The classifier, the folds and the row cap (equal numbers of real and synthetic rows are used)."""

    classifier: Literal["gbm", "logistic"] = "gbm"
    folds: int = Field(5, ge=2)
    max_rows: int = Field(10_000, ge=20, description="at most this many rows of each table")
    seed: int = 0


class Detection(Evaluator):
    """``detection_auc``: stratified cross-validated ROC AUC of a real-vs-synthetic classifier on the analysed columns.

    Both tables are subsampled to the same size, so 0.5 means indistinguishable
    (ideal). Identical rows are kept in the same fold, so exact copies count as
    indistinguishable rather than as memorised; ``detection_score`` = 1 - 2 |AUC - 0.5| (1 is best) is reported too.
    """

    Config = DetectionConfig

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        from sklearn.model_selection import StratifiedGroupKFold
        from sklearn.metrics import roc_auc_score

        c = self.config
        cols = spec.analysed
        rng = np.random.default_rng(c.seed)
        n = min(len(real), len(synthetic), c.max_rows)
        if n < c.folds:
            raise DataError(f"too few rows for detection: {n}", hint="give at least as many rows as folds")
        r = real[cols].iloc[rng.choice(len(real), n, replace=False)].reset_index(drop=True)
        s = synthetic[cols].iloc[rng.choice(len(synthetic), n, replace=False)].reset_index(drop=True)
        enc = FeatureEncoder(cols, categorical_columns(spec)).fit(r, s)
        features = np.vstack([enc.transform(r), enc.transform(s)])
        label = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
        # Identical rows share a fold: a synthetic copy of a real row (or a duplicated real row) must not be
        # "recognised" from its twin with the other label in the training folds.
        groups = pd.util.hash_pandas_object(pd.DataFrame(np.round(features, 9)), index=False).to_numpy()
        scores = np.empty(2 * n)
        splitter = StratifiedGroupKFold(c.folds, shuffle=True, random_state=c.seed)
        for train, test in splitter.split(features, label, groups):
            model = _classifier(c.classifier, c.seed)
            model.fit(features[train], label[train])
            scores[test] = model.predict_proba(features[test])[:, 1]
        auc = float(roc_auc_score(label, scores))
        details = {"rows_each": n, "classifier": c.classifier, "folds": c.folds}
        return [
            Metric("detection_auc", auc, ideal=0.5, goal="target", details=details),
            Metric("detection_score", 1.0 - 2.0 * abs(auc - 0.5), ideal=1.0, goal="max", details=details),
        ]


def _classifier(kind: str, seed: int):
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False, random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)



