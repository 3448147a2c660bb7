"""Row text format, parsing with strict validation, and staged chat proposals (plugins/faircausesyn_method).

The chat tests use a scripted in-test backend whose answers follow a known
structural model and include malformed, out-of-range and unknown-category
lines at known places, so the parse counts and what each stage was shown can
be checked exactly.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from faircausesyn import CausalGraph, CausalSpec, EdgeCut, LLMBackend
from faircausesyn.errors import ConfigError, DataError
from faircausesyn.interfaces import Completion
from faircausesyn.schema import infer_schema
from faircausesyn.testing.data import toy_sfm
from faircausesyn_method.prompting import (
    describe_measures,
    plan_stages,
    propose_rows_chat,
    stratified_sample,
    system_prompt,
)
from faircausesyn_method.textrows import (
    ParseCounts,
    causal_column_order,
    parse_rows,
    rows_frame,
    rows_to_text,
    split_line,
)

SPEC = CausalSpec(sensitive="sex", x0=0, x1=1, outcome="y", confounders=["age"], mediators=["smoke"], name="toy")


def seed_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Real rows with X = 1 iff age > 55, W = X, Y = X (the scripted model's structure), plus a rare cell."""
    rng = np.random.default_rng(seed)
    age = rng.integers(30, 81, n)
    sex = (age > 55).astype(int)
    df = pd.DataFrame({"age": age, "sex": sex, "smoke": sex, "y": sex})
    df.loc[:1, ["sex", "smoke", "y"]] = [[0, 0, 1], [0, 0, 1]]  # the rare cell sex=0, y=1
    df.loc[:1, "age"] = [30, 80]
    return df


