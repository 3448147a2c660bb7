"""decaf: contract, fairness interventions on a simulated SFM with known truth, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from faircausesyn import decompose, get_constraint, get_generator
from faircausesyn.errors import CheckpointError, ConfigError
from faircausesyn.testing import check_generator
from faircausesyn.testing.data import toy_sfm

torch = __import__("torch")

from scm import simulate_sfm  # noqa: E402

TINY = {"epochs": 3, "hidden": 16, "critic_hidden": 16, "batch_size": 64}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy():
    return toy_sfm(240, seed=1)


@pytest.fixture(scope="module")
def sfm():
    return simulate_sfm(1500, 3, "linear_logistic")


def test_conformance(toy):
    df, spec = toy
    check_generator(lambda: get_generator("decaf", seed=2, **TINY), df, spec, n=50)


def test_declares_every_pathway_removable():
    g = get_generator("decaf")
    assert g.removable_pathways == {"direct", "indirect", "spurious"}


def _measures(df, spec):
    d = decompose(df, spec, method="debiased", nuisance="linear", folds=3, seed=0)
    return {m: d[m].estimate for m in ("DE", "IE", "SE")}


def test_remove_direct_cuts_de_and_keeps_other_pathways(sfm):
    df, spec, truth = sfm
    g = get_generator("decaf", seed=0, epochs=100).fit(df, spec, constraint="remove_direct")
    cuts = get_constraint("remove_direct").interventions(g.graph_, spec)
    assert g.fit_report_["decaf"]["interventions"] == [
        {"source": c.source, "target": c.target, "mode": c.mode, "value": c.value} for c in cuts
    ]
    assert [(c.source, c.target, c.mode) for c in cuts] == [("x", "y", "reference")]
    out = g.sample(60000, seed=1)  # many rows: the estimator's own noise (se ~0.006) stays well below the bounds
    m = _measures(out, spec)
    assert abs(m["DE"]) <= 0.2 * abs(truth["DE"]), (m, truth)
    assert abs(m["IE"] - truth["IE"]) < 0.05, (m, truth)
    assert abs(m["SE"] - truth["SE"]) < 0.05, (m, truth)


def test_remove_spurious_makes_x_independent_of_confounders(sfm):
    df, spec, _ = sfm
    assert abs(np.corrcoef(df["x"], df["z1"])[0, 1]) > 0.2  # the real data has a spurious path
    g = get_generator("decaf", seed=0, **{**TINY, "epochs": 10}).fit(df, spec, constraint="remove_spurious")
    out = g.sample(20000, seed=3)
    assert abs(np.corrcoef(out["x"], out["z1"])[0, 1]) < 0.03
    assert abs(np.corrcoef(out["x"], out["z2"])[0, 1]) < 0.03


def test_remove_indirect_feeds_x0_to_mediators(toy):
    df, spec = toy
    g = get_generator("decaf", seed=0, **TINY).fit(df, spec, constraint="remove_indirect")
    out = g.sample(8000, seed=0)
    for w in ("smoker", "visits", "bmi"):
        gap = out.loc[out["sex"] == "M", w].mean() - out.loc[out["sex"] == "F", w].mean()
        sd = out[w].std()
        # W is generated with X = x0 for everyone: no X -> W effect beyond what flows through Z.
        assert abs(gap) < 0.15 * sd + 0.05, (w, gap)


def _fit(df, spec, **cfg):
    return get_generator("decaf", seed=4, **{**TINY, **cfg}).fit(df, spec)


def _weights(g):
    return {k: v.clone() for k, v in g.model_.state_dict().items()}


def test_resume_ends_at_the_uninterrupted_model(toy, tmp_path):
    df, spec = toy
    full = _fit(df, spec, epochs=4, checkpoint_dir=str(tmp_path / "full"), checkpoint_every=2)
    _fit(df, spec, epochs=2, checkpoint_dir=str(tmp_path / "cut"), checkpoint_every=2)  # "interrupted" after 2
    resumed = _fit(df, spec, epochs=4, checkpoint_dir=str(tmp_path / "cut"), checkpoint_every=2, resume=True)
    assert resumed.fit_report_["decaf"]["resumed_from_epoch"] == 2
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    pd.testing.assert_frame_equal(full.sample(100, seed=9), resumed.sample(100, seed=9))
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]


def test_checkpoint_is_safetensors_plus_json(toy, tmp_path):
    from safetensors.torch import load_file

    df, spec = toy
    _fit(df, spec, epochs=2, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    meta = json.loads((tmp_path / "decaf.json").read_text())
    assert meta["epoch"] == 2 and meta["format"] == "faircausesyn-decaf-checkpoint"
    tensors = load_file(str(tmp_path / "decaf.safetensors"))
    assert any(k.startswith("model.nodes.") for k in tensors) and "rng.state" in tensors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decaf.json", "decaf.safetensors"]


def test_corrupted_checkpoint_is_a_clear_error(toy, tmp_path):
    df, spec = toy
    _fit(df, spec, epochs=2, checkpoint_dir=str(tmp_path), checkpoint_every=2)
    raw = bytearray((tmp_path / "decaf.safetensors").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "decaf.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted"):
        _fit(df, spec, epochs=4, checkpoint_dir=str(tmp_path), resume=True)
    (tmp_path / "decaf.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupted"):
        _fit(df, spec, epochs=4, checkpoint_dir=str(tmp_path), resume=True)


def test_checkpoint_of_other_data_or_settings_is_refused(toy, tmp_path):
    df, spec = toy
    _fit(df, spec, epochs=2, checkpoint_dir=str(tmp_path), checkpoint_every=2)
    with pytest.raises(CheckpointError, match="other data"):
        _fit(df.iloc[:200], spec, epochs=4, checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(CheckpointError, match="other data"):
        _fit(df, spec, epochs=4, hidden=8, checkpoint_dir=str(tmp_path), resume=True)


def test_resume_needs_a_directory_and_starts_fresh_without_checkpoint(toy, tmp_path):
    df, spec = toy
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        _fit(df, spec, resume=True)
    g = _fit(df, spec, epochs=2, checkpoint_dir=str(tmp_path / "new"), resume=True)
    assert g.fit_report_["decaf"]["resumed_from_epoch"] is None
    assert (tmp_path / "new" / "decaf.json").is_file()


def test_text_levels_and_categorical_mediator():
    df, spec, _ = simulate_sfm(400, 0, "categorical_mediator")
    g = get_generator("decaf", seed=0, **TINY).fit(df, spec, constraint="remove_direct")
    out = g.sample(300, seed=0)
    assert set(out["x"]) <= {"female", "male"} and set(out["w2"]) <= {"a", "b", "c"}
    assert out.dtypes.equals(df.dtypes)


def test_custom_graph_and_progress(toy, capsys):
    from faircausesyn import CausalGraph

    df, spec = toy
    graph = CausalGraph.sfm(spec, columns=list(df.columns), mediator_structure="independent")
    g = get_generator("decaf", seed=0, **TINY).fit(df, spec, graph=graph, progress=True)
    assert g.model_.parents["bmi"] == graph.parents("bmi")
    assert "decaf epoch 3/3" in capsys.readouterr().err
    g = get_generator("decaf", seed=0, **TINY).fit(df, spec)
    assert capsys.readouterr().err == ""


def test_early_stopping_keeps_the_best_epoch_and_survives_resume(toy, tmp_path):
    df, spec = toy
    cfg = {"epochs": 300, "patience": 3, "lr_generator": 0.02, "checkpoint_dir": str(tmp_path), "checkpoint_every": 1000}
    g = _fit(df, spec, **cfg)
    rep = g.fit_report_["decaf"]
    assert rep["validation_rows"] == 48
    assert rep["epochs_trained"] < 300 and rep["epochs_trained"] - rep["best_epoch"] == 3
    best = min(h["validation"] for h in g.history_)
    assert [h["validation"] for h in g.history_][rep["best_epoch"] - 1] == best
    again = _fit(df, spec, **cfg, resume=True)  # the stopped run is complete: nothing is retrained
    assert again.fit_report_["decaf"]["epochs_trained"] == rep["epochs_trained"]
    pd.testing.assert_frame_equal(g.sample(50, seed=1), again.sample(50, seed=1))
