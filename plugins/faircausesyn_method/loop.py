"""The closed fairness loop: propose, validate, criticise, accumulate, measure, select.

Each round asks the proposal function for rows (already parsed and validated
against the schema), lets the critic reject unrealistic ones, adds the
accepted rows to the pool, and then searches for the ``n`` rows of the pool
whose causal fairness measures are closest to the targets: ``candidates``
random subsets of the pool (plus the best subset of earlier rounds, so the
gap never grows) are decomposed with the fast plug-in estimator and the one
with the smallest largest gap wins. The gaps (measured minus target) are
passed to the next round's proposal (chat backends write them into the
prompt). The loop stops when every gap is within ``tolerance`` or the round
budget is spent; every round is one JSON record (and one line of
``log_path``), and with a :class:`~.checkpoint.RoundStore` every finished
round is checkpointed so that a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.errors import FairCauseSynError
from faircausesyn.spec import CausalSpec

from .checkpoint import RoundStore
from .critic import Critic

#: Measures the selection matches (ETT = DE - IE follows).
LOOP_MEASURES = ("TV", "DE", "IE", "SE")

#: proposal(round_no, n_rows, gaps, seed) -> (valid rows, counts{proposed, parsed, valid, invalid_reasons})
ProposeFn = Callable[[int, int, dict[str, float] | None, int], tuple[pd.DataFrame, dict[str, Any]]]


@dataclass
class LoopSettings:
    """Budget and tolerances of the loop."""

    rounds: int = 3
    round_factor: float = 1.0
    candidates: int = 8
    tolerance: float = 0.01
    nuisance: str = "linear"
    measure_seed: int = 0
    #: per-measure weights of the selection score (a removed pathway's measure counts double)
    weights: dict[str, float] | None = None
    max_extra_rounds: int = 20


def measure(table: pd.DataFrame, spec: CausalSpec, *, nuisance: str = "linear", seed: int = 0) -> dict[str, float] | None:
    """The plug-in decomposition's point estimates of ``table`` (None when it cannot be estimated)."""
    from faircausesyn.fairness import decompose

    try:
        dec = decompose(table, spec, method="plugin", n_boot=2, nuisance=nuisance, seed=seed)  # type: ignore[arg-type]
    except (FairCauseSynError, ValueError):
        return None
    return {m: float(dec[m].estimate) for m in ("TV", "DE", "IE", "SE", "ETT")}


def gaps_of(measures: dict[str, float] | None, targets: dict[str, float]) -> dict[str, float] | None:
    """Measured minus target, per measure."""
    if measures is None:
        return None
    return {m: measures[m] - targets[m] for m in targets if m in measures}


def score_of(gaps: dict[str, float] | None, weights: dict[str, float] | None = None) -> float:
    """The largest weighted absolute gap over :data:`LOOP_MEASURES` (inf when unmeasured)."""
    if gaps is None:
        return math.inf
    weights = weights or {}
    return max(abs(gaps[m]) * weights.get(m, 1.0) for m in LOOP_MEASURES if m in gaps)


