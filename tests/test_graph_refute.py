"""Refutation of graphs with DoWhy on data simulated from a known DAG."""

from __future__ import annotations

import pandas as pd
import pytest
from test_graph_providers import TRUE_EDGES, simulate_sfm

from faircausesyn import CausalGraph
from faircausesyn.errors import ConfigError, DataError, GraphError
from faircausesyn.refute import falsify, partial_correlation_test, refute


def test_partial_correlation_test_detects_dependence_and_its_absence():
    df, _ = simulate_sfm(500, 0)
    # y depends on w4; w2 _||_ z1 (w2 has only X as parent, and z1 -> x -> w2 is blocked by x).
    assert partial_correlation_test(df["y"].to_numpy(), df["w4"].to_numpy(), df[["x", "w3"]].to_numpy()) < 1e-6
    assert partial_correlation_test(df["w2"].to_numpy(), df["z1"].to_numpy(), df[["x"]].to_numpy()) > 0.01


def test_true_graph_is_not_refuted_and_a_wrong_one_is():
    df, spec = simulate_sfm(400, 1)
    true = CausalGraph(spec.columns, TRUE_EDGES)
    ok = refute(true, df, spec)
    assert ok.n_tests >= 15 and ok.n_violations == 0, ok.violations
    removed = [("w3", "y"), ("x", "w1")]
    wrong = true.without_edges(removed)
    bad = refute(wrong, df, spec)
    v = bad.violations
    assert list(v.columns) == ["node", "non_descendant", "given", "p_value", "p_adjusted", "violated"]
    pairs = {frozenset((a, b)) for a, b in zip(v["node"], v["non_descendant"], strict=True)}
    for a, b in removed:
        assert frozenset((a, b)) in pairs  # each removed edge shows up as a violated implication
    assert (v["p_adjusted"] <= 0.05).all() and (v["p_adjusted"] >= v["p_value"]).all()
    assert v["p_adjusted"].is_monotonic_increasing
    row = v[(v["node"] == "y") & (v["non_descendant"] == "w3")].iloc[0]
    assert row["given"] == ", ".join(wrong.parents("y"))
    d = bad.to_dict()
    assert d["n_violations"] == bad.n_violations > 0 and len(d["tests"]) == bad.n_tests
    assert "violated" in bad.summary()


def test_budget_correction_and_rows():
    df, spec = simulate_sfm(400, 2)
    g = CausalGraph(spec.columns, [e for e in TRUE_EDGES if e[1] != "y"])
    limited = refute(g, df, spec, max_tests=5, max_rows=200)
    assert limited.details["tests_run"] == 5 and limited.skipped > 0 and limited.rows == 200
    assert limited.n_tests < refute(g, df, spec).n_tests
    raw = refute(g, df, spec, correction="none")
    holm = refute(g, df, spec, correction="holm")
    assert raw.n_violations >= holm.n_violations
    pd.testing.assert_series_equal(raw.tests["p_value"], holm.tests["p_value"])
    assert refute(g, df, spec).tests.equals(holm.tests)  # deterministic


def test_kernel_test_through_dowhy():
    df, spec = simulate_sfm(200, 0)
    g = CausalGraph(spec.columns, TRUE_EDGES).without_edges([("w3", "y")])
    res = refute(g, df, spec, test="approx_kernel", max_tests=3, correction="none")
    assert res.details["tests_run"] == 3 and res.n_tests >= 3 and res.test == "approx_kernel"
    assert res.tests["p_value"].between(0, 1).all()


def test_permutation_falsification():
    df, spec = simulate_sfm(300, 0)
    true = CausalGraph(spec.columns, TRUE_EDGES)
    res = falsify(true, df, n_permutations=10)
    assert res["falsified"] is False and res["violations"] == 0 and res["n_tests"] > 0
    assert "DAG" in res["text"]


def test_errors():
    df, spec = simulate_sfm(100, 0)
    cyclic = CausalGraph(["x", "y"], [("x", "y"), ("y", "x")])
    with pytest.raises(GraphError, match="cycle"):
        refute(cyclic, df)
    with pytest.raises(DataError, match="not columns"):
        refute(CausalGraph(["x", "ghost"], [("x", "ghost")]), df)
    with pytest.raises(ConfigError):
        refute(CausalGraph(spec.columns, TRUE_EDGES), df, alpha=2)
    with pytest.raises(ConfigError, match="unknown independence test"):
        refute(CausalGraph(spec.columns, TRUE_EDGES), df, test="magic")  # type: ignore[arg-type]
