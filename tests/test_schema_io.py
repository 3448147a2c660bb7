"""Schema inference, conformance of generated tables, reading and atomic writing of tables."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from faircausesyn import load_dataset
from faircausesyn.errors import DataError
from faircausesyn.io import atomic_path, read_table, write_table
from faircausesyn.schema import TableSchema, infer_schema


def test_kinds_of_builtin_datasets():
    df, spec = load_dataset("cleveland")
    schema = infer_schema(df, overrides=spec.column_types)
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["sex"] == "binary" and kinds["cp"] == "categorical" and kinds["oldpeak"] == "continuous"
    assert kinds["age"] == "integer" and kinds["ca"] == "integer" and schema["ca"].n_missing == 4
    df, _ = load_dataset("ilpd")
    s = infer_schema(df)
    assert s["Gender"].kind == "binary" and s["Gender"].categories == ["Female", "Male"]


def test_conform_restores_dtypes_and_rejects_unknown_categories():
    df, spec = load_dataset("ilpd")
    schema = infer_schema(df)
    gen = df.sample(50, random_state=0).astype(str)  # e.g. an LLM wrote everything as text
    gen["Age"] = gen["Age"].astype(float) + 0.3
    out = schema.conform(gen, n=50)
    assert [str(out[c].dtype) for c in out.columns] == [str(df[c].dtype) for c in df.columns]
    assert (out["Age"] == df.loc[gen.index, "Age"].to_numpy()).all()
    gen.iloc[0, 1] = "Unknown"
    with pytest.raises(DataError, match="not one of its categories"):
        schema.conform(gen)


def test_row_problems_flags_invalid_rows():
    df, _ = load_dataset("heart_failure")
    schema = infer_schema(df)
    bad = df.head(4).copy().astype(object)
    bad.loc[0, "sex"] = 2
    bad.loc[1, "age"] = "old"
    bad.loc[2, "ejection_fraction"] = 900
    reasons = schema.row_problems(bad)
    assert list(reasons != "") == [True, True, True, False]


frames = data_frames(
    columns=[
        column("b", elements=st.sampled_from([0, 1])),
        column("c", elements=st.sampled_from(["a", "b", "c"])),
        column("i", elements=st.integers(-1000, 1000)),
        column("f", elements=st.floats(-1e6, 1e6, allow_nan=False, width=32)),
    ],
    index=range_indexes(min_size=2, max_size=40),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_schema_round_trips(df):
    schema = infer_schema(df)
    assert TableSchema.from_dict(schema.to_dict()) == schema
    out = schema.conform(df)
    pd.testing.assert_frame_equal(out, df.reset_index(drop=True), check_dtype=True)
    assert (schema.row_problems(df) == "").all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frames)
def test_csv_and_parquet_round_trip(tmp_path_factory, df):
    d = tmp_path_factory.mktemp("rt")
    for name in ("t.csv", "t.parquet"):
        write_table(df, d / name)
        back = read_table(d / name)
        assert list(back.columns) == list(df.columns)
        np.testing.assert_allclose(back["f"].to_numpy(), df["f"].to_numpy(), rtol=1e-6)
        assert (back["c"].to_numpy() == df["c"].to_numpy()).all()


def test_read_options_and_errors(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_text("a;b;c\n1;2;3\n4;5;6\n")
    assert read_table(p).shape == (2, 3)
    with pytest.raises(DataError, match="';'-separated"):
        read_table(p, delimiter=",")
    q = tmp_path / "nohead.data"
    q.write_text("1,?,3\n4,5,6\n")
    t = read_table(q, na_values=["?"])
    assert t.shape == (2, 3) and t.isna().sum().sum() == 1 and list(t.columns) == ["col0", "col1", "col2"]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "head.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "head.csv")
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError):
        read_table(tmp_path / "bin.csv")


def test_atomic_write_gives_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    finally:
        os.umask(old)
    assert (tmp_path / "x.csv").stat().st_mode & 0o777 == 0o644


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert os.listdir(tmp_path) == []
    with pytest.raises(DataError, match="does not exist"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "nodir" / "x.csv")
    with pytest.raises(DataError, match="unsupported output format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")
