"""Estimators of the x-specific causal fairness measures of the Standard Fairness Model.

Every measure is a difference of four means (conditioning on X = x0 as in
faircause): E[Y | x0] (= E[Y_{x0} | x0]), E[Y | x1], E[Y_{x1} | x0] and
E[Y_{x1, W_{x0}} | x0]:

    TV  = E[Y|x1] - E[Y|x0]              DE  = E[Y_{x1,W_{x0}}|x0] - E[Y|x0]
    IE  = E[Y_{x1,W_{x0}}|x0] - E[Y_{x1}|x0]
    SE  = E[Y_{x1}|x0] - E[Y|x1]         ETT = E[Y_{x1}|x0] - E[Y|x0]

so TV = DE - IE - SE and ETT = DE - IE hold exactly for the estimates too.
Under the SFM, E[Y_{x1}|x0] = E[mu1(Z) | x0] with mu1(z) = E[Y | x1, z], and
E[Y_{x1,W_{x0}}|x0] = E[mu1(Z, W) | x0] with mu1(z, w) = E[Y | x1, z, w].

``debiased`` is the one-step (doubly robust) estimator with cross-fitting. The
efficient influence function of theta = E[mu1(V) | x0], V = Z or (Z, W), is

    phi = ( 1{X=x0} (mu1(V) - theta) + 1{X=x1} (1 - pi(V)) / pi(V) (Y - mu1(V)) ) / P(x0)

with pi(v) = P(x1 | v). For V = (Z, W) the weight (1 - pi)/pi = P(x0|z,w)/P(x1|z,w)
is the density ratio p(w | x0, z) p(z | x0) / (p(w | x1, z) p(z | x1)) times
P(x1)/P(x0): the ratio-of-propensities trick that replaces density estimation of W.
Standard errors are the empirical standard deviations of the influence
functions over sqrt(n); a measure's influence function is the difference of
its means' ones. ``plugin`` is the g-formula plug-in with bootstrap intervals.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..spec import CausalSpec
from .nuisance import (
    NuisanceKind,
    check_estimator,
    default_outcome_model,
    default_propensity_model,
    encode,
    fit_predict_mean,
)
from .result import MEANS, MEASURES, Decomposition, Estimate

Method = Literal["debiased", "plugin"]

_Z = 1.959963984540054  # the 97.5% quantile of the standard normal

#: Each measure as (plus, minus) of the four means.
_CONTRASTS: dict[str, tuple[str, str]] = {
    "TV": ("E[Y|x1]", "E[Y|x0]"),
    "DE": ("E[Y_x1,W_x0|x0]", "E[Y|x0]"),
    "IE": ("E[Y_x1,W_x0|x0]", "E[Y_x1|x0]"),
    "SE": ("E[Y_x1|x0]", "E[Y|x1]"),
    "ETT": ("E[Y_x1|x0]", "E[Y|x0]"),
}


def decompose(
    data: pd.DataFrame,
    spec: CausalSpec,
    *,
    method: Method = "debiased",
    folds: int = 5,
    seed: int = 0,
    nuisance: NuisanceKind = "gbm",
    outcome_model: Any = None,
    propensity_model: Any = None,
    clip: float = 0.01,
    n_boot: int = 100,
    repeats: int = 1,
    min_group_rows: int = 10,
    constant_columns: Literal["error", "drop"] = "error",
) -> Decomposition:
    """Decompose the disparity in Y between x1 and x0 into direct, indirect and spurious parts.

    Returns TV, ctf-DE, ctf-IE, ctf-SE and ETT (x-specific, conditioned on x0 as in
    faircause), each with a standard error and a 95% interval.

    ``method="debiased"``: one-step estimator with ``folds``-fold cross-fitting;
    propensities are clipped to ``[clip, 1 - clip]`` and the clipped rows counted;
    ``repeats > 1`` repeats the cross-fitting with other fold splits and averages
    the estimates and influence functions (less noise from the split, ``repeats``
    times the cost).
    ``method="plugin"``: the g-formula plug-in; ``n_boot`` bootstrap resamples
    give the standard error and a percentile interval.
    ``nuisance`` picks the built-in models (``"gbm"``: histogram gradient
    boosting; ``"linear"``: logistic/ridge regression); ``outcome_model`` and
    ``propensity_model`` override them with any scikit-learn estimator (a
    classifier with ``predict_proba`` for binary Y and for the propensity).
    Rows with a missing value in an analysed column are dropped and counted in
    ``n_dropped``. Y may be binary (0/1) or numeric; Z and W may be numeric,
    binary or categorical, and either may be empty.
    A constant confounder or mediator is a spec error by default; with
    ``constant_columns="drop"`` it is left out (it carries no information, so
    the estimands are unchanged) and named in ``details["dropped_constant"]``:
    meant for synthetic tables, where a generator that collapsed a column
    should still be measured. A constant X or Y is always an error.
    """
    if method not in ("debiased", "plugin"):
        raise ConfigError(f"unknown decomposition method {method!r}", hint="use method='debiased' or method='plugin'")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"folds must be an integer >= 2, got {folds!r}", hint="e.g. folds=5")
    if not 0.0 <= clip < 0.5:
        raise ConfigError(f"clip must be in [0, 0.5), got {clip!r}", hint="e.g. clip=0.01")
    if method == "plugin" and (isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 2):
        raise ConfigError(f"n_boot must be an integer >= 2, got {n_boot!r}", hint="e.g. n_boot=100")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"repeats must be an integer >= 1, got {repeats!r}", hint="e.g. repeats=1")
    if nuisance not in ("gbm", "linear"):
        raise ConfigError(f"unknown nuisance model kind {nuisance!r}", hint="use nuisance='gbm' or nuisance='linear'")
    if constant_columns not in ("error", "drop"):
        raise ConfigError(f"constant_columns must be 'error' or 'drop', got {constant_columns!r}")
    for model, role in ((outcome_model, "outcome"), (propensity_model, "propensity")):
        if model is not None:
            check_estimator(model, role)
    t0 = time.perf_counter()
    prep = _prepare(data, spec, min_group_rows=min_group_rows, folds=folds if method == "debiased" else 2, drop_constant=constant_columns == "drop")
    out_model = outcome_model if outcome_model is not None else default_outcome_model(nuisance, prep.binary, seed)
    if method == "debiased":
        prop_model = propensity_model if propensity_model is not None else default_propensity_model(nuisance, seed)
        runs = [_debiased(prep, out_model, prop_model, folds=folds, seed=seed + 7919 * r, clip=clip) for r in range(repeats)]
        means = {k: float(np.mean([run[0][k] for run in runs])) for k in MEANS}
        infl = {k: np.mean([run[1][k] for run in runs], axis=0) for k in MEANS}
        n_clipped = max(run[2] for run in runs)
        measures = _from_influence(means, infl)
        mean_est = {k: _normal(k, means[k], infl[k]) for k in MEANS}
        extra: dict[str, Any] = {"folds": folds, "clip": clip, "repeats": repeats}
    else:
        means = _plugin_means(prep, out_model, np.arange(prep.n))
        boot = _bootstrap(prep, out_model, n_boot=n_boot, seed=seed)
        measures = {m: _percentile(m, means[_CONTRASTS[m][0]] - means[_CONTRASTS[m][1]], boot[_CONTRASTS[m][0]] - boot[_CONTRASTS[m][1]]) for m in MEASURES}
        mean_est = {k: _percentile(k, means[k], boot[k]) for k in MEANS}
        n_clipped = 0
        extra = {"n_boot": n_boot}
    details = {
        "seed": seed,
        "nuisance": "custom" if outcome_model is not None or (method == "debiased" and propensity_model is not None) else nuisance,
        "outcome_model": type(out_model).__name__,
        "confounders": prep.z_cols,
        "mediators": prep.w_cols,
        **({"dropped_constant": prep.dropped_constant} if prep.dropped_constant else {}),
        "seconds": round(time.perf_counter() - t0, 3),
        **extra,
    }
    return Decomposition(
        measures=measures,
        method=method,
        n_used=prep.n,
        n_dropped=prep.n_dropped,
        n_clipped=int(n_clipped),
        means=mean_est,
        n_x0=int((prep.x == 0).sum()),
        n_x1=int((prep.x == 1).sum()),
        sensitive=spec.sensitive,
        x0=spec.x0,
        x1=spec.x1,
        outcome=spec.outcome,
        binary_outcome=prep.binary,
        details=details,
    )


# ----------------------------------------------------------------- preparation
class _Prepared:
    """The analysed columns as arrays: x (0/1), y, design matrices of Z and of (Z, W)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, xz: np.ndarray, xzw: np.ndarray, binary: bool, n_dropped: int, z_cols: list[str], w_cols: list[str], dropped_constant: list[str] | None = None):
        self.x, self.y, self.xz, self.xzw = x, y, xz, xzw
        self.binary, self.n_dropped = binary, n_dropped
        self.z_cols, self.w_cols = z_cols, w_cols
        self.dropped_constant = list(dropped_constant or [])
        self.n = len(x)


