"""The end-to-end run: real data -> split -> graph -> constraint -> fit -> sample -> evaluators.

A :class:`Pipeline` holds the choices (generator, graph, constraint, evaluators,
rows, holdout, seed); :meth:`Pipeline.run` applies them to one table and returns
a :class:`PipelineResult` with the synthetic table, the split, the graph, the
metrics of every evaluator, the decompositions of real and synthetic data,
timings and peak memory. The benchmark runner runs one pipeline per cell.

Example::

    from faircausesyn import Pipeline, load_dataset

    df, spec = load_dataset("heart_failure")
    result = Pipeline("gaussian_copula", constraint="preserve", seed=0).run(df, spec)
    print(result.to_dict()["metrics"])
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError, FairCauseSynError
from .graph import CausalGraph
from .interfaces import FairnessConstraint, Generator, GraphProvider, Metric
from .spec import CausalSpec

if TYPE_CHECKING:
    from .plugins import PluginHost

#: Evaluators a pipeline runs unless told otherwise (those that are installed).
DEFAULT_EVALUATORS: tuple[str, ...] = ("causal_fairness", "fidelity", "detection", "utility", "predictor_bias", "privacy")


# ---------------------------------------------------------------------- split
def stratified_split(data: pd.DataFrame, spec: CausalSpec, holdout: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Split ``data`` into (train, holdout) with the same share of every X x Y stratum in both.

    A numeric outcome with many values is stratified by its quartiles. Each
    stratum keeps at least one row in train; ``holdout=0`` returns no holdout.
    The split depends only on ``seed`` and the data, so it is reproducible.
    """
    if not 0 <= holdout < 1:
        raise ConfigError(f"holdout must be a fraction in [0, 1), got {holdout!r}", hint="e.g. holdout=0.3")
    if holdout == 0:
        return data.reset_index(drop=True), None
    x = pd.Series(np.asarray(spec.x_indicator(data)), index=data.index)
    y = data[spec.outcome]
    if pd.api.types.is_numeric_dtype(y) and y.nunique(dropna=True) > 10:
        y = pd.qcut(y.rank(method="first"), 4, labels=False)
    strata = x.astype(str).str.cat(y.astype(str), sep="|")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
    hold_idx: list[np.ndarray] = []
    for _, idx in sorted(strata.groupby(strata, sort=True).indices.items()):
        idx = np.asarray(idx)
        k = int(round(holdout * len(idx)))
        k = min(k, len(idx) - 1)
        if k > 0:
            hold_idx.append(rng.permutation(idx)[:k])
    chosen = np.sort(np.concatenate(hold_idx)) if hold_idx else np.array([], dtype=int)
    mask = np.zeros(len(data), dtype=bool)
    mask[chosen] = True
    train = data.iloc[~mask].reset_index(drop=True)
    test = data.iloc[mask].reset_index(drop=True)
    if len(test) == 0:
        raise DataError(f"a holdout of {holdout} leaves no row out of {len(data)}", hint="use more data or a larger holdout, or holdout=0")
    return train, test


