"""The faircausesyn generator: conformance, pathway removal by intervention, closed loop, validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
import torch

import faircausesyn as fcs
from faircausesyn import CausalSpec
from faircausesyn.errors import BackendError, ConfigError, FairCauseSynError
from faircausesyn.fairness import decompose
from faircausesyn.schema import infer_schema
from faircausesyn.testing import check_generator, toy_sfm
from faircausesyn_method.loop import FairnessLoop, LoopSettings

torch.set_num_threads(1)

TINY = dict(n_layer=1, n_embd=32, n_head=2, epochs=20, lr=5e-3, train_batch_size=256, dropout=0.0, n_bins=12, rounds=2, candidates=3, critic_rows=500)
M = ["TV", "DE", "IE", "SE"]


def scm(n: int, seed: int) -> tuple[pd.DataFrame, CausalSpec]:
    """A simulated SFM with a strong direct, indirect and spurious pathway."""
    rng = np.random.default_rng(seed)
    z = np.round(rng.normal(0, 1, n), 2)
    x = (rng.random(n) < 1 / (1 + np.exp(-1.2 * z))).astype(int)
    w1 = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x - 0.75 + 0.5 * z)))).astype(int)
    w2 = np.round(rng.normal(x + 0.5 * z, 1), 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 1.5 * x + 1.2 * w1 + 0.8 * w2 + 0.5 * z)))).astype(int)
    df = pd.DataFrame({"z": z, "x": x, "w1": w1, "w2": w2, "y": y})
    return df, CausalSpec(sensitive="x", x0=0, x1=1, outcome="y", confounders=["z"], mediators=["w1", "w2"])


def plug(df: pd.DataFrame, spec: CausalSpec) -> dict[str, float]:
    d = decompose(df, spec, method="plugin", nuisance="linear", n_boot=2)
    return {m: d[m].estimate for m in M}


@pytest.fixture(scope="module")
def sim():
    df, spec = scm(2000, 0)
    return df, spec, plug(df, spec)


def test_conformance_kit():
    small = TINY | {"epochs": 4, "n_embd": 16, "rounds": 1, "candidates": 1, "critic_rows": 200}
    check_generator(lambda: fcs.get_generator("faircausesyn", seed=0, **small), n=64)


def test_preserve_keeps_every_measure(sim, tmp_path):
    df, spec, real = sim
    log = tmp_path / "rounds.jsonl"
    g = fcs.get_generator("faircausesyn", seed=0, log_path=str(log), **TINY).fit(df, spec)
    syn = g.sample(2000, seed=0)
    got = plug(syn, spec)
    for m in M:
        assert abs(got[m] - real[m]) < 0.05, (m, got[m], real[m])
    # round log: one JSON line per round, with the documented fields; the best gap never grows
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == len(g.rounds_) >= 1
    for rec in lines:
        for key in ("round", "proposed", "parsed", "valid", "accepted", "measures", "gaps", "elapsed_s", "pool"):
            assert key in rec
        assert rec["valid"] <= rec["proposed"] and rec["accepted"] <= rec["valid"]
    scores = [r["score"] for r in lines if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert g.rounds_[-1]["pool"] == sum(r["accepted"] for r in g.rounds_)
    assert g.fit_report_["lm"]["epochs"] >= 1 and "critic_auc" in g.fit_report_
    assert g.schema_.row_problems(syn).eq("").all()


@pytest.mark.parametrize("constraint, measure", [("remove_direct", "DE"), ("remove_indirect", "IE"), ("remove_spurious", "SE")])
def test_removed_pathway_is_cut_and_others_kept(sim, constraint, measure):
    df, spec, real = sim
    assert abs(real[measure]) > 0.09
    g = fcs.get_generator("faircausesyn", seed=0, **TINY).fit(df, spec, constraint=constraint)
    got = plug(g.sample(2000, seed=0), spec)
    assert abs(got[measure]) < 0.04, (constraint, got)
    assert g.targets_[measure] == 0.0
    for m in ("DE", "IE", "SE"):
        if m != measure:
            assert abs(got[m] - real[m]) < 0.09, (constraint, m, got[m], real[m])


def test_same_seed_same_table_on_real_data():
    df, spec = fcs.load_dataset("heart_failure")
    cfg = TINY | {"epochs": 8, "critic_rows": 300}
    a = fcs.get_generator("faircausesyn", seed=3, **cfg).fit(df, spec).sample(150, seed=5)
    b = fcs.get_generator("faircausesyn", seed=3, **cfg).fit(df, spec).sample(150, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(df.columns) and (a.dtypes == df.dtypes).all()


def test_invalid_rows_are_counted_and_dropped():
    df, spec = toy_sfm(300, seed=1)
    schema = infer_schema(df)
    rng = np.random.default_rng(0)

    def propose(round_no, n, gaps, seed):
        rows = df.sample(n, replace=True, random_state=seed).reset_index(drop=True)
        rows["bmi"] = rows["bmi"].astype(float)
        bad = rng.random(n) < 0.25
        rows.loc[bad, "bmi"] = 1e6  # far out of range
        return rows, {"proposed": n, "parsed": n}

    loop = FairnessLoop(propose, spec=spec, schema=schema, targets=plug(df, spec) | {"ETT": 0.0}, settings=LoopSettings(rounds=2, candidates=2))
    out = loop.run(200, seed=0)
    assert len(out) == 200 and schema.row_problems(out).eq("").all() and (out["bmi"] < 1e5).all()
    for rec in loop.rounds:
        assert rec["invalid"] == rec["proposed"] - rec["valid"] > 0
        assert sum(rec["invalid_reasons"].values()) == rec["invalid"]
        assert any("bmi" in k for k in rec["invalid_reasons"])


def test_config_errors():
    with pytest.raises(ConfigError):
        fcs.get_generator("faircausesyn", no_such_key=1)
    df, spec = toy_sfm(200, seed=0)
    with pytest.raises(FairCauseSynError):
        fcs.get_generator("faircausesyn", backend="no_such_backend", critic=False).fit(df, spec)


def test_listing_plugins_imports_no_torch():
    code = "import sys, faircausesyn as f; f.list_plugins(); f.PluginHost().registry('generator').names(); print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_chat_backend_path_through_a_local_endpoint(tmp_path):
    """backend=openai against a local OpenAI-compatible server whose model writes real-looking rows."""
    from faircausesyn.testing.llm_server import LLMServer

    df, spec = toy_sfm(300, seed=0)
    schema = infer_schema(df)
    RowWriter = _row_writer()
    with LLMServer(RowWriter(), model="rows") as server:
        g = fcs.get_generator(
            "faircausesyn", seed=0, backend="openai", backend_config={"base_url": server.url, "model": "rows"}, rounds=1, candidates=2, log_path=str(tmp_path / "log.jsonl")
        ).fit(df, spec)
        syn = g.sample(60, seed=0)
    assert len(syn) == 60 and list(syn.columns) == list(df.columns)
    assert schema.row_problems(syn).eq("").all()
    assert RowWriter.calls > 0 and g.rounds_[0]["proposed"] >= g.rounds_[0]["valid"] > 0


def _row_writer():
    """A stand-in chat model (class) that writes rows of the toy table in the row line format."""
    from faircausesyn import LLMBackend
    from faircausesyn.interfaces import Completion
    from faircausesyn_method.textrows import rows_to_text

    df, _ = toy_sfm(300, seed=0)
    schema = infer_schema(df)
    order = ["age", "sex", "smoker", "stage", "visits", "bmi", "event"]

    class RowWriter(LLMBackend):
        """A stand-in model: fills numbered rows' '?' with a real row's values, or writes 8 new rows."""

        calls = 0

        def _complete(self, prompts, params):
            import re

            out = []
            for p in prompts:
                RowWriter.calls += 1
                rng = np.random.default_rng(RowWriter.calls)
                rows = df.sample(8, random_state=RowWriter.calls).copy()
                rows["bmi"] = np.round(rows["bmi"] + rng.normal(0, 0.5, 8), 2)  # new rows, not copies
                lines = rows_to_text(rows, order, schema)
                task = p.rsplit("user:", 1)[-1]
                queries = re.findall(r"^(\d+): (.*\?.*)$", task, flags=re.M)
                if queries:
                    answer = []
                    for (num, q), line in zip(queries, lines * 10, strict=False):
                        filler = dict(kv.split("=", 1) for kv in line.split(", "))
                        fields = [kv.split("=", 1) for kv in q.split(", ")]
                        answer.append(f"{num}: " + ", ".join(f"{k}={filler[k] if v == '?' else v}" for k, v in fields))
                    lines = answer
                out.append(Completion("\n".join(lines), finish_reason="stop"))
            return out


    return RowWriter


def test_llm_augmentation_adds_weighted_rows():
    from faircausesyn.testing.llm_server import LLMServer

    df, spec = toy_sfm(300, seed=0)
    RowWriter = _row_writer()
    with LLMServer(RowWriter(), model="rows") as server:
        cfg = TINY | {"epochs": 3, "rounds": 1, "candidates": 1, "critic": False}
        g = fcs.get_generator("faircausesyn", seed=0, augment="openai", augment_config={"base_url": server.url, "model": "rows"}, augment_per_group=10, **cfg).fit(df, spec)
    counts = g.fit_report_["augment"]
    assert isinstance(counts, dict) and RowWriter.calls > 0
    assert g.fit_report_["lm"]["rows"] >= len(df)
    syn = g.sample(50, seed=0)
    assert infer_schema(df).row_problems(syn).eq("").all()
