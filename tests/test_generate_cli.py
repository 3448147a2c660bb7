"""``faircausesyn generate``: clear errors before work, atomic outputs, copies, chunks, SIGKILL + --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from faircausesyn import CausalSpec
from faircausesyn.chunked import read_output
from faircausesyn.cli.main import cli

GEN = "gaussian_copula"  # the fastest built-in generator ...
FAST = ["--config", "default_distribution=norm"]  # ... with its quickest marginal fits


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["generate", *args])


@pytest.fixture(scope="module")
def discrete(tmp_path_factory):
    """A small table of few-valued columns, so that many synthetic rows copy a real one."""
    d = tmp_path_factory.mktemp("disc")
    rng = np.random.default_rng(0)
    n = 300
    x = rng.integers(0, 2, n)
    z = rng.integers(0, 4, n)
    w = np.clip(z + x + rng.integers(-1, 2, n), 0, 5)
    y = (rng.random(n) < 0.2 + 0.1 * x + 0.05 * w).astype(int)
    pd.DataFrame({"x": x, "z": z, "w": w, "y": y}).to_csv(d / "d.csv", index=False)
    CausalSpec(sensitive="x", x0=0, x1=1, outcome="y", confounders=["z"], mediators=["w"]).to_file(d / "d.yaml")
    return d


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rows", "0"], "--rows must be a positive integer"),
        (["--rows", "-5"], "--rows must be a positive integer"),
        (["--rows", "10", "--chunk-rows", "0"], "--chunk-rows must be a positive integer"),
        (["--rows", "10", "-o", "{tmp}/out.txt"], "unsupported output format '.txt'"),
        (["--rows", "10", "-o", "{tmp}/missing/out.csv"], "does not exist"),
        (["--rows", "10", "--generator", "gausian_copula"], "did you mean 'gaussian_copula'"),
        (["--rows", "10", "--constraint", "remove_all"], "unknown fairness constraint 'remove_all'"),
        (["--rows", "10", "--config", "epochs=5"], "epochs: unknown key"),
        (["--rows", "10", "--config", "epochs"], "--config expects key=value"),
        (["--rows", "10", "--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
        (["--rows", "10", "--workers", "0"], "--workers must be at least 1"),
        (["--rows", "10", "--constraint", "remove_direct"], "cannot remove the direct pathway"),
        (["--rows", "10", "--graph", "{tmp}/nograph.json"], "nograph.json"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--generator" not in args:
        args += ["--generator", GEN]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out.csv")]
    res = _invoke("heart_failure", *args, "--quiet")
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out*"))


def test_unknown_dataset_and_read_only_folder(tmp_path):
    res = _invoke("no_such_data", "--generator", GEN, "--rows", "5", "-o", str(tmp_path / "o.csv"))
    assert res.exit_code == 2 and "neither a file nor a built-in dataset" in res.output
    folder = tmp_path / "folder.parquet"
    folder.mkdir()
    res = _invoke("heart_failure", "--generator", GEN, "--rows", "5", "-o", str(folder))
    assert res.exit_code == 2 and "not a finished faircausesyn dataset" in res.output


def test_csv_output_summary_manifest_and_determinism(tmp_path):
    out, man = tmp_path / "syn.csv", tmp_path / "run.json"
    res = _invoke("heart_failure", "--generator", GEN, *FAST, "--rows", "500", "--seed", "4", "-o", str(out), "--manifest", str(man), "--quiet")
    assert res.exit_code == 0, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith(f"wrote 500 rows to {out}") and "exact copies of real rows: " in line and "total" in line
    table = pd.read_csv(out)
    from faircausesyn import load_dataset

    real, _ = load_dataset("heart_failure")
    assert list(table.columns) == list(real.columns) and len(table) == 500
    m = json.loads(man.read_text())
    assert m["rows"] == 500 and m["seed"] == 4 and m["generator"] == GEN and m["config"]["seed"] == 4
    assert m["exact_copies"] >= 0 and m["timings"]["fit_s"] > 0 and "pandas" in m["versions"] and m["peak_rss_mb"] > 0
    # Chunk 0 of a chunked run is the same draw as a one-chunk run of that size.
    ds = tmp_path / "ds.parquet"
    res = _invoke("heart_failure", "--generator", GEN, *FAST, "--rows", "450", "--chunk-rows", "200", "--seed", "4", "-o", str(ds), "--quiet")
    assert res.exit_code == 0 and "(3 chunks, 0 resumed)" in res.output
    one = tmp_path / "one.parquet"
    assert _invoke("heart_failure", "--generator", GEN, *FAST, "--rows", "200", "--chunk-rows", "200", "--seed", "4", "-o", str(one), "--quiet").exit_code == 0
    whole = pd.read_parquet(ds)
    assert ds.is_dir() and one.is_file() and len(whole) == 450
    pd.testing.assert_frame_equal(read_output(ds).iloc[:200].reset_index(drop=True), pd.read_parquet(one))


def test_exact_copies_are_reported_and_no_copies_removes_them(discrete, tmp_path):
    data, spec = str(discrete / "d.csv"), str(discrete / "d.yaml")
    res = _invoke(data, "--spec", spec, "--generator", GEN, *FAST, "--rows", "400", "-o", str(tmp_path / "a.csv"), "--quiet")
    assert res.exit_code == 0, res.output
    copies = int(res.output.split("exact copies of real rows: ")[1].split(";")[0].split()[0])
    assert copies > 20
    res = _invoke(data, "--spec", spec, "--generator", GEN, *FAST, "--rows", "400", "--no-copies", "-o", str(tmp_path / "b.csv"), "--quiet")
    assert res.exit_code == 0, res.output
    assert ", left 0)" in res.output
    from faircausesyn.privacy import count_copies

    assert count_copies(pd.read_csv(tmp_path / "b.csv"), pd.read_csv(data)) == 0


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "big.parquet"
    args = ["heart_failure", "--generator", GEN, *FAST, "--rows", "12000", "--chunk-rows", "1000", "--seed", "9", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "faircausesyn", "generate", *args, "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    work = tmp_path / ".big.parquet.partial"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list(work.glob("_part-*.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(work.glob("_part-*.json")))
    assert 2 <= done < 12 and not out.exists(), "the run must be killed half-way"
    assert (work / "_probe.json").is_file() and not list(work.glob("*.pkl")), "no model may be pickled to disk"
    # A resume with other settings is refused with a clear message, and leaves the run intact.
    bad = _invoke(*[a if a != "9" else "10" for a in args], "--resume", "-o", str(out))
    assert bad.exit_code == 2 and "cannot resume" in bad.output and "seed" in bad.output
    res = _invoke(*args, "--resume", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "wrote 12,000 rows" in res.output and f"(12 chunks, {done} resumed)" in res.output
    straight = tmp_path / "straight.parquet"
    assert _invoke(*args, "-o", str(straight)).exit_code == 0
    pd.testing.assert_frame_equal(read_output(out), read_output(straight))


def test_chunks_on_an_existing_dask_scheduler_equal_the_in_process_table(tmp_path, monkeypatch):
    """(``--workers N`` goes through the same code with a LocalCluster: tests/test_chunked.py and test_benchmark.py.)"""
    __import__("dask.distributed")
    from dask.distributed import LocalCluster

    args = ["heart_failure", "--generator", GEN, *FAST, "--rows", "3000", "--chunk-rows", "1000", "--seed", "2", "--quiet"]
    assert _invoke(*args, "-o", str(tmp_path / "local.parquet")).exit_code == 0
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        res = _invoke(*args, "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "sched.parquet"))
        assert res.exit_code == 0, res.output
    finally:
        cluster.close()
    local = read_output(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(local, read_output(tmp_path / "sched.parquet"))
    monkeypatch.setenv("FAIRCAUSESYN_DASK_CONNECT_TIMEOUT", "2s")
    bad = _invoke(*args, "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "x.parquet"))
    assert bad.exit_code == 2 and "cannot reach the Dask scheduler" in bad.output and "fit" not in bad.output
    assert not (tmp_path / ".x.parquet.partial").exists()
