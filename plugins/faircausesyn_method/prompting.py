"""Proposing rows with a chat LLM, in stages along the causal order.

:func:`propose_rows_chat` asks a chat backend (any :class:`faircausesyn.LLMBackend`:
the local SmolLM2, a transformers checkpoint, an OpenAI-compatible endpoint)
for synthetic rows. Generation is ancestral sampling in text, stage by stage
along the graph's topological order:

1. X and Z (the roots): whole lines of those columns;
2. W, given each row's parents (X and Z), one answer line per row;
3. Y, given X, Z and W.

Fairness constraints are realised by what each stage is *shown*, not by asking
nicely: for a ``reference`` edge cut (``X -> Y`` for no direct effect, ``X -> W``
for no indirect effect) the stage of the cut column sees ``x0`` in place of the
row's X, while the row keeps its own X; for an ``independent`` cut (``Z -> X``
for no spurious effect) the column is generated in its own stage with its
parents taken from another, randomly drawn row, so it is independent of them.

Every prompt states the schema (kinds, ranges, categories), the roles, the
graph's edges, few-shot real rows stratified over X x Y, the target measures
and the measured gaps of the last batch (the closed fairness loop). Every
answer is parsed and validated by :mod:`.textrows`; invalid rows are counted
with their reasons and dropped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from faircausesyn.errors import ConfigError, DataError
from faircausesyn.interfaces import EdgeCut, LLMBackend
from faircausesyn.schema import ColumnSchema, TableSchema
from faircausesyn.spec import CausalSpec

from .textrows import (
    ParseCounts,
    causal_column_order,
    format_value,
    parse_pairs,
    parse_value,
    row_to_text,
    rows_frame,
    ParsedLine,
    split_line,
    split_rows,
)

LogTarget = Callable[[dict[str, Any]], None] | str | Path | None

ROLE_NAMES = {
    "sensitive": "sensitive attribute X",
    "confounder": "confounder Z",
    "mediator": "mediator W",
    "outcome": "outcome Y",
    "other": "carried column",
}
MEASURE_TEXT = {
    "TV": "total variation (all pathways)",
    "DE": "direct effect X -> Y",
    "IE": "indirect effect X -> W -> Y",
    "SE": "spurious effect X <- Z -> Y",
    "ETT": "effect of treatment on the treated (DE - IE)",
}
MEASURE_HINT = {
    "TV": "the gap in {y} between the {x} groups",
    "DE": "how much {y} depends on {x} itself among rows alike in the other columns",
    "IE": "how much the mediators differ between the {x} groups (and so carry the effect to {y})",
    "SE": "how much the confounders differ between the {x} groups",
    "ETT": "the causal effect of {x} on {y} in the {x0} group",
}


# ------------------------------------------------------------------ logging
class PromptLog:
    """Where prompts and answers go: a callable taking a dict, a JSON-lines file, or nowhere.

    Each record holds the call's purpose, the conversation, the answer text,
    the seed and the token counts. Backends keep API keys to themselves, so no
    record can hold one.
    """

    def __init__(self, target: LogTarget = None) -> None:
        self.target = target
        if isinstance(target, str | Path):
            Path(target).parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, record: dict[str, Any]) -> None:
        """Write one record."""
        if self.target is None:
            return
        if callable(self.target):
            self.target(record)
            return
        with open(self.target, "a", encoding="utf-8") as fh:  # an append-only stream: each record is one whole line
            fh.write(json.dumps(record, default=str) + "\n")


# ------------------------------------------------------------------ stages
@dataclass
class Stage:
    """One step of the staged generation.

    ``columns`` are generated in this stage given ``context`` (their parents
    generated earlier); ``reference`` maps a context column to the value shown
    in place of the row's own (a ``reference`` cut); ``shuffled`` context
    columns are shown from another, random row (an ``independent`` cut).
    """

    name: str
    columns: list[str]
    context: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    shuffled: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "name": self.name,
            "columns": self.columns,
            "context": self.context,
            "reference": {k: _plain(v) for k, v in self.reference.items()},
            "shuffled": self.shuffled,
        }


def _group(spec: CausalSpec, column: str) -> int:
    role = spec.role_of(column)
    return {"sensitive": 0, "confounder": 0, "mediator": 1, "outcome": 2}.get(role or "", 3)


def plan_stages(spec: CausalSpec, schema: TableSchema, graph: Any, interventions: Sequence[EdgeCut] = ()) -> list[Stage]:
    """The stages for ``schema``'s columns: X and Z, then W, then Y (then carried columns).

    Columns are taken in the graph's topological order; a stage ends where the
    role group changes or where the edge cuts acting on a column change, so
    that every column of a stage is generated under the same intervention.
    """
    cols = causal_column_order(graph, schema.names)
    topo = {c: i for i, c in enumerate(cols)}
    by_group = sorted(cols, key=lambda c: (_group(spec, c), topo[c]))
    parents = {c: [p for p in (graph.parents(c) if c in graph.nodes else cols[: topo[c]]) if p in topo] for c in cols}
    pos = {c: i for i, c in enumerate(by_group)}
    order = by_group if all(pos[p] < pos[c] for c in cols for p in parents[c]) else cols
    cuts_on: dict[str, frozenset[tuple[str, str, str]]] = {
        c: frozenset((k.source, k.mode, repr(k.value)) for k in interventions if k.target == c) for c in cols
    }
    for k in interventions:
        if k.target in topo and k.source not in parents[k.target]:
            raise ConfigError(
                f"intervention on {k.source} -> {k.target}, but the graph has no such edge",
                hint="derive interventions from the same graph (constraint.interventions(graph, spec))",
            )
    groups: list[list[str]] = []
    for c in order:
        if groups and _group(spec, groups[-1][-1]) == _group(spec, c) and cuts_on[groups[-1][-1]] == cuts_on[c]:
            groups[-1].append(c)
        else:
            groups.append([c])
    stages: list[Stage] = []
    done: list[str] = []
    for g in groups:
        inside = set(g)
        ctx_set = {p for c in g for p in parents[c] if p not in inside}
        context = [c for c in done if c in ctx_set]
        reference: dict[str, Any] = {}
        shuffled: list[str] = []
        for k in interventions:
            if k.target in inside:
                if k.mode == "reference":
                    reference[k.source] = _level(schema[k.source], k.value)
                elif k.source not in shuffled:
                    shuffled.append(k.source)
        roles = sorted({_group(spec, c) for c in g})
        label = {0: "X and Z", 1: "W", 2: "Y", 3: "carried"}[roles[0]]
        stages.append(Stage(f"stage {len(stages) + 1} ({label}: {', '.join(g)})", g, context, reference, shuffled))
        done += g
    return stages


def _level(col: ColumnSchema, value: Any) -> Any:
    try:
        return parse_value(str(value), col)
    except ValueError:
        raise ConfigError(f"intervention value {value!r} is not a value of column {col.name!r}") from None


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# ------------------------------------------------------------------ prompt text
def describe_column(col: ColumnSchema, spec: CausalSpec) -> str:
    """One schema line: name, role, kind with range or categories, and the user's description."""
    role = ROLE_NAMES.get(spec.role_of(col.name) or "", "column")
    if col.is_discrete:
        cats = ", ".join(format_value(c, col) for c in col.categories or [])
        kind = f"one of {cats}"
        if col.name == spec.sensitive:
            kind += f" (x0 = {format_value(_level(col, spec.x0), col)} is the reference group, x1 = {format_value(_level(col, spec.x1), col)})"
    else:
        lo = format_value(col.min, col) if col.min is not None else "?"
        hi = format_value(col.max, col) if col.max is not None else "?"
        kind = f"{'integer' if col.kind == 'integer' else 'number'} from {lo} to {hi}"
        if col.kind == "continuous" and col.decimals:
            kind += f", {col.decimals} decimals"
    desc = spec.descriptions.get(col.name)
    return f"- {col.name} ({role}): {kind}" + (f". {desc}" if desc else "")


