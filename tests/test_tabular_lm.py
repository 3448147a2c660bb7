"""The tabular_lm backend: data tokenizer, training, constrained decoding, interventions, checkpoints."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
import torch

from faircausesyn.errors import CheckpointError, DataError, NotFittedError
from faircausesyn.testing import check_llm_backend, toy_sfm
from faircausesyn_method.serialize import BOS, EOS, TableVocab
from faircausesyn_method.tabular_lm import TabularLM, TokenCut

torch.set_num_threads(1)

TINY = dict(n_layer=1, n_embd=32, n_head=2, epochs=40, patience=10, val_fraction=0.15, lr=5e-3, train_batch_size=128, dropout=0.0, seed=0)
ORDER = ["age", "sex", "smoker", "stage", "visits", "bmi", "event"]


@pytest.fixture(scope="module")
def toy():
    df, spec = toy_sfm(400, seed=0)
    return df[ORDER], spec


@pytest.fixture(scope="module")
def trained(toy, tmp_path_factory):
    df, _ = toy
    lm = TabularLM(**TINY).train_table(df, ORDER, kinds={"stage": "discrete", "sex": "discrete"})
    d = tmp_path_factory.mktemp("lm")
    lm.save(d)
    return lm, d


def test_vocab_round_trip(toy):
    df, _ = toy
    v = TableVocab.build(df, ORDER, n_bins=8, kinds={"stage": "discrete", "sex": "discrete"})
    tok = v.encode(df)
    assert tok.shape == (len(df), len(ORDER) + 2) and (tok[:, 0] == BOS).all() and (tok[:, -1] == EOS).all()
    mask = v.value_mask()
    for i in range(len(ORDER)):
        assert mask[i, tok[:, i + 1]].all(), "every value token belongs to its own column"
    back = v.decode(tok, np.random.default_rng(0))
    for c in ("sex", "stage"):
        assert back[c].tolist() == df[c].tolist()
    for c in ("smoker", "event"):  # few distinct numbers: one bin per value, exact
        np.testing.assert_array_equal(back[c].to_numpy(dtype=float), df[c].to_numpy(dtype=float))
    # numeric: the decoded value is a training value from the same bin
    for c in ("age", "bmi"):
        assert set(back[c]) <= set(df[c])
        np.testing.assert_array_equal(v.by_name[c].bin_of(back[c].to_numpy()), v.by_name[c].bin_of(df[c].to_numpy()))
    assert len(v.by_name["age"].words) <= 8
    # text round trip
    lines = v.serialize(df.head(5))
    assert lines[0].startswith("age ") and " | sex " in lines[0]
    assert [v.text_to_tokens(ln) for ln in lines] == tok[:5].tolist()
    v2 = TableVocab.from_dict(json.loads(json.dumps(v.to_dict())))
    assert v2.encode(df).tolist() == tok.tolist()


def test_vocab_rejects_bad_text(toy):
    df, _ = toy
    v = TableVocab.build(df, ORDER, kinds={"stage": "discrete", "sex": "discrete"})
    with pytest.raises(DataError, match="expected column"):
        v.text_to_tokens("sex M | age 60", partial=True)
    with pytest.raises(DataError, match="not a category"):
        v.text_to_tokens("age 60 | sex Q", partial=True)
    with pytest.raises(DataError):
        v.encode(df.assign(stage="IV"))


def test_training_reduces_loss_and_samples_every_column(trained, toy):
    lm, _ = trained
    df, _ = toy
    rep = lm.train_report_
    assert rep["epochs"] >= 1 and rep["best_val_loss"] is not None and rep["parameters"] < 100_000
    tok = lm.sample_tokens(500, seed=3)
    mask = lm.vocab_.value_mask()
    for i in range(len(ORDER)):
        assert mask[i, tok[:, i + 1]].all()
    s = lm.sample_table(500, seed=3)
    assert list(s.columns) == ORDER
    assert set(s["stage"]) <= set(df["stage"]) and set(s["sex"]) <= {"F", "M"}
    assert s["age"].between(df["age"].min(), df["age"].max()).all()
    # the learned marginals are close to the data's
    assert abs((s["sex"] == "M").mean() - (df["sex"] == "M").mean()) < 0.1
    assert abs(s["bmi"].mean() - df["bmi"].mean()) < 1.0


def test_same_seed_same_rows_and_different_seed_differs(trained):
    lm, _ = trained
    a, b, c = lm.sample_table(50, seed=1), lm.sample_table(50, seed=1), lm.sample_table(50, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def _xy_data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    x = np.where(rng.random(n) < 0.9, z, 1 - z)
    y = np.where(rng.random(n) < 0.9, x, 1 - x)
    return pd.DataFrame({"z": z, "x": x, "y": y})


def test_interventions_reference_and_independent():
    df = _xy_data()
    lm = TabularLM(**(TINY | {"epochs": 30})).train_table(df, ["z", "x", "y"], kinds={c: "discrete" for c in "zxy"})
    plain = lm.sample_table(3000, seed=0)
    assert plain.loc[plain.x == 1, "y"].astype(float).mean() > 0.8 and plain.loc[plain.x == 0, "y"].astype(float).mean() < 0.2
    x0 = int(lm.vocab_.by_name["x"].encode(pd.Series([0]))[0])
    cut = lm.sample_table(3000, seed=0, cuts=[TokenCut(1, 2, "reference", x0)])
    # y decoded as if x were 0, while the rows keep their own x
    assert cut.loc[cut.x == 1, "y"].astype(float).mean() < 0.2 and cut.loc[cut.x == 0, "y"].astype(float).mean() < 0.2
    assert abs(cut.x.astype(float).mean() - plain.x.astype(float).mean()) < 0.05
    assert np.corrcoef(plain.z.astype(float), plain.x.astype(float))[0, 1] > 0.6
    ind = lm.sample_table(3000, seed=0, cuts=[TokenCut(0, 1, "independent")])
    assert abs(np.corrcoef(ind.z.astype(float), ind.x.astype(float))[0, 1]) < 0.08, "x drawn independently of z"
    assert abs(ind.x.astype(float).mean() - df.x.mean()) < 0.05, "x keeps its marginal"


def test_text_interface_and_conformance(trained):
    lm, d = trained
    out = lm.complete(["", "age 61 | sex M | smoker 1"], seed=5)
    assert out[0].text.startswith("age ") and out[0].text.count("|") == len(ORDER) - 1 and out[0].finish_reason == "stop"
    assert out[1].text.startswith(" | stage ") and out[1].text.rstrip().split(" | ")[-1].startswith("event ")
    row = lm.vocab_.text_to_tokens("age 61 | sex M | smoker 1" + out[1].text)
    assert len(row) == len(ORDER) + 2
    short = lm.complete(["age 61"], max_tokens=2)[0]
    assert short.finish_reason == "length" and short.text.count("|") == 2
    assert lm.complete(["age 61"], stop=[" | smoker"])[0].text == lm.complete(["age 61"])[0].text.split(" | smoker")[0]
    check_llm_backend(lambda: TabularLM(**TINY).load(d), prompt="age 6", max_tokens=8)


def test_not_trained_is_an_error():
    with pytest.raises(NotFittedError):
        TabularLM().complete(["age 1"])


def test_train_on_texts_without_vocab():
    lines = [f"a {i % 3} | b {(i % 3) * 2}" for i in range(300)]
    lm = TabularLM(**(TINY | {"epochs": 30, "train_batch_size": 32, "patience": 30}))
    lm.train(lines)
    s = lm.sample_table(200, seed=0)
    pairs = list(zip(s["a"], s["b"], strict=True))
    right = sum(p in {("0", "0"), ("1", "2"), ("2", "4")} for p in pairs)
    assert right >= 0.97 * len(pairs), "b is a function of a in the texts"
    assert len(set(s["a"])) == 3


def test_save_load_same_samples_and_corruption(trained, tmp_path):
    lm, d = trained
    again = TabularLM(**TINY).load(d)
    pd.testing.assert_frame_equal(lm.sample_table(40, seed=9), again.sample_table(40, seed=9))
    assert not any(p.suffix in (".pt", ".bin", ".pkl") for p in d.iterdir())
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(d, bad)
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        TabularLM().load(bad)
    (bad / "state.json").write_text("{not json")
    with pytest.raises(CheckpointError):
        TabularLM().load(bad)
    with pytest.raises(CheckpointError):
        TabularLM().load(tmp_path / "missing")


def test_checkpoint_of_another_format_is_refused(trained, tmp_path):
    import shutil

    _, d = trained
    old = tmp_path / "old"
    shutil.copytree(d, old)
    state = json.loads((old / "state.json").read_text())
    state["format"] = "faircausesyn-tabular-lm/1"  # interleaved column-name tokens: unusable now
    (old / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="format"):
        TabularLM().load(old)


def test_max_steps_caps_training(toy):
    df, _ = toy
    lm = TabularLM(**(TINY | {"val_fraction": 0.0, "epochs": 50, "train_batch_size": 16, "max_steps": 7}))
    lm.train_table(df, ORDER, kinds={"stage": "discrete", "sex": "discrete"})
    assert lm.train_report_["steps"] == 7 and lm.train_report_["epochs"] == 1
    full = TabularLM(**(TINY | {"val_fraction": 0.0, "epochs": 2, "train_batch_size": 128}))
    full.train_table(df, ORDER, kinds={"stage": "discrete", "sex": "discrete"})
    assert full.train_report_["steps"] == 2 * -(-len(df) // 128) and full.train_report_["epochs"] == 2


def test_fine_tune_from_local_checkpoint(trained, toy, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    lm, d = trained
    df, _ = toy
    # from a TabularLM checkpoint, and from a plain transformers checkpoint
    for src in (d, tmp_path / "hf"):
        if src != d:
            GPT2LMHeadModel(GPT2Config(vocab_size=10, n_positions=32, n_embd=32, n_layer=1, n_head=2)).save_pretrained(src)
        ft = TabularLM(**(TINY | {"epochs": 5, "init_from": str(src)})).train_table(df, ORDER, kinds={"stage": "discrete", "sex": "discrete"})
        assert ft.model_.get_input_embeddings().weight.shape[0] == ft.vocab_.size
        assert len(ft.sample_table(20, seed=0)) == 20
