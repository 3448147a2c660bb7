"""The ``llm`` graph provider: an LLM backend proposes the edges, the roles repair them.

The prompt lists the columns with their roles and descriptions and asks for one
``cause -> effect`` line per edge. The answer is parsed leniently (bullets,
numbering, markdown, other arrow spellings, chains ``a -> b -> c``; names are
matched to the columns exactly, then ignoring case and punctuation, then by
closest spelling), and repaired with :func:`faircausesyn_graphs.tiers.repair_edges`:
edges the roles forbid are dropped, an edge closing a cycle is dropped (the later
one in the answer, as the model is read as listing its surest edges first), and a
mediator unreachable from X gets ``X -> W``. Every repair is listed in
``report_`` and, with ``log_path``, appended to a JSONL log together with the
prompt and the raw answer.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from faircausesyn import CausalGraph, CausalSpec, GraphProvider
from faircausesyn.errors import BackendError, FairCauseSynError
from faircausesyn.interfaces import ComponentConfig, Message

from .tiers import repair_edges

_ROLE_TEXT = {
    "sensitive": "sensitive attribute X",
    "confounder": "confounder: not caused by {x}",
    "mediator": "mediator: may be caused by {x}",
    "outcome": "outcome Y: causes nothing",
    "other": "other",
}
_ARROWS = re.compile(r"\s*(?:-{1,2}>|={1,2}>|→|⟶|➔|\bcauses\b|\bleads to\b|\baffects\b|\binfluences\b)\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|\(\d+\))\s*")


#: Backends too small to write a whole edge list; ``style="auto"`` asks them one column at a time.
SMALL_LOCAL_BACKENDS = frozenset({"smollm2"})


class LLMProviderConfig(ComponentConfig):
    """``backend``: a registered LLM backend (``smollm2`` runs offline; ``openai`` reaches any
    OpenAI-compatible endpoint); ``backend_config``: its settings (e.g. ``base_url``, ``model``);
    ``temperature`` 0 decodes greedily (reproducible); ``max_tokens`` bounds the answer;
    ``log_path``: a JSONL file to which each prompt, answer and repair list is appended;
    ``descriptions``: include the spec's column descriptions in the prompt;
    ``style``: ``auto`` (default: ``per_column`` for the small local ``smollm2``,
    ``edge_list`` for every other backend), ``edge_list`` (one prompt asking for every
    edge; for capable models) or
    ``per_column`` (one short question per column: "which of these candidates directly
    cause it?", candidates allowed by the roles; every candidate the answer names becomes a
    parent; more calls, but small local models answer it far better)."""

    backend: str = "smollm2"
    backend_config: dict[str, Any] = Field(default_factory=dict)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(256, ge=8, le=8192)
    log_path: str | None = None
    descriptions: bool = True
    style: Literal["auto", "edge_list", "per_column"] = "auto"


def build_prompt(spec: CausalSpec, columns: list[str], *, descriptions: bool = True) -> list[Message]:
    """The chat conversation that asks for the edges among ``columns``."""
    x, y = spec.sensitive, spec.outcome
    lines = []
    for c in columns:
        role = _ROLE_TEXT.get(spec.role_of(c) or "other", "other").format(x=x)
        desc = spec.descriptions.get(c, "") if descriptions else ""
        lines.append(f"- {c} ({role})" + (f": {desc}" if desc else ""))
    rules = (
        f"Rules: only confounders may cause {x}; {y} causes nothing; {x} and the mediators never cause a confounder; "
        "no cycles."
    )
    example = f"{spec.confounders[0] if spec.confounders else x} -> {y}"
    user = (
        "Which columns directly cause which? Columns of a patient table:\n"
        + "\n".join(lines)
        + f"\n{rules}\nAnswer with one direct cause per line as 'cause -> effect' (e.g. '{example}'), most certain first, "
        "using the exact column names, and nothing else."
    )
    return [
        {"role": "system", "content": "You are a careful clinical epidemiologist who draws causal graphs."},
        {"role": "user", "content": user},
    ]


def candidate_parents(spec: CausalSpec, columns: list[str]) -> dict[str, list[str]]:
    """For each column, the columns the roles allow as its direct causes, in spec order, acyclic by construction.

    X: the confounders; a confounder: the confounders listed before it; a mediator:
    X, Z and the mediators listed before it; Y: X, Z, W; an ``other`` column: every
    analysed column and the ``other`` columns before it.
    """
    x = spec.sensitive
    z = [c for c in spec.confounders if c in columns]
    w = [c for c in spec.mediators if c in columns]
    out: dict[str, list[str]] = {}
    for c in columns:
        role = spec.role_of(c)
        if c == x:
            out[c] = z
        elif role == "confounder":
            out[c] = z[: z.index(c)]
        elif role == "mediator":
            out[c] = [x, *z, *w[: w.index(c)]]
        elif role == "outcome":
            out[c] = [x, *z, *w]
        else:
            analysed = [a for a in spec.analysed if a in columns]
            rest = [o for o in columns if o not in set(spec.analysed)]
            out[c] = analysed + rest[: rest.index(c)]
    return {c: [p for p in ps if p in columns] for c, ps in out.items()}


def build_column_prompts(spec: CausalSpec, columns: list[str], *, descriptions: bool = True) -> list[tuple[str, list[str], list[Message]]]:
    """``(column, candidates, conversation)`` for each column that has candidate causes (``per_column`` style)."""
    out = []
    for c, cands in candidate_parents(spec, columns).items():
        if not cands:
            continue
        desc = spec.descriptions.get(c, "") if descriptions else ""
        what = f"'{c}'" + (f" ({desc})" if desc else "")
        text = (
            f"Patient table. Which of these columns directly cause {what}? Options: {', '.join(cands)}. "
            "Reply with the option names, comma-separated, or 'none'."
        )
        out.append((c, cands, [{"role": "user", "content": text}]))
    return out


def parse_mentions(answer: str, candidates: list[str]) -> list[str]:
    """The candidates an answer names (whole words, case-insensitive, '_' and ' ' alike), in the order mentioned."""
    found: list[tuple[int, str]] = []
    text = answer.casefold().replace("_", " ")
    for c in candidates:
        pat = r"(?<![0-9a-z])" + re.escape(c.casefold().replace("_", " ")) + r"(?![0-9a-z])"
        m = re.search(pat, text)
        if m:
            found.append((m.start(), c))
    return [c for _, c in sorted(found)]


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def match_column(token: str, columns: list[str]) -> str | None:
    """The column ``token`` names: exact, then ignoring case/punctuation, then the closest spelling (or None)."""
    t = token.strip().strip("`'\"*_[]()<>.,;:").strip()
    if not t:
        return None
    if t in columns:
        return t
    by_norm = {_norm(c): c for c in columns}
    if _norm(t) in by_norm:
        return by_norm[_norm(t)]
    close = difflib.get_close_matches(_norm(t), list(by_norm), n=1, cutoff=0.8)
    return by_norm[close[0]] if close else None


def parse_edges(answer: str, columns: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Edges ``(cause, effect)`` in the order the answer gives them, and the lines that could not be read."""
    edges: list[tuple[str, str]] = []
    unparsed: list[str] = []
    for raw in answer.splitlines():
        line = _BULLET.sub("", raw.replace("**", "").replace("`", "")).strip()
        if not line:
            continue
        parts = _ARROWS.split(line)
        if len(parts) < 2:
            unparsed.append(raw.strip())
            continue
        names = [match_column(p, columns) for p in parts]
        ok = False
        for a, b in zip(names[:-1], names[1:], strict=True):
            if a is None or b is None:
                continue
            edges.append((a, b))
            ok = True
        if not ok or any(n is None for n in names):
            unknown = [p.strip() for p, n in zip(parts, names, strict=True) if n is None]
            unparsed.append(raw.strip() + (f"  [unknown name(s): {', '.join(unknown)}]" if unknown else ""))
    return edges, unparsed