def describe_graph(graph: Any, columns: Sequence[str]) -> str:
    """The graph's edges among ``columns``, grouped by cause: ``a -> b, c; b -> c``."""
    keep = set(columns)
    parts = []
    for c in causal_column_order(graph, [n for n in graph.nodes if n in keep]):
        kids = [k for k in causal_column_order(graph, graph.children(c)) if k in keep]
        if kids:
            parts.append(f"{c} -> {', '.join(kids)}")
    return "; ".join(parts) if parts else "(no edges)"


def describe_measures(spec: CausalSpec, targets: Mapping[str, float] | None, gaps: Mapping[str, float] | None) -> str:
    """The target measures and, when given, the last batch's gaps (measured minus target) as advice."""
    if not targets and not gaps:
        return ""
    x, y = spec.sensitive, spec.outcome
    lines = []
    if targets:
        lines.append(
            f"Causal fairness targets (differences in the mean of {y} between {x}={spec.x1} and {x}={spec.x0}): "
            + ", ".join(f"{m} = {float(v):.3f} ({MEASURE_TEXT.get(m, m)})" for m, v in targets.items())
            + "."
        )
    if gaps:
        for m, gap in gaps.items():
            g = float(gap)
            if not math.isfinite(g):
                continue
            hint = MEASURE_HINT.get(m, "{y}").format(x=x, y=y, x0=f"{x}={spec.x0}")
            direction = "lower" if g > 0 else "higher"
            if targets and m in targets:
                t = float(targets[m])
                lines.append(f"The last batch had {m} = {t + g:.3f} but the target is {t:.3f}: make {hint} {'smaller' if g > 0 else 'larger'}, so that {m} becomes {abs(g):.3f} {direction}.")
            else:
                lines.append(f"The last batch's {m} was off by {g:+.3f}: make {hint} {'smaller' if g > 0 else 'larger'}.")
    return "\n".join(lines)


