"""CausalSpec: loading, and validation that reports every problem at once."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from faircausesyn import CausalSpec, load_dataset
from faircausesyn.errors import SpecError
from faircausesyn.testing import toy_sfm


def test_builtin_specs_validate():
    for name in ("heart_failure", "cleveland", "ilpd"):
        df, spec = load_dataset(name)
        spec.validate(df)


def test_yaml_and_json_round_trip(tmp_path):
    _, spec = load_dataset("cleveland")
    for suffix in (".yaml", ".json"):
        p = tmp_path / f"spec{suffix}"
        spec.to_file(p)
        assert CausalSpec.from_file(p) == spec


def test_every_problem_reported_at_once():
    df, _ = toy_sfm(200, seed=1)
    df["const"] = 3
    df["allnan"] = np.nan
    df["sex_copy"] = (df["sex"] == "M").astype(int)
    df["event_copy"] = df["event"]
    spec = CausalSpec(
        sensitive="sex",
        x0="F",
        x1="X",
        outcome="event",
        confounders=["age", "smoker"],
        mediators=["smoker", "nope", "const", "allnan", "sex_copy", "event_copy"],
    )
    with pytest.raises(SpecError) as err:
        spec.validate(df)
    probs = err.value.problems
    text = " ".join(probs)
    assert "'smoker' is given two roles" in text
    assert "'nope'" in text and "not in the table" in text
    assert "x1='X' is not a level" in text
    assert "'const' is constant" in text
    assert "'allnan' is entirely missing" in text
    assert "'sex_copy' is a copy" in text
    assert "'event_copy' is a copy of the outcome" in text
    assert len(probs) >= 7


def test_three_levels_nan_and_text_outcome():
    df = pd.DataFrame({"x": ["a", "b", "c", None] * 5, "y": ["yes", "no"] * 10, "z": np.arange(20.0)})
    spec = CausalSpec(sensitive="x", x0="a", x1="b", outcome="y", confounders=["z"])
    probs = " ".join(spec.problems(df))
    assert "exactly 2 levels, found 3" in probs
    assert "missing value" in probs
    assert "must be binary 0/1 or numeric" in probs


def test_levels_match_across_types():
    df = pd.DataFrame({"x": [0, 1] * 10, "y": [0, 1, 1, 0] * 5, "z": np.arange(20.0)})
    spec = CausalSpec.from_dict(json.loads('{"sensitive": "x", "x0": "0", "x1": "1", "outcome": "y", "confounders": ["z"]}'))
    spec.validate(df)
    assert list(spec.x_indicator(df)[:4]) == [0.0, 1.0, 0.0, 1.0]


def test_malformed_spec_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("sensitive: sex\nmediators: [a, b]\nbogus: 1\n")
    with pytest.raises(SpecError) as err:
        CausalSpec.from_file(p)
    text = str(err.value)
    assert "x0" in text and "outcome" in text and "bogus" in text


def test_huge_cardinality_is_reported():
    n = 400
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.integers(0, 2, n), "id": [f"p{i}" for i in range(n)], "y": rng.integers(0, 2, n)})
    spec = CausalSpec(sensitive="x", x0=0, x1=1, outcome="y", mediators=["id"])
    assert any("categories" in p and "identifier" in p for p in spec.problems(df))
