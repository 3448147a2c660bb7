"""Checkpointed generation: a run killed with SIGKILL resumes to the same table; corruption is detected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from faircausesyn.errors import CheckpointError

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)
    import faircausesyn as fcs
    from faircausesyn.testing import toy_sfm

    ckpt, out, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    df, spec = toy_sfm(300, seed=0)
    cfg = dict(n_layer=1, n_embd=16, n_head=2, epochs=5, lr=5e-3, train_batch_size=128, dropout=0.0,
               rounds=4, tolerance=0.0, candidates=2, critic_rows=200, seed=0)
    if ckpt != "-":
        cfg["checkpoint_dir"] = ckpt
    g = fcs.get_generator("faircausesyn", **cfg).fit(df, spec)

    def on_round(rec):
        print("round", rec["round"], "pool", rec["pool"], "resumed" if rec.get("resumed") else "", flush=True)
        if rec["round"] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    g.on_round = on_round
    table = g.sample(250, seed=4)
    table.to_csv(out, index=False)
    print("pools", [r["pool"] for r in g.rounds_], "resumed", [bool(r.get("resumed")) for r in g.rounds_], flush=True)
    """
)


def _run(tmp: Path, ckpt: str, out: Path, kill_after: int) -> subprocess.CompletedProcess:
    script = tmp / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(script), ckpt, str(out), str(kill_after)], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    ckpt = tmp / "ckpt"
    killed = _run(tmp, str(ckpt), tmp / "never.csv", kill_after=2)
    resumed = _run(tmp, str(ckpt), tmp / "resumed.csv", kill_after=0)
    straight = _run(tmp, "-", tmp / "straight.csv", kill_after=0)
    return tmp, ckpt, killed, resumed, straight


def test_sigkill_then_resume_gives_the_same_table(runs):
    tmp, ckpt, killed, resumed, straight = runs
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert "round 2" in killed.stdout and "round 3" not in killed.stdout and not (tmp / "never.csv").exists()
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert straight.returncode == 0, straight.stderr[-2000:]
    a, b = pd.read_csv(tmp / "resumed.csv"), pd.read_csv(tmp / "straight.csv")
    pd.testing.assert_frame_equal(a, b)
    # the resumed run replayed rounds 1-2 from the checkpoint and ran rounds 3-4 itself
    last = resumed.stdout.strip().splitlines()[-1]
    assert "resumed [True, True, False, False]" in last
    assert "round 3" in resumed.stdout and "round 1 " not in resumed.stdout
    # no row lost or duplicated: the pool is the sum of the rounds' accepted rows, as in the uninterrupted run
    assert last.split("resumed")[0] == straight.stdout.strip().splitlines()[-1].split("resumed")[0]
    (run_dir,) = [p for p in ckpt.iterdir() if p.name.startswith("run-")]
    rounds = sorted(run_dir.glob("round-*.json"))
    assert len(rounds) == 4
    accepted = [json.loads(p.read_text())["record"]["accepted"] for p in rounds]
    pools = [json.loads(p.read_text())["record"]["pool"] for p in rounds]
    assert pools == [sum(accepted[: i + 1]) for i in range(4)]
    assert not list(ckpt.rglob("*.pt")) and not list(ckpt.rglob("*.pkl")) and (ckpt / "model" / "model.safetensors").is_file()


def test_corrupted_checkpoint_is_a_checkpoint_error(runs):
    tmp, ckpt, *_ = runs
    import shutil

    from faircausesyn.schema import infer_schema
    from faircausesyn.testing import toy_sfm
    from faircausesyn_method.checkpoint import RoundStore

    bad = tmp / "bad"
    shutil.copytree(ckpt, bad)
    (run_dir,) = [p for p in bad.iterdir() if p.name.startswith("run-")]
    df, _ = toy_sfm(300, seed=0)
    schema = infer_schema(df)
    store = RoundStore(bad, run_dir.name[len("run-"):])
    assert len(store.load(schema)) == 4
    csv = run_dir / "round-0002.csv"
    csv.write_text(csv.read_text().replace("\n", "\n9", 1))
    with pytest.raises(CheckpointError, match="round 2"):
        store.load(schema)
    (run_dir / "round-0001.json").write_text('{"format": ')
    with pytest.raises(CheckpointError, match="corrupted"):
        store.load(schema)
    # a damaged model file is caught when the generator reloads it
    model = bad / "model" / "model.safetensors"
    model.write_bytes(model.read_bytes()[:-100])
    import faircausesyn as fcs

    cfg = dict(n_layer=1, n_embd=16, n_head=2, epochs=5, lr=5e-3, train_batch_size=128, dropout=0.0,
               rounds=4, tolerance=0.0, candidates=2, critic_rows=200, seed=0, checkpoint_dir=str(bad))
    with pytest.raises(CheckpointError):
        fcs.get_generator("faircausesyn", **cfg).fit(df, toy_sfm(300, seed=0)[1])