class LLMProvider(GraphProvider):
    """Asks an LLM backend for the edges among the columns, then repairs the answer against the roles.

    ``host`` (keyword only, optional) is the :class:`~faircausesyn.PluginHost`
    the backend is looked up in; by default a fresh one (all installed plugins).
    After :meth:`provide`, ``report_`` holds the prompt, the answer, the parsed
    edges, the unreadable lines and the repairs.
    """

    Config = LLMProviderConfig

    def __init__(self, config: Any = None, /, *, host: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._host = host

    def _backend(self) -> Any:
        from faircausesyn import PluginHost

        host = self._host if self._host is not None else PluginHost()
        return host.create("llm_backend", self.config.backend, **self.config.backend_config)

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        cfg = self.config
        columns = [c for c in spec.columns if c in set(data.columns)]
        backend = self._backend()
        style = cfg.style if cfg.style != "auto" else ("per_column" if cfg.backend in SMALL_LOCAL_BACKENDS else "edge_list")
        if style == "per_column":
            questions = build_column_prompts(spec, columns, descriptions=cfg.descriptions)
            messages: Any = [q[2] for q in questions]
            completions = self._ask(backend, messages)
            answer = "\n".join(f"[{col}] {comp.text}" for (col, _, _), comp in zip(questions, completions, strict=True))
            parsed = [(p, col) for (col, cands, _), comp in zip(questions, completions, strict=True) for p in parse_mentions(comp.text, cands)]
            unparsed = [f"[{col}] {comp.text.strip()}" for (col, cands, _), comp in zip(questions, completions, strict=True) if not parse_mentions(comp.text, cands)]
        else:
            messages = build_prompt(spec, columns, descriptions=cfg.descriptions)
            completions = self._ask(backend, [messages])
            answer = completions[0].text or ""
            parsed, unparsed = parse_edges(answer, columns)
        graph, repairs = repair_edges(spec, columns, parsed)
        usage = {
            "calls": len(completions),
            "prompt_tokens": sum(c.prompt_tokens for c in completions),
            "completion_tokens": sum(c.completion_tokens for c in completions),
            "finish_reasons": sorted({str(c.finish_reason) for c in completions}),
        }
        self.report_ = {
            "provider": "llm",
            "backend": cfg.backend,
            "prompt": messages,
            "answer": answer,
            "parsed_edges": [list(e) for e in parsed],
            "unparsed_lines": unparsed,
            "repairs": repairs,
            "edges": [list(e) for e in graph.edges],
            "style": style,
            "usage": usage,
        }
        if not parsed:
            self.report_["warning"] = "the answer held no readable edge; the graph only has the edges the repairs added"
        if cfg.log_path:
            self._log(Path(cfg.log_path))
        return graph

    def _ask(self, backend: Any, conversations: list[list[Message]]) -> list[Any]:
        cfg = self.config
        try:
            out = backend.chat(conversations, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
        except FairCauseSynError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing backend is reported as such
            raise BackendError(f"LLM backend {cfg.backend!r} failed: {type(exc).__name__}: {exc}", hint="check the backend settings (backend_config)") from exc
        if len(out) != len(conversations):
            raise BackendError(f"LLM backend {cfg.backend!r} returned {len(out)} answers for {len(conversations)} prompts")
        return out

    def _log(self, path: Path) -> None:
        from faircausesyn.io import atomic_write_text

        record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), **self.report_}
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
        if before and not before.endswith("\n"):
            before += "\n"
        atomic_write_text(path, before + json.dumps(record, default=str) + "\n")
