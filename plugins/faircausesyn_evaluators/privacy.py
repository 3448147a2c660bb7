"""``privacy``: distance to closest record and exact copies of real rows."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from faircausesyn import Evaluator, Metric
from faircausesyn.interfaces import ComponentConfig
from faircausesyn.privacy import count_copies

from ._features import FeatureEncoder, categorical_columns, resolve_holdout


class PrivacyConfig(ComponentConfig):
    """Row caps (sampled, for speed) and, without a holdout, the share of real rows split off."""

    max_rows: int = Field(5_000, ge=10)
    holdout_share: float = Field(0.3, gt=0.0, lt=1.0)
    seed: int = 0


class Privacy(Evaluator):
    """Distance to closest record (DCR) of synthetic rows to the real training rows, against real unseen rows.

    Distances are Euclidean on standardised numbers and one-hot categories of the
    spec's columns. ``dcr_synthetic_median`` (synthetic to real train) should not
    be smaller than ``dcr_holdout_median`` (real holdout to real train): their
    ratio ``dcr_ratio`` near or above 1 means synthetic rows sit no closer to the
    training rows than unseen real rows do. ``share_closer_than_holdout_p5``:
    share of synthetic rows nearer than the 5th percentile of holdout DCRs
    (about 0.05 for a private generator). ``exact_copy_rate``: share of synthetic
    rows equal to a real training row. A real table compared with itself is, by
    design, not private: these metrics declare no ideal value.
    """

    Config = PrivacyConfig
    needs_holdout = True

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        from sklearn.neighbors import NearestNeighbors

        c = self.config
        split = resolve_holdout(real, synthetic, spec, holdout, share=c.holdout_share, seed=c.seed)
        cols = [col for col in spec.columns if col in real.columns and col in synthetic.columns]
        train = split.train[cols].dropna()
        syn_all = synthetic[cols].reset_index(drop=True)
        copies = count_copies(syn_all, split.train[cols])
        rng = np.random.default_rng(c.seed)

        def cap(f):
            f = f.dropna()
            return f.iloc[rng.choice(len(f), c.max_rows, replace=False)] if len(f) > c.max_rows else f

        ref, syn, hold = cap(train), cap(syn_all), cap(split.test[cols])
        enc = FeatureEncoder(cols, categorical_columns(spec)).fit(train, syn, hold)
        nn = NearestNeighbors(n_neighbors=1).fit(enc.transform(ref))
        d_syn = nn.kneighbors(enc.transform(syn))[0][:, 0]
        d_hold = nn.kneighbors(enc.transform(hold))[0][:, 0]
        med_syn, med_hold = float(np.median(d_syn)), float(np.median(d_hold))
        p5 = float(np.quantile(d_hold, 0.05))
        details = {"holdout": split.note, "rows_reference": len(ref), "rows_synthetic": len(syn), "rows_holdout": len(hold)}
        return [
            Metric("dcr_synthetic_median", med_syn, goal="max", details=details),
            Metric("dcr_holdout_median", med_hold, details=details),
            # A holdout median of 0 (duplicated real rows) leaves no scale: the ratio is then reported as 1.
            Metric("dcr_ratio", med_syn / med_hold if med_hold > 0 else 1.0, goal="max", details=details),
            Metric("share_closer_than_holdout_p5", float(np.mean(d_syn < p5)) if p5 > 0 else float(np.mean(d_syn <= 0)), goal="min", details={**details, "holdout_p5": p5}),
            Metric("exact_copy_rate", copies / len(syn_all) if len(syn_all) else 0.0, goal="min", details={"exact_copies": int(copies), "rows": len(syn_all)}),
        ]