def _prepare(data: pd.DataFrame, spec: CausalSpec, *, min_group_rows: int, folds: int, drop_constant: bool = False) -> _Prepared:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"decompose expects a pandas DataFrame, got {type(data).__name__}")
    analysed = spec.analysed
    # Only the analysed columns matter here; `other` columns may be absent (e.g. in synthetic tables).
    sub_spec = spec.model_copy(update={"other": [], "column_types": {k: v for k, v in spec.column_types.items() if k in analysed}})
    missing = [c for c in analysed if c not in data.columns]
    if missing:
        sub_spec.validate(data)  # raises, listing every problem
    frame = data[analysed]
    keep = frame.notna().all(axis=1).to_numpy()
    n_dropped = int((~keep).sum())
    frame = frame[keep].reset_index(drop=True)
    if len(frame) == 0:
        raise DataError("no row is complete in the analysed columns", hint="impute missing values or drop mostly-empty columns from the spec")
    dropped: list[str] = []
    if drop_constant:
        dropped = [c for c in (*spec.confounders, *spec.mediators) if frame[c].nunique(dropna=True) <= 1]
        if dropped:
            spec = spec.model_copy(update={"confounders": [c for c in spec.confounders if c not in dropped], "mediators": [c for c in spec.mediators if c not in dropped]})
            sub_spec = sub_spec.model_copy(update={"confounders": spec.confounders, "mediators": spec.mediators, "column_types": {k: v for k, v in sub_spec.column_types.items() if k not in dropped}})
            frame = frame.drop(columns=dropped)
    sub_spec.validate(frame)
    x = sub_spec.x_indicator(frame)
    n0, n1 = int((x == 0).sum()), int((x == 1).sum())
    need = max(min_group_rows, 2 * folds)
    if min(n0, n1) < need:
        raise DataError(
            f"too few rows per group to decompose: {n0} with {spec.sensitive}={spec.x0!r} and {n1} with {spec.sensitive}={spec.x1!r} (need {need} each)",
            hint="use more data or fewer folds",
        )
    y_raw = frame[spec.outcome]
    y = y_raw.to_numpy(dtype=float)
    binary = bool(set(np.unique(y)) <= {0.0, 1.0})
    categorical = {c for c, k in spec.column_types.items() if k == "categorical"}
    z_cols, w_cols = list(spec.confounders), list(spec.mediators)
    xz = encode(frame, z_cols, categorical)
    xzw = np.hstack([xz, encode(frame, w_cols, categorical)])
    return _Prepared(x.astype(int), y, xz, xzw, binary, n_dropped, z_cols, w_cols, dropped)


