"""Simulated Standard Fairness Models with known causal fairness measures (for tests of any component).

``simulate_sfm(n, seed, kind)`` returns ``(df, spec, truth)``: ``n`` observed
rows, their :class:`~faircausesyn.CausalSpec` and the true TV, DE, IE, SE and
ETT (x-specific, conditioned on x0, as faircause defines them). The truth is
computed once per kind by simulating potential outcomes with shared noise on a
large population (``TRUTH_N`` units): every unit has its own Z and exogenous
noises, W_{x0} and W_{x1} are computed with the same noise, and for binary Y
the exact conditional probability P(Y=1 | x, z, w, u) is averaged (so the Monte
Carlo error of the truth is about 1e-3 and below the estimators' noise).

Kinds: ``linear_logistic``, ``nonlinear``, ``categorical_mediator`` (a 3-level
text mediator and text levels of X), ``continuous_y``, ``no_confounders``,
``no_mediators``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from faircausesyn import CausalSpec

KINDS = ("linear_logistic", "nonlinear", "categorical_mediator", "continuous_y", "no_confounders", "no_mediators")
TRUTH_N = 1_000_000
TRUTH_SEED = 20_260_101


def _expit(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _population(n: int, rng: np.random.Generator, kind: str) -> dict[str, np.ndarray]:
    """Exogenous draws and the structural equations; returns X, W_{x0}, W_{x1} and Y's mean functions."""
    if kind not in KINDS:
        raise ValueError(f"unknown SCM kind {kind!r}; choose one of {KINDS}")
    z1 = rng.normal(size=n)
    z2 = (rng.random(n) < 0.4).astype(float)
    u_x, u_w1, u_w2, u_y = rng.random(n), rng.normal(size=n), rng.random(n), rng.random(n)
    gumbel = -np.log(-np.log(rng.random((n, 3))))
    eps = rng.normal(size=n)
    no_z = kind == "no_confounders"
    if no_z:
        z1 = np.zeros(n)
        z2 = np.zeros(n)
    logit_x = (-0.3 if no_z else 0.6 * z1 - 0.5 * z2 - 0.1)
    x = (u_x < _expit(logit_x)).astype(float)

    def mediators(xv: float) -> dict[str, np.ndarray]:
        if kind == "nonlinear":
            w1 = 0.9 * xv + np.sin(1.5 * z1) + 0.4 * z2 + u_w1
            w2 = (u_w2 < _expit(-0.3 + 1.0 * xv - 0.8 * z1**2 + 0.5)).astype(float)
        elif kind == "categorical_mediator":
            w1 = 0.7 * xv + 0.5 * z1 + u_w1
            scores = np.stack([np.zeros(n), 0.8 * xv + 0.4 * z1, -0.6 * xv + 0.5 * z2], axis=1) + gumbel
            w2 = scores.argmax(axis=1).astype(float)  # level a, b, c
        else:
            w1 = 0.8 * xv + 0.5 * z1 - 0.3 * z2 + u_w1
            w2 = (u_w2 < _expit(-0.4 + 0.9 * xv + 0.4 * z1)).astype(float)
        return {"w1": w1, "w2": w2}

    def mean_y(xv: float, w: dict[str, np.ndarray]) -> np.ndarray:
        w1, w2 = w["w1"], w["w2"]
        if kind == "nonlinear":
            return _expit(-0.6 + 0.7 * xv + 0.6 * np.tanh(w1) + 0.5 * xv * w2 + 0.8 * np.cos(z1) - 0.5 * z2 + 0.3 * z1 * w1)
        if kind == "categorical_mediator":
            effect = np.select([w2 == 0, w2 == 1, w2 == 2], [0.0, 0.9, -0.7])
            return _expit(-0.4 + 0.5 * xv + 0.4 * w1 + effect + 0.4 * z1 - 0.3 * z2)
        if kind == "continuous_y":
            return 1.0 + 1.5 * xv + 1.2 * w1 + 0.8 * w2 + 1.0 * z1 - 0.7 * z2 + 0.5 * xv * z1
        if kind == "no_mediators":
            return _expit(-0.3 + 0.8 * xv + 0.6 * z1 - 0.4 * z2)
        return _expit(-0.5 + 0.6 * xv + 0.5 * w1 + 0.6 * w2 + 0.5 * z1 - 0.4 * z2)

    w0, w1 = mediators(0.0), mediators(1.0)
    return {
        "x": x,
        "z1": z1,
        "z2": z2,
        "w0": w0,
        "w1": w1,
        "m00": mean_y(0.0, w0),  # E[Y_{x0, W_{x0}} | u]
        "m11": mean_y(1.0, w1),  # E[Y_{x1, W_{x1}} | u]
        "m10": mean_y(1.0, w0),  # E[Y_{x1, W_{x0}} | u]
        "u_y": u_y,
        "eps": eps,
    }


