"""A corpus of bad inputs: each gets exit code 2, one clear line, no traceback, and no output file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from faircausesyn.testing import toy_sfm

GOOD_SPEC = "sensitive: sex\nx0: F\nx1: M\noutcome: event\nconfounders: [age]\nmediators: [smoker, stage, visits, bmi]\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    df, _ = toy_sfm(120, seed=0)
    df.to_csv(d / "good.csv", index=False)
    (d / "spec.yaml").write_text(GOOD_SPEC)
    (d / "empty.csv").write_text("")
    (d / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    df.to_csv(d / "semi.csv", index=False, sep=";")
    three = df.copy()
    three.loc[:9, "sex"] = "X"
    three.to_csv(d / "three_levels.csv", index=False)
    one = df.copy()
    one["sex"] = "F"
    one.to_csv(d / "one_level.csv", index=False)
    text_y = df.copy()
    text_y["event"] = np.where(df["event"] == 1, "yes", "no")
    text_y.to_csv(d / "text_outcome.csv", index=False)
    nan_xy = df.copy().astype({"event": float})
    nan_xy.loc[0, "sex"] = np.nan
    nan_xy.loc[1, "event"] = np.nan
    nan_xy.to_csv(d / "nan_xy.csv", index=False)
    const = df.copy()
    const["bmi"] = 25.0
    const["visits"] = np.nan
    const.to_csv(d / "const_nan.csv", index=False)
    ids = df.copy()
    ids["stage"] = [f"id{i}" for i in range(len(df))]
    ids.to_csv(d / "ids.csv", index=False)
    (d / "absent.yaml").write_text(GOOD_SPEC.replace("[age]", "[age, weight]"))
    (d / "overlap.yaml").write_text(GOOD_SPEC.replace("[age]", "[age, smoker]"))
    (d / "badlevel.yaml").write_text(GOOD_SPEC.replace("x1: M", "x1: male"))
    (d / "notyaml.yaml").write_text("sensitive: [unclosed\n")
    (d / "cyclic.json").write_text(json.dumps({"edges": [["age", "sex"], ["sex", "smoker"], ["smoker", "stage"], ["stage", "smoker"], ["event", "bmi"], ["sex", "event"], ["bmi", "age"], ["visits", "event"]]}))
    (d / "ckpt").mkdir()
    (d / "ckpt" / "decaf.safetensors").write_bytes(b"not a safetensors file at all")
    (d / "ckpt" / "decaf.json").write_text('{"version": 1, "epoch": 3, truncated')
    ro = d / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o555)
    return d


def _cases(d: Path):
    good, spec = str(d / "good.csv"), str(d / "spec.yaml")
    gen = ["generate", good, "--spec", spec, "--generator", "gaussian_copula", "--rows", "50"]
    return {
        "unreadable file": (["validate", str(d / "garbage.csv"), "--spec", spec], "UTF-8"),
        "empty file": (["validate", str(d / "empty.csv"), "--spec", spec], "empty"),
        "wrong delimiter": (["validate", str(d / "semi.csv"), "--spec", spec, "--delimiter", ","], "--delimiter"),
        "missing file": (["validate", str(d / "nope.csv"), "--spec", spec], "neither a file nor a built-in dataset"),
        "absent columns": (["validate", good, "--spec", str(d / "absent.yaml")], "'weight'"),
        "overlapping roles": (["validate", good, "--spec", str(d / "overlap.yaml")], "two roles"),
        "three levels": (["validate", str(d / "three_levels.csv"), "--spec", spec], "exactly 2 levels, found 3"),
        "one level": (["validate", str(d / "one_level.csv"), "--spec", spec], "exactly 2 levels, found 1"),
        "x1 absent": (["validate", good, "--spec", str(d / "badlevel.yaml")], "x1='male' is not a level"),
        "text outcome": (["validate", str(d / "text_outcome.csv"), "--spec", spec], "binary 0/1 or numeric"),
        "NaN in X and Y": (["validate", str(d / "nan_xy.csv"), "--spec", spec], "missing value"),
        "constant and all-NaN": (["validate", str(d / "const_nan.csv"), "--spec", spec], "constant"),
        "huge cardinality": (["validate", str(d / "ids.csv"), "--spec", spec], "identifier"),
        "malformed spec": (["validate", good, "--spec", str(d / "notyaml.yaml")], "not valid YAML"),
        "cyclic graph": ([*gen[:-2], "--generator", "decaf", "--graph", str(d / "cyclic.json"), "--rows", "50"], "cycle"),
        "unknown generator": ([*gen[:6], "--generator", "ctgann", "--rows", "50"], "did you mean 'ctgan'"),
        "unknown constraint": ([*gen, "--constraint", "remove_everything"], "unknown fairness constraint"),
        "unsupported constraint": ([*gen, "--constraint", "remove_direct"], "cannot remove the direct pathway"),
        "unknown config key": ([*gen, "--config", "epochz=3"], "unknown key"),
        "bad config value": ([*gen[:6], "--generator", "ctgan", "--rows", "50", "--config", "epochs=many"], "epochs"),
        "zero rows": ([*gen[:-1], "0"], "positive"),
        "negative rows": ([*gen[:-1], "-5"], "positive"),
        "unknown evaluator": (["evaluate", good, good, "--spec", spec, "--evaluators", "fidelty"], "unknown evaluator"),
        "unknown provider": (["graph", good, "--spec", spec, "--provider", "pcc"], "did you mean 'pc'"),
        "corrupted checkpoint": ([*gen[:6], "--generator", "decaf", "--rows", "50", "--config", f"checkpoint_dir={d / 'ckpt'}", "--config", "resume=true", "--config", "epochs=2"], "checkpoint"),
    }


CASES = list(_cases(Path("/placeholder")).keys())


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_clear_line_and_exit_2(files, case, tmp_path):
    args, expected = _cases(files)[case]
    out_file = tmp_path / "out.csv"
    if args[0] == "generate":
        args = [*args, "-o", str(out_file)]
    res = subprocess.run([sys.executable, "-m", "faircausesyn", *args], capture_output=True, text=True, timeout=300)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith(("Warning", "  warnings.warn"))]
    assert res.returncode == 2, f"exit {res.returncode}: {res.stderr[-1500:]}"
    assert "Traceback" not in res.stderr
    assert len([ln for ln in lines if ln.startswith("error:")]) == 1, res.stderr
    assert expected.lower() in res.stderr.lower(), res.stderr
    assert not out_file.exists() and list(tmp_path.iterdir()) == []


def test_unwritable_output_path(files, tmp_path):
    for target in (files / "readonly" / "out.csv", files / "no_such_dir" / "out.csv"):
        res = subprocess.run(
            [sys.executable, "-m", "faircausesyn", "generate", str(files / "good.csv"), "--spec", str(files / "spec.yaml"), "--generator", "gaussian_copula", "--rows", "20", "-o", str(target)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if os.geteuid() == 0 and target.parent.name == "readonly":
            # root may write into a 0555 folder; the write must then succeed atomically instead.
            assert res.returncode == 0 and target.exists(), res.stderr
            target.unlink()
            continue
        assert res.returncode == 2 and "Traceback" not in res.stderr and "cannot write" in res.stderr, res.stderr
        assert not target.exists()
    assert not any(p.name.endswith(".tmp") for p in (files / "readonly").iterdir())
