"""Chunked generation: seeds per chunk, bounded parts, resume after SIGKILL, Dask, atomic publication."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd
import pytest
from test_benchmark_support import BootstrapGenerator, _toy

from faircausesyn.chunked import ChunkedRun, chunk_seed, plan_chunks, read_output
from faircausesyn.errors import CheckpointError, ConfigError, DataError

TESTS = Path(__file__).resolve().parent


def _fitted(delay: float = 0.0, seed: int = 0):
    df, spec = _toy(300, seed=seed)
    return BootstrapGenerator(seed=seed, delay_s=delay).fit(df, spec)


def test_plan_and_seeds():
    chunks = plan_chunks(250, 100, seed=7)
    assert [c.rows for c in chunks] == [100, 100, 50] and [c.index for c in chunks] == [0, 1, 2]
    assert len({c.seed for c in chunks}) == 3
    assert chunks[1].seed == chunk_seed(7, 1) != chunk_seed(8, 1)
    assert plan_chunks(100, 100, 0)[0].rows == 100
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ConfigError):
            plan_chunks(bad, 10, 0)
    with pytest.raises(ConfigError):
        plan_chunks(10, 0, 0)


def test_dataset_equals_the_chunks_drawn_one_by_one(tmp_path):
    gen = _fitted()
    run = ChunkedRun(tmp_path / "out.parquet", rows=950, chunk_rows=200, seed=3, identity={"t": 1})
    run.prepare()
    res = run.run(gen)
    out = tmp_path / "out.parquet"
    assert out.is_dir() and (out / "_SUCCESS").exists() and not run.work_dir.exists()
    assert res.rows == 950 and res.chunks == 5 and res.chunks_resumed == 0
    table = pd.read_parquet(out)  # an ordinary Parquet reader takes the folder
    expected = pd.concat([gen.sample(c.rows, seed=c.seed) for c in plan_chunks(950, 200, 3)], ignore_index=True)
    pd.testing.assert_frame_equal(read_output(out), expected)
    assert len(table) == 950 and list(table.columns) == list(expected.columns)
    assert res.exact_copies == sum(s["exact_copies"] for s in res.chunk_stats)


def test_single_chunk_is_a_file_and_csv_is_one_file(tmp_path):
    gen = _fitted()
    one = ChunkedRun(tmp_path / "one.parquet", rows=120, chunk_rows=500, seed=1)
    one.prepare()
    one.run(gen)
    assert (tmp_path / "one.parquet").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), gen.sample(120, seed=chunk_seed(1, 0)))
    csv = ChunkedRun(tmp_path / "t.csv", rows=300, chunk_rows=100, seed=1)
    csv.prepare()
    csv.run(gen)
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 300 and not csv.work_dir.exists()
    again = ChunkedRun(tmp_path / "u.parquet", rows=300, chunk_rows=100, seed=1)
    again.prepare()
    again.run(gen)
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "u.parquet"), check_dtype=False, atol=1e-9)


def test_no_copies_removes_exact_copies(tmp_path):
    df, spec = _toy(60)
    df["w"] = df["w"].round(0)
    df["z"] = df["z"].round(0)
    gen = BootstrapGenerator(noise=0.0).fit(df, spec)  # plain row bootstrap: nearly every row is a copy
    plain = ChunkedRun(tmp_path / "a.parquet", rows=400, chunk_rows=100, seed=0)
    plain.prepare()
    assert plain.run(gen).exact_copies > 300
    gen_ind = BootstrapGenerator(noise=0.0, independent=True).fit(df, spec)
    clean = ChunkedRun(tmp_path / "b.parquet", rows=400, chunk_rows=100, seed=0, no_copies=True)
    clean.prepare()
    res = clean.run(gen_ind)
    assert res.exact_copies > 0 and res.exact_copies_left == 0 and res.copies_replaced > 0
    from faircausesyn.privacy import count_copies

    assert count_copies(read_output(tmp_path / "b.parquet"), df) == 0


def test_resume_checks_the_settings(tmp_path):
    run = ChunkedRun(tmp_path / "o.parquet", rows=500, chunk_rows=100, seed=0, identity={"g": "a"})
    run.prepare()
    run.record_probe(_fitted())
    other = ChunkedRun(tmp_path / "o.parquet", rows=500, chunk_rows=100, seed=1, identity={"g": "a"})
    with pytest.raises(CheckpointError, match="seed"):
        other.prepare(resume=True)
    same = ChunkedRun(tmp_path / "o.parquet", rows=500, chunk_rows=100, seed=0, identity={"g": "a"})
    same.prepare(resume=True)
    same.verify_probe(_fitted())  # the same fit reproduces the probe
    other_model = _fitted(seed=3)  # another model (fitted on other rows)
    with pytest.raises(CheckpointError, match="did not reproduce"):
        same.verify_probe(other_model)
    fresh = ChunkedRun(tmp_path / "o.parquet", rows=500, chunk_rows=100, seed=1, identity={"g": "a"})
    fresh.prepare(resume=False)  # without --resume an old unfinished run is discarded
    assert not (fresh.work_dir / "_probe.json").exists()
    assert not list(fresh.work_dir.glob("*.pkl"))
    with pytest.raises(DataError):
        ChunkedRun(tmp_path / "o.txt", rows=5)
    with pytest.raises(DataError, match="does not exist"):
        ChunkedRun(tmp_path / "no" / "o.parquet", rows=5).prepare()


SCRIPT = textwrap.dedent(
    """
    import sys
    from faircausesyn.chunked import ChunkedRun
    from test_benchmark_support import BootstrapGenerator, _toy

    out, resume, delay = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    run = ChunkedRun(out, rows=2000, chunk_rows=100, seed=11, identity={"toy": 300})
    run.prepare(resume=resume)
    df, spec = _toy(300, seed=0)
    gen = BootstrapGenerator(seed=0, delay_s=delay).fit(df, spec)
    run.verify_probe(gen) if resume else run.record_probe(gen)
    res = run.run(gen)
    print(res.rows, res.chunks_resumed)
    """
)


def test_sigkill_then_resume_gives_the_uninterrupted_table(tmp_path):
    script = tmp_path / "gen.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "killed.parquet"
    proc = subprocess.Popen([sys.executable, str(script), str(out), "0", "0.15"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    work = tmp_path / ".killed.parquet.partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("_part-*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(work.glob("_part-*.json")))
    assert 3 <= done < 20 and not out.exists(), "the run must be killed half-way"
    # A part file left without its stats (killed between the two writes) is drawn again.
    pending = sorted(set(range(20)) - {int(p.stem[6:]) for p in work.glob("_part-*.json")})
    (work / f"part-{pending[0]:05d}.parquet").write_bytes(b"half a file")
    resumed = subprocess.run([sys.executable, str(script), str(out), "1", "0"], env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    rows, chunks_resumed = map(int, resumed.stdout.split())
    assert rows == 2000 and chunks_resumed == done
    whole = tmp_path / "whole.parquet"
    subprocess.run([sys.executable, str(script), str(whole), "0", "0"], env=env, check=True, capture_output=True, timeout=120)
    a, b = read_output(out), read_output(whole)
    assert len(a) == 2000
    pd.testing.assert_frame_equal(a, b)
    stats = json.loads((out / "_SUCCESS").read_text())
    assert stats["rows"] == 2000 and stats["chunks"] == 20


def test_chunks_on_a_dask_local_cluster_give_the_same_table(tmp_path, monkeypatch):
    __import__("dask.distributed")
    from faircausesyn.benchmark.dask_exec import dask_client

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    gen = _fitted()
    local = ChunkedRun(tmp_path / "local.parquet", rows=1000, chunk_rows=100, seed=5)
    local.prepare()
    local.run(gen)
    dist = ChunkedRun(tmp_path / "dask.parquet", rows=1000, chunk_rows=100, seed=5)
    dist.prepare()
    seen = []
    with dask_client(workers=2) as client:
        res = dist.run(gen, client=client, on_chunk=seen.append)
    assert res.rows == 1000 and len(seen) == 10
    pd.testing.assert_frame_equal(read_output(tmp_path / "local.parquet"), read_output(tmp_path / "dask.parquet"))
