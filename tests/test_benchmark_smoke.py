"""The shipped benchmark configs: both parse and name installed components; a reduced smoke grid really runs."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd

from faircausesyn.benchmark import BenchmarkConfig, ResultsStore, run_benchmark
from faircausesyn.benchmark.runner import _check_names

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_shipped_configs_parse_and_name_installed_components():
    for name in ("smoke.yaml", "full.yaml"):
        cfg = BenchmarkConfig.from_file(BENCH / name)
        _check_names(cfg)  # raises on a generator, constraint, evaluator or dataset that is not installed
        assert {d.name for d in cfg.datasets} == {"heart_failure", "cleveland", "ilpd"}
        assert {g.name for g in cfg.generators} >= {"gaussian_copula", "ctgan", "tvae", "decaf", "dowhy_scm", "faircausesyn"}


def test_reduced_smoke_grid_runs_end_to_end(tmp_path):
    cfg = BenchmarkConfig.from_file(BENCH / "smoke.yaml")
    keep = {"gaussian_copula", "decaf"}
    reduced = cfg.model_copy(update={"datasets": cfg.datasets[:1], "generators": [g for g in cfg.generators if g.name in keep], "seeds": [0]})
    summary = run_benchmark(reduced, tmp_path)
    assert summary.cells == 4 and summary.failed == 0 and summary.ok == 3 and summary.unsupported == 1  # SDV cannot remove_direct
    records = ResultsStore(tmp_path / "results.jsonl").records()
    ok = [r for r in records if r["status"] == "ok"]
    for r in ok:
        assert set(r["result"]["metrics"]) == set(cfg.evaluators), r.get("evaluator_errors")
        assert r["result"]["decompositions"]["source"] == "causal_fairness"
    frame = pd.read_csv(tmp_path / "summary.csv")
    metrics = set(frame["metric"])
    assert {"fairness/deviation_DE", "fairness/real_DE", "cost/fit_s", "cost/peak_memory_mb", "privacy/exact_copies"} <= metrics
    assert all(any(m.startswith(ev + "/") for m in metrics) for ev in cfg.evaluators)
    page = (tmp_path / "report.html").read_text()
    for ev in cfg.evaluators:
        assert f"<h3>{ev}</h3>" in page
    assert page.count("<svg") >= 3
