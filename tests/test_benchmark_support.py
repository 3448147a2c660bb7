"""Small, real components for the tests of the pipeline, benchmarks and chunked generation.

They are registered through an in-process plugin object (``plugin``), exactly
as a third party's would be, and are importable by subprocesses and Dask
workers when ``tests/`` is on ``PYTHONPATH`` (the benchmark config's
``plugins: ["test_benchmark_support:plugin"]``). The checks at the bottom
test the components themselves, so that the other tests can trust them.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from faircausesyn import Evaluator, Generator, Metric, hookimpl
from faircausesyn.interfaces import GeneratorConfig


class BootstrapConfig(GeneratorConfig):
    """Noise scale (share of each numeric column's std), independent columns, delay per sample call."""

    noise: float = 0.1
    independent: bool = False
    delay_s: float = 0.0


class BootstrapGenerator(Generator):
    """Resamples real rows (or each column independently) and jitters numeric columns.

    Deterministic given the seed; discrete columns keep their categories;
    numeric ones get Gaussian noise of ``noise`` times their standard deviation.
    """

    Config = BootstrapConfig

    def _fit(self, data: pd.DataFrame, ctx) -> None:
        self.data_ = data.reset_index(drop=True)
        self.numeric_ = [c.name for c in ctx.schema.columns if not c.is_discrete]
        self.std_ = {c: float(self.data_[c].std(ddof=0) or 0.0) for c in self.numeric_}

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        if self.config.delay_s:
            time.sleep(self.config.delay_s)
        rng = np.random.default_rng(seed)
        m = len(self.data_)
        if self.config.independent:
            out = pd.DataFrame({c: self.data_[c].to_numpy()[rng.integers(0, m, n)] for c in self.data_.columns})
        else:
            out = self.data_.iloc[rng.integers(0, m, n)].reset_index(drop=True)
        for c in self.numeric_:
            out[c] = out[c].astype(float) + rng.normal(0.0, self.config.noise * self.std_[c], n)
        return out


class MarginalEvaluator(Evaluator):
    """Mean absolute difference of column means (standardised) and of the outcome rate."""

    needs_holdout = False

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        diffs = []
        for c in spec.analysed:
            r = pd.to_numeric(real[c], errors="coerce")
            s = pd.to_numeric(synthetic[c], errors="coerce")
            if r.notna().any() and s.notna().any():
                sd = float(r.std(ddof=0)) or 1.0
                diffs.append(abs(float(r.mean()) - float(s.mean())) / sd)
        y_real = pd.to_numeric(real[spec.outcome], errors="coerce").mean()
        y_syn = pd.to_numeric(synthetic[spec.outcome], errors="coerce").mean()
        out = [
            Metric("mean_gap", float(np.mean(diffs)), ideal=0.0, goal="min", details={"columns": len(diffs)}),
            Metric("outcome_rate_gap", abs(float(y_real) - float(y_syn)), ideal=0.0, goal="min"),
        ]
        if holdout is not None:
            out.append(Metric("holdout_rows", float(len(holdout)), goal=None))
        return out


class FailingEvaluator(Evaluator):
    """Always fails: checks that one broken evaluator or cell does not stop a run."""

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        raise RuntimeError("this evaluator always fails")


class _Plugin:
    @hookimpl
    def register_generators(self, registry):
        registry.register("bootstrap_test", BootstrapGenerator)

    @hookimpl
    def register_evaluators(self, registry):
        registry.register("marginal_test", MarginalEvaluator)
        registry.register("failing_test", FailingEvaluator)


#: The plugin object to pass to ``PluginHost(plugins=[("support", plugin)])``.
plugin = _Plugin()


def host():
    """A plugin host with the built-ins and these test components."""
    from faircausesyn import PluginHost

    return PluginHost(plugins=[("test_support", plugin)])


# --------------------------------------------------------------------- checks
def _toy(n: int = 200, seed: int = 0):
    from faircausesyn import CausalSpec

    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    w = 0.8 * x + 0.5 * z + rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.7 * x + 0.6 * w - 0.3 * z)))).astype(int)
    df = pd.DataFrame({"x": x, "z": z, "w": w, "y": y})
    spec = CausalSpec(sensitive="x", x0=0, x1=1, outcome="y", confounders=["z"], mediators=["w"])
    return df, spec


def test_bootstrap_generator_is_deterministic_and_keeps_types():
    df, spec = _toy()
    g = host().create("generator", "bootstrap_test").fit(df, spec)
    a, b = g.sample(50, seed=3), g.sample(50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(g.sample(50, seed=4))
    assert list(a.columns) == list(df.columns) and set(a["x"]) <= {0, 1}
    assert abs(a["w"].mean() - df["w"].mean()) < 0.5


def test_marginal_evaluator_scores_a_shuffle_worse_than_a_copy():
    df, spec = _toy()
    ev = MarginalEvaluator()
    same = {m.name: m.value for m in ev.evaluate(df, df, spec)}
    shifted = df.assign(w=df["w"] + 2.0)
    moved = {m.name: m.value for m in ev.evaluate(df, shifted, spec)}
    assert same["mean_gap"] == 0.0 and moved["mean_gap"] > 0.3
