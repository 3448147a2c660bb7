"""The CLI's core commands and its error contract: one line, exit code 2, no traceback."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from faircausesyn.cli.main import cli
from faircausesyn.testing import toy_sfm


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plugins_json_lists_every_builtin_ok():
    res = run("plugins", "--json")
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert all(p["status"] == "ok" for p in data)
    assert {"datasets", "constraints"} <= {p["name"] for p in data}


def test_plugins_table_and_datasets():
    res = run("plugins")
    assert res.exit_code == 0 and "constraints" in res.output
    res = run("datasets", "--json")
    assert [d["name"] for d in json.loads(res.output)] == ["cleveland", "heart_failure", "ilpd"]


def test_validate_builtin_prints_summary():
    res = run("validate", "heart_failure")
    assert res.exit_code == 0, res.output
    assert "299 rows" in res.output and "DEATH_EVENT" in res.output and "sensitive" in res.output
    res = run("validate", "ilpd", "--json")
    summary = json.loads(res.output)
    assert [g["rows"] for g in summary["groups"]] == [142, 441]


def test_validate_with_many_faults_one_message_exit_2(tmp_path):
    df, _ = toy_sfm(100, seed=0)
    df["const"] = 1
    csv = tmp_path / "t.csv"
    df.to_csv(csv, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("sensitive: sex\nx0: F\nx1: Q\noutcome: stage\nconfounders: [age, agee]\nmediators: [smoker, age, const]\n")
    res = CliRunner().invoke(cli, ["validate", str(csv), "--spec", str(spec)])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the causal spec has")
    for fragment in ("x1='Q'", "'agee'", "did you mean 'age'", "two roles", "constant", "binary 0/1 or numeric"):
        assert fragment in lines[0], fragment
    assert "Traceback" not in res.output


def test_debug_shows_the_traceback(tmp_path):
    res = CliRunner().invoke(cli, ["--debug", "validate", "no_such_dataset"])
    assert res.exit_code != 0 and res.exception is not None


def test_missing_spec_for_a_file(tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(csv, index=False)
    res = CliRunner().invoke(cli, ["validate", str(csv)])
    assert res.exit_code == 2 and "no spec" in res.output and "--spec" in res.output


def test_python_m_entry_point():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "faircausesyn", "validate", "nope.csv", "--spec", "nope.yaml"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