@lru_cache(maxsize=None)
def true_measures(kind: str) -> dict[str, float]:
    """The population TV, DE, IE, SE and ETT of ``kind`` (plus the four means), by simulation with shared noise."""
    p = _population(TRUTH_N, np.random.default_rng(TRUTH_SEED), kind)
    x0, x1 = p["x"] == 0, p["x"] == 1
    ey_x0 = p["m00"][x0].mean()
    ey_x1 = p["m11"][x1].mean()
    ey_x1_x0 = p["m11"][x0].mean()  # E[Y_{x1} | x0]
    nested = p["m10"][x0].mean()  # E[Y_{x1, W_{x0}} | x0]
    if kind == "no_mediators":
        nested = ey_x1_x0
    if kind == "no_confounders":  # X is independent of every noise: condition-free means are exact
        ey_x0, ey_x1, nested = p["m00"].mean(), p["m11"].mean(), p["m10"].mean()
        ey_x1_x0 = ey_x1
    return {
        "TV": float(ey_x1 - ey_x0),
        "DE": float(nested - ey_x0),
        "IE": float(nested - ey_x1_x0),
        "SE": float(ey_x1_x0 - ey_x1),
        "ETT": float(ey_x1_x0 - ey_x0),
        "E[Y|x0]": float(ey_x0),
        "E[Y|x1]": float(ey_x1),
        "E[Y_x1|x0]": float(ey_x1_x0),
        "E[Y_x1,W_x0|x0]": float(nested),
    }


def simulate_sfm(n: int, seed: int, kind: str = "linear_logistic") -> tuple[pd.DataFrame, CausalSpec, dict[str, float]]:
    """``n`` rows of the SCM ``kind`` drawn with ``seed``, their spec and the true measures."""
    p = _population(n, np.random.default_rng(seed), kind)
    x = p["x"]
    w = {k: np.where(x == 1, p["w1"][k], p["w0"][k]) for k in ("w1", "w2")}
    mean = np.where(x == 1, p["m11"], p["m00"])
    if kind == "continuous_y":
        y = mean + p["eps"]
    else:
        y = (p["u_y"] < mean).astype(int)
    df = pd.DataFrame({"x": x.astype(int), "z1": p["z1"], "z2": p["z2"].astype(int), "w1": w["w1"], "w2": w["w2"].astype(int), "y": y})
    confounders = ["z1", "z2"]
    mediators = ["w1", "w2"]
    x0, x1 = 0, 1
    column_types: dict[str, str] = {}
    if kind == "categorical_mediator":
        df["w2"] = np.array(["a", "b", "c"])[df["w2"].to_numpy()]
        df["x"] = np.where(df["x"] == 1, "male", "female")
        x0, x1 = "female", "male"
    if kind == "no_confounders":
        df = df.drop(columns=["z1", "z2"])
        confounders = []
    if kind == "no_mediators":
        df = df.drop(columns=["w1", "w2"])
        mediators = []
    spec = CausalSpec(
        name=f"scm_{kind}",
        sensitive="x",
        x0=x0,
        x1=x1,
        outcome="y",
        confounders=confounders,
        mediators=mediators,
        column_types=column_types,
    )
    truth = {k: v for k, v in true_measures(kind).items()}
    return df, spec, truth
