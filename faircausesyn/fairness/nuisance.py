"""Nuisance models of the estimators: feature encoding and fit-and-predict helpers.

The outcome models estimate E[Y | x1, z, w] and E[Y | x1, z]; the propensity
models estimate P(x1 | z) and P(x1 | z, w). Any scikit-learn estimator can be
given (it is cloned for every fit); by default histogram gradient boosting with
small, fast settings, or penalised linear/logistic regression (``"linear"``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError

NuisanceKind = Literal["gbm", "linear"]

#: Settings of the default gradient-boosting nuisance models. Early stopping on a 20% validation
#: split of each training fold picks the number of trees from the data: few on 300 rows (where
#: over-fitted propensities give extreme weights), more on 100k rows (where a fixed small model
#: would under-fit); small trees and 63 bins keep 100k rows x 20 columns fast.
GBM_PARAMS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "max_bins": 63,
    "early_stopping": True,
    "validation_fraction": 0.2,
    "n_iter_no_change": 10,
}


def encode(frame: pd.DataFrame, columns: list[str], categorical: set[str]) -> np.ndarray:
    """A float design matrix of ``columns``: numbers as they are, categoricals one-hot (first level dropped)."""
    parts: list[np.ndarray] = []
    for c in columns:
        s = frame[c]
        if c in categorical or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            levels = sorted(pd.unique(s), key=lambda v: (str(type(v)), str(v)))
            codes = pd.Categorical(s, categories=levels).codes
            if len(levels) > 1:
                parts.append(np.eye(len(levels), dtype=float)[codes][:, 1:])
        else:
            parts.append(s.to_numpy(dtype=float).reshape(-1, 1))
    if not parts:
        return np.zeros((len(frame), 0))
    return np.hstack(parts)


def default_outcome_model(kind: NuisanceKind, binary: bool, seed: int) -> Any:
    """The built-in outcome model: a classifier for binary Y, a regressor otherwise."""
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor
        return cls(**GBM_PARAMS, random_state=seed)
    if kind == "linear":
        from sklearn.linear_model import LogisticRegression, RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = LogisticRegression(C=1.0, max_iter=2000) if binary else RidgeCV(alphas=(1e-3, 1e-2, 1e-1, 1.0, 10.0))
        return make_pipeline(StandardScaler(), model)
    raise ConfigError(f"unknown nuisance model kind {kind!r}", hint="use nuisance='gbm' or nuisance='linear', or pass outcome_model=/propensity_model=")


def default_propensity_model(kind: NuisanceKind, seed: int) -> Any:
    """The built-in propensity model P(x1 | features)."""
    return default_outcome_model(kind, True, seed)


def check_estimator(model: Any, role: str) -> None:
    """Raise :class:`ConfigError` unless ``model`` has the scikit-learn ``fit``/``predict`` interface."""
    if not (hasattr(model, "fit") and (hasattr(model, "predict") or hasattr(model, "predict_proba"))):
        raise ConfigError(
            f"the {role} model {type(model).__name__} is not a scikit-learn estimator (it needs fit and predict or predict_proba)",
            hint="pass e.g. sklearn.ensemble.RandomForestClassifier()",
        )


def _clone(model: Any) -> Any:
    from sklearn.base import clone

    try:
        return clone(model)
    except TypeError:
        import copy

        return copy.deepcopy(model)


def fit_predict_mean(model: Any, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, binary: bool) -> np.ndarray:
    """Fit a clone of ``model`` and predict E[y | x] at ``x_test`` (a probability when ``binary``).

    Without features, or when the training outcome is constant, the prediction
    is the training mean (a model cannot learn more from it).
    """
    if len(y_train) == 0:
        raise ValueError("no training rows")
    if x_train.shape[1] == 0 or np.ptp(y_train) == 0:
        return np.full(len(x_test), float(np.mean(y_train)))
    m = _clone(model)
    if binary and getattr(m, "early_stopping", None) is True and min(np.bincount(y_train.astype(int), minlength=2)) < 10:
        # Too few rows of a class for a stratified validation split: a short fixed run instead.
        m.set_params(early_stopping=False, max_iter=min(int(getattr(m, "max_iter", 50)), 30))
    if binary and hasattr(m, "predict_proba"):
        m.fit(x_train, y_train.astype(int))
        classes = list(getattr(m, "classes_", [0, 1]))
        proba = m.predict_proba(x_test)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(x_test))
    m.fit(x_train, y_train)
    pred = np.asarray(m.predict(x_test), dtype=float).ravel()
    return np.clip(pred, 0.0, 1.0) if binary else pred