# --------------------------------------------------------------------- result
@dataclass
class PipelineResult:
    """Everything one pipeline run produced.

    ``metrics`` maps each evaluator name to its metrics; an evaluator that
    failed (with ``on_evaluator_error="record"``) appears in ``errors`` instead.
    ``decompositions`` holds ``{"real": ..., "synthetic": ...}`` (each
    ``Decomposition.to_dict()``) when the pipeline decomposed the data.
    ``timings`` has ``graph_s``, ``fit_s``, ``sample_s``, ``decompose_s``,
    ``evaluate_s`` (per evaluator in ``evaluators_s``) and ``total_s``.
    """

    synthetic: pd.DataFrame
    train: pd.DataFrame
    holdout: pd.DataFrame | None
    graph: CausalGraph
    spec: CausalSpec
    metrics: dict[str, list[Metric]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    decompositions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    fit_report: dict[str, Any] = field(default_factory=dict)
    sample_report: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str, evaluator: str | None = None) -> Metric:
        """The metric called ``name`` (of ``evaluator``, or of the first evaluator that has it)."""
        for ev, metrics in self.metrics.items():
            if evaluator is not None and ev != evaluator:
                continue
            for m in metrics:
                if m.name == name:
                    return m
        raise KeyError(f"no metric {name!r}" + (f" from evaluator {evaluator!r}" if evaluator else ""))

    def flat_metrics(self) -> dict[str, float | None]:
        """``{"evaluator/metric": value}`` for every metric (non-finite values become None)."""
        out: dict[str, float | None] = {}
        for ev, metrics in self.metrics.items():
            for m in metrics:
                out[f"{ev}/{m.name}"] = _finite(m.value)
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no tables): configuration, graph, metrics, decompositions, costs."""
        return {
            "config": self.config,
            "spec": self.spec.model_dump(mode="json"),
            "rows": {
                "train": int(len(self.train)),
                "holdout": int(len(self.holdout)) if self.holdout is not None else 0,
                "synthetic": int(len(self.synthetic)),
            },
            "graph": self.graph.to_dict(),
            "metrics": {ev: [m.to_dict() for m in ms] for ev, ms in self.metrics.items()},
            "evaluator_errors": dict(self.errors),
            "decompositions": self.decompositions,
            "timings": self.timings,
            "peak_memory_mb": round(float(self.peak_memory_mb), 1),
            "fit_report": _jsonable(self.fit_report),
            "sample_report": _jsonable(self.sample_report),
        }


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def _decompositions_from_metrics(metrics: Mapping[str, list[Metric]]) -> dict[str, Any]:
    """The real and synthetic decompositions an evaluator (e.g. ``causal_fairness``) put in a metric's details."""
    for ev in sorted(metrics, key=lambda n: n != "causal_fairness"):
        for m in metrics[ev]:
            d = m.details or {}
            real, syn = d.get("real"), d.get("synthetic")
            if isinstance(real, Mapping) and isinstance(syn, Mapping) and "measures" in real and "measures" in syn:
                return {"real": dict(real), "synthetic": dict(syn), "source": ev}
    return {}


