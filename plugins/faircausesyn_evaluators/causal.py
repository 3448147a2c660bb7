"""``causal_fairness``: the decomposition of the real and of the synthetic table, and how far apart they are."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faircausesyn import Evaluator, Metric
from faircausesyn.interfaces import ComponentConfig

MEASURES = ("TV", "DE", "IE", "SE", "ETT")


class CausalFairnessConfig(ComponentConfig):
    """How both tables are decomposed (the same settings and seed for both)."""

    method: Literal["debiased", "plugin"] = "debiased"
    nuisance: Literal["gbm", "linear"] = "gbm"
    folds: int = Field(5, ge=2)
    n_boot: int = Field(100, ge=2)
    seed: int = 0


class CausalFairness(Evaluator):
    """TV, ctf-DE, ctf-IE, ctf-SE and ETT of real and synthetic data, with per-measure deviations.

    Per measure: ``<M>_real``, ``<M>_synthetic``, ``<M>_abs_deviation``
    (|synthetic - real|, ideal 0), ``<M>_rel_deviation`` (the deviation over
    |TV_real|, ideal 0) and ``<M>_in_real_interval`` (1 when the synthetic
    estimate lies in the real 95% interval). ``max_abs_deviation`` carries both
    decompositions in its details. A confounder or mediator that is constant in
    the synthetic table is left out of its decomposition and listed in
    ``dropped_constant`` of the synthetic details.
    """

    Config = CausalFairnessConfig

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        from faircausesyn.fairness import decompose

        c = self.config
        kwargs = {"method": c.method, "nuisance": c.nuisance, "folds": c.folds, "n_boot": c.n_boot, "seed": c.seed}
        dec_real = decompose(real, spec, **kwargs)
        # A generator that collapsed a confounder or mediator to one value is still measured
        # (the column carries no information); the dropped columns are named in the details.
        dec_syn = decompose(synthetic, spec, constant_columns="drop", **kwargs)
        tv = abs(dec_real["TV"].estimate)
        metrics: list[Metric] = []
        inside = []
        devs = []
        for m in MEASURES:
            r, s = dec_real[m], dec_syn[m]
            dev = abs(s.estimate - r.estimate)
            devs.append(dev)
            ok = float(r.lower <= s.estimate <= r.upper)
            inside.append(ok)
            metrics += [
                Metric(f"{m}_real", r.estimate, details=r.to_dict()),
                Metric(f"{m}_synthetic", s.estimate, details=s.to_dict()),
                Metric(f"{m}_abs_deviation", dev, ideal=0.0, goal="min"),
                # With TV_real exactly 0 the relative deviation is undefined; the absolute one is reported instead.
                Metric(f"{m}_rel_deviation", dev / tv if tv > 1e-12 else dev, ideal=0.0, goal="min", details={"abs_tv_real": tv, "relative": tv > 1e-12}),
                Metric(f"{m}_in_real_interval", ok, ideal=1.0, goal="max", details={"real_interval": [r.lower, r.upper]}),
            ]
        metrics.append(Metric("max_abs_deviation", max(devs), ideal=0.0, goal="min", details={"real": dec_real.to_dict(), "synthetic": dec_syn.to_dict()}))
        metrics.append(Metric("share_in_real_interval", sum(inside) / len(inside), ideal=1.0, goal="max"))
        return metrics
