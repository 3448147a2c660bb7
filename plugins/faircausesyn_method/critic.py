"""The adversarial critic: a discriminator of real against proposed rows.

A small histogram gradient-boosting classifier learns to tell the real training
rows (label 1) from a batch of the generator's proposals (label 0). Its
probability ``p`` gives the density-ratio estimate ``w = p / (1 - p) * n0 / n1``
(how much more likely a row is under the real distribution than under the
generator's). Discriminator rejection sampling (Azadi et al. 2019) keeps a
proposal with probability ``min(1, w / w_ref) ** strength``, where ``w_ref`` is a
high quantile of the weights: unrealistic rows (small ``w``) are dropped,
realistic ones kept. ``strength=0`` accepts everything; weights are clipped
to ``[1 / max_weight, max_weight]`` so a noisy critic cannot veto a whole region.
The proposals' scores are cross-fitted (out of fold), so a row is never scored
by a model that saw it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.schema import TableSchema


def encode_features(data: pd.DataFrame, schema: TableSchema) -> np.ndarray:
    """Numeric matrix of a table: discrete columns as category codes, numbers as floats."""
    cols = []
    for c in schema.columns:
        s = data[c.name].reset_index(drop=True)
        if c.is_discrete:
            lookup = {str(v): i for i, v in enumerate(c.categories or [])}
            cols.append(s.map(lambda v, lk=lookup: lk.get(str(v), np.nan)).to_numpy(dtype=float))
        else:
            cols.append(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.zeros((len(data), 0))


class Critic:
    """A real-vs-synthetic discriminator used for rejection sampling of proposals."""

    def __init__(self, schema: TableSchema, *, strength: float = 1.0, max_weight: float = 10.0, quantile: float = 0.9, seed: int = 0, max_iter: int = 100) -> None:
        self.schema = schema
        self.strength = float(strength)
        self.max_weight = float(max_weight)
        self.quantile = float(quantile)
        self.seed = int(seed)
        self.max_iter = int(max_iter)
        self.model_: Any = None

    def _new(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        cat = [i for i, c in enumerate(self.schema.columns) if c.is_discrete]
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=10,
            l2_regularization=1.0,
            early_stopping=False,
            categorical_features=cat or None,
            random_state=self.seed,
        )

    def fit(self, real: pd.DataFrame, proposals: pd.DataFrame) -> dict[str, float]:
        """Train on ``real`` vs ``proposals``; returns the cross-fitted AUC (0.5: indistinguishable)."""
        from sklearn.metrics import roc_auc_score

        xr, xs = encode_features(real, self.schema), encode_features(proposals, self.schema)
        x = np.vstack([xr, xs])
        y = np.r_[np.ones(len(xr)), np.zeros(len(xs))]
        rng = np.random.default_rng(self.seed)
        fold = rng.integers(0, 2, len(y))
        oof = np.zeros(len(y))
        for f in (0, 1):
            m = self._new().fit(x[fold != f], y[fold != f])
            oof[fold == f] = m.predict_proba(x[fold == f])[:, 1]
        self.model_ = self._new().fit(x, y)
        self.ratio_ = len(xs) / max(len(xr), 1)
        auc = float(roc_auc_score(y, oof)) if len(set(y)) == 2 else float("nan")
        self.auc_ = auc
        return {"critic_auc": auc}

    def weights(self, rows: pd.DataFrame) -> np.ndarray:
        """Clipped density-ratio weights p/(1-p) (class-balance corrected) of ``rows``."""
        if self.model_ is None:
            return np.ones(len(rows))
        p = self.model_.predict_proba(encode_features(rows, self.schema))[:, 1]
        p = np.clip(p, 1e-6, 1 - 1e-6)
        w = p / (1 - p) * self.ratio_
        return np.clip(w, 1.0 / self.max_weight, self.max_weight)

    def accept(self, rows: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Boolean mask of rows kept by discriminator rejection sampling, and their weights."""
        w = self.weights(rows)
        if self.strength <= 0 or self.model_ is None or len(rows) == 0:
            return np.ones(len(rows), dtype=bool), w
        ref = float(np.quantile(w, self.quantile))
        prob = np.minimum(1.0, w / max(ref, 1e-12)) ** self.strength
        u = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7]).random(len(rows))
        return u < prob, w
