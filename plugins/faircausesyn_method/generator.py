"""The ``faircausesyn`` generator: LLM proposal, causal control, critic, closed fairness loop.

``fit`` orders the columns along the graph (Z and X, then W, then Y, then the
carried columns), trains the tabular LM on the serialised rows (optionally
with LLM-written extra rows for small X x Y groups), turns the constraint's
edge cuts into decoding-time interventions, estimates the targets (the real
measures, 0 for a removed pathway) and trains the critic on a first batch of
proposals. ``sample(n, seed)`` runs the closed loop of :mod:`.loop`.

With ``backend`` set to a chat backend (``smollm2``, ``openai``, any
registered non-trainable backend) rows are proposed by few-shot prompts
instead (``prompting.propose_rows_chat``), with the gaps of the previous round
written into the prompt; the critic, validation and selection are the same.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from faircausesyn import Generator
from faircausesyn.errors import BackendError, ConfigError
from faircausesyn.interfaces import FitContext, GeneratorConfig

from .checkpoint import RoundStore, fingerprint, read_json
from .critic import Critic
from .loop import FairnessLoop, LoopSettings, measure
from .tabular_lm import TabularLM, TokenCut

LM_KEYS = ("n_layer", "n_embd", "n_head", "dropout", "n_bins", "epochs", "max_steps", "patience", "val_fraction", "lr", "weight_decay", "train_batch_size", "temperature", "init_from", "threads")


class FairCauseSynConfig(GeneratorConfig):
    """Settings of the faircausesyn generator (every key can be given as ``--config key=value``)."""

    backend: str = "tabular_lm"
    backend_config: dict[str, Any] = {}
    # tabular LM
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    dropout: float = 0.1
    n_bins: int = 20
    epochs: int = 40
    max_steps: int = 2500
    patience: int = 25
    val_fraction: float = 0.0
    lr: float = 1e-3
    weight_decay: float = 0.01
    train_batch_size: int = 64
    temperature: float = 1.0
    init_from: str | None = None
    threads: int = 1
    # closed loop
    rounds: int = 3
    round_factor: float = 1.0
    candidates: int = 8
    tolerance: float = 0.01
    loop_nuisance: Literal["linear", "gbm"] = "linear"
    #: Level of X in Y's context when the direct pathway is removed. "x1" (default) freezes Y's
    #: mechanism at x1, which leaves the x-specific ctf-IE and ctf-SE (both defined through
    #: Y_{x1}) exactly as they are while ctf-DE becomes 0; "x0" freezes it at x0.
    direct_reference: Literal["x1", "x0"] = "x1"
    # critic
    critic: bool = True
    critic_strength: float = 0.5
    critic_max_weight: float = 10.0
    critic_rows: int = 600
    # LLM augmentation of the training rows (a backend name; off by default)
    augment: str | None = None
    augment_config: dict[str, Any] = {}
    augment_per_group: int = 30
    augment_weight: float = 0.5
    # chat proposals
    seed_rows: int = 20
    # logging and checkpoints
    log_path: str | None = None
    checkpoint_dir: str | None = None


class FairCauseSyn(Generator):
    """LLM-augmented, causal-adversarial synthetic data with a closed fairness loop.

    Pathways are removed by intervention while decoding: for no direct effect Y
    is decoded with X set to x0 in its context, for no indirect effect every
    mediator is, and for no spurious effect X is decoded with the confounders
    of another, random row. ``rounds_`` holds the log of the last ``sample``.
    Set ``on_round`` to a callable to be called with each round's record.
    """

    Config: ClassVar[type[FairCauseSynConfig]] = FairCauseSynConfig  # type: ignore[assignment]
    removable_pathways: ClassVar[frozenset[str]] = frozenset({"direct", "indirect", "spurious"})
    handles_missing: ClassVar[bool] = False

    on_round: Any = None

    # ------------------------------------------------------------ fit
    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        cfg = self.config
        t0 = time.perf_counter()
        self.order_ = [c for c in ctx.graph.topological_order() if c in data.columns]
        self.ctx_ = ctx
        self.data_ = data[self.order_].reset_index(drop=True)
        schema = ctx.schema
        self.row_schema_ = _schema_in(schema, self.order_)
        self.targets_, self.real_measures_ = self._targets(data, ctx)
        self.chat_ = cfg.backend != "tabular_lm"
        fp = fingerprint(self.data_, {k: v for k, v in cfg.model_dump().items() if k not in ("log_path", "checkpoint_dir", "rounds", "tolerance", "candidates")}, self.order_, [vars(c) for c in ctx.interventions])
        self.fingerprint_ = fp
        if self.chat_:
            self.backend_ = self._chat_backend()
        else:
            self.lm_ = self._fit_lm(ctx)
            self.cuts_ = self._token_cuts(ctx)
        self.critic_, self.accept_rate_ = None, 1.0
        # The critic judges only the columns the constraint leaves as they are: a removed pathway
        # changes its target column and everything downstream of it, and a critic shown those
        # would reject exactly the rows the intervention made fair.
        changed: set[str] = set()
        for e in ctx.interventions:
            changed |= {e.target} | ctx.graph.descendants(e.target)
        self.critic_columns_ = [c for c in self.order_ if c not in changed]
        if cfg.critic and cfg.critic_strength > 0 and not self.chat_ and self.critic_columns_:
            self.critic_ = Critic(_schema_in(schema, self.critic_columns_), strength=cfg.critic_strength, max_weight=cfg.critic_max_weight, seed=ctx.seed)
            first, _ = self._propose_lm(0, max(cfg.critic_rows, min(len(data), 5000)), None, ctx.seed + 17)
            ctx.report.update(self.critic_.fit(self.data_, first))
            ctx.report["critic_columns"] = self.critic_columns_
            probe, _ = self._propose_lm(0, max(cfg.critic_rows, min(len(data), 5000)), None, ctx.seed + 29)
            keep, _ = self.critic_.accept(probe, ctx.seed + 29)
            self.accept_rate_ = float(max(keep.mean(), 0.05))
        ctx.report.update(
            {
                "order": self.order_,
                "targets": self.targets_,
                "real_measures": self.real_measures_,
                "interventions": [vars(c) for c in ctx.interventions],
                "fit_seconds": round(time.perf_counter() - t0, 3),
                "backend": cfg.backend,
            }
        )
        if not self.chat_:
            ctx.report["lm"] = self.lm_.train_report_

    def _targets(self, data: pd.DataFrame, ctx: FitContext) -> tuple[dict[str, float], dict[str, float]]:
        real = measure(data, ctx.spec, nuisance=self.config.loop_nuisance, seed=0)
        if real is None:
            raise BackendError("the real data's causal fairness measures cannot be estimated (too few rows in a group?)")
        targets = dict(real) if ctx.constraint is None else ctx.constraint.targets(real)
        return targets, real

    def _lm_config(self) -> dict[str, Any]:
        cfg = self.config
        return {k: getattr(cfg, k) for k in LM_KEYS} | {"seed": cfg.seed}

    def _fit_lm(self, ctx: FitContext) -> TabularLM:
        cfg = self.config
        lm = TabularLM(**self._lm_config())
        ckpt = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
        if ckpt is not None and (ckpt / "fit.json").is_file():
            meta = read_json(ckpt / "fit.json")
            if meta.get("fingerprint") == self.fingerprint_:
                lm.load(ckpt / "model")
                return lm
        train, weights = self.data_, None
        if cfg.augment:
            train, weights = self._augmented(ctx)
        kinds = {c.name: ("discrete" if c.is_discrete else "numeric") for c in self.row_schema_.columns}
        decimals = {c.name: c.decimals for c in self.row_schema_.columns}
        lm.train_table(train, self.order_, kinds=kinds, decimals=decimals, weights=weights)
        if ckpt is not None:
            from faircausesyn.io import atomic_write_text
            import json

            lm.save(ckpt / "model")
            atomic_write_text(ckpt / "fit.json", json.dumps({"fingerprint": self.fingerprint_, "order": self.order_}))
        return lm

    def _augmented(self, ctx: FitContext) -> tuple[pd.DataFrame, np.ndarray]:
        cfg = self.config
        try:
            from .augment import augment_rows
        except ImportError as exc:
            raise BackendError(f"LLM augmentation is not available: {exc}") from None
        from faircausesyn.plugins import PluginHost

        backend = PluginHost().create("llm_backend", cfg.augment, **cfg.augment_config)
        extra, counts = augment_rows(backend, spec=ctx.spec, schema=self.row_schema_, data=self.data_, n_per_group=cfg.augment_per_group, seed=cfg.seed)
        ctx.report["augment"] = counts
        if len(extra) == 0:
            return self.data_, np.ones(len(self.data_))
        extra = self.row_schema_.conform(extra[self.order_])
        train = pd.concat([self.data_, extra], ignore_index=True)
        weights = np.r_[np.ones(len(self.data_)), np.full(len(extra), cfg.augment_weight)]
        return train, weights

    def _token_cuts(self, ctx: FitContext) -> list[TokenCut]:
        vocab = self.lm_.vocab_
        index = {c: i for i, c in enumerate(self.order_)}
        cuts = []
        for e in ctx.interventions:
            if e.source not in index or e.target not in index:
                continue
            token = -1
            if e.mode == "reference":
                value = e.value
                if e.source == ctx.spec.sensitive:
                    level = "x1" if (e.target == ctx.spec.outcome and self.config.direct_reference == "x1") else "x0"
                    value = ctx.spec.level_value(self.data_[e.source], level) if str(e.value) == str(ctx.spec.x0) else e.value
                token = int(vocab.by_name[e.source].encode(pd.Series([value]))[0])
            cuts.append(TokenCut(index[e.source], index[e.target], e.mode, token))
        return cuts

    def _chat_backend(self) -> Any:
        from faircausesyn.plugins import PluginHost

        cfg = self.config
        backend = PluginHost().create("llm_backend", cfg.backend, **cfg.backend_config)
        if getattr(backend, "trainable", False) and cfg.backend != "tabular_lm":
            raise ConfigError(f"backend {cfg.backend!r} is trainable but not tabular_lm", hint="use backend=tabular_lm, or a chat backend")
        try:
            from . import prompting  # noqa: F401
        except ImportError as exc:
            raise BackendError(f"chat proposals are not available: {exc}") from None
        return backend

    # ------------------------------------------------------------ proposals
    def _propose_lm(self, round_no: int, n: int, gaps: dict[str, float] | None, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        rows = self.lm_.sample_table(n, seed=seed, cuts=self.cuts_)
        rows = self.row_schema_.conform(rows)
        return rows, {"proposed": n, "parsed": n}

    def _propose_chat(self, round_no: int, n: int, gaps: dict[str, float] | None, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        from .prompting import propose_rows_chat

        seed_rows = _stratified(self.data_, self.ctx_.spec, self.config.seed_rows, seed)
        rows, counts = propose_rows_chat(
            self.backend_,
            spec=self.ctx_.spec,
            schema=self.row_schema_,
            graph=self.ctx_.graph,
            seed_rows=seed_rows,
            targets=self.targets_,
            gaps=gaps,
            n=n,
            interventions=self.ctx_.interventions,
            seed=seed,
        )
        if len(rows):
            rows = rows[self.order_]
        return rows, counts

    # ------------------------------------------------------------ sample
    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        cfg = self.config
        from faircausesyn.interfaces import PATHWAY_MEASURE

        removed = self.ctx_.constraint.removed_pathways() if self.ctx_.constraint is not None else frozenset()
        weights = {PATHWAY_MEASURE[p]: 2.0 for p in removed}
        settings = LoopSettings(rounds=cfg.rounds, round_factor=cfg.round_factor, candidates=cfg.candidates, tolerance=cfg.tolerance, nuisance=cfg.loop_nuisance, weights=weights)
        store = RoundStore(cfg.checkpoint_dir, fingerprint(self.fingerprint_, n, seed, cfg.rounds, cfg.tolerance, cfg.candidates)) if cfg.checkpoint_dir else None
        loop = FairnessLoop(
            self._propose_chat if self.chat_ else self._propose_lm,
            spec=self.ctx_.spec,
            schema=self.row_schema_,
            targets=self.targets_,
            settings=settings,
            critic=self.critic_,
            accept_rate=self.accept_rate_,
            store=store,
            log_path=cfg.log_path,
            on_round=self.on_round or (_print_round if self.ctx_.progress else None),
        )
        out = loop.run(n, seed)
        self.rounds_ = loop.rounds
        names = [c for c in self.ctx_.schema.names]
        return out[names]


def _schema_in(schema: Any, order: list[str]) -> Any:
    from faircausesyn.schema import TableSchema

    return TableSchema([schema[c] for c in order])


def _stratified(data: pd.DataFrame, spec: Any, k: int, seed: int) -> pd.DataFrame:
    """Up to ``k`` rows spread evenly over the X x Y groups."""
    rng = np.random.default_rng(seed)
    groups = [g for _, g in data.groupby([spec.sensitive, spec.outcome], sort=True)]
    per = max(1, math.ceil(k / max(len(groups), 1)))
    picks = [g.iloc[rng.permutation(len(g))[:per]] for g in groups]
    out = pd.concat(picks).head(k) if picks else data.head(k)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def _print_round(record: dict[str, Any]) -> None:
    import sys

    gaps = record.get("gaps") or {}
    g = " ".join(f"{m}={v:+.3f}" for m, v in gaps.items() if m != "ETT")
    print(
        f"round {record['round']}: proposed {record['proposed']}, valid {record['valid']}, accepted {record['accepted']}, pool {record['pool']}; gaps {g or '-'}",
        file=sys.stderr,
        flush=True,
    )
