"""A causally fair predictor: a logistic (or linear) model trained with a penalty on its own DE, IE and SE.

As faircause's ``fair_predictions``, the loss is the prediction loss plus
``lam * (DE^2 + IE^2 + SE^2)`` of the predictor's output, leaving out the
pathways in the business-necessity set. The predictor's measures on the
training rows are differentiable plug-ins: f is a known function of (X, Z, W),
so for the x0 rows f(x1, z, w) is its value under X = x1 with W_{x0} kept, and
E[f_{x1} | x0] is the mean of f over the x1 rows reweighted by
P(x0 | z) / P(x1 | z) (a propensity fitted once by logistic regression).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from faircausesyn import CausalSpec

from ._features import FeatureEncoder, categorical_columns

PATHWAY_MEASURE = {"direct": "DE", "indirect": "IE", "spurious": "SE"}


def _expit(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


class FairPredictor:
    """Penalised logistic (binary Y) or linear (numeric Y) regression of Y on X, Z and W."""

    def __init__(self, lam: float, keep: Iterable[str] = (), *, binary: bool = True, l2: float = 1e-3, clip: float = 0.01, max_iter: int = 500) -> None:
        self.lam = float(lam)
        self.keep = frozenset(keep)
        self.binary = binary
        self.l2 = l2
        self.clip = clip
        self.max_iter = max_iter

    # -------------------------------------------------------------- design
    def _design(self, frame: pd.DataFrame, x: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(frame), 1)), x.reshape(-1, 1), self.enc_.transform(frame)])

    def fit(self, frame: pd.DataFrame, spec: CausalSpec) -> FairPredictor:
        """Fit on ``frame`` (complete rows of the analysed columns)."""
        from scipy.optimize import minimize
        from sklearn.linear_model import LogisticRegression

        self.spec_ = spec
        self.enc_ = FeatureEncoder([*spec.confounders, *spec.mediators], categorical_columns(spec)).fit(frame)
        x = spec.x_indicator(frame)
        y = frame[spec.outcome].to_numpy(dtype=float)
        if not self.binary:
            self.y_mean_, self.y_sd_ = float(y.mean()), float(y.std() or 1.0)
            y = (y - self.y_mean_) / self.y_sd_
        i0, i1 = x == 0, x == 1
        n, n0, n1 = len(y), int(i0.sum()), int(i1.sum())
        phi_obs = self._design(frame, x)
        phi_cf = self._design(frame[i0], np.ones(n0))
        phi = np.vstack([phi_obs, phi_cf])
        # Propensity P(x1 | z) for the reweighting of x1 rows to the z-distribution of x0.
        zenc = FeatureEncoder(list(spec.confounders), categorical_columns(spec)).fit(frame)
        z = zenc.transform(frame)
        if z.shape[1]:
            pi = LogisticRegression(max_iter=2000).fit(z, x.astype(int)).predict_proba(z)[:, 1]
        else:
            pi = np.full(n, x.mean())
        pi = np.clip(pi, self.clip, 1 - self.clip)
        omega = np.where(i1, (1 - pi) / pi, 0.0)
        omega = omega / omega.sum()
        a0 = np.r_[i0 / n0, np.zeros(n0)]  # mean over observed x0 rows
        a1 = np.r_[i1 / n1, np.zeros(n0)]  # mean over observed x1 rows
        w1 = np.r_[omega, np.zeros(n0)]  # reweighted x1 rows: E[f_{x1} | x0]
        b = np.r_[np.zeros(n), np.full(n0, 1.0 / n0)]  # f(x1, z, w) over x0 rows: E[f_{x1, W_{x0}} | x0]
        contrasts = {"DE": b - a0, "IE": b - w1, "SE": w1 - a1}
        penalised = [contrasts[m] for p, m in PATHWAY_MEASURE.items() if p not in self.keep]
        lam, l2 = self.lam, self.l2
        ridge = np.r_[0.0, 0.0, np.ones(phi.shape[1] - 2)]
        binary = self.binary

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            eta = phi @ theta
            s = _expit(eta) if binary else eta
            ds = s * (1 - s) if binary else np.ones_like(s)
            s_obs = s[:n]
            if binary:
                p = np.clip(s_obs, 1e-12, 1 - 1e-12)
                value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
                grad = phi_obs.T @ (s_obs - y) / n
            else:
                value = 0.5 * np.mean((s_obs - y) ** 2)
                grad = phi_obs.T @ (s_obs - y) / n
            for c in penalised:
                eff = float(c @ s)
                value += lam * eff**2
                grad = grad + 2 * lam * eff * (phi.T @ (c * ds))
            value += l2 * float(np.sum(ridge * theta**2))
            grad = grad + 2 * l2 * ridge * theta
            return float(value), grad

        res = minimize(loss, np.zeros(phi.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter})
        self.coef_ = res.x
        self.converged_ = bool(res.success)
        s = _expit(phi @ self.coef_) if binary else phi @ self.coef_
        self.train_effects_ = {m: float(c @ s) * (1.0 if binary else self.y_sd_) for m, c in contrasts.items()}
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """P(Y = 1) for binary Y, E[Y] otherwise, at the rows of ``frame``."""
        eta = self._design(frame, self.spec_.x_indicator(frame)) @ self.coef_
        return _expit(eta) if self.binary else eta * self.y_sd_ + self.y_mean_
