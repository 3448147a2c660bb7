"""The Generator base class: validation, constraints, copies of real rows, conformance of a simple generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faircausesyn import Generator, get_constraint
from faircausesyn.errors import ConfigError, NotFittedError, SpecError, UnsupportedConstraintError
from faircausesyn.testing import check_generator, toy_sfm


class Bootstrap(Generator):
    """Resamples real rows: every row is a copy (the worst case for privacy)."""

    def _fit(self, data, ctx):
        self.data_ = data

    def _sample(self, n, seed):
        return self.data_.sample(n, replace=True, random_state=seed).reset_index(drop=True)


class Jitter(Bootstrap):
    """Resamples real rows and perturbs the continuous columns (a real, simple generator)."""

    removable_pathways = frozenset({"spurious"})

    def _fit(self, data, ctx):
        super()._fit(data, ctx)
        self.cuts_ = ctx.interventions
        self.cont_ = [c.name for c in ctx.schema.columns if c.kind == "continuous"]

    def _sample(self, n, seed):
        out = super()._sample(n, seed)
        rng = np.random.default_rng(seed)
        for c in self.cont_:
            out[c] = out[c] + rng.normal(0, out[c].std() * 0.1, n)
        for cut in self.cuts_:
            if cut.mode == "independent":
                out[cut.target] = rng.permutation(out[cut.target].to_numpy())
        return out


def test_simple_generator_passes_the_conformance_kit():
    check_generator(lambda: Jitter(seed=1))


def test_copies_are_counted_and_removed():
    df, spec = toy_sfm(200, seed=2)
    g = Bootstrap().fit(df, spec)
    g.sample(100)
    assert g.sample_report_["exact_copies"] == 100
    j = Jitter().fit(df, spec)
    out = j.sample(300, no_copies=True)
    assert j.sample_report_["exact_copies_left"] == 0 and len(out) == 300


def test_unsupported_constraint_and_errors():
    df, spec = toy_sfm(100, seed=0)
    with pytest.raises(UnsupportedConstraintError, match="cannot remove the direct pathway"):
        Jitter().fit(df, spec, constraint=get_constraint("remove_direct"))
    with pytest.raises(UnsupportedConstraintError, match="unknown|cannot"):
        Bootstrap().fit(df, spec, constraint="remove_spurious")
    Jitter().fit(df, spec, constraint="remove_spurious")
    with pytest.raises(NotFittedError):
        Jitter().sample(3)
    with pytest.raises(ConfigError, match="unknown key"):
        Jitter(epochs=3)
    g = Jitter().fit(df, spec)
    for bad in (0, -1, 2.5, "ten"):
        with pytest.raises(ConfigError):
            g.sample(bad)
    with pytest.raises(SpecError):
        Jitter().fit(df.drop(columns=["bmi"]), spec)


def test_rows_with_missing_values_are_dropped_and_counted():
    df, spec = toy_sfm(100, seed=0)
    df.loc[:4, "bmi"] = np.nan
    g = Jitter().fit(df, spec)
    assert g.fit_report_["rows_dropped_missing"] == 5
    assert not g.sample(50).isna().any().any()


def test_columns_outside_the_spec_are_not_generated():
    df, spec = toy_sfm(100, seed=0)
    df["patient_id"] = np.arange(100)
    out = Jitter().fit(df, spec).sample(10)
    assert "patient_id" not in out.columns and list(out.columns) == [c for c in df.columns if c != "patient_id"]
    assert isinstance(out, pd.DataFrame)
