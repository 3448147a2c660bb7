"""The ``llm`` graph provider: prompt, lenient parsing, repairs against the roles, logging.

Parsing and repair are tested with an in-test backend that returns a fixed
answer (registered through a real PluginHost); the provider is also run
through the OpenAI-compatible ``openai`` backend against a local server, and
end to end with the embedded ``smollm2`` model (a short answer).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from faircausesyn import CausalSpec, LLMBackend, PluginHost, get_graph_provider, hookimpl
from faircausesyn.errors import BackendError
from faircausesyn.interfaces import Completion, LLMBackendConfig
from faircausesyn.testing import check_graph_provider, toy_sfm
from faircausesyn_graphs.llm import LLMProvider, build_prompt, candidate_parents, match_column, parse_edges, parse_mentions


class FixedConfig(LLMBackendConfig):
    answer: str = ""
    #: per-conversation answers, looked up by a word in the question (``per_column`` style)
    by_column: dict[str, str] = {}
    fail: bool = False


class FixedAnswer(LLMBackend):
    """Returns a configured answer; records what it was asked."""

    Config = FixedConfig
    seen: ClassVar[list[Any]] = []

    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        raise AssertionError("the provider chats")

    def _chat(self, conversations: list[list[Any]], params: dict[str, Any]) -> list[Completion]:
        if self.config.fail:
            raise RuntimeError("connection refused")
        FixedAnswer.seen.append((conversations, params))
        out = []
        for conv in conversations:
            text = self.config.answer
            for col, ans in self.config.by_column.items():
                if f"'{col}'" in conv[-1]["content"]:
                    text = ans
            out.append(Completion(text=text, prompt_tokens=10, completion_tokens=5, finish_reason="stop"))
        return out


class _Plugin:
    @hookimpl
    def register_llm_backends(self, registry):
        registry.register("fixed", FixedAnswer)


def fixed_host() -> PluginHost:
    return PluginHost([("fixed_llm", _Plugin())], autoload=False)


def provider(answer: str = "", **cfg: Any) -> LLMProvider:
    backend_config = {"answer": answer, **cfg.pop("backend_config", {})}
    return LLMProvider(backend="fixed", backend_config=backend_config, host=fixed_host(), **cfg)


SPEC = CausalSpec(
    sensitive="sex", x0="F", x1="M", outcome="event", confounders=["age"], mediators=["smoker", "stage", "visits", "bmi"],
    descriptions={"smoker": "smokes (0/1)", "bmi": "body-mass index"},
)


# ------------------------------------------------------------------ parsing
def test_match_column_is_lenient_but_not_reckless():
    cols = ["age", "high_blood_pressure", "DEATH_EVENT", "serum_sodium"]
    assert match_column("age", cols) == "age"
    assert match_column("`High Blood Pressure`", cols) == "high_blood_pressure"
    assert match_column("death event", cols) == "DEATH_EVENT"
    assert match_column("serum_sodum", cols) == "serum_sodium"  # a typo
    assert match_column("cholesterol", cols) is None
    assert match_column("  ", cols) is None


def test_parse_edges_reads_many_spellings_in_order():
    answer = """Here is the graph:
    1. age -> smoker
    - **sex** → stage
    * smoker --> visits -> event
    bmi => event
    Age causes BMI
    (6) sex leads to visits.
    unicorns -> event
    I think stage matters.
    """
    edges, unparsed = parse_edges(answer, SPEC.columns)
    assert edges == [("age", "smoker"), ("sex", "stage"), ("smoker", "visits"), ("visits", "event"), ("bmi", "event"), ("age", "bmi"), ("sex", "visits")]
    assert any("unicorns" in u and "unknown name" in u for u in unparsed)
    assert any("stage matters" in u for u in unparsed)
    assert "Here is the graph:" in unparsed


def test_prompt_states_columns_roles_descriptions_and_format():
    msgs = build_prompt(SPEC, SPEC.columns)
    text = msgs[-1]["content"]
    for c in SPEC.columns:
        assert f"- {c} (" in text
    assert "smoker (mediator: may be caused by sex): smokes (0/1)" in text
    assert "age (confounder: not caused by sex)" in text
    assert "event (outcome Y: causes nothing)" in text
    assert "'cause -> effect'" in text
    assert "smokes (0/1)" not in build_prompt(SPEC, SPEC.columns, descriptions=False)[-1]["content"]


def test_candidate_parents_follow_the_tiers():
    c = candidate_parents(SPEC, SPEC.columns)
    assert c["age"] == [] and c["sex"] == ["age"]
    assert c["smoker"] == ["sex", "age"] and c["bmi"] == ["sex", "age", "smoker", "stage", "visits"]
    assert c["event"] == ["sex", "age", "smoker", "stage", "visits", "bmi"]
    assert parse_mentions("The Smoker and AGE columns, not sexy", ["sex", "age", "smoker"]) == ["smoker", "age"]


# ------------------------------------------------------------------ repairs
def test_provider_repairs_and_reports(tmp_path):
    df, spec = toy_sfm(120, seed=0)
    answer = "\n".join([
        "age -> sex", "sex -> smoker", "smoker -> stage", "stage -> smoker",  # cycle: the later edge goes
        "event -> bmi",  # out of Y
        "visits -> sex",  # into X from a mediator
        "smoker -> age",  # into Z from W
        "smoker -> event", "stage -> event", "sex -> event", "age -> event",
        "the end",
    ])
    log = tmp_path / "llm.jsonl"
    p = provider(answer, log_path=str(log))
    g = p.provide(df, spec)
    assert not g.problems(spec, columns=list(df.columns))
    r = p.report_
    assert r["repairs"] == [
        "dropped stage -> smoker: it would close the cycle stage -> smoker -> stage",
        "dropped event -> bmi: it leaves the outcome (nothing analysed may be caused by Y)",
        "dropped visits -> sex: it points into the sensitive attribute from a non-confounder (only Z may cause X)",
        "dropped smoker -> age: it points into a confounder from X or a mediator (confounders are not caused by X)",
        "added sex -> visits: mediator 'visits' was not reachable from 'sex'",
        "added sex -> bmi: mediator 'bmi' was not reachable from 'sex'",
    ]
    assert set(g.edges) == {("age", "sex"), ("sex", "smoker"), ("smoker", "stage"), ("smoker", "event"), ("stage", "event"), ("sex", "event"), ("age", "event"), ("sex", "visits"), ("sex", "bmi")}
    assert r["answer"] == answer and r["unparsed_lines"] == ["the end"]
    assert r["prompt"][-1]["role"] == "user" and "visits" in r["prompt"][-1]["content"]
    # Greedy and bounded: the provider's settings reach the backend.
    conversations, params = FixedAnswer.seen[-1]
    assert params["temperature"] == 0.0 and params["max_tokens"] == 256
    # Logged: one JSON line per call, appended.
    p.provide(df, spec)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    rec = json.loads(lines[0])
    assert rec["answer"] == answer and rec["repairs"] == r["repairs"] and rec["backend"] == "fixed" and "time" in rec


def test_unreadable_answer_still_gives_a_valid_graph_with_a_warning():
    df, spec = toy_sfm(120, seed=0)
    p = provider("I cannot help with that.")
    g = p.provide(df, spec)
    assert not g.problems(spec, columns=list(df.columns))
    assert "warning" in p.report_ and len(p.report_["repairs"]) == len(spec.mediators)


def test_per_column_style_asks_one_question_per_column():
    df, spec = toy_sfm(120, seed=0)
    by_column = {"sex": "age", "smoker": "The sex column.", "stage": "smoker, and sex", "visits": "none", "bmi": "I don't know", "event": "smoker, stage and age"}
    p = provider(backend_config={"by_column": by_column}, style="per_column")
    g = p.provide(df, spec)
    assert set(g.edges) == {("age", "sex"), ("sex", "smoker"), ("smoker", "stage"), ("sex", "stage"), ("smoker", "event"), ("stage", "event"), ("age", "event"), ("sex", "visits"), ("sex", "bmi")}
    assert p.report_["usage"]["calls"] == 6  # every column but age (no candidate cause)
    assert len(p.report_["unparsed_lines"]) == 2


def test_conformance_kit_and_backend_errors():
    check_graph_provider(lambda: provider("age -> sex\nsex -> smoker\nsmoker -> event\nbmi -> event"))
    df, spec = toy_sfm(60, seed=1)
    with pytest.raises(BackendError, match="connection refused"):
        provider(backend_config={"fail": True}).provide(df, spec)


# -------------------------------------------------------------- real backends
def test_openai_compatible_endpoint(tmp_path):
    """The provider through the ``openai`` backend against a local OpenAI-compatible server."""
    from faircausesyn.testing.llm_server import LLMServer

    df, spec = toy_sfm(120, seed=0)
    answer = "age -> sex\nsex -> smoker\nevent -> smoker\nsmoker -> event\nstage -> event"
    with LLMServer(FixedAnswer(answer=answer), model="fixed-model") as server:
        p = get_graph_provider("llm", backend="openai", backend_config={"base_url": server.url, "model": "fixed-model", "max_retries": 0}, max_tokens=64)
        g = p.provide(df, spec)
        payload = server.requests[-1].payload
    assert payload["model"] == "fixed-model" and payload["max_tokens"] == 64 and payload["temperature"] == 0.0
    assert "smoker (mediator: may be caused by sex)" in payload["messages"][-1]["content"]
    assert "dropped event -> smoker: it leaves the outcome (nothing analysed may be caused by Y)" in p.report_["repairs"]
    assert {("age", "sex"), ("sex", "smoker"), ("smoker", "event"), ("stage", "event")} <= set(g.edges)
    assert not g.problems(spec, columns=list(df.columns))


def test_smollm2_local_backend_end_to_end(tmp_path):
    """The embedded SmolLM2-135M answers a short prompt; whatever it says, the graph is valid and the log complete."""
    import torch

    torch.set_num_threads(1)
    assert "smollm2" in PluginHost().registry("llm_backend")
    df, spec = toy_sfm(80, seed=0)
    df, spec = df[["age", "sex", "smoker", "event"]], CausalSpec(sensitive="sex", x0="F", x1="M", outcome="event", confounders=["age"], mediators=["smoker"])
    log = tmp_path / "smol.jsonl"
    p = get_graph_provider("llm", backend="smollm2", max_tokens=40, log_path=str(log))
    g = p.provide(df, spec)
    assert g.is_acyclic() and not g.problems(spec, columns=list(df.columns))
    rec = json.loads(log.read_text().splitlines()[-1])
    assert rec["backend"] == "smollm2" and rec["answer"] == p.report_["answer"]
    assert rec["style"] == "per_column" and rec["usage"]["calls"] == 3  # auto: one question per column with candidate causes
    assert 0 < rec["usage"]["completion_tokens"] <= 40 * 3
    assert isinstance(rec["repairs"], list) and isinstance(rec["parsed_edges"], list)
