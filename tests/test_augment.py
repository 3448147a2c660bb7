"""LLM augmentation of the small X x Y groups (plugins/faircausesyn_method/augment.py).

A scripted chat backend (from test_prompting) checks the group choice, the
group-membership check and the counts exactly; one short test runs the real
embedded SmolLM2-135M-Instruct and needs a few valid rows from it.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from faircausesyn import CausalGraph
from faircausesyn.errors import ConfigError
from faircausesyn.schema import infer_schema
from faircausesyn_method.augment import augment_rows, group_table
from test_prompting import SPEC, ScmChat, seed_table


def test_group_table_lists_x_by_y_cells_smallest_first():
    data = seed_table()
    table = group_table(data, SPEC)
    sizes = data.groupby(["sex", "y"]).size()
    assert table["size"].tolist() == sorted(sizes.tolist())
    assert (table.loc[0, "x"], table.loc[0, "y"], table.loc[0, "size"]) == (0, 1, 2)


def test_group_table_splits_a_numeric_outcome_at_its_median():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sex": rng.integers(0, 2, 200), "los": rng.gamma(2.0, 3.0, 200)})
    table = group_table(df, SPEC.model_copy(update={"outcome": "los", "confounders": [], "mediators": []}))
    assert len(table) == 4 and set(table["y_op"]) == {"<=", ">"}
    assert table["size"].sum() == 200


def test_augment_asks_for_the_small_groups_and_keeps_only_their_valid_rows():
    data = seed_table()
    schema = infer_schema(data)
    backend = ScmChat(batch_size=4, max_tokens=400)
    rows, rep = augment_rows(backend, spec=SPEC, schema=schema, data=data, n_per_group=6, seed=3)
    # groups: (0,1) has 2 rows; (0,0) and (1,1) are about 59 each, the mean is 40: only the rare cell is augmented
    assert [g["group"] for g in rep["groups"]] == ["sex=0 and y=1"]
    assert len(rows) == 6 and ((rows["sex"] == 0) & (rows["y"] == 1)).all()
    assert list(rows.columns) == schema.names and rows.dtypes.tolist() == data.dtypes.tolist()
    reasons = rep["invalid_reasons"]
    for why in ("age: not a number", "age: out of range", "sex: unknown category", "outside the group asked for"):
        assert reasons[why] == backend.injected[why]
    assert rep["proposed"] == rep["valid"] + rep["invalid"]
    real = {tuple(r) for r in data.itertuples(index=False)}
    assert not any(tuple(r) in real for r in rows.itertuples(index=False))
    dropped = reasons.get("exact copy of a real row", 0) + reasons.get("repeats a row already proposed", 0)
    assert dropped == rep["proposed"] - rep["valid"] - sum(backend.injected.values())
    # few-shot examples come from the group itself, serialised in causal order (age before sex)
    convs = [c for c, _ in backend.requests]
    shots = convs[0][2]["content"].splitlines()
    assert shots and all(s.startswith("age=") and "sex=0" in s and "y=1" in s for s in shots)
    assert "Every row has sex=0 and y=1." in convs[0][3]["content"]


def test_augment_group_count_and_determinism():
    data = seed_table()
    schema = infer_schema(data)
    a, rep_a = augment_rows(ScmChat(max_tokens=400), spec=SPEC, schema=schema, data=data, n_per_group=3, seed=1, groups=3)
    b, _ = augment_rows(ScmChat(max_tokens=400), spec=SPEC, schema=schema, data=data, n_per_group=3, seed=1, groups=3)
    pd.testing.assert_frame_equal(a, b)
    assert len(rep_a["groups"]) == 3 and all(g["kept"] <= 3 for g in rep_a["groups"])
    with pytest.raises(ConfigError):
        augment_rows(ScmChat(), spec=SPEC, schema=schema, data=data, n_per_group=0, seed=1)


def test_augment_in_completion_style_keeps_only_rows_of_the_group():
    data = seed_table()
    schema = infer_schema(data)
    backend = ScmChat(max_tokens=400)
    rows, rep = augment_rows(backend, spec=SPEC, schema=schema, data=data, n_per_group=3, seed=0, groups=2, style="complete", drop_copies=False)
    prompts = [p for p, _ in backend.requests]
    assert all(isinstance(p, str) and p.endswith("\n") for p in prompts)
    assert "Every row below has sex=0 and y=1." in prompts[0]
    kept = {g["group"]: g["kept"] for g in rep["groups"]}
    assert sum(kept.values()) == len(rows) > 0
    groups = set(zip(rows["sex"], rows["y"], strict=True))
    asked = {tuple(int(v) for v in re.findall(r"=(\d)", g["group"])) for g in rep["groups"]}
    assert len(asked) == 2 and groups <= asked and rep["invalid_reasons"]["outside the group asked for"] > 0


# ------------------------------------------------------------------ the real small model
def needs_smollm2(test):
    """Marks a test that loads SmolLM2 (installed by `make setup`; it fails, never skips, without it)."""
    return test


@needs_smollm2
def test_smollm2_augments_a_small_group_with_valid_rows():
    import torch

    import faircausesyn

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    df, _ = faircausesyn.load_dataset("heart_failure")
    cols = ["age", "sex", "smoking", "DEATH_EVENT"]
    spec = SPEC.model_copy(update={"outcome": "DEATH_EVENT", "mediators": ["smoking"], "name": "heart failure"})
    data = df[cols]
    schema = infer_schema(data)
    backend = faircausesyn.get_llm_backend("smollm2", max_tokens=120, batch_size=2, temperature=0.7)
    rows, rep = augment_rows(backend, spec=spec, schema=schema, data=data, n_per_group=4, seed=0, groups=1,
                             rows_per_prompt=6, max_rounds=1, graph=CausalGraph.sfm(spec, columns=cols), style="complete")
    assert rep["groups"][0]["group"] == "sex=0 and DEATH_EVENT=1"
    assert rep["proposed"] >= 4 and rep["valid"] >= 2, rep
    assert len(rows) == rep["returned"] >= 2
    assert ((rows["sex"] == 0) & (rows["DEATH_EVENT"] == 1)).all()
    assert schema.row_problems(rows).eq("").all()
