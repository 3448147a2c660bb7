"""Agreement with the R package faircause 0.4.0 (fairness_cookbook, debiasing, seed 2022) on public data.

The reference values are copied from /work/shared/reference/README.md (estimate, standard
error); berkeley.csv and compas.csv are the package's data objects, copied into tests/data.
Both are estimates, so agreement is checked within 3 combined standard errors.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from faircausesyn import CausalSpec, load_dataset
from faircausesyn.fairness import MEASURES, decompose

DATA = Path(__file__).resolve().parent / "data"

#: faircause debiasing, seed 2022: measure -> (estimate, standard error)
REFERENCE = {
    "berkeley": {"TV": (-0.1416, 0.0181), "DE": (0.0728, 0.0113), "IE": (0.2145, 0.0141), "SE": (-0.0000, 0.0000), "ETT": (-0.1416, 0.0181)},
    "compas": {"TV": (0.0864, 0.0161), "DE": (-0.0038, 0.0124), "IE": (-0.0483, 0.0056), "SE": (-0.0419, 0.0124), "ETT": (0.0445, 0.0130)},
    "heart_failure": {"TV": (-0.0042, 0.0689), "DE": (-0.0785, 0.0796), "IE": (-0.0324, 0.0589), "SE": (-0.0419, 0.0541), "ETT": (-0.0461, 0.0743)},
}


def _berkeley():
    df = pd.read_csv(DATA / "berkeley.csv")
    df["admit"] = (df["admit"] == "Admitted").astype(int)
    return df, CausalSpec(sensitive="gender", x0="Male", x1="Female", outcome="admit", mediators=["dept"])


def _compas():
    return pd.read_csv(DATA / "compas.csv"), CausalSpec.from_file(DATA / "compas.spec.yaml")


def _heart_failure():
    df, spec = load_dataset("heart_failure")
    return df.drop(columns=["time"]), spec.model_copy(update={"other": []})


LOADERS = {"berkeley": _berkeley, "compas": _compas, "heart_failure": _heart_failure}


@pytest.mark.parametrize("name", list(REFERENCE))
@pytest.mark.parametrize("nuisance", ["gbm", "linear"])
def test_agrees_with_faircause(name, nuisance):
    df, spec = LOADERS[name]()
    dec = decompose(df, spec, seed=2022, nuisance=nuisance)
    assert dec.n_dropped == 0
    for m in MEASURES:
        ref, ref_se = REFERENCE[name][m]
        combined = math.hypot(ref_se, dec[m].se)
        diff = abs(dec[m].estimate - ref)
        if combined == 0.0:
            assert diff < 1e-9, m
        else:
            assert diff <= 3 * combined, f"{name} {m}: ours {dec[m].estimate:.4f} (se {dec[m].se:.4f}) vs faircause {ref:.4f} (se {ref_se:.4f})"
    # The TV is a difference of group means: it must match to the reported digits.
    assert dec["TV"].estimate == pytest.approx(REFERENCE[name]["TV"][0], abs=6e-4)