class ScmChat(LLMBackend):
    """A deterministic chat backend acting out a known structural model in text.

    Whole-row requests get ``m`` lines, of which line 1 has an unparseable
    number, line 2 an out-of-range age and line 3 an unknown category of sex;
    the others follow sex = [age > 55] (or the group named in the prompt). For
    per-row requests it answers in reverse order, with smoke = shown sex and
    y = shown sex, no answer for a shown age of 31, ``y=maybe`` for a shown
    age ending in 3 and an altered echo of an age ending in 7. ``injected`` counts every defect it wrote.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[list, dict]] = []
        self.injected: Counter[str] = Counter()
        self.shown: list[tuple[list[str], dict[str, int]]] = []

    def _chat(self, conversations, params):
        out = []
        for conv in conversations:
            self.requests.append((conv, dict(params)))
            out.append(Completion(text=self._answer(conv, params), prompt_tokens=10, completion_tokens=5, finish_reason="stop"))
        return out

    def _complete(self, prompts, params):
        """Completion style: continue a document of rows (whole lines, or one row from its given values)."""
        out = []
        for prompt in prompts:
            self.requests.append((prompt, dict(params)))
            rng = np.random.default_rng(params["seed"])
            head, last = prompt.rsplit("\n", 1)
            example_keys = re.findall(r"(\w+)=", head.rsplit("\n", 1)[-1])
            if last == "":
                text = "\n".join(self._whole_lines(example_keys, 6, None, rng)[2:-1])
            else:
                shown = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", last)}
                want = [k for k in example_keys if k not in shown]
                self.shown.append((want, shown))
                vals = {c: str(int(shown["age"] > 55)) if c == "sex" else str(shown["sex"]) for c in want}
                if "y" in want and shown.get("age", 0) % 10 == 3:
                    vals["y"] = "maybe"
                    self.injected["y: unknown category"] += 1
                text = ", ".join(f"{c}={v}" for c, v in vals.items())[len(want[0]) + 1 :] + "\nage=40, sex=0"
            out.append(Completion(text=text, prompt_tokens=10, completion_tokens=5, finish_reason="stop"))
        return out

    def _answer(self, conv, params) -> str:
        rng = np.random.default_rng(params["seed"])
        last = conv[-1]["content"]
        m = re.search(r"write (\d+) new rows", last)
        if m:
            cols = re.findall(r"(\w+)=\.\.\.", conv[1]["content"])
            group = re.search(r"Every row has sex=(\d) and y=(\d)", last)
            return "\n".join(self._whole_lines(cols, int(m.group(1)), group, rng))
        return self._fill_in(last)

    def _whole_lines(self, cols, m, group, rng) -> list[str]:
        """``m`` whole rows, the first three (four with a group) defective, wrapped in prose and a fence."""
        lines = ["Here are the rows:", "```"]
        for i in range(m):
            age = int(rng.integers(30, 81))
            sex = int(age > 55) if group is None else int(group.group(1))
            row = {"age": str(age), "sex": str(sex), "smoke": str(sex), "y": str(sex if group is None else group.group(2))}
            if i == 0:
                row["age"], why = "abc", "age: not a number"
            elif i == 1:
                row["age"], why = "999", "age: out of range"
            elif i == 2 and "sex" in cols:
                row["sex"], why = "7", "sex: unknown category"
            elif i == 3 and group is not None:
                row["sex"], why = str(1 - sex), "outside the group asked for"
            else:
                why = ""
            if why:
                self.injected[why] += 1
            lines.append(", ".join(f"{c}={row[c]}" for c in cols))
        return lines + ["```"]

    def _fill_in(self, last: str) -> str:
        """Chat style, later stages: fill in the ``?`` of each numbered row."""
        block = last.split("\n\n")[-1]
        rows = re.findall(r"^(\d+): (.*)$", block, flags=re.M)
        answers = []
        for idx, text in rows:
            want = re.findall(r"(\w+)=\?", text)
            shown = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}
            self.shown.append((want, shown))
            vals = {}
            for c in want:
                if c == "sex":
                    vals[c] = str(int(shown["age"] > 55))
                elif c in ("smoke", "y"):
                    vals[c] = str(shown["sex"])
            if shown.get("age") == 31:
                self.injected["no answer"] += 1
                continue
            if "y" in want and shown.get("age", 0) % 10 == 3:
                vals["y"] = "maybe"
                self.injected["y: unknown category"] += 1
            echo = {k: str(v) for k, v in shown.items()}
            if shown.get("age", 0) % 10 == 7 and "sex" not in want:
                echo["age"] = str(shown["age"] + 1)
                self.injected["changed the given value of age"] += 1
            elif int(idx) % 2 == 0:
                echo = {}  # answer with the new values only
            answers.append(f"{idx}: " + ", ".join(f"{c}={v}" for c, v in {**echo, **vals}.items()))
        return "\n".join(reversed(answers))


def run(cuts=(), n=40, seed=0, **kw):
    data = seed_table()
    schema = infer_schema(data)
    graph = CausalGraph.sfm(SPEC, columns=list(data.columns))
    backend = kw.pop("backend", None) or ScmChat(batch_size=3, max_tokens=400)
    rows, report = propose_rows_chat(
        backend, spec=SPEC, schema=schema, graph=graph, seed_rows=data, targets=kw.pop("targets", None),
        gaps=kw.pop("gaps", None), n=n, interventions=list(cuts), seed=seed, **kw,
    )
    return rows, report, backend


# ------------------------------------------------------------------ textrows
def test_rows_round_trip_through_text_in_causal_order():
    df, spec = toy_sfm(60, seed=1)
    schema = infer_schema(df)
    graph = CausalGraph.sfm(spec, columns=list(df.columns))
    order = causal_column_order(graph, schema.names)
    assert order.index("age") < order.index("sex") < order.index("smoker") < order.index("event")
    lines = rows_to_text(df, order, schema)
    assert lines[0].startswith("age=")
    rows, counts = parse_rows(lines, schema, order)
    assert counts.to_dict()["valid"] == 60 and counts.invalid == 0
    back = schema.conform(rows_frame(rows, order))
    pd.testing.assert_frame_equal(back, schema.conform(df))


@pytest.mark.parametrize(
    "line",
    [
        "age=63, sex=1, smoke=0, y=1",
        "  age = 63 ,  sex = 1 , smoke = 0 , y = 1  ",
        "age=\"63\", sex='1', smoke=`0`, y=1",
        "3: age=63, sex=1, smoke=0, y=1",
        "row 3. age=63, sex=1, smoke=0, y=1",
        "- **age**=63, sex=1, smoke=0, y=1",
        "age=63, sex=1, smoke=0, y=1 (the patient died)",
        "age=63, sex=1, smoke=0, y=1.",
        "AGE=63.0, sex=1, smoke=0, y=1",
        "age=63, sex=1, smoke=0, y=1, id=17",
    ],
)
def test_parsing_is_lenient_about_form(line):
    schema = infer_schema(seed_table())
    rows, counts = parse_rows([line], schema)
    assert counts.valid == 1, counts.to_dict()
    assert rows == [{"age": 63, "sex": 1, "smoke": 0, "y": 1}]


@pytest.mark.parametrize(
    ("line", "reason", "parsed"),
    [
        ("age=sixty, sex=1, smoke=0, y=1", "age: not a number", False),
        ("age=63 years, sex=1, smoke=0, y=1", "age: not a number", False),
        ("age=63.5, sex=1, smoke=0, y=1", "age: not an integer", True),
        ("age=200, sex=1, smoke=0, y=1", "age: out of range", True),
        ("age=63, sex=2, smoke=0, y=1", "sex: unknown category", True),
        ("age=63, sex=1, smoke=yes, y=1", "smoke: unknown category", True),
        ("age=63, sex=1, y=1", "missing column smoke", False),
        ("age=63, sex=1, sex=0, smoke=0, y=1", "duplicate column sex", False),
        ("age=NA, sex=1, smoke=0, y=1", "age: missing value", False),
    ],
)
def test_parsing_is_strict_about_content(line, reason, parsed):
    schema = infer_schema(seed_table())
    rows, counts = parse_rows(["prose without pairs", line, "```"], schema)
    assert rows == []
    d = counts.to_dict()
    assert (d["proposed"], d["valid"], d["invalid"], d["parsed"]) == (1, 0, 1, int(parsed))
    assert d["invalid_reasons"] == {reason: 1}
    assert d["invalid_examples"][0]["line"] == line


def test_range_slack_follows_the_schema_rule():
    schema = infer_schema(seed_table())  # age 30..80, span 50: 10% slack allows 25..85
    ok, _ = parse_rows(["age=85, sex=1, smoke=1, y=1", "age=25, sex=0, smoke=0, y=0"], schema)
    assert len(ok) == 2
    strict, counts = parse_rows(["age=85, sex=1, smoke=1, y=1"], schema, slack=0.0)
    assert strict == [] and counts.invalid_reasons == {"age: out of range": 1}


def test_text_values_with_commas_are_quoted_and_read_back():
    df = pd.DataFrame({"site": ["Leeds, UK", "York", "a=b"], "v": [1.5, 2.25, 3.0]})
    schema = infer_schema(df)
    lines = rows_to_text(df, ["site", "v"], schema)
    assert lines[0] == 'site="Leeds, UK", v=1.5'
    rows, counts = parse_rows(lines, schema)
    assert counts.valid == 3 and [r["site"] for r in rows] == ["Leeds, UK", "York", "a=b"]


def test_several_rows_on_one_line_are_split_where_the_first_key_returns():
    schema = infer_schema(seed_table())
    rows, counts = parse_rows(["age=40, sex=0, smoke=0, y=0, age=70, sex=1, smoke=1, y=1, age=50, sex=0"], schema)
    assert [r["age"] for r in rows] == [40, 70]
    assert counts.to_dict()["invalid_reasons"] == {"missing column smoke": 1}


def test_split_line_reads_numbered_prefix_and_ignores_prose():
    assert split_line("Sure! Here are some rows:") is None
    p = split_line("12) age=40, sex=0")
    assert p.index == 12 and p.pairs == {"age": "40", "sex": "0"}


def test_counts_merge_and_add_up():
    a, b = ParseCounts(), ParseCounts()
    a.accept()
    a.reject("x", "l1", parsed=True)
    b.reject("x", "l2")
    b.reject("y", "l3")
    d = a.merge(b).to_dict()
    assert (d["proposed"], d["parsed"], d["valid"], d["invalid"]) == (4, 2, 1, 3)
    assert d["invalid_reasons"] == {"x": 2, "y": 1}


# ------------------------------------------------------------------ stages
def test_stages_follow_the_causal_order_and_the_cuts():
    data = seed_table()
    schema = infer_schema(data)
    graph = CausalGraph.sfm(SPEC, columns=list(data.columns))
    plain = plan_stages(SPEC, schema, graph, [])
    assert [s.columns for s in plain] == [["age", "sex"], ["smoke"], ["y"]]
    assert [s.context for s in plain] == [[], ["age", "sex"], ["age", "sex", "smoke"]]
    direct = plan_stages(SPEC, schema, graph, [EdgeCut("sex", "y", "reference", 0)])
    assert direct[2].reference == {"sex": 0} and direct[1].reference == {}
    indirect = plan_stages(SPEC, schema, graph, [EdgeCut("sex", "smoke", "reference", "0")])
    assert indirect[1].reference == {"sex": 0} and indirect[2].reference == {}
    spurious = plan_stages(SPEC, schema, graph, [EdgeCut("age", "sex", "independent")])
    assert [s.columns for s in spurious] == [["age"], ["sex"], ["smoke"], ["y"]]
    assert spurious[1].shuffled == ["age"]
    with pytest.raises(ConfigError, match="no such edge"):
        plan_stages(SPEC, schema, graph, [EdgeCut("smoke", "age", "reference", 0)])


def test_preserve_follows_the_model_and_counts_every_defect():
    rows, rep, backend = run(n=40)
    assert len(rows) == 40 and list(rows.columns) == ["age", "sex", "smoke", "y"]
    assert rows.dtypes.tolist() == [np.dtype("int64")] * 4
    assert (rows["sex"] == (rows["age"] > 55)).all()
    assert (rows["smoke"] == rows["sex"]).all() and (rows["y"] == rows["sex"]).all()
    assert rep["proposed"] == rep["valid"] + rep["invalid"]
    reasons = rep["invalid_reasons"]
    inj = backend.injected
    for why in ("age: not a number", "age: out of range", "sex: unknown category", "y: unknown category", "changed the given value of age"):
        assert inj[why] > 0 and reasons.get(why, 0) == inj[why], (why, reasons, inj)
    no_answer = sum(v for k, v in reasons.items() if k.startswith("no answer"))
    assert no_answer == inj["no answer"]
    assert rep["valid"] >= 40 and "exact copy of a real row" not in reasons
    assert rep["prompt_tokens"] == 10 * len(backend.requests)
    assert rep["completion_tokens"] == 5 * len(backend.requests)


def test_copies_of_real_rows_can_be_dropped():
    rows, rep, _ = run(n=5, drop_copies=True, max_rounds=1)
    real = {tuple(r) for r in seed_table().itertuples(index=False)}
    assert rep["invalid_reasons"]["exact copy of a real row"] > 0
    assert not any(tuple(r) in real for r in rows.itertuples(index=False))


def test_direct_cut_shows_x0_to_y_only():
    rows, rep, backend = run([EdgeCut("sex", "y", "reference", 0)])
    assert (rows["y"] == 0).all()  # Y generated as if X were x0
    assert (rows["smoke"] == rows["sex"]).all() and rows["sex"].nunique() == 2  # W keeps the real X
    y_shown = [s for w, s in backend.shown if w == ["y"]]
    assert y_shown and all(s["sex"] == 0 for s in y_shown)


def test_indirect_cut_shows_x0_to_the_mediators_only():
    rows, _, backend = run([EdgeCut("sex", "smoke", "reference", 0)])
    assert (rows["smoke"] == 0).all() and (rows["y"] == rows["sex"]).all() and rows["sex"].nunique() == 2


def test_spurious_cut_draws_x_independently_of_z():
    rows, rep, backend = run([EdgeCut("age", "sex", "independent")], n=60)
    assert rows["sex"].nunique() == 2
    agree = float((rows["sex"] == (rows["age"] > 55)).mean())
    assert agree < 0.8  # without the cut it is exactly 1 (see the preserve test)
    x_stage = [s for w, s in backend.shown if w == ["sex"]]
    assert x_stage and set(x_stage[0]) == {"age"}
    assert rep["stages"][1]["shuffled"] == ["age"]


def test_completion_style_continues_each_row_from_its_shown_values():
    rows, rep, backend = run([EdgeCut("sex", "y", "reference", 0)], n=30, style="complete")
    assert len(rows) == 30 and (rows["y"] == 0).all()
    assert (rows["smoke"] == rows["sex"]).all() and (rows["sex"] == (rows["age"] > 55)).all()
    prompts = [p for p, _ in backend.requests]
    assert all(isinstance(p, str) for p in prompts)
    y_prompts = [p for p in prompts if p.endswith(", y=")]
    assert all(params["stop"] == ["\n"] for p, params in backend.requests if p.endswith(", y="))
    assert y_prompts and all(", sex=0, smoke=" in p.rsplit("\n", 1)[-1] for p in y_prompts)
    assert "- age (confounder Z)" in prompts[0] and "\nRows:\n" in prompts[0]
    for why in ("age: not a number", "age: out of range", "sex: unknown category"):
        assert rep["invalid_reasons"].get(why, 0) == backend.injected[why] > 0
    assert rep["invalid_reasons"].get("y: unknown category", 0) == backend.injected["y: unknown category"]
    with pytest.raises(ConfigError, match="style"):
        run(n=3, style="poem")


def test_prompts_state_schema_roles_graph_targets_and_gaps():
    targets = {"TV": 0.1, "DE": 0.0, "IE": -0.05, "SE": -0.05, "ETT": 0.05}
    gaps = {"DE": 0.08}
    _, _, backend = run(n=4, targets=targets, gaps=gaps, max_rounds=1)
    system = backend.requests[0][0][0]["content"]
    assert "- age (confounder Z): integer from 30 to 80" in system
    assert "- sex (sensitive attribute X): one of 0, 1 (x0 = 0 is the reference group, x1 = 1)" in system
    assert "- smoke (mediator W): one of 0, 1" in system and "- y (outcome Y): one of 0, 1" in system
    assert "Causal graph (cause -> effects): age -> sex, smoke, y; sex -> smoke, y; smoke -> y" in system
    assert "DE = 0.000 (direct effect X -> Y)" in system
    assert "The last batch had DE = 0.080 but the target is 0.000" in system
    assert "smaller" in describe_measures(SPEC, targets, gaps)
    assert describe_measures(SPEC, None, {"SE": -0.02}).startswith("The last batch's SE was off by -0.020")
    assert "Causal fairness" not in system_prompt(SPEC, infer_schema(seed_table()), CausalGraph.sfm(SPEC), None, None)


def test_few_shot_rows_are_stratified_over_x_and_y():
    data = seed_table()
    cells = Counter(zip(data["sex"], data["y"], strict=True))
    assert cells[(0, 1)] == 2  # a rare cell
    pick = stratified_sample(data, SPEC, 6, np.random.default_rng(0))
    assert Counter(zip(pick["sex"], pick["y"], strict=True)) == {(0, 0): 2, (1, 1): 2, (0, 1): 2}
    _, _, backend = run(n=4, max_rounds=1)
    y_prompts = [c for c, _ in backend.requests if "leaves y as ?" in c[-1]["content"]]
    shots = y_prompts[0][2]["content"]
    assert re.search(r"y=1", shots) and re.search(r"y=0", shots)


def test_batches_seeds_and_reproducibility(tmp_path):
    rows1, rep1, b1 = run(n=12, seed=5)
    rows2, rep2, b2 = run(n=12, seed=5)
    rows3, _, _ = run(n=12, seed=6)
    pd.testing.assert_frame_equal(rows1, rows2)
    assert rep1["invalid_reasons"] == rep2["invalid_reasons"]
    assert not rows1.equals(rows3)
    seeds = [p["seed"] for _, p in b1.requests]
    # batch_size=3: each call carries at most 3 conversations, all with the call's seed
    assert rep1["calls"] >= len(b1.requests) / 3 and len(set(seeds)) == rep1["calls"]


def test_prompts_and_answers_are_logged(tmp_path):
    records = []
    _, rep, backend = run(n=6, log=records.append)
    assert len(records) == len(backend.requests) + 1
    assert records[0]["messages"][0]["role"] == "system" and "answer" in records[0]
    assert records[-1]["report"]["valid"] == rep["valid"]
    path = tmp_path / "logs" / "prompts.jsonl"
    run(n=6, log=str(path))
    lines = path.read_text().splitlines()
    assert len(lines) == len(records) and json.loads(lines[0])["purpose"].startswith("stage 1")


def test_truncated_answers_are_counted_as_cut_off():
    class Truncating(ScmChat):
        def _chat(self, conversations, params):
            out = super()._chat(conversations, params)
            return [Completion(c.text.replace("\n```", "")[:-3], 1, 1, "length") for c in out]

    _, rep, _ = run(n=5, backend=Truncating(max_tokens=400), max_rounds=1)
    assert rep["invalid_reasons"].get("cut off by max_tokens", 0) >= 1


def test_bad_arguments_are_errors():
    with pytest.raises(ConfigError):
        run(n=0)
    data = seed_table()
    with pytest.raises(DataError, match="seed rows lack"):
        propose_rows_chat(ScmChat(), spec=SPEC, schema=infer_schema(data), graph=CausalGraph.sfm(SPEC), seed_rows=data[["age"]],
                          targets=None, gaps=None, n=3, interventions=[], seed=0)


def test_text_levels_of_x_are_shown_as_fitted():
    df, spec = toy_sfm(80, seed=2)
    schema = infer_schema(df)
    graph = CausalGraph.sfm(spec, columns=list(df.columns))
    stages = plan_stages(spec, schema, graph, [EdgeCut("sex", "event", "reference", "F")])
    assert stages[-1].reference == {"sex": "F"} and stages[-1].columns == ["event"]
    assert stages[1].columns == ["smoker", "stage", "visits", "bmi"]
