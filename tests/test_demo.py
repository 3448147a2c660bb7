"""`faircausesyn demo` runs the whole pipeline with the default method and prints both decompositions."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from faircausesyn.cli.main import cli


def test_demo_runs_end_to_end(tmp_path):
    res = CliRunner().invoke(cli, ["demo", "--quiet", "--out", str(tmp_path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = res.output
    for m in ("TV", "DE", "IE", "SE", "ETT"):
        assert re.search(rf"│\s+{m} │ [+-]\d\.\d{{3}} \[", out), f"no table row for {m}"
    assert "real [95% CI]" in out and "synthetic [95% CI]" in out and "fidelity" in out
    result = json.loads((tmp_path / "result.json").read_text())
    real, syn = result["decompositions"]["real"]["measures"], result["decompositions"]["synthetic"]["measures"]
    for m in ("TV", "DE", "IE", "SE"):
        assert syn[m]["lower"] <= syn[m]["estimate"] <= syn[m]["upper"]
        assert abs(real["TV"]["estimate"] - (real["DE"]["estimate"] - real["IE"]["estimate"] - real["SE"]["estimate"])) < 1e-9
    assert (tmp_path / "synthetic.csv").stat().st_size > 1000
    assert result["sample_report"]["exact_copies"] == 0