# ----------------------------------------------------------------- debiased
def _debiased(prep: _Prepared, out_model: Any, prop_model: Any, *, folds: int, seed: int, clip: float):
    from sklearn.model_selection import StratifiedKFold

    x, y, n = prep.x, prep.y, prep.n
    has_z, has_w = prep.xz.shape[1] > 0, len(prep.w_cols) > 0
    mu_z = np.empty(n)
    mu_zw = np.empty(n)
    pi_z = np.empty(n)
    pi_zw = np.empty(n)
    strata = 2 * x + (y.astype(int) if prep.binary else 0)
    # Stratify on (X, Y) when every stratum can fill the folds, else on X.
    if np.bincount(strata).min() < folds:
        strata = x
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(n), strata):
        tr1 = train[x[train] == 1]
        xf = x[train].astype(float)
        if has_z:
            mu_z[test] = fit_predict_mean(out_model, prep.xz[tr1], y[tr1], prep.xz[test], prep.binary)
            pi_z[test] = fit_predict_mean(prop_model, prep.xz[train], xf, prep.xz[test], True)
        else:
            mu_z[test] = y[tr1].mean()
            pi_z[test] = xf.mean()
        if has_w:
            mu_zw[test] = fit_predict_mean(out_model, prep.xzw[tr1], y[tr1], prep.xzw[test], prep.binary)
            pi_zw[test] = fit_predict_mean(prop_model, prep.xzw[train], xf, prep.xzw[test], True)
        else:
            mu_zw[test], pi_zw[test] = mu_z[test], pi_z[test]
    lo, hi = clip, 1.0 - clip
    clipped = (pi_z < lo) | (pi_z > hi) | (pi_zw < lo) | (pi_zw > hi)
    pi_z, pi_zw = np.clip(pi_z, lo, hi), np.clip(pi_zw, lo, hi)
    i0, i1 = (x == 0).astype(float), (x == 1).astype(float)
    p0, p1 = i0.mean(), i1.mean()
    means: dict[str, float] = {}
    infl: dict[str, np.ndarray] = {}
    for key, ind, p in (("E[Y|x0]", i0, p0), ("E[Y|x1]", i1, p1)):
        theta = float((ind * y).sum() / ind.sum())
        means[key], infl[key] = theta, ind * (y - theta) / p

    def ett_type(mu: np.ndarray, pi: np.ndarray) -> tuple[float, np.ndarray]:
        correction = i1 * (1.0 - pi) / pi * (y - mu)
        theta = float(((i0 * mu).sum() + correction.sum()) / i0.sum())
        return theta, (i0 * (mu - theta) + correction) / p0

    if has_z:
        means["E[Y_x1|x0]"], infl["E[Y_x1|x0]"] = ett_type(mu_z, pi_z)
    else:  # no confounders: E[Y_{x1} | x0] = E[Y | x1], so ctf-SE is exactly 0
        means["E[Y_x1|x0]"], infl["E[Y_x1|x0]"] = means["E[Y|x1]"], infl["E[Y|x1]"]
    if has_w:
        means["E[Y_x1,W_x0|x0]"], infl["E[Y_x1,W_x0|x0]"] = ett_type(mu_zw, pi_zw)
    else:  # no mediators: the nested mean is E[Y_{x1} | x0], so ctf-IE is exactly 0
        means["E[Y_x1,W_x0|x0]"], infl["E[Y_x1,W_x0|x0]"] = means["E[Y_x1|x0]"], infl["E[Y_x1|x0]"]
    return means, infl, int(clipped.sum())


