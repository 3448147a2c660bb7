"""The ``fairness`` and ``evaluate`` commands."""

from __future__ import annotations

import json

from click.testing import CliRunner
from scm import simulate_sfm

from faircausesyn.cli.main import cli

MEASURES = ["TV", "DE", "IE", "SE", "ETT"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _write(tmp_path, name, df):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_fairness_builtin_json_and_plot(tmp_path):
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    res = run("fairness", "heart_failure", "--json", out, "--plot", png)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert list(data["measures"]) == MEASURES
    for m in MEASURES:
        e = data["measures"][m]
        assert e["lower"] <= e["estimate"] <= e["upper"] and e["se"] >= 0
    est = {m: data["measures"][m]["estimate"] for m in MEASURES}
    assert abs(est["TV"] - (est["DE"] - est["IE"] - est["SE"])) < 1e-12
    assert data["n_used"] == 299 and data["n_dropped"] == 0 and data["spec"]["sensitive"] == "sex"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "ctf-DE" in res.output


def test_fairness_file_with_spec_and_missing_rows(tmp_path):
    df, spec, _ = simulate_sfm(600, seed=1, kind="categorical_mediator")
    df.loc[[0, 5], "w1"] = None
    data, spec_path, out = _write(tmp_path, "t.csv", df), tmp_path / "spec.yaml", tmp_path / "d.json"
    spec.to_file(spec_path)
    res = run("fairness", data, "--spec", spec_path, "--method", "plugin", "--nuisance", "linear", "--n-boot", "20", "--json", out, "--quiet")
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["method"] == "plugin" and d["n_dropped"] == 2 and d["n_used"] == 598 and d["x0"] == "female"
    assert res.output == ""


def test_fairness_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["fairness", "no_such_dataset"])
    assert res.exit_code == 2 and res.output.startswith("error:") and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(cli, ["fairness", "heart_failure", "--plot", str(tmp_path / "x.bmpx")])
    assert res.exit_code == 2 and "plot" in res.output
    res = CliRunner().invoke(cli, ["fairness", "heart_failure", "--folds", "1"])
    assert res.exit_code == 2 and "folds" in res.output


def test_evaluate_table_against_itself(tmp_path):
    real, spec, _ = simulate_sfm(900, seed=2, kind="linear_logistic")
    hold, _, _ = simulate_sfm(400, seed=3, kind="linear_logistic")
    rp, hp, sp = _write(tmp_path, "real.csv", real), _write(tmp_path, "hold.csv", hold), tmp_path / "spec.yaml"
    spec.to_file(sp)
    out = tmp_path / "ev.json"
    res = run(
        "evaluate", rp, rp, "--spec", sp, "--holdout", hp,
        "--evaluators", "causal_fairness,detection", "--evaluators", "utility",
        "--config", "causal_fairness.nuisance=linear", "--json", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert list(data["metrics"]) == ["causal_fairness", "detection", "utility"]
    m = {ev: {x["name"]: x["value"] for x in ms} for ev, ms in data["metrics"].items()}
    for meas in MEASURES:
        assert m["causal_fairness"][f"{meas}_abs_deviation"] == 0.0
    assert abs(m["detection"]["detection_auc"] - 0.5) < 0.02
    assert abs(m["utility"]["gbm_tstr_auc"] - m["utility"]["gbm_trtr_auc"]) < 1e-9
    assert set(data["decompositions"]) == {"real", "synthetic"}


def test_evaluate_html_and_errors(tmp_path):
    real, spec, _ = simulate_sfm(500, seed=4, kind="no_mediators")
    rp, sp = _write(tmp_path, "real.csv", real), tmp_path / "spec.yaml"
    spec.to_file(sp)
    html = tmp_path / "ev.html"
    res = run("evaluate", rp, rp, "--spec", sp, "--evaluators", "privacy", "--html", html, "--quiet")
    assert res.exit_code == 0, res.output
    assert "<html" in html.read_text().lower()
    res = CliRunner().invoke(cli, ["evaluate", str(rp), str(rp), "--spec", str(sp), "--evaluators", "nope"])
    assert res.exit_code == 2 and "unknown evaluator" in res.output
    res = CliRunner().invoke(cli, ["evaluate", str(rp), str(rp), "--spec", str(sp), "--evaluators", "privacy", "--config", "utility.seed=1"])
    assert res.exit_code == 2 and "not run" in res.output
    res = CliRunner().invoke(cli, ["evaluate", str(rp), str(rp), "--spec", str(sp), "--evaluators", "privacy", "--config", "privacy.bogus=1"])
    assert res.exit_code == 2 and "bogus" in res.output
