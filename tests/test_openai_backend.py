"""The ``openai`` backend against a local chat-completions server on 127.0.0.1 that injects faults.

The server (``faircausesyn.testing.llm_server``) is backed by the deterministic
``EchoBackend``: what is tested here is the client (protocol, retries, backoff,
Retry-After, malformed/truncated answers, dead endpoints, cache, accounting,
secrets). A server backed by a real model (smollm2) is in test_llm_backends.py.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from pathlib import Path

import pytest

import faircausesyn
from faircausesyn.errors import BackendError, ConfigError
from faircausesyn.testing import check_llm_backend
from faircausesyn.testing.llm_server import EchoBackend, Fault, LLMServer
from faircausesyn_llm.openai_backend import EndpointError, OpenAIBackend, _retry_after

FAST = {"backoff_base": 0.01, "max_backoff": 0.05, "timeout": 5.0}


def chat1(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def server():
    with LLMServer(EchoBackend(), model="echo") as s:
        yield s


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def make(server: LLMServer, **kw) -> OpenAIBackend:
    return OpenAIBackend(base_url=server.url, model="echo", **{**FAST, **kw})


# ------------------------------------------------------------------ protocol
def test_registered_and_lazy(server, no_key):
    b = faircausesyn.get_llm_backend("openai", base_url=server.url, model="echo")
    assert isinstance(b, OpenAIBackend)


def test_chat_answers_in_order_with_a_seed_per_request(server, no_key):
    b = make(server, concurrency=3)
    convs = [chat1(f"patient {i}") for i in range(7)]
    out = b.chat(convs, seed=10, max_tokens=50, temperature=0.2)
    assert [c.text for c in out] == [f"echo {10 + i}: patient {i}" for i in range(7)]
    assert all(c.finish_reason == "stop" for c in out)
    payloads = [r.payload for r in server.requests]
    assert sorted(p["seed"] for p in payloads) == list(range(10, 17))
    assert {p["model"] for p in payloads} == {"echo"} and {p["temperature"] for p in payloads} == {0.2}
    u = b.usage
    assert u["requests"] == 7 and u["answers"] == 7 and u["retries"] == 0
    assert u["prompt_tokens"] == sum(c.prompt_tokens for c in out) == 14
    assert u["completion_tokens"] == sum(c.completion_tokens for c in out) == 28


def test_complete_wraps_prompt_or_uses_completions_route(server, no_key):
    chat_mode = make(server)
    assert chat_mode.complete(["age=61"])[0].text == "echo 0: age=61"
    assert server.requests[-1].path.endswith("/chat/completions")
    legacy = make(server, prompt_mode="completions")
    out = legacy.complete(["age=61", "age=70"], max_tokens=3)
    assert [c.text for c in out] == ["echo 0: age=61", "echo 1: age=70"]
    assert server.requests[-1].path.endswith("/v1/completions")


def test_stop_and_max_tokens_are_sent(server, no_key):
    out = make(server).chat([chat1("a b c d e f")], max_tokens=3, stop=["zzz"])
    assert out[0].text == "echo 0: a" and out[0].finish_reason == "length"
    assert server.requests[-1].payload["stop"] == ["zzz"] and server.requests[-1].payload["max_tokens"] == 3


def test_conformance_kit(server, no_key):
    check_llm_backend(lambda: make(server))


def test_concurrency_limit(server, no_key):
    server.inject(Fault("delay", seconds=0.15), times=6)
    out = make(server, concurrency=2).chat([chat1(str(i)) for i in range(6)])
    assert len(out) == 6 and all(c.text for c in out)
    assert 1 <= server.max_in_flight <= 2


def test_bad_configuration_is_a_config_error():
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIBackend(base_url="ftp://x", model="m")
    with pytest.raises(ConfigError, match="credentials"):
        OpenAIBackend(base_url="https://user:pw@example.org/v1", model="m")
    with pytest.raises(ConfigError, match="model"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigError, match="concurrency"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", concurrency=0)
    with pytest.raises(ConfigError, match="no_such"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m").chat([chat1("x")], no_such=1)


# ------------------------------------------------------------------- faults
def test_retry_after_is_honoured(server, no_key):
    server.inject(Fault("429", retry_after=0.4))
    b = make(server)
    t0 = time.perf_counter()
    out = b.chat([chat1("x")])
    assert time.perf_counter() - t0 >= 0.4
    assert out[0].text == "echo 0: x"
    u = b.usage
    assert u["rate_limited"] == 1 and u["retries"] == 1 and u["requests"] == 2


def test_retry_after_header_forms():
    assert _retry_after("3") == 3.0 and _retry_after("0.5") == 0.5 and _retry_after(None) is None
    assert _retry_after("not a date") is None
    from email.utils import formatdate

    assert 25 <= _retry_after(formatdate(time.time() + 30, usegmt=True)) <= 31
    assert _retry_after(formatdate(time.time() - 30, usegmt=True)) == 0.0


def test_too_long_retry_after_gives_up(server, no_key):
    server.inject(Fault("503", retry_after=999))
    with pytest.raises(EndpointError, match="max_retry_after"):
        make(server, max_retry_after=5).chat([chat1("x")])


def test_server_errors_and_drops_are_retried_with_backoff(server, no_key):
    server.inject("500", "502", "503", "drop")
    b = make(server, concurrency=1, backoff_base=0.05, max_backoff=1.0)
    t0 = time.perf_counter()
    out = b.chat([chat1("x")])
    elapsed = time.perf_counter() - t0
    assert out[0].text == "echo 0: x"
    u = b.usage
    assert u["server_errors"] == 3 and u["connection_errors"] == 1 and u["retries"] == 4 and u["failures"] == 0
    # backoff waits at least half of base * 2**attempt: 0.025 + 0.05 + 0.1 + 0.2
    assert elapsed >= 0.375


def test_timeout_is_retried(server, no_key):
    server.inject(Fault("delay", seconds=6))
    b = make(server, timeout=1.0)
    out = b.chat([chat1("slow")])
    assert out[0].text == "echo 0: slow" and b.usage["timeouts"] == 1 and b.usage["retries"] == 1


def test_malformed_and_truncated_answers_are_counted_and_dropped(server, no_key, tmp_path):
    server.inject("malformed", "truncated")
    b = make(server, concurrency=1, cache_dir=str(tmp_path / "cache"))
    out = b.chat([chat1(f"p{i}") for i in range(4)])
    assert [c.finish_reason for c in out[:2]] == ["error", "error"] and [c.text for c in out[:2]] == ["", ""]
    assert [c.text for c in out[2:]] == ["echo 2: p2", "echo 3: p3"]
    u = b.usage
    assert u["malformed"] == 1 and u["truncated"] == 1 and u["retries"] == 0 and len(server.requests) == 4
    # dropped answers are not cached: a rerun asks for them again, the good ones come from the cache
    again = b.chat([chat1(f"p{i}") for i in range(4)])
    assert [c.text for c in again] == ["echo 0: p0", "echo 1: p1", "echo 2: p2", "echo 3: p3"]
    assert b.usage["cache_hits"] == 2 and len(server.requests) == 6


def test_dead_endpoint_is_a_clear_error_after_the_retry_budget(no_key):
    url = LLMServer.unused_url()
    b = OpenAIBackend(base_url=url, model="m", max_retries=3, **{k: v for k, v in FAST.items()})
    with pytest.raises(BackendError) as info:
        b.chat([chat1("x"), chat1("y")])
    exc = info.value
    assert isinstance(exc, EndpointError)
    assert url in str(exc) and "4 attempt(s)" in str(exc) and "refused" in str(exc) and exc.hint
    assert exc.partial == [None, None]
    assert b.usage["failures"] >= 1 and b.usage["connection_errors"] >= 4


def test_results_so_far_are_kept_and_a_rerun_resumes(no_key, tmp_path):
    cache = str(tmp_path / "cache")
    prompts = [chat1(f"row {i}") for i in range(5)]
    with LLMServer(EchoBackend(), model="echo") as s:
        # two answers, then the endpoint keeps failing past the retry budget
        b = make(s, concurrency=1, max_retries=2, cache_dir=cache)
        s.inject(Fault("delay", seconds=0), Fault("delay", seconds=0), "503", "503", "503")
        with pytest.raises(EndpointError) as info:
            b.chat(prompts)
        part = info.value.partial
        assert [c.text if c else None for c in part] == ["echo 0: row 0", "echo 1: row 1", None, None, None]
        assert "2 of 5" in str(info.value) and info.value.usage["failures"] == 1
    # the endpoint comes back elsewhere; the same call resumes from the cache
    with LLMServer(EchoBackend(), model="echo") as s2:
        b2 = make(s2, cache_dir=cache)
        out = b2.chat(prompts)
        assert [c.text for c in out] == [f"echo {i}: row {i}" for i in range(5)]
        assert b2.usage["cache_hits"] == 2 and len(s2.requests) == 3


def test_rejected_request_is_not_retried(no_key):
    with LLMServer(EchoBackend(), model="echo", api_key="the-right-key") as s:
        b = make(s)
        with pytest.raises(EndpointError, match="HTTP 401") as info:
            b.chat([chat1("x")])
        assert "OPENAI_API_KEY" in info.value.hint and len(s.requests) == 1


def test_seeded_chaos_is_survived(server, no_key):
    server.chaos({"429": 0.2, "500": 0.2, "malformed": 0.1}, seed=3, retry_after=0.01)
    b = make(server, concurrency=1, max_retries=15)  # one at a time: the seeded faults hit the same requests every run
    out = b.chat([chat1(f"r{i}") for i in range(20)])
    good = [c for c in out if c.finish_reason != "error"]
    u = b.usage
    assert len(good) + u["malformed"] == 20 and u["rate_limited"] + u["server_errors"] == u["retries"] > 0
    assert all(c.text == f"echo {i}: r{i}" for i, c in enumerate(out) if c.finish_reason != "error")


# ------------------------------------------------------------------- cache
def test_cache_answers_identical_calls_and_holds_no_prompt(server, no_key, tmp_path):
    cache = tmp_path / "cache"
    b = make(server, cache_dir=str(cache))
    first = b.chat([chat1("secret-patient-Zyx42"), chat1("another")], seed=5)
    second = make(server, cache_dir=str(cache)).chat([chat1("secret-patient-Zyx42"), chat1("another")], seed=5)
    assert [c.text for c in first] == [c.text for c in second] and len(server.requests) == 2
    assert len(list(cache.glob("*/*.json"))) == 2
    # the stored entries are answers only: the prompt appears only where the echo model repeated it
    for f in cache.glob("*/*.json"):
        assert '"messages"' not in f.read_text()
    # another seed is another request
    make(server, cache_dir=str(cache)).chat([chat1("another")], seed=6)  # same request as before: seed 5 + index 1
    assert len(server.requests) == 2
    make(server, cache_dir=str(cache)).chat([chat1("another")], seed=7)
    assert len(server.requests) == 3


# ----------------------------------------------------------------- secrets
FAKE_KEY = "sk-test-ZZ9PluralZAlpha-0123456789abcdef"


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_api_key_never_leaks(monkeypatch, tmp_path, caplog, capsys):
    monkeypatch.setenv("FCS_TEST_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    texts: list[str] = []
    with LLMServer(EchoBackend(), model="echo", api_key=FAKE_KEY) as s:
        b = make(s, api_key_env="FCS_TEST_KEY", cache_dir=str(out_dir / "cache"))
        # the key is really used: the server only answers with it
        s.inject("429", "malformed", "truncated", "500")
        res = b.chat([chat1(f"q{i}") for i in range(6)])
        assert all(r.authorized for r in s.requests) and sum(c.finish_reason != "error" for c in res) == 4
        # a server that echoes the request headers (Authorization included) in its error text
        s.inject("400")
        with pytest.raises(EndpointError) as info:
            b.chat([chat1("echo my headers")])
        texts += [str(info.value), repr(info.value), info.value.message, str(info.value.hint)]
        assert "***" in str(info.value)
        texts += [repr(b), repr(b.config), b.config.model_dump_json(), str(b.get_params()), str(b.usage)]
        pickled = pickle.dumps(b)
        print(repr(b), b.usage)
        (out_dir / "results.json").write_text(b.config.model_dump_json())
        (out_dir / "manifest.txt").write_text(repr(b) + str(b.usage) + str(res))
    # a dead endpoint with the key set
    dead = OpenAIBackend(base_url=LLMServer.unused_url(), model="echo", api_key_env="FCS_TEST_KEY", max_retries=1, **FAST)
    with pytest.raises(EndpointError) as info2:
        dead.chat([chat1("x")])
    texts += [str(info2.value), repr(info2.value)]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    texts += [rec.getMessage() for rec in caplog.records] + [str(rec.args) for rec in caplog.records]
    assert caplog.records, "the faults should have been logged"
    for t in texts:
        assert FAKE_KEY not in t
    assert FAKE_KEY.encode() not in pickled
    files = _files_under(tmp_path)
    assert len(files) >= 6
    for f in files:
        assert FAKE_KEY.encode() not in f.read_bytes(), f"key found in {f}"
    restored = pickle.loads(pickled)
    assert restored.usage == b.usage


def test_api_key_file_outside_the_project(monkeypatch, tmp_path):
    monkeypatch.delenv("FCS_FILE_KEY", raising=False)
    inside = Path.cwd() / "key.txt"
    with pytest.raises(ConfigError, match="outside the project"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", api_key_file=str(inside))
    keyfile = tmp_path / "key.env"
    keyfile.write_text(f"# my keys\nOTHER=nope\nFCS_FILE_KEY={FAKE_KEY}\n")
    os.chmod(keyfile, 0o644)
    with LLMServer(EchoBackend(), model="echo", api_key=FAKE_KEY) as s:
        loose = make(s, api_key_env="FCS_FILE_KEY", api_key_file=str(keyfile))
        with pytest.raises(ConfigError, match="chmod 600"):
            loose.chat([chat1("x")])
        os.chmod(keyfile, 0o600)
        b = make(s, api_key_env="FCS_FILE_KEY", api_key_file=str(keyfile))
        assert b.chat([chat1("x")])[0].text == "echo 0: x" and s.requests[-1].authorized
        bare = tmp_path / "bare.txt"
        bare.write_text(FAKE_KEY + "\n")
        os.chmod(bare, 0o600)
        assert make(s, api_key_env="FCS_FILE_KEY", api_key_file=str(bare)).chat([chat1("y")])[0].text == "echo 0: y"
        empty = tmp_path / "empty.txt"
        empty.write_text("A=1\nB=2\n")
        os.chmod(empty, 0o600)
        with pytest.raises(ConfigError, match="holds no key"):
            make(s, api_key_env="FCS_FILE_KEY", api_key_file=str(empty)).chat([chat1("z")])
        assert FAKE_KEY not in repr(b)


# -------------------------------------------------------------- the server
def test_server_routes_and_fault_validation(server):
    import json
    import urllib.request

    with urllib.request.urlopen(server.url + "/models", timeout=5) as r:
        assert json.loads(r.read())["data"][0]["id"] == "echo"
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("teapot")  # type: ignore[arg-type]
    server.inject("500", times=3)
    assert server.pending_faults == 3
    server.clear_faults()
    assert server.pending_faults == 0