def system_prompt(spec: CausalSpec, schema: TableSchema, graph: Any, targets: Mapping[str, float] | None, gaps: Mapping[str, float] | None) -> str:
    """The shared instructions: the table's columns in causal order, the graph and the measures."""
    cols = causal_column_order(graph, schema.names)
    title = f" of {spec.name}" if spec.name else ""
    parts = [
        f"You write realistic rows of a health data table{title}. Reply only with data lines in the exact format "
        "`name=value, name=value`, one row per line, with no other text.",
        "Columns, in causal order:\n" + "\n".join(describe_column(schema[c], spec) for c in cols),
        "Causal graph (cause -> effects): " + describe_graph(graph, cols),
    ]
    measures = describe_measures(spec, targets, gaps)
    if measures:
        parts.append(measures)
    return "\n\n".join(parts)


# ------------------------------------------------------------------ seed rows
def stratified_sample(rows: pd.DataFrame, spec: CausalSpec, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """``k`` rows drawn round-robin over the cells of X x Y (a numeric Y is split at its median).

    Small groups are shown as often as large ones, so a few-shot prompt covers
    every combination of the sensitive attribute and the outcome.
    """
    if len(rows) == 0 or k <= 0:
        return rows.iloc[:0]
    keys = cell_keys(rows, spec)
    cells = [rng.permutation(np.flatnonzero(keys == key)).tolist() for key in rng.permutation(np.unique(keys))]
    picked: list[int] = []
    while len(picked) < min(k, len(rows)):
        for cell in cells:
            if cell and len(picked) < k:
                picked.append(cell.pop())
    return rows.iloc[picked]


def cell_keys(rows: pd.DataFrame, spec: CausalSpec) -> np.ndarray:
    """The X x Y cell of each row as text (``"x=1|y=0"``); a numeric Y with many values is split at its median."""
    x = rows[spec.sensitive].astype(str).to_numpy() if spec.sensitive in rows else np.full(len(rows), "")
    if spec.outcome in rows:
        y = rows[spec.outcome]
        if y.nunique() > 10 and pd.api.types.is_numeric_dtype(y):
            med = float(y.median())
            yk = np.where(y.to_numpy(dtype=float) > med, f">{med:g}", f"<={med:g}")
        else:
            yk = y.astype(str).to_numpy()
    else:
        yk = np.full(len(rows), "")
    return np.array([f"x={a}|y={b}" for a, b in zip(x, yk, strict=True)])


# ------------------------------------------------------------------ calling
@dataclass
class _Caller:
    """Batches conversations into ``backend.chat`` calls, with a fresh seed per call, and accounts tokens."""

    backend: LLMBackend
    rng: np.random.Generator
    log: PromptLog
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def chat(self, conversations: list[list[dict[str, str]]], purpose: str, max_tokens: int | None = None) -> list[Any]:
        """Answers to ``conversations`` via ``backend.chat``, in batches."""
        return self._call(conversations, purpose, max_tokens, chat=True)

    def complete(self, prompts: list[str], purpose: str, max_tokens: int | None = None, stop: list[str] | None = None) -> list[Any]:
        """Continuations of ``prompts`` via ``backend.complete``, in batches (``stop``: stop strings)."""
        return self._call(prompts, purpose, max_tokens, chat=False, stop=stop)

    def _call(self, items: list[Any], purpose: str, max_tokens: int | None, *, chat: bool, stop: list[str] | None = None) -> list[Any]:
        out = []
        bs = max(1, int(getattr(self.backend.config, "batch_size", 8)))
        for i in range(0, len(items), bs):
            chunk = items[i : i + bs]
            call_seed = int(self.rng.integers(0, 2**31 - 1))
            overrides: dict[str, Any] = {"seed": call_seed}
            if max_tokens is not None:
                overrides["max_tokens"] = int(max_tokens)
            if stop:
                overrides["stop"] = list(stop)
            answers = self.backend.chat(chunk, **overrides) if chat else self.backend.complete(chunk, **overrides)
            if len(answers) != len(chunk):
                raise DataError(f"the LLM backend answered {len(answers)} of {len(chunk)} requests")
            self.calls += 1
            for item, ans in zip(chunk, answers, strict=True):
                self.prompt_tokens += int(ans.prompt_tokens or 0)
                self.completion_tokens += int(ans.completion_tokens or 0)
                self.log({"purpose": purpose, "seed": call_seed, ("messages" if chat else "prompt"): item, "answer": ans.text,
                          "prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
                          "finish_reason": ans.finish_reason})
            out += answers
        return out


def _tokens_per_line(lines: Sequence[str]) -> int:
    """A rough token count of a data line (numbers and '=' split into many tokens)."""
    return max(8, int(max((len(s) for s in lines), default=40) / 2.2) + 4)


def _answer_lines(text: str, finish_reason: str | None) -> list[tuple[str, bool]]:
    """The lines of an answer, each flagged True when it may be cut off by the token limit."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [(ln, finish_reason == "length" and i == len(lines) - 1) for i, ln in enumerate(lines)]


def answer_rows(text: str, finish_reason: str | None) -> list[tuple[str, bool, ParsedLine]]:
    """Every row written in an answer: ``(line, maybe_cut_off, pairs)``; only the very last row can be cut off."""
    out: list[tuple[str, bool, ParsedLine]] = []
    for line, cut in _answer_lines(text, finish_reason):
        found = split_rows(line)
        out += [(line, cut and j == len(found) - 1, p) for j, p in enumerate(found)]
    return out


# ------------------------------------------------------------------ the stages
def _whole_rows_prompt(system: str, examples: list[str], m: int, columns: Sequence[str], extra: str = "") -> list[dict[str, str]]:
    """A few-shot conversation asking for ``m`` whole lines of ``columns``."""
    fmt = ", ".join(f"{c}=..." for c in columns)
    half = max(1, len(examples) // 2)
    shots = examples[:half] if len(examples) > 1 else examples
    rest = examples[half:] if len(examples) > 1 else []
    user1 = f"Write {len(shots)} rows with the columns {', '.join(columns)}, one per line: {fmt}.{extra}"
    user2 = (
        (f"More real rows for reference:\n" + "\n".join(rest) + "\n\n" if rest else "")
        + f"Now write {m} new rows in the same format, one per line, different from the rows above.{extra}"
    )
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user1},
        {"role": "assistant", "content": "\n".join(shots)},
        {"role": "user", "content": user2},
    ]


def _context_prompt(system: str, stage: Stage, example_in: list[str], example_out: list[str], queries: list[str]) -> list[dict[str, str]]:
    """A few-shot conversation: numbered rows with the stage's columns left as ``?``, to be copied and filled in."""
    task = (
        f"Each numbered row below gives some values and leaves {', '.join(stage.columns)} as ?. "
        "Copy each row and replace every ? with a value that fits the given values. "
        "Answer with one line per row: `N: name=value, ...`, keeping the given values unchanged."
    )
    shots_in = "\n".join(f"{i + 1}: {t}" for i, t in enumerate(example_in))
    shots_out = "\n".join(f"{i + 1}: {t}" for i, t in enumerate(example_out))
    rows = "\n".join(f"{i + 1}: {q}" for i, q in enumerate(queries))
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{task}\n\n{shots_in}"},
        {"role": "assistant", "content": shots_out},
        {"role": "user", "content": f"{task}\n\n{rows}"},
    ]


