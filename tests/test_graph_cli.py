"""``faircausesyn graph``: providers, output formats, plots, refutation and the one-line error contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from test_graph_providers import TRUE_EDGES, adjacency_scores, simulate_sfm, tier_violations

from faircausesyn import CausalGraph, CausalSpec
from faircausesyn.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("graphcli")
    df, spec = simulate_sfm(800, 0)
    df.to_csv(d / "sim.csv", index=False)
    spec.to_file(d / "spec.yaml")
    return d


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml", ".dot", ".gv"])
def test_sfm_graph_written_in_every_format_and_read_back(table, tmp_path, suffix):
    out = tmp_path / f"g{suffix}"
    res = run("graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "-o", str(out))
    assert res.exit_code == 0, res.output
    spec = CausalSpec.from_file(table / "spec.yaml")
    g = CausalGraph.from_file(out)
    assert g == CausalGraph.sfm(spec)
    # ... and read back in as a user graph, which round-trips unchanged.
    again = tmp_path / f"again{suffix}"
    res = run("graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--input", str(out), "-o", str(again))
    assert res.exit_code == 0, res.output
    assert CausalGraph.from_file(again) == g


def test_pc_with_plot_refutation_and_report(table, tmp_path):
    plot, report, out = tmp_path / "pc.png", tmp_path / "pc.json", tmp_path / "pc.dot"
    res = run(
        "graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--provider", "pc", "--config", "alpha=0.01",
        "-o", str(out), "--plot", str(plot), "--refute", "--report", str(report),
    )
    assert res.exit_code == 0, res.output
    assert "pc graph: 8 nodes" in res.output and "implied conditional independences violated" in res.output
    assert plot.read_bytes().startswith(b"\x89PNG")
    spec = CausalSpec.from_file(table / "spec.yaml")
    g = CausalGraph.from_file(out)
    recall, precision = adjacency_scores(g.edges, TRUE_EDGES)
    assert recall >= 0.85 and precision >= 0.85 and tier_violations(g, spec) == []
    rep = json.loads(report.read_text())
    assert rep["provider"] == "pc" and rep["report"]["alpha"] == 0.01 and "refutation" in rep
    assert CausalGraph.from_dict(rep["graph"]) == g


def test_truth_comparison_is_reported(table, tmp_path):
    spec = CausalSpec.from_file(table / "spec.yaml")
    CausalGraph(spec.columns, TRUE_EDGES).save(tmp_path / "truth.dot")
    res = run("graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--provider", "pc", "--truth", str(tmp_path / "truth.dot"), "--json")
    assert res.exit_code == 0, res.output
    c = json.loads(res.output)["comparison"]
    g = CausalGraph.from_dict(json.loads(res.output)["graph"])
    assert (c["adjacency_recall"], c["adjacency_precision"]) == adjacency_scores(g.edges, TRUE_EDGES)
    assert c["adjacency_recall"] >= 0.85 and c["true_edges"] == len(TRUE_EDGES)
    res = run("graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--truth", str(tmp_path / "truth.dot"))
    assert "adjacency recall 1.00, precision 0.48" in res.output  # the SFM holds every true edge, and many more


def test_refute_prints_the_violated_implications_of_a_wrong_graph(table, tmp_path):
    wrong = CausalGraph(CausalSpec.from_file(table / "spec.yaml").columns, [e for e in TRUE_EDGES if e != ("w3", "y")])
    wrong.save(tmp_path / "wrong.yaml")
    res = run("graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "-i", str(tmp_path / "wrong.yaml"), "--refute")
    assert res.exit_code == 0, res.output
    assert "violated implications" in res.output
    assert any(line.count("y") and "w3" in line for line in res.output.splitlines() if line.startswith("│ y"))


def test_llm_provider_through_an_openai_compatible_endpoint_lists_its_repairs(table, tmp_path):
    from test_graph_llm import FixedAnswer

    from faircausesyn.testing.llm_server import LLMServer

    answer = "z1 -> x\nx -> w1\nw1 -> w3\nw3 -> w1\ny -> w4\nw3 -> y\nx -> y\nw4 -> y"
    log = tmp_path / "llm.jsonl"
    with LLMServer(FixedAnswer(answer=answer), model="m") as server:
        res = run(
            "graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--provider", "llm",
            "--config", "backend=openai", "--config", f'backend_config={{base_url: "{server.url}", model: m, max_retries: 0}}',
            "--config", f"log_path={log}", "-o", str(tmp_path / "llm.json"),
        )
    assert res.exit_code == 0, res.output
    assert "repair(s) of the proposed edges" in res.output
    assert "dropped w3 -> w1: it would close the cycle w3 -> w1 -> w3" in res.output
    assert "dropped y -> w4: it leaves the outcome" in res.output
    assert "added x -> w2: mediator 'w2' was not reachable from 'x'" in res.output
    rec = json.loads(log.read_text().splitlines()[-1])
    assert rec["answer"] == answer and rec["backend"] == "openai"
    g = CausalGraph.from_file(tmp_path / "llm.json")
    assert ("w1", "w3") in g.edges and ("w3", "w1") not in g.edges


def test_json_output_of_a_builtin_dataset():
    res = run("graph", "heart_failure", "--provider", "sfm", "--config", "mediator_structure=independent", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["report"]["mediator_structure"] == "independent"
    assert ["sex", "smoking"] in data["graph"]["edges"] and ["smoking", "anaemia"] not in data["graph"]["edges"]


def test_bad_user_graph_is_one_line_naming_every_problem_with_exit_code_2(table, tmp_path):
    bad = tmp_path / "bad.dot"
    bad.write_text("digraph { x -> w1 -> w2 -> w1; y -> z1; w3 -> x; x -> z2; w4 -> y; ghost -> y }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "faircausesyn", "graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), "--input", str(bad)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the causal graph has ") and "Traceback" not in proc.stderr
    for fragment in ("cycle: w1 -> w2 -> w1", "'ghost' is not a column", "edge y -> z1 leaves the outcome", "edge w3 -> x points into the sensitive attribute",
                     "edge x -> z2 makes confounder 'z2' downstream", "mediator 'w3' is not reachable", "mediator 'w4' is not reachable"):
        assert fragment in lines[0], fragment


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["-o", "graph.txt"], "unknown suffix"),
        (["--plot", "graph.jpg"], "unknown suffix"),
        (["--provider", "pcc"], "did you mean 'pc'"),
        (["--provider", "pc", "--config", "alpha=3"], "alpha"),
        (["--provider", "pc", "--input", "g.json"], "cannot be combined"),
        (["--alpha", "0"], "--alpha"),
    ],
)
def test_usage_errors_exit_2(table, args, fragment):
    res = CliRunner().invoke(cli, ["graph", str(table / "sim.csv"), "--spec", str(table / "spec.yaml"), *args])
    assert res.exit_code == 2
    assert fragment in res.output
