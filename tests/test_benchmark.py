"""Benchmark runner: config, cell keys, results.jsonl, resume after a kill, failures, summaries, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from test_benchmark_support import _toy

from faircausesyn.benchmark import BenchmarkConfig, ResultsStore, run_benchmark
from faircausesyn.benchmark.summary import flatten, summary_frame, summary_markdown
from faircausesyn.cli.main import cli
from faircausesyn.errors import ConfigError, UnknownComponentError

TESTS = Path(__file__).resolve().parent
PLUGIN = "test_benchmark_support:plugin"


@pytest.fixture
def toy_files(tmp_path):
    df, spec = _toy(240, seed=3)
    df.to_csv(tmp_path / "toy.csv", index=False)
    spec.to_file(tmp_path / "toy.yaml")
    return tmp_path


def _config(toy_files: Path, **over) -> Path:
    cfg = {
        "name": "t",
        "datasets": [{"name": "toy", "path": "toy.csv", "spec": "toy.yaml"}],
        "generators": [{"name": "bootstrap_test", "label": "boot"}, {"name": "bootstrap_test", "label": "indep", "config": {"independent": True}}],
        "constraints": ["preserve"],
        "seeds": [0, 1],
        "evaluators": ["marginal_test"],
        "decomposition": None,
        "plugins": [PLUGIN],
    }
    cfg.update(over)
    path = toy_files / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_config_parses_names_resolves_paths_and_reports_problems(toy_files):
    cfg = BenchmarkConfig.from_file(_config(toy_files))
    assert cfg.datasets[0].path == str(toy_files / "toy.csv") and cfg.constraints[0].name == "preserve"
    cells = cfg.cells()
    assert len(cells) == 4 and len({c["key"] for c in cells}) == 4
    assert [c["key"] for c in BenchmarkConfig.from_file(_config(toy_files)).cells()] == [c["key"] for c in cells]
    assert json.loads(json.dumps(cells[0])) == cells[0]  # plain data, shippable to a worker
    (toy_files / "toy.csv").write_text((toy_files / "toy.csv").read_text() + "1,0.0,0.0,1\n")
    assert BenchmarkConfig.from_file(_config(toy_files)).cells()[0]["key"] != cells[0]["key"]  # new data, new cells
    with pytest.raises(ConfigError, match="duplicate generator label"):
        BenchmarkConfig.from_dict({"datasets": ["heart_failure"], "generators": ["a", "a"]})
    with pytest.raises(ConfigError) as info:
        BenchmarkConfig.from_dict({"datasets": [], "generators": ["a"], "seeds": [0], "holdout": 2, "colour": 1})
    msg = str(info.value)
    assert "datasets" in msg and "holdout" in msg and "colour" in msg
    with pytest.raises(ConfigError, match="spec"):
        BenchmarkConfig.from_dict({"datasets": [{"name": "x", "path": "x.csv"}], "generators": ["a"]})


def test_run_writes_results_tables_report_and_resumes(toy_files):
    path = _config(toy_files)
    cfg = BenchmarkConfig.from_file(path)
    out = toy_files / "out"
    s = run_benchmark(cfg, out)
    assert (s.cells, s.ran, s.ok, s.failed) == (4, 4, 4, 0)
    recs = ResultsStore(out / "results.jsonl").records()
    assert len(recs) == 4 and {r["status"] for r in recs} == {"ok"}
    r = recs[0]
    assert r["result"]["timings"]["fit_s"] >= 0 and r["result"]["peak_memory_mb"] > 0
    assert r["versions"]["pandas"] == pd.__version__ and r["cell"]["seed"] in (0, 1)
    assert r["result"]["metrics"]["marginal_test"][0]["name"] == "mean_gap"
    for name in ("summary.csv", "summary.md", "report.html", "run.json"):
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "summary.csv")
    row = table[(table.generator == "boot") & (table.metric == "marginal_test/mean_gap")].iloc[0]
    vals = [x["result"]["metrics"]["marginal_test"][0]["value"] for x in recs if x["generator"] == "boot"]
    assert row["n"] == 2 and row["mean"] == pytest.approx(sum(vals) / 2) and row["std"] == pytest.approx(pd.Series(vals).std())
    assert "| boot | preserve |" in (out / "summary.md").read_text()
    # Nothing is run again ...
    again = run_benchmark(cfg, out)
    assert (again.already_done, again.ran) == (4, 0) and len(ResultsStore(out / "results.jsonl").records()) == 4
    # ... and a torn last line (a kill while writing) is dropped and only that cell re-runs.
    text = (out / "results.jsonl").read_text()
    (out / "results.jsonl").write_text(text[: len(text) - 40])
    third = run_benchmark(cfg, out)
    assert (third.already_done, third.ran) == (3, 1)
    assert sorted(r["key"] for r in ResultsStore(out / "results.jsonl").records()) == sorted(c["key"] for c in cfg.cells())
    # A new seed adds only its own cells.
    more = run_benchmark(BenchmarkConfig.from_file(_config(toy_files, seeds=[0, 1, 2])), out)
    assert (more.already_done, more.ran) == (4, 2)


def test_a_failing_cell_is_recorded_and_the_others_run(toy_files):
    path = _config(toy_files, generators=[{"name": "bootstrap_test", "label": "boot"}, {"name": "bootstrap_test", "label": "broken", "config": {"noise": "loud"}}], seeds=[0])
    out = toy_files / "out"
    s = run_benchmark(BenchmarkConfig.from_file(path), out)
    assert (s.ok, s.failed) == (1, 1)
    bad = [r for r in ResultsStore(out / "results.jsonl").records() if r["status"] == "error"][0]
    assert bad["generator"] == "broken" and "noise" in bad["error"]
    assert "broken" in (out / "summary.md").read_text()
    assert run_benchmark(BenchmarkConfig.from_file(path), out).ran == 0  # failures are finished cells ...
    assert run_benchmark(BenchmarkConfig.from_file(path), out, retry_failed=True).ran == 1  # ... unless retried
    # An evaluator failure keeps the cell (and the other evaluators).
    ev = run_benchmark(BenchmarkConfig.from_file(_config(toy_files, evaluators=["marginal_test", "failing_test"], seeds=[5])), toy_files / "ev")
    rec = ResultsStore(toy_files / "ev" / "results.jsonl").records()[0]
    assert ev.ok == 2 and "always fails" in rec["evaluator_errors"]["failing_test"] and rec["result"]["metrics"]["marginal_test"]


def test_unknown_names_fail_before_any_cell(toy_files):
    with pytest.raises(UnknownComponentError, match="bootstrap_tst"):
        run_benchmark(BenchmarkConfig.from_file(_config(toy_files, generators=["bootstrap_tst"])), toy_files / "o")
    with pytest.raises(UnknownComponentError):
        run_benchmark(BenchmarkConfig.from_file(_config(toy_files, evaluators=["nope"])), toy_files / "o")
    assert not (toy_files / "o" / "results.jsonl").exists()
    res = CliRunner().invoke(cli, ["benchmark", str(_config(toy_files, constraints=["nope"])), "-o", str(toy_files / "o")])
    assert res.exit_code == 2 and "unknown fairness constraint 'nope'" in res.output


def test_summary_statistics_from_records():
    def rec(seed, gap, real, syn):
        dec = lambda v: {"measures": {m: {"estimate": v, "lower": v - 0.1, "upper": v + 0.1, "se": 0.05} for m in ("TV", "DE", "IE", "SE", "ETT")}}  # noqa: E731
        return {
            "key": f"k{seed}", "status": "ok", "dataset": "d", "generator": "g", "constraint": "preserve", "seed": seed,
            "result": {"metrics": {"ev": [{"name": "gap", "value": gap, "ideal": 0.0, "goal": "min"}]}, "decompositions": {"real": dec(real), "synthetic": dec(syn)},
                       "timings": {"fit_s": 1.0, "sample_s": 0.5}, "peak_memory_mb": 100.0, "sample_report": {"exact_copies": seed}},
        }
    records = [rec(0, 0.1, 0.2, 0.25), rec(1, 0.3, 0.2, 0.05)]
    f = flatten(records[0])
    assert f["fairness/deviation_DE"] == pytest.approx(0.05) and f["fairness/inside_real_ci_DE"] == 1.0 and f["ev/gap"] == 0.1
    frame = summary_frame(records + [{"key": "x", "status": "error", "dataset": "d", "generator": "g", "constraint": "preserve", "seed": 9, "error": "boom"}])
    gap = frame[frame.metric == "ev/gap"].iloc[0]
    assert gap["mean"] == pytest.approx(0.2) and gap["std"] == pytest.approx(0.1414, abs=1e-3) and gap["n"] == 2 and gap["goal"] == "min"
    inside = frame[frame.metric == "fairness/inside_real_ci_DE"].iloc[0]
    assert inside["mean"] == 0.5
    md = summary_markdown(records, title="x")
    assert "0.200 ± 0.141" in md and "## d" in md


KILL_CONFIG = {
    "name": "kill",
    "datasets": [{"name": "toy", "path": "toy.csv", "spec": "toy.yaml"}],
    "generators": [{"name": "bootstrap_test", "label": f"g{i}", "config": {"delay_s": 0.4}} for i in range(4)],
    "seeds": [0, 1, 2],
    "evaluators": ["marginal_test"],
    "decomposition": None,
    "plugins": [PLUGIN],
}


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}


def test_killed_run_completes_without_rerunning_finished_cells(toy_files):
    path = toy_files / "kill.yaml"
    path.write_text(yaml.safe_dump(KILL_CONFIG))
    out = toy_files / "out"
    cmd = [sys.executable, "-m", "faircausesyn", "benchmark", str(path), "-o", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not results.exists() or results.read_text().count("\n") < 3):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = [r["key"] for r in ResultsStore(results).records()]
    assert 3 <= len(before) < 12, "the run must be killed half-way"
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} already done, {12 - len(before)} run now" in done.stdout
    keys = [r["key"] for r in ResultsStore(results).records()]
    assert len(keys) == len(set(keys)) == 12 and keys[: len(before)] == before
    assert (out / "report.html").exists()


def test_dask_local_cluster_gives_the_in_process_results(toy_files, monkeypatch):
    __import__("dask.distributed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    path = _config(toy_files)
    res = CliRunner().invoke(cli, ["benchmark", str(path), "-o", str(toy_files / "dask"), "--workers", "2", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "4 run now (4 ok, 0 failed" in res.output
    local = run_benchmark(BenchmarkConfig.from_file(path), toy_files / "local")
    assert local.ok == 4

    def values(folder):
        return {r["key"]: r["result"]["metrics"] for r in ResultsStore(folder / "results.jsonl").records()}

    assert values(toy_files / "dask") == values(toy_files / "local")
    pids = {r["worker"]["pid"] for r in ResultsStore(toy_files / "dask" / "results.jsonl").records()}
    assert os.getpid() not in pids
    bad = CliRunner().invoke(cli, ["benchmark", str(path), "-o", str(toy_files / "x"), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert bad.exit_code == 2 and "not both" in bad.output


def test_config_aliases_split_and_seed_count():
    cfg = BenchmarkConfig.from_dict({"datasets": ["heart_failure"], "generators": ["g"], "split": {"holdout": 0.25}, "seeds": 3})
    assert cfg.holdout == 0.25 and cfg.seeds == [0, 1, 2]
    assert BenchmarkConfig.from_dict({"datasets": ["heart_failure"], "generators": ["g"], "split": 0.2}).holdout == 0.2
    with pytest.raises(ConfigError, match="not both"):
        BenchmarkConfig.from_dict({"datasets": ["heart_failure"], "generators": ["g"], "split": 0.2, "holdout": 0.3})
    with pytest.raises(ConfigError, match="unknown key"):
        BenchmarkConfig.from_dict({"datasets": ["heart_failure"], "generators": ["g"], "split": {"test": 0.2}})
