"""Augmenting the small X x Y groups of the training rows with a pretrained chat LLM.

The tabular LM of the ``faircausesyn`` generator learns from the real rows;
its rarest combinations of the sensitive attribute and the outcome (e.g.
women who died) are the ones it learns worst. :func:`augment_rows` asks a
pretrained chat model for extra rows of exactly those groups, few-shot with
real rows of the group, and keeps only rows that parse, pass the schema's
checks, belong to the group asked for and copy no real row. This is where
"LLM-augmented" earns its name; the benchmark
``benchmarks/bench_augment_ablation.py`` measures whether it helps.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np
import pandas as pd

from faircausesyn.errors import ConfigError, DataError
from faircausesyn.interfaces import LLMBackend
from faircausesyn.schema import TableSchema
from faircausesyn.spec import CausalSpec

from .prompting import (
    LogTarget,
    PromptLog,
    answer_rows,
    call_report,
    _Caller,
    _document,
    _final_check,
    _row_key,
    _row_keys,
    _tokens_per_line,
    _whole_rows_prompt,
    system_prompt,
)
from .textrows import ParseCounts, causal_column_order, format_value, parse_pairs, row_to_text, rows_frame


def group_table(data: pd.DataFrame, spec: CausalSpec) -> pd.DataFrame:
    """The X x Y groups of ``data``: one row per group with its X value, Y condition and size, smallest first.

    A binary or few-valued Y gives one group per value; a numeric Y with more
    than 10 values is split at its median (``y_op`` is ``"<="`` or ``">"``).
    """
    x, y = spec.sensitive, spec.outcome
    ys = data[y]
    numeric = pd.api.types.is_numeric_dtype(ys) and ys.nunique() > 10
    med = float(ys.median()) if numeric else None
    groups = []
    for xv in pd.unique(data[x]):
        in_x = data[x] == xv
        if numeric:
            for op, mask in (("<=", ys <= med), (">", ys > med)):
                groups.append({"x": xv, "y": med, "y_op": op, "size": int((in_x & mask).sum())})
        else:
            for yv in pd.unique(ys):
                groups.append({"x": xv, "y": yv, "y_op": "==", "size": int((in_x & (ys == yv)).sum())})
    table = pd.DataFrame(groups)
    table = table[table["size"] > 0].sort_values(["size", "y_op"], kind="stable").reset_index(drop=True)
    return table


def _in_group(frame: pd.DataFrame, spec: CausalSpec, g: dict[str, Any]) -> pd.Series:
    x_ok = frame[spec.sensitive].map(lambda v: str(v) == str(g["x"]) or _num_eq(v, g["x"]))
    y = frame[spec.outcome]
    if g["y_op"] == "==":
        y_ok = y.map(lambda v: str(v) == str(g["y"]) or _num_eq(v, g["y"]))
    elif g["y_op"] == "<=":
        y_ok = pd.to_numeric(y) <= float(g["y"])
    else:
        y_ok = pd.to_numeric(y) > float(g["y"])
    return x_ok & y_ok


def _num_eq(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def augment_rows(
    backend: LLMBackend,
    *,
    spec: CausalSpec,
    schema: TableSchema,
    data: pd.DataFrame,
    n_per_group: int,
    seed: int,
    graph: Any = None,
    groups: int | None = None,
    shots: int = 8,
    rows_per_prompt: int = 8,
    max_rounds: int = 3,
    slack: float = 0.1,
    drop_copies: bool = True,
    log: LogTarget = None,
    style: Literal["chat", "complete"] = "chat",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Ask the LLM for ``n_per_group`` extra rows of each of the smallest X x Y groups of ``data``.

    ``groups`` is how many of the smallest groups to augment; by default every
    group smaller than the mean group size (at least the smallest one). Each
    conversation shows ``shots`` real rows of the group (serialised in the
    graph's topological order; the SFM of ``spec`` when ``graph`` is None) and
    asks for ``rows_per_prompt`` more with the group's X and Y. A row counts
    only if it parses, passes the schema's checks, lies in the group asked for
    and (with ``drop_copies``) is no copy of a real row nor a repeat of a row
    the LLM already wrote (a repeat adds weight, not information). Up to ``max_rounds``
    rounds per group; every call gets a seed drawn from ``seed``. ``style="complete"``
    sends the group's rows as a plain document for the model to continue
    (better for small models) instead of a few-shot chat.

    Returns the valid rows (conformed to ``schema``) and a report with the
    counts (``proposed``, ``parsed``, ``valid``, ``invalid``,
    ``invalid_reasons``, tokens, ``seconds``, ``rows_per_s``) and ``groups``:
    per group its X, Y condition, real size, rows asked and rows kept.
    """
    if isinstance(n_per_group, bool) or int(n_per_group) != n_per_group or n_per_group <= 0:
        raise ConfigError(f"n_per_group must be a positive integer, got {n_per_group!r}")
    missing = [c for c in schema.names if c not in data.columns]
    if missing:
        raise DataError(f"the data lack the column(s) {', '.join(missing)} of the schema")
    if style not in ("chat", "complete"):
        raise ConfigError(f"style must be 'chat' or 'complete', got {style!r}")
    if graph is None:
        from faircausesyn.graph import CausalGraph

        graph = CausalGraph.sfm(spec, columns=[c for c in schema.names if c in set(spec.columns)])
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    caller = _Caller(backend, rng, PromptLog(log))
    cols = causal_column_order(graph, schema.names)
    real = data[schema.names].dropna().reset_index(drop=True)
    table = group_table(real, spec)
    if groups is None:
        chosen = table[table["size"] < table["size"].mean()]
        chosen = chosen if len(chosen) else table.head(1)
    else:
        chosen = table.head(max(int(groups), 1))
    system = system_prompt(spec, schema, graph, None, None)
    max_tok = int(getattr(backend.config, "max_tokens", 256))
    per_line = _tokens_per_line(row_to_text(r, cols, schema) for r in real.head(20).to_dict("records"))
    m = max(1, min(rows_per_prompt, (max_tok - 8) // per_line))
    seen = _row_keys(real, schema) if drop_copies else set()
    proposed: set[tuple[str, ...]] = set()
    counts = ParseCounts()
    out_rows: list[dict[str, Any]] = []
    group_reports = []
    for g in chosen.to_dict("records"):
        members = real[_in_group(real, spec, g)]
        cond = _condition_text(spec, schema, g)
        got: list[dict[str, Any]] = []
        asked = 0
        for _ in range(max_rounds):
            want = n_per_group - len(got)
            if want <= 0:
                break
            convs = []
            for _ in range(math.ceil(want * 1.5 / m)):
                ex = members.iloc[rng.permutation(len(members))[:shots]]
                lines = [row_to_text(r, cols, schema) for r in ex.to_dict("records")]
                if style == "chat":
                    convs.append(_whole_rows_prompt(system, lines, m, cols, extra=f" Every row has {cond}."))
                else:
                    convs.append(_document(f"{system}\n\nEvery row below has {cond}.", lines, ""))
            asked += len(convs) * m
            budget = min(max_tok, m * per_line + 16)
            answers = caller.chat(convs, f"augment {cond}", max_tokens=budget) if style == "chat" else caller.complete(convs, f"augment {cond}", max_tokens=budget)
            for ans in answers:
                found = answer_rows(ans.text, ans.finish_reason)
                for line, cut, parsed in (found if style == "chat" else found[:m]):
                    values, reason, ok = parse_pairs(parsed, schema, cols, slack=slack)
                    if values is None:
                        counts.reject("cut off by max_tokens" if cut else reason, line, parsed=ok and not cut)
                        continue
                    if not bool(_in_group(rows_frame([values], cols), spec, g).iloc[0]):
                        counts.reject("outside the group asked for", line, parsed=True)
                        continue
                    key = _row_key(values, schema)
                    if drop_copies and key in seen:
                        counts.reject("exact copy of a real row", line, parsed=True)
                        continue
                    if drop_copies and key in proposed:
                        counts.reject("repeats a row already proposed", line, parsed=True)
                        continue
                    proposed.add(key)
                    counts.accept()
                    got.append(values)
        kept = got[:n_per_group]
        out_rows += kept
        group_reports.append({"group": cond, "real_size": int(g["size"]), "asked": asked, "kept": len(kept)})
    frame = _final_check(rows_frame(out_rows, schema.names), schema, counts)
    frame = schema.conform(frame.reset_index(drop=True))
    report = call_report(frame, counts, caller, t0, groups=group_reports)
    caller.log({"purpose": "augment_rows: summary", "report": report})
    return frame, report


def _condition_text(spec: CausalSpec, schema: TableSchema, g: dict[str, Any]) -> str:
    x, y = spec.sensitive, spec.outcome
    xv = format_value(g["x"], schema[x]) if x in schema else str(g["x"])
    if g["y_op"] == "==":
        yv = format_value(g["y"], schema[y]) if y in schema else str(g["y"])
        return f"{x}={xv} and {y}={yv}"
    word = "at most" if g["y_op"] == "<=" else "above"
    return f"{x}={xv} and {y} {word} {g['y']:g}"