def _normal(name: str, estimate: float, influence: np.ndarray) -> Estimate:
    se = float(np.std(influence, ddof=1) / np.sqrt(len(influence))) if np.any(influence) else 0.0
    return Estimate(name, float(estimate), se, float(estimate - _Z * se), float(estimate + _Z * se))


def _from_influence(means: dict[str, float], infl: dict[str, np.ndarray]) -> dict[str, Estimate]:
    out = {}
    for m in MEASURES:
        plus, minus = _CONTRASTS[m]
        out[m] = _normal(m, means[plus] - means[minus], infl[plus] - infl[minus])
    return out


# ----------------------------------------------------------------- plug-in
def _plugin_means(prep: _Prepared, out_model: Any, rows: np.ndarray) -> dict[str, float]:
    x, y = prep.x[rows], prep.y[rows]
    r1, r0 = rows[x == 1], rows[x == 0]
    means = {"E[Y|x0]": float(y[x == 0].mean()), "E[Y|x1]": float(y[x == 1].mean())}
    if prep.xz.shape[1] > 0:
        means["E[Y_x1|x0]"] = float(fit_predict_mean(out_model, prep.xz[r1], prep.y[r1], prep.xz[r0], prep.binary).mean())
    else:
        means["E[Y_x1|x0]"] = means["E[Y|x1]"]
    if prep.w_cols:
        means["E[Y_x1,W_x0|x0]"] = float(fit_predict_mean(out_model, prep.xzw[r1], prep.y[r1], prep.xzw[r0], prep.binary).mean())
    else:
        means["E[Y_x1,W_x0|x0]"] = means["E[Y_x1|x0]"]
    return means


def _bootstrap(prep: _Prepared, out_model: Any, *, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx0, idx1 = np.flatnonzero(prep.x == 0), np.flatnonzero(prep.x == 1)
    draws: dict[str, list[float]] = {k: [] for k in MEANS}
    for _ in range(n_boot):
        # Resampling within each group keeps both groups present (and P(X) is not a target here).
        rows = np.concatenate([rng.choice(idx0, len(idx0)), rng.choice(idx1, len(idx1))])
        for k, v in _plugin_means(prep, out_model, rows).items():
            draws[k].append(v)
    return {k: np.asarray(v) for k, v in draws.items()}


def _percentile(name: str, estimate: float, draws: np.ndarray) -> Estimate:
    se = float(np.std(draws, ddof=1))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return Estimate(name, float(estimate), se, float(lo), float(hi))
