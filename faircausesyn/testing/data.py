"""Small simulated tables under the Standard Fairness Model, for tests of plugins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..spec import CausalSpec


def toy_sfm(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, CausalSpec]:
    """A mixed-type SFM table: X binary text, Z continuous, W binary/categorical/integer/continuous, Y binary.

    Every pathway is present: Z -> X (spurious), X -> W -> Y (indirect) and X -> Y (direct).
    """
    rng = np.random.default_rng(seed)
    age = np.round(rng.normal(60, 10, n), 1)
    px = 1 / (1 + np.exp(-(age - 60) / 10))
    x = rng.random(n) < px
    smoker = (rng.random(n) < 0.2 + 0.3 * x).astype(int)
    stage = rng.choice(["I", "II", "III"], size=n, p=[0.5, 0.3, 0.2])
    stage = np.where(x & (rng.random(n) < 0.3), "III", stage)
    visits = rng.poisson(2 + 2 * smoker + 0.05 * (age - 60).clip(0))
    bmi = np.round(rng.normal(26 + 2 * x, 3, n), 2)
    lin = -1.5 + 0.6 * x + 0.03 * (age - 60) + 0.8 * smoker + 0.7 * (stage == "III") + 0.1 * visits + 0.05 * (bmi - 26)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    df = pd.DataFrame(
        {
            "age": age,
            "sex": np.where(x, "M", "F"),
            "smoker": smoker,
            "stage": stage,
            "visits": visits.astype(int),
            "bmi": bmi,
            "event": y,
        }
    )
    spec = CausalSpec(
        name="toy_sfm",
        sensitive="sex",
        x0="F",
        x1="M",
        outcome="event",
        confounders=["age"],
        mediators=["smoker", "stage", "visits", "bmi"],
    )
    return df, spec
