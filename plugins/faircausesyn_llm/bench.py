"""Measure the LLM backends on this machine: load time, tokens/s, parsed rows/s.

Run ``python -m faircausesyn_llm.bench --out bench.json`` (add ``--quick`` for
a short run, or ``--threads`` for only the 1-vs-2-threads comparison). Each backend writes rows of the ``heart_failure`` dataset
(6 columns) from a few-shot prompt of 20 real rows; a line counts as a parsed
row when it has the six ``name=value`` fields in order and passes the table
schema (types, categories, ranges). ``fit`` for an LLM backend is loading the
model (nothing is trained); ``sample`` is generation.

Backends measured: ``smollm2`` (GGUF de-quantised on load, and from the
weights cache), ``transformers`` (the converted SmolLM2 folder as a local
checkpoint), ``openai`` against the local test server backed by SmolLM2
(adds the HTTP round trip) and by the echo backend (the client's own overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

COLUMNS = ["sex", "age", "smoking", "diabetes", "ejection_fraction", "DEATH_EVENT"]


def _prompt(df: pd.DataFrame, k: int = 20, seed: int = 0) -> tuple[str, Any]:
    from faircausesyn.schema import infer_schema

    shots = df[COLUMNS].sample(k, random_state=seed)
    lines = [", ".join(f"{c}={r[c]}" for c in COLUMNS) for _, r in shots.iterrows()]
    schema = infer_schema(df[COLUMNS])
    return "\n".join(lines) + "\n", schema


def parse_rows(texts: list[str], schema: Any) -> pd.DataFrame:
    """Lines of ``name=value`` fields in the order of COLUMNS that pass the schema."""
    rows = []
    for text in texts:
        for line in text.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != len(COLUMNS):
                continue
            kv = [p.partition("=") for p in parts]
            if [k for k, _, _ in kv] != COLUMNS:
                continue
            try:
                rows.append({k: float(v) for k, _, v in kv})
            except ValueError:
                continue
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return frame
    ok = schema.row_problems(frame) == ""
    return frame[ok]


def _generate(backend: Any, prompt: str, schema: Any, n: int, max_tokens: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = backend.complete([prompt] * n, max_tokens=max_tokens, temperature=0.8, seed=1)
    dt = time.perf_counter() - t0
    texts = [c.text for c in out]
    rows = parse_rows(texts, schema)
    tokens = sum(c.completion_tokens for c in out)
    lines = sum(len([ln for ln in t.splitlines() if ln.strip()]) for t in texts)
    return {
        "sample_seconds": round(dt, 2),
        "completion_tokens": tokens,
        "tokens_per_second": round(tokens / dt, 1),
        "lines": lines,
        "parsed_rows": int(len(rows)),
        "rows_per_second": round(len(rows) / dt, 2),
    }


def _decode(backend: Any, n: int = 4, max_tokens: int = 64) -> dict[str, Any]:
    """Generation speed on short chat prompts (decoding dominates, unlike the long few-shot prompt)."""
    convs = [[{"role": "user", "content": f"Describe patient {i} in one sentence."}] for i in range(n)]
    t0 = time.perf_counter()
    out = backend.chat(convs, max_tokens=max_tokens, temperature=0.8, seed=2)
    dt = time.perf_counter() - t0
    tokens = sum(c.completion_tokens for c in out)
    return {"short_prompts": n, "short_tokens": tokens, "short_tokens_per_second": round(tokens / dt, 1)}


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every backend; returns a JSON-ready dict."""
    import torch

    import faircausesyn
    from faircausesyn.testing.llm_server import EchoBackend, LLMServer
    from faircausesyn_llm.hf import SmolLM2Backend
    from faircausesyn_llm.openai_backend import OpenAIBackend

    df, _ = faircausesyn.load_dataset("heart_failure")
    prompt, schema = _prompt(df)
    n, max_tokens = (4, 64) if quick else (8, 128)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__, "load_avg_start": os.getloadavg()[0]},
        "task": {"prompts": n, "max_tokens": max_tokens, "few_shot_rows": 20, "columns": COLUMNS},
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as cache:
        for threads in (1, 2):
            cold = SmolLM2Backend(threads=threads, weights_cache=cache if threads == 1 else None, batch_size=n)
            t0 = time.perf_counter()
            cold.load()
            load = time.perf_counter() - t0
            entry = {"fit_seconds (load GGUF, de-quantise)": round(load, 2), **_decode(cold), **_generate(cold, prompt, schema, n, max_tokens)}
            results["backends"][f"smollm2 (threads={threads})"] = entry
            if threads == 1:
                smol = cold
        t0 = time.perf_counter()
        warm = SmolLM2Backend(threads=1, weights_cache=cache, batch_size=n).load()
        results["backends"]["smollm2 (threads=1, weights cache)"] = {"fit_seconds (load)": round(time.perf_counter() - t0, 2)}
        del warm
        (folder,) = [p for p in Path(cache).iterdir() if not p.name.startswith(".")]
        t0 = time.perf_counter()
        tf = faircausesyn.get_llm_backend("transformers", model=str(folder), threads=1, batch_size=n).load()
        entry = {"fit_seconds (load)": round(time.perf_counter() - t0, 2), **_decode(tf), **_generate(tf, prompt, schema, n, max_tokens)}
        results["backends"]["transformers (converted SmolLM2 folder, threads=1)"] = entry
        del tf
        with LLMServer(smol, model="smollm2") as server:
            client = OpenAIBackend(base_url=server.url, model="smollm2", concurrency=4, timeout=600)
            entry = {"fit_seconds": 0.0, **_generate(client, prompt, schema, n, max_tokens), "usage": client.usage}
            results["backends"]["openai -> local server -> smollm2 (threads=1)"] = entry
        with LLMServer(EchoBackend(), model="echo") as server:
            client = OpenAIBackend(base_url=server.url, model="echo", concurrency=4)
            k = 200
            t0 = time.perf_counter()
            client.complete([f"row {i}" for i in range(k)])
            dt = time.perf_counter() - t0
            results["backends"]["openai -> local server -> echo (client overhead)"] = {"requests": k, "requests_per_second": round(k / dt, 1)}
    results["machine"]["load_avg_end"] = os.getloadavg()[0]
    return results


def threads_comparison(repeats: int = 2, max_tokens: int = 32) -> list[dict[str, Any]]:
    """Tokens/s of SmolLM2 with 1 and 2 torch threads, alternated on one loaded model (4 short chat prompts)."""
    from faircausesyn_llm.hf import SmolLM2Backend

    backend = SmolLM2Backend(batch_size=4).load()
    convs = [[{"role": "user", "content": f"Describe patient {i} in one sentence."}] for i in range(4)]
    rows = []
    for threads in (1, 2) * repeats:
        backend.config.threads = threads
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        out = backend.chat(convs, max_tokens=max_tokens, temperature=0.8, seed=2)
        dt = time.perf_counter() - t0
        n = sum(c.completion_tokens for c in out)
        rows.append({"threads": threads, "tokens": n, "seconds": round(dt, 2), "tokens_per_second": round(n / dt, 1), "load_avg": round(load, 1)})
    return rows


def main() -> None:
    """Command-line entry: ``python -m faircausesyn_llm.bench [--quick] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer prompts and tokens")
    parser.add_argument("--threads", action="store_true", help="only compare 1 and 2 torch threads on SmolLM2")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: Any = threads_comparison() if args.threads else run(quick=args.quick)
    text = json.dumps(results, indent=2)
    if args.out:
        from faircausesyn.io import atomic_write_text

        atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