# ------------------------------------------------------------------- pipeline
class Pipeline:
    """One configured run from a real table to evaluated synthetic data.

    ``generator``: a registered name (configured by ``generator_config``) or a
    :class:`Generator` instance. ``graph``: a graph-provider name (default
    ``"sfm"``), a :class:`GraphProvider`, a :class:`CausalGraph` or a path to a
    graph JSON file. ``constraint``: a constraint name (with
    ``constraint_config``), a :class:`FairnessConstraint`, or None (the same as
    preserving every pathway). ``evaluators``: names (configured through
    ``evaluator_config[name]``); the default runs those of
    :data:`DEFAULT_EVALUATORS` that are installed. ``rows``: synthetic rows
    (default: as many as the real train part). ``holdout``: share of real rows
    kept out of training for the evaluators that need unseen data.
    ``decomposition``: keyword arguments of :func:`faircausesyn.fairness.decompose`
    used to decompose real train and synthetic data for the report; with None
    (the default) the decompositions an evaluator reports (``causal_fairness``
    puts them in its metrics' details) are used, and none are computed twice.
    ``on_evaluator_error``: ``"raise"`` (default) or ``"record"`` (keep going and
    list the failure in ``result.errors``; the benchmark runner uses this).
    """

    def __init__(
        self,
        generator: str | Generator,
        *,
        generator_config: Mapping[str, Any] | None = None,
        graph: str | GraphProvider | CausalGraph = "sfm",
        constraint: str | FairnessConstraint | None = "preserve",
        constraint_config: Mapping[str, Any] | None = None,
        evaluators: Sequence[str] | None = None,
        evaluator_config: Mapping[str, Mapping[str, Any]] | None = None,
        rows: int | None = None,
        holdout: float = 0.3,
        seed: int = 0,
        decomposition: Mapping[str, Any] | None = None,
        no_copies: bool = False,
        on_evaluator_error: str = "raise",
        host: PluginHost | None = None,
    ) -> None:
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0):
            raise ConfigError(f"rows must be a positive integer or None, got {rows!r}")
        if not 0 <= holdout < 1:
            raise ConfigError(f"holdout must be a fraction in [0, 1), got {holdout!r}", hint="e.g. holdout=0.3")
        if on_evaluator_error not in ("raise", "record"):
            raise ConfigError(f"on_evaluator_error must be 'raise' or 'record', got {on_evaluator_error!r}")
        self.generator = generator
        self.generator_config = dict(generator_config or {})
        self.graph = graph
        self.constraint = constraint
        self.constraint_config = dict(constraint_config or {})
        self.evaluators = list(evaluators) if evaluators is not None else None
        self.evaluator_config = {k: dict(v) for k, v in (evaluator_config or {}).items()}
        self.rows = rows
        self.holdout = float(holdout)
        self.seed = int(seed)
        self.decomposition = dict(decomposition) if decomposition is not None else None
        self.no_copies = bool(no_copies)
        self.on_evaluator_error = on_evaluator_error
        self._host = host

    # -------------------------------------------------------------- helpers
    @property
    def host(self) -> PluginHost:
        """The plugin host components are created from (a default one unless given)."""
        if self._host is None:
            from .plugins import PluginHost

            self._host = PluginHost()
        return self._host

    def make_generator(self) -> Generator:
        """A fresh, unfitted generator (a given instance is used as it is)."""
        if isinstance(self.generator, Generator):
            if self.generator_config:
                raise ConfigError("generator_config is only for a generator given by name")
            return self.generator
        config = dict(self.generator_config)
        if "seed" not in config and self._takes_seed(self.generator):
            config["seed"] = self.seed
        return self.host.create("generator", self.generator, **config)

    def _takes_seed(self, name: str) -> bool:
        cls = self.host.registry("generator").get(name)
        fields = getattr(getattr(cls, "Config", None), "model_fields", {})
        return "seed" in fields

    def make_constraint(self) -> FairnessConstraint | None:
        """The constraint object (None when no constraint is set)."""
        if self.constraint is None or isinstance(self.constraint, FairnessConstraint):
            return self.constraint
        return self.host.create("constraint", self.constraint, **self.constraint_config)

    def evaluator_names(self) -> list[str]:
        """The evaluators this pipeline runs."""
        if self.evaluators is not None:
            return list(self.evaluators)
        registered = self.host.registry("evaluator")
        return [n for n in DEFAULT_EVALUATORS if n in registered]

    def make_graph(self, train: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        """The causal graph of the training data."""
        from pathlib import Path

        columns = [c for c in train.columns if c in set(spec.columns)]
        g = self.graph
        if isinstance(g, CausalGraph):
            graph = g
        elif isinstance(g, GraphProvider):
            graph = g.provide(train, spec)
        elif isinstance(g, str) and Path(g).suffix.lower() in (".json", ".yaml", ".yml", ".dot", ".gv") and Path(g).is_file():
            graph = CausalGraph.from_file(g)
        elif isinstance(g, str):
            if g == "sfm" and "sfm" not in self.host.registry("graph_provider"):
                graph = CausalGraph.sfm(spec, columns=columns)  # the core builds the SFM itself
            else:
                graph = self.host.create("graph_provider", g).provide(train, spec)
        else:
            raise ConfigError(f"graph must be a provider name, a GraphProvider, a CausalGraph or a graph file (.json, .yaml, .dot), got {type(g).__name__}")
        graph.validate(spec, columns=columns)
        return graph

    def describe(self) -> dict[str, Any]:
        """The configuration as plain data (for results and hashing)."""

        def name(obj: Any) -> Any:
            if obj is None or isinstance(obj, str):
                return obj
            if isinstance(obj, CausalGraph):
                return {"graph": obj.to_dict()}
            return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "config": obj.get_params() if hasattr(obj, "get_params") else None}

        return {
            "generator": name(self.generator),
            "generator_config": self.generator_config,
            "graph": name(self.graph),
            "constraint": name(self.constraint),
            "constraint_config": self.constraint_config,
            "evaluators": self.evaluators,
            "evaluator_config": self.evaluator_config,
            "rows": self.rows,
            "holdout": self.holdout,
            "seed": self.seed,
            "decomposition": self.decomposition,
            "no_copies": self.no_copies,
        }

    # ------------------------------------------------------------------ run
    def run(self, data: pd.DataFrame, spec: CausalSpec, progress: bool = False) -> PipelineResult:
        """Split ``data``, fit the generator on the train part, sample, decompose and evaluate."""
        import time

        from .benchmark.resources import PeakMemory

        if not isinstance(data, pd.DataFrame):
            raise DataError(f"run expects a pandas DataFrame, got {type(data).__name__}")
        spec.validate(data)
        t_start = time.perf_counter()
        timings: dict[str, Any] = {}
        # Create every component first, so a bad name fails before any work.
        generator = self.make_generator()
        constraint = self.make_constraint()
        evaluators = {n: self.host.create("evaluator", n, **self.evaluator_config.get(n, {})) for n in self.evaluator_names()}
        unknown_cfg = set(self.evaluator_config) - set(evaluators)
        if unknown_cfg:
            raise ConfigError(f"evaluator_config names evaluator(s) not run: {', '.join(sorted(unknown_cfg))}")
        with PeakMemory() as mem:
            train, holdout = stratified_split(data, spec, self.holdout, self.seed)
            t0 = time.perf_counter()
            graph = self.make_graph(train, spec)
            timings["graph_s"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            generator.fit(train, spec, graph=graph, constraint=constraint, progress=progress)
            timings["fit_s"] = time.perf_counter() - t0

            n = self.rows if self.rows is not None else len(train)
            t0 = time.perf_counter()
            synthetic = generator.sample(n, seed=self.seed, no_copies=self.no_copies)
            timings["sample_s"] = time.perf_counter() - t0
            timings["rows_per_s"] = n / timings["sample_s"] if timings["sample_s"] > 0 else None

            decompositions: dict[str, Any] = {}
            if self.decomposition is not None:
                from .fairness import decompose

                kwargs = {"seed": self.seed, **self.decomposition}
                t0 = time.perf_counter()
                decompositions["real"] = decompose(train, spec, **kwargs).to_dict()
                decompositions["synthetic"] = decompose(synthetic, spec, **kwargs).to_dict()
                timings["decompose_s"] = time.perf_counter() - t0

            metrics: dict[str, list[Metric]] = {}
            errors: dict[str, str] = {}
            per_eval: dict[str, float] = {}
            for name, ev in evaluators.items():
                t0 = time.perf_counter()
                try:
                    metrics[name] = list(ev.evaluate(train, synthetic, spec, graph, holdout=holdout))
                except Exception as exc:  # noqa: BLE001 - recorded per evaluator when asked to
                    if self.on_evaluator_error == "raise":
                        raise
                    kind = "" if isinstance(exc, FairCauseSynError) else f"{type(exc).__name__}: "
                    errors[name] = kind + str(exc) + "\n" + "".join(traceback.format_exception(exc)[-3:])
                per_eval[name] = time.perf_counter() - t0
            timings["evaluators_s"] = per_eval
            if not decompositions:
                decompositions = _decompositions_from_metrics(metrics)
            timings["evaluate_s"] = sum(per_eval.values())
        timings["total_s"] = time.perf_counter() - t_start
        return PipelineResult(
            synthetic=synthetic,
            train=train,
            holdout=holdout,
            graph=graph,
            spec=spec,
            metrics=metrics,
            errors=errors,
            decompositions=decompositions,
            timings=timings,
            peak_memory_mb=mem.peak_mb,
            fit_report=dict(getattr(generator, "fit_report_", {})),
            sample_report=dict(getattr(generator, "sample_report_", {})),
            config=self.describe(),
        )