def _blank(text: str, columns: Sequence[str]) -> str:
    """A context line followed by ``col=?`` for each column to fill in."""
    holes = ", ".join(f"{c}=?" for c in columns)
    return f"{text}, {holes}" if text else holes


def _match_answers(text: str, finish: str | None, k: int) -> dict[int, tuple[str, bool]]:
    """Answer lines by row slot (0-based): numbered lines by their number, else in order."""
    cand = [(ln, cut, split_line(ln)) for ln, cut in _answer_lines(text, finish)]
    cand = [c for c in cand if c[2] is not None]
    numbered = [c for c in cand if c[2].index is not None]
    out: dict[int, tuple[str, bool]] = {}
    if numbered:
        for ln, cut, p in numbered:
            slot = p.index - 1
            if 0 <= slot < k and slot not in out:
                out[slot] = (ln, cut)
    else:
        for slot, (ln, cut, _) in enumerate(cand[:k]):
            out[slot] = (ln, cut)
    return out


def propose_rows_chat(
    backend: LLMBackend,
    *,
    spec: CausalSpec,
    schema: TableSchema,
    graph: Any,
    seed_rows: pd.DataFrame,
    targets: dict[str, float] | None,
    gaps: dict[str, float] | None,
    n: int,
    interventions: list[EdgeCut],
    seed: int,
    log: LogTarget = None,
    shots: int = 8,
    rows_per_prompt: int = 8,
    max_rounds: int = 4,
    slack: float = 0.1,
    drop_copies: bool = False,
    style: Literal["chat", "complete"] = "chat",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Propose about ``n`` rows with a chat backend, stage by stage along the causal order.

    ``seed_rows`` are real rows shown as few-shot examples (``shots`` per prompt,
    stratified over X x Y); ``targets`` and ``gaps`` (measured minus target, per
    measure) are written into every prompt; ``interventions`` decide what each
    stage is shown (see :func:`plan_stages`). Each stage asks up to
    ``rows_per_prompt`` rows per conversation and batches conversations by
    ``backend.config.batch_size``; every call gets its own seed drawn from
    ``seed``. Rounds repeat (at most ``max_rounds``) until ``n`` valid rows are
    in hand. With ``drop_copies`` rows that copy a seed row exactly are dropped
    (off by default: in a table of few discrete columns equal rows are
    legitimate, and ``Generator.sample(no_copies=True)`` guards privacy).

    ``style="chat"`` (the default, for instruction-following chat models) asks
    for rows in few-shot conversations, the later stages by numbered rows with
    the stage's columns left as ``?``; ``style="complete"`` writes a document of
    real rows and lets the model continue one row's line from its given values
    (``age=61, sex=0, smoking=``): one prompt per row, which suits small models
    better than instructions do. Both realise the interventions the same way.

    Returns the valid rows (at most ``n``, conformed to ``schema``) and a report:
    ``proposed``, ``parsed``, ``valid``, ``invalid``, ``invalid_reasons``,
    ``invalid_examples``, ``prompt_tokens``, ``completion_tokens``, ``calls``,
    ``seconds``, ``rows_per_s`` and the ``stages`` with their per-stage counts.
    """
    if isinstance(n, bool) or int(n) != n or n <= 0:
        raise ConfigError(f"the number of rows must be a positive integer, got {n!r}")
    if rows_per_prompt < 1 or shots < 1 or max_rounds < 1:
        raise ConfigError("rows_per_prompt, shots and max_rounds must be at least 1")
    if style not in ("chat", "complete"):
        raise ConfigError(f"style must be 'chat' or 'complete', got {style!r}")
    missing = [c for c in schema.names if c not in seed_rows.columns]
    if missing or len(seed_rows) == 0:
        raise DataError(
            f"seed rows lack the column(s) {', '.join(missing)}" if missing else "no seed rows to show the LLM",
            hint="pass real training rows with every column of the schema",
        )
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    plog = PromptLog(log)
    caller = _Caller(backend, rng, plog)
    stages = plan_stages(spec, schema, graph, interventions)
    system = system_prompt(spec, schema, graph, targets, gaps)
    seeds = seed_rows[schema.names].reset_index(drop=True)
    max_tok = int(getattr(backend.config, "max_tokens", 256))
    counts = ParseCounts()
    stage_counts = [{**s.describe(), "asked": 0, "answered": 0, "valid": 0} for s in stages]
    seen = _row_keys(seeds, schema) if drop_copies else set()
    accepted: list[dict[str, Any]] = []
    yield_rate = 0.5

    for round_no in range(max_rounds):
        want = n - len(accepted)
        if want <= 0:
            break
        ask = int(min(max(math.ceil(want / max(yield_rate, 0.15)), want), 4 * want + 8))
        # The first stage has no context (its columns' parents are inside it): whole lines.
        rows = _run_whole_stage(caller, system, stages[0], seeds, spec, schema, ask, shots, rows_per_prompt, max_tok, slack, counts, rng, stage_counts[0], round_no, style)
        for si in range(1, len(stages)):
            if not rows:
                break
            rows = _run_context_stage(caller, system, stages[si], seeds, spec, schema, rows, shots, rows_per_prompt, max_tok, slack, counts, rng, stage_counts[si], round_no, style)
        got = 0
        for r in rows:
            key = _row_key(r, schema)
            if drop_copies and key in seen:
                counts.reject("exact copy of a real row", row_to_text(r, schema.names, schema), parsed=True)
                continue
            counts.accept()
            accepted.append(r)
            got += 1
        yield_rate = max(got / max(ask, 1), 0.0)
        if got == 0 and round_no >= 1:
            break

    frame = rows_frame(accepted, schema.names)
    frame = _final_check(frame, schema, counts)
    frame = schema.conform(frame.head(n).reset_index(drop=True)) if len(frame) else schema.conform(frame)
    report = call_report(frame, counts, caller, t0, stages=stage_counts)
    plog({"purpose": "propose_rows_chat: summary", "report": report})
    return frame, report


def _row_key(row: Mapping[str, Any], schema: TableSchema) -> tuple[str, ...]:
    return tuple(format_value(row.get(c), schema[c]) for c in schema.names)


def _row_keys(frame: pd.DataFrame, schema: TableSchema) -> set[tuple[str, ...]]:
    return {_row_key(r, schema) for r in frame.to_dict("records")}


def _final_check(frame: pd.DataFrame, schema: TableSchema, counts: ParseCounts) -> pd.DataFrame:
    """Re-check whole rows with the schema's own rules; a row failing them is moved from valid to invalid."""
    if frame.empty:
        return frame
    reasons = schema.row_problems(frame)
    bad = reasons != ""
    for why in reasons[bad]:
        counts.valid -= 1
        counts.invalid_reasons[str(why)] += 1
    return frame[~bad].reset_index(drop=True)


def _changed_context(parsed: ParsedLine, shown: Mapping[str, Any], ctx: Sequence[str], schema: TableSchema, slack: float) -> str | None:
    """The first context column the answer repeats with another value than it was shown (None if none).

    An answer may echo the given values or leave them out; one that alters them
    was generated for a different row, so the row is rejected.
    """
    lower = {k.lower(): k for k in parsed.pairs}
    for c in ctx:
        key = c if c in parsed.pairs else lower.get(c.lower())
        if key is None:
            continue
        try:
            value = parse_value(parsed.pairs[key], schema[c], last=key == next(reversed(parsed.pairs)), slack=slack)
        except ValueError:
            return c
        if format_value(value, schema[c]) != format_value(shown[c], schema[c]):
            return c
    return None


def _run_whole_stage(caller: _Caller, system: str, stage: Stage, seeds: pd.DataFrame, spec: CausalSpec, schema: TableSchema,
                     ask: int, shots: int, per_prompt: int, max_tok: int, slack: float, counts: ParseCounts,
                     rng: np.random.Generator, sc: dict[str, Any], round_no: int, style: str = "chat") -> list[dict[str, Any]]:
    """Stage without context: requests each asking for ``m`` whole lines of the stage's columns."""
    cols = stage.columns
    example_lines = [row_to_text(r, cols, schema) for r in seeds[cols].to_dict("records")]
    per_line = _tokens_per_line(example_lines)
    m = max(1, min(per_prompt, (max_tok - 8) // per_line))
    convs = []
    for _ in range(math.ceil(ask / m)):
        ex = stratified_sample(seeds, spec, shots, rng)
        lines = [row_to_text(r, cols, schema) for r in ex[cols].to_dict("records")]
        convs.append(_whole_rows_prompt(system, lines, m, cols) if style == "chat" else _document(system, lines, ""))
    purpose = f"{stage.name}, round {round_no + 1}"
    budget = min(max_tok, m * per_line + 16)
    answers = caller.chat(convs, purpose, max_tokens=budget) if style == "chat" else caller.complete(convs, purpose, max_tokens=budget)
    sc["asked"] += len(convs) * m
    rows: list[dict[str, Any]] = []
    for ans in answers:
        found = answer_rows(ans.text, ans.finish_reason)
        for line, cut, parsed in (found if style == "chat" else found[:m]):
            sc["answered"] += 1
            values, reason, ok = parse_pairs(parsed, schema, cols, slack=slack)
            if values is None:
                counts.reject("cut off by max_tokens" if cut else reason, line, parsed=ok and not cut)
                continue
            rows.append(values)
    sc["valid"] += len(rows)
    return rows


def _run_context_stage(caller: _Caller, system: str, stage: Stage, seeds: pd.DataFrame, spec: CausalSpec, schema: TableSchema,
                       rows: list[dict[str, Any]], shots: int, per_prompt: int, max_tok: int, slack: float,
                       counts: ParseCounts, rng: np.random.Generator, sc: dict[str, Any], round_no: int, style: str = "chat") -> list[dict[str, Any]]:
    """Stage with context: each row's context (after the interventions) in, the stage's columns out."""
    cols, ctx = stage.columns, stage.context
    shown: list[dict[str, Any]] = []
    perm = rng.permutation(len(rows)) if stage.shuffled else None
    for i, r in enumerate(rows):
        view = {c: r[c] for c in ctx}
        for c in stage.shuffled:
            view[c] = rows[int(perm[i])][c]  # an independent draw from the proposals' marginal
        for c, v in stage.reference.items():
            view[c] = v
        shown.append(view)
    out_lines = [row_to_text(r, [*ctx, *cols], schema) for r in seeds[[*ctx, *cols]].to_dict("records")]
    per_line = _tokens_per_line(out_lines) + 3
    if style == "complete":
        return _complete_context_stage(caller, system, stage, seeds, spec, schema, rows, shown, shots, per_line, max_tok, slack, counts, rng, sc, round_no)
    k = max(1, min(per_prompt, (max_tok - 8) // per_line))
    convs, slots = [], []
    for start in range(0, len(rows), k):
        idx = list(range(start, min(start + k, len(rows))))
        ex = stratified_sample(seeds, spec, min(shots, k + 2), rng)
        ex_in = [_blank(row_to_text(e, ctx, schema), cols) for e in ex.to_dict("records")]
        ex_out = [row_to_text(e, [*ctx, *cols], schema) for e in ex.to_dict("records")]
        queries = [_blank(row_to_text(shown[i], ctx, schema), cols) for i in idx]
        convs.append(_context_prompt(system, stage, ex_in, ex_out, queries))
        slots.append(idx)
    answers = caller.chat(convs, f"{stage.name}, round {round_no + 1}", max_tokens=min(max_tok, k * per_line + 16))
    sc["asked"] += len(rows)
    kept: list[dict[str, Any]] = []
    for idx, ans in zip(slots, answers, strict=True):
        matched = _match_answers(ans.text, ans.finish_reason, len(idx))
        for slot, i in enumerate(idx):
            if slot not in matched:
                counts.reject(f"no answer in {stage.name.split(' (')[0]} ({', '.join(cols)})", "", parsed=False)
                continue
            sc["answered"] += 1
            line, cut = matched[slot]
            parsed = split_line(line)
            values, reason, ok = parse_pairs(parsed, schema, cols, slack=slack) if parsed else (None, "no values", False)
            if values is None:
                counts.reject("cut off by max_tokens" if cut else reason, line, parsed=ok and not cut)
                continue
            changed = _changed_context(parsed, shown[i], ctx, schema, slack)
            if changed:
                counts.reject(f"changed the given value of {changed}", line, parsed=True)
                continue
            kept.append({**rows[i], **values})
    sc["valid"] += len(kept)
    return kept


# ------------------------------------------------------------------ completion style
def _document(system: str, lines: Sequence[str], prefix: str) -> str:
    """A plain-text prompt: the instructions, real rows one per line, then ``prefix`` to be continued."""
    return f"{system}\n\nRows:\n" + "\n".join(lines) + "\n" + prefix


def _complete_context_stage(caller: _Caller, system: str, stage: Stage, seeds: pd.DataFrame, spec: CausalSpec, schema: TableSchema,
                            rows: list[dict[str, Any]], shown: list[dict[str, Any]], shots: int, per_line: int, max_tok: int,
                            slack: float, counts: ParseCounts, rng: np.random.Generator, sc: dict[str, Any], round_no: int) -> list[dict[str, Any]]:
    """One prompt per row: real rows as a document, then the row's shown values and ``first_column=`` to continue."""
    cols, ctx = stage.columns, stage.context
    prompts, prefixes = [], []
    for view in shown:
        ex = stratified_sample(seeds, spec, shots, rng)
        lines = [row_to_text(e, [*ctx, *cols], schema) for e in ex.to_dict("records")]
        given = row_to_text(view, ctx, schema)
        prefix = (f"{given}, " if given else "") + f"{cols[0]}="
        prompts.append(_document(system, lines, prefix))
        prefixes.append(prefix)
    answers = caller.complete(prompts, f"{stage.name}, round {round_no + 1}", max_tokens=min(max_tok, per_line + 8), stop=["\n"])
    sc["asked"] += len(rows)
    kept: list[dict[str, Any]] = []
    for i, (prefix, ans) in enumerate(zip(prefixes, answers, strict=True)):
        first = ans.text.split("\n", 1)[0]
        cut = ans.finish_reason == "length" and "\n" not in ans.text
        line = prefix + first
        found = split_rows(line)
        sc["answered"] += 1
        values, reason, ok = parse_pairs(found[0], schema, cols, slack=slack) if found else (None, "no values", False)
        if values is None:
            counts.reject("cut off by max_tokens" if cut else reason, line, parsed=ok and not cut)
            continue
        changed = _changed_context(found[0], shown[i], ctx, schema, slack)
        if changed:
            counts.reject(f"changed the given value of {changed}", line, parsed=True)
            continue
        kept.append({**rows[i], **values})
    sc["valid"] += len(kept)
    return kept


def call_report(frame: pd.DataFrame, counts: Any, caller: Any, t0: float, **extra: Any) -> dict[str, Any]:
    """The summary of one proposal or augmentation call: row counts, tokens, calls, time, rows/s."""
    seconds = time.perf_counter() - t0
    report = counts.to_dict()
    report.update(
        returned=int(len(frame)),
        prompt_tokens=caller.prompt_tokens,
        completion_tokens=caller.completion_tokens,
        calls=caller.calls,
        seconds=round(seconds, 3),
        rows_per_s=round(counts.valid / seconds, 4) if seconds > 0 else None,
        **extra,
    )
    return report
