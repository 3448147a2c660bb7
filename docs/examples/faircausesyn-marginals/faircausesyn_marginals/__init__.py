"""Example plugin: an independent-marginals generator and a column-means evaluator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from faircausesyn import Evaluator, Generator, Metric, hookimpl


class MarginalsGenerator(Generator):
    """Draw every column independently from its empirical distribution (no pathway survives)."""

    def _fit(self, data: pd.DataFrame, ctx) -> None:
        self.columns_data_ = {c: data[c].to_numpy() for c in data.columns}

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({c: rng.choice(v, size=n, replace=True) for c, v in self.columns_data_.items()})


class MarginalMeans(Evaluator):
    """Largest absolute difference of standardised column means between real and synthetic rows."""

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        worst = 0.0
        for c in spec.analysed:
            if pd.api.types.is_numeric_dtype(real[c]) and pd.api.types.is_numeric_dtype(synthetic[c]):
                sd = float(real[c].std()) or 1.0
                worst = max(worst, abs(float(real[c].mean()) - float(synthetic[c].mean())) / sd)
        return [Metric("marginal_means.max_std_diff", worst, ideal=0.0, goal="min")]


@hookimpl
def register_generators(registry):
    registry.register("marginals", MarginalsGenerator)


@hookimpl
def register_evaluators(registry):
    registry.register("marginal_means", MarginalMeans)
