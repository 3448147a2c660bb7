"""The Pipeline: split, graph, fit, sample, evaluate; errors before work; JSON-ready results."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
from test_benchmark_support import _toy, host

from faircausesyn import CausalGraph, FairCauseSynError
from faircausesyn.errors import ConfigError, UnknownComponentError, UnsupportedConstraintError
from faircausesyn.pipeline import Pipeline, stratified_split


def test_stratified_split_keeps_every_x_y_share_and_is_reproducible():
    df, spec = _toy(400, seed=1)
    train, hold = stratified_split(df, spec, 0.3, seed=5)
    assert len(train) + len(hold) == len(df)
    for (x, y), count in df.groupby(["x", "y"]).size().items():
        got = ((hold["x"] == x) & (hold["y"] == y)).sum()
        assert abs(got - round(0.3 * count)) <= 1
    again, _ = stratified_split(df, spec, 0.3, seed=5)
    pd.testing.assert_frame_equal(train, again)
    other, _ = stratified_split(df, spec, 0.3, seed=6)
    assert not other.equals(train)
    whole, none = stratified_split(df, spec, 0.0, seed=5)
    assert none is None and len(whole) == len(df)


def test_stratified_split_of_a_numeric_outcome_uses_quartiles():
    df, spec = _toy(300, seed=2)
    df["y"] = df["w"] * 3 + 1
    _, hold = stratified_split(df, spec, 0.25, seed=0)
    assert abs(hold["y"].median() - df["y"].median()) < 0.5 * df["y"].std()


def test_run_gives_synthetic_rows_metrics_timings_and_memory():
    df, spec = _toy(300)
    p = Pipeline("bootstrap_test", evaluators=["marginal_test"], holdout=0.3, seed=1, host=host())
    res = p.run(df, spec)
    assert len(res.synthetic) == len(res.train) == 210 and len(res.holdout) == 90
    assert list(res.synthetic.columns) == list(df.columns)
    m = res.metric("mean_gap")
    assert 0 <= m.value < 0.3 and m.ideal == 0.0
    assert res.metric("holdout_rows").value == 90
    for key in ("graph_s", "fit_s", "sample_s", "evaluate_s", "total_s"):
        assert res.timings[key] >= 0
    assert res.timings["evaluators_s"].keys() == {"marginal_test"}
    assert res.peak_memory_mb > 10
    d = json.loads(json.dumps(res.to_dict()))
    assert d["rows"] == {"train": 210, "holdout": 90, "synthetic": 210}
    assert d["metrics"]["marginal_test"][0]["name"] == "mean_gap"
    assert d["sample_report"]["rows"] == 210 and "exact_copies" in d["sample_report"]
    assert d["config"]["generator"] == "bootstrap_test" and d["config"]["generator_config"] == {}
    assert CausalGraph.from_dict(d["graph"]) == CausalGraph.sfm(spec, columns=list(df.columns))


def test_same_seed_same_result_other_seed_other_synthetic():
    df, spec = _toy(200)
    a = Pipeline("bootstrap_test", evaluators=["marginal_test"], rows=80, seed=3, host=host()).run(df, spec)
    b = Pipeline("bootstrap_test", evaluators=["marginal_test"], rows=80, seed=3, host=host()).run(df, spec)
    c = Pipeline("bootstrap_test", evaluators=["marginal_test"], rows=80, seed=4, host=host()).run(df, spec)
    pd.testing.assert_frame_equal(a.synthetic, b.synthetic)
    assert len(a.synthetic) == 80 and not a.synthetic.equals(c.synthetic)


def test_graph_instance_and_no_holdout():
    df, spec = _toy(150)
    g = CausalGraph.sfm(spec, columns=list(df.columns), mediator_structure="independent")
    res = Pipeline("bootstrap_test", graph=g, evaluators=["marginal_test"], holdout=0.0, host=host()).run(df, spec)
    assert res.holdout is None and res.graph == g and len(res.train) == 150
    assert "holdout_rows" not in {m.name for m in res.metrics["marginal_test"]}


def test_a_failing_evaluator_raises_or_is_recorded():
    df, spec = _toy(120)
    with pytest.raises(RuntimeError, match="always fails"):
        Pipeline("bootstrap_test", evaluators=["failing_test"], host=host()).run(df, spec)
    res = Pipeline("bootstrap_test", evaluators=["marginal_test", "failing_test"], on_evaluator_error="record", host=host()).run(df, spec)
    assert "always fails" in res.errors["failing_test"] and "marginal_test" in res.metrics
    assert "failing_test" in res.to_dict()["evaluator_errors"]


def test_bad_names_and_settings_fail_before_any_work():
    df, spec = _toy(100)
    with pytest.raises(UnknownComponentError, match="bootstrap_test"):
        Pipeline("bootstrap_tset", host=host()).run(df, spec)
    with pytest.raises(UnknownComponentError):
        Pipeline("bootstrap_test", evaluators=["nope"], host=host()).run(df, spec)
    with pytest.raises(UnknownComponentError):
        Pipeline("bootstrap_test", constraint="remove_everything", host=host()).run(df, spec)
    with pytest.raises(ConfigError, match="epochs: unknown key"):
        Pipeline("bootstrap_test", generator_config={"epochs": 3}, host=host()).run(df, spec)
    with pytest.raises(ConfigError):
        Pipeline("bootstrap_test", rows=0)
    with pytest.raises(ConfigError):
        Pipeline("bootstrap_test", holdout=1.5)
    # The bootstrap generator cannot remove a pathway: the base class says so.
    with pytest.raises(UnsupportedConstraintError):
        Pipeline("bootstrap_test", constraint="remove_direct", evaluators=[], host=host()).run(df, spec)
    assert issubclass(UnsupportedConstraintError, FairCauseSynError)


def test_decomposition_of_real_and_synthetic_when_asked():
    __import__("faircausesyn.fairness")
    from faircausesyn import fairness

    if not hasattr(fairness, "decompose"):
        pytest.fail("faircausesyn.fairness has no decompose")
    df, spec = _toy(400, seed=4)
    res = Pipeline("bootstrap_test", evaluators=[], decomposition={"method": "plugin", "n_boot": 20, "nuisance": "linear"}, seed=0, host=host()).run(df, spec)
    real, syn = res.decompositions["real"], res.decompositions["synthetic"]
    assert json.loads(json.dumps(res.to_dict()))["decompositions"]["real"] == real
    text = json.dumps(real)
    for measure in ("TV", "DE", "IE", "SE", "ETT"):
        assert measure in text
    assert np.isfinite(res.timings["decompose_s"]) and syn


def test_decompositions_come_from_the_causal_fairness_evaluator_when_not_computed():
    df, spec = _toy(300, seed=6)
    res = Pipeline(
        "bootstrap_test",
        evaluators=["causal_fairness"],
        evaluator_config={"causal_fairness": {"method": "plugin", "nuisance": "linear", "n_boot": 10}},
        host=host(),
    ).run(df, spec)
    assert res.decompositions["source"] == "causal_fairness"
    de_real = res.metric("DE_real", "causal_fairness").value
    assert res.decompositions["real"]["measures"]["DE"]["estimate"] == pytest.approx(de_real)
    assert "decompose_s" not in res.timings