class FairnessLoop:
    """Runs the rounds for one ``sample(n, seed)`` call."""

    def __init__(
        self,
        propose: ProposeFn,
        *,
        spec: CausalSpec,
        schema: Any,
        targets: dict[str, float],
        settings: LoopSettings,
        critic: Critic | None = None,
        accept_rate: float = 1.0,
        store: RoundStore | None = None,
        log_path: str | Path | None = None,
        on_round: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.propose = propose
        self.spec, self.schema, self.targets, self.settings = spec, schema, targets, settings
        self.critic, self.accept_rate, self.store = critic, max(float(accept_rate), 0.05), store
        self.log_path = Path(log_path) if log_path else None
        self.on_round = on_round
        self.rounds: list[dict[str, Any]] = []

    def _log(self, record: dict[str, Any]) -> None:
        public = {k: v for k, v in record.items() if k != "selection"}
        self.rounds.append(public)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(public, default=str) + "\n")
                fh.flush()
        if self.on_round is not None:
            self.on_round(public)

    def _select(self, pool: pd.DataFrame, n: int, best: tuple[float, np.ndarray | None, dict | None], seed: int, round_no: int):
        s = self.settings
        rng = np.random.default_rng([seed & 0xFFFFFFFF, round_no, 3])
        cands: list[np.ndarray] = []
        if best[1] is not None:
            cands.append(best[1])
        k = 1 if len(pool) == n else max(1, s.candidates)
        for _ in range(k):
            cands.append(np.sort(rng.choice(len(pool), size=n, replace=False)))
        results = []
        for idx in cands:
            m = measure(pool.iloc[idx], self.spec, nuisance=s.nuisance, seed=s.measure_seed)
            results.append((score_of(gaps_of(m, self.targets), s.weights), idx, m))
        # stable choice: the lowest score, the earlier candidate (the previous best) on ties
        return min(results, key=lambda r: r[0])

    def run(self, n: int, seed: int) -> pd.DataFrame:
        """Rows accumulated over the rounds, ``n`` of them selected to match the targets."""
        s = self.settings
        t0 = time.perf_counter()
        parts: list[pd.DataFrame] = []
        best: tuple[float, np.ndarray | None, dict | None] = (math.inf, None, None)
        done = self.store.load(self.schema) if self.store is not None else []
        accept_rate = self.accept_rate
        round_no = 0
        for rows, record in done:  # resume: replay finished rounds
            round_no = int(record["round"])
            parts.append(rows)
            if record.get("selection") is not None:
                sc = math.inf if record.get("score") is None else float(record["score"])
                best = (sc, np.asarray(record["selection"], dtype=np.int64), record.get("measures"))
            accept_rate = float(record.get("accept_rate_next", accept_rate))
            public = {k: v for k, v in record.items() if k != "selection"}
            public["resumed"] = True
            self.rounds.append(public)
        pool = pd.concat(parts, ignore_index=True) if parts else None
        while True:
            if round_no >= s.rounds and pool is not None and len(pool) >= n:
                break
            if round_no >= s.rounds + s.max_extra_rounds:
                break
            if best[1] is not None and best[0] <= s.tolerance:
                break
            round_no += 1
            r0 = time.perf_counter()
            need = max(n - (0 if pool is None else len(pool)), 0)
            want = max(int(math.ceil(s.round_factor * n)), need)
            ask = int(math.ceil(want / accept_rate))
            rseed = int(np.random.default_rng([seed & 0xFFFFFFFF, round_no]).integers(0, 2**31 - 1))
            gaps = gaps_of(best[2], self.targets)
            rows, counts = self.propose(round_no, ask, gaps, rseed)
            rows = self.schema.conform(rows.reset_index(drop=True)) if len(rows) else self.schema.conform(pd.DataFrame({c: [] for c in self.schema.names}))
            problems = self.schema.row_problems(rows)
            bad = (problems != "").to_numpy()
            invalid_reasons = dict(counts.get("invalid_reasons", {}))
            for why in problems[bad]:
                invalid_reasons[why] = invalid_reasons.get(why, 0) + 1
            rows = rows[~bad].reset_index(drop=True)
            if self.critic is not None and len(rows):
                keep, w = self.critic.accept(rows, rseed)
            else:
                keep, w = np.ones(len(rows), dtype=bool), np.ones(len(rows))
            accepted = rows[keep].reset_index(drop=True)
            pool = accepted if pool is None else pd.concat([pool, accepted], ignore_index=True)
            if len(rows):
                accept_rate = max(0.05, float(keep.mean()))
            selection, score, measures = (best[1], best[0], best[2])
            if len(pool) >= n:
                score, selection, measures = self._select(pool, n, best, seed, round_no)
                best = (score, selection, measures)
            record = {
                "round": round_no,
                "proposed": int(counts.get("proposed", ask)),
                "parsed": int(counts.get("parsed", ask)),
                "valid": int(len(rows)),
                "invalid": int(counts.get("proposed", ask)) - int(len(rows)),
                "invalid_reasons": invalid_reasons,
                "accepted": int(keep.sum()),
                "critic_mean_weight": float(np.mean(w)) if len(w) else None,
                "pool": int(len(pool)),
                "measures": measures,
                "targets": self.targets,
                "gaps": gaps_of(measures, self.targets),
                "score": None if not math.isfinite(score) else score,
                "within_tolerance": bool(math.isfinite(score) and score <= s.tolerance),
                "accept_rate_next": accept_rate,
                "selection": None if selection is None else [int(i) for i in selection],
                "elapsed_s": round(time.perf_counter() - r0, 3),
                "total_s": round(time.perf_counter() - t0, 3),
            }
            if self.store is not None:
                self.store.save(round_no, accepted, record)
            self._log(record)
        if pool is None or len(pool) < n:
            from faircausesyn.errors import BackendError

            got = 0 if pool is None else len(pool)
            raise BackendError(f"the generator produced only {got} valid, accepted rows of the {n} asked for", hint="raise rounds, or lower critic_strength")
        if best[1] is None:
            idx = np.sort(np.random.default_rng([seed & 0xFFFFFFFF, 11]).choice(len(pool), size=n, replace=False))
        else:
            idx = best[1]
        order = np.random.default_rng([seed & 0xFFFFFFFF, 13]).permutation(len(idx))
        return pool.iloc[np.asarray(idx)[order]].reset_index(drop=True)
