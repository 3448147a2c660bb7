"""``dowhy_scm``: a structural causal model fitted with DoWhy's ``gcm`` module on the causal graph.

Each node gets a causal mechanism chosen by ``gcm.auto.assign_causal_mechanisms``
(empirical distributions for roots, additive-noise regressors for numeric
nodes, classifier mechanisms for discrete ones), fitted with ``gcm.fit`` and
sampled ancestrally with ``gcm.draw_samples``. Discrete columns are handed to
DoWhy as strings, which its auto-assignment treats as categorical.

Fairness constraints become interventions on edges: the mechanism of each cut
edge's target is wrapped so that the cut parent's input is replaced, at
sampling time, by the reference value (``mode="reference"``, e.g. Y generated
as if every row had the same level of X) or by an independent draw of the parent (``mode="independent"``:
the generated parent column permuted across rows).
"""

from __future__ import annotations

import contextlib
import logging
import random
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dowhy.gcm.causal_mechanisms import ConditionalStochasticModel

from faircausesyn import Generator
from faircausesyn.errors import DataError
from faircausesyn.interfaces import EdgeCut, FitContext, GeneratorConfig
from faircausesyn.schema import TableSchema


class DoWhySCMConfig(GeneratorConfig):
    """How DoWhy chooses the mechanisms."""

    quality: Literal["fast", "good", "better"] = Field(
        "good",
        description="gcm AssignmentQuality: 'good' (default) cross-validates a few candidate models per node, "
        "'better' tries more; 'fast' skips model selection (linear / logistic mechanisms).",
    )
    n_jobs: int = Field(1, description="Parallel jobs of gcm's model selection (-1: all cores).")


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global RNGs (which gcm uses) and restore them afterwards; silence gcm's chatter."""
    np_state, py_state = np.random.get_state(), random.getstate()
    from dowhy.gcm.util.general import set_random_seed

    set_random_seed(int(seed) % (2**32))
    loggers = [logging.getLogger(n) for n in ("dowhy", "dowhy.gcm")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _gcm_settings(show_progress: bool, n_jobs: int = 1) -> Iterator[None]:
    """Show gcm's progress bars only when asked for; set its parallelism; restore both afterwards."""
    from dowhy.gcm import config

    before = config.show_progress_bars, config.default_n_jobs
    config.show_progress_bars = bool(show_progress)
    config.default_n_jobs = int(n_jobs)
    try:
        yield
    finally:
        config.show_progress_bars, config.default_n_jobs = before


def _to_dowhy(data: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Discrete columns as strings (categorical for gcm), numeric ones as floats."""
    out = {}
    for col in schema.columns:
        s = data[col.name]
        out[col.name] = s.map(str).astype(object) if col.is_discrete else pd.to_numeric(s).astype(float)
    return pd.DataFrame(out)


def _from_dowhy(samples: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Back to the fitted categories; numbers stay floats (the schema rounds and casts)."""
    out = {}
    for col in schema.columns:
        s = samples[col.name].reset_index(drop=True)
        if col.is_discrete:
            lookup = {str(c): c for c in col.categories or []}
            out[col.name] = s.map(lambda v, lk=lookup: lk.get(str(v), v))
        else:
            out[col.name] = pd.to_numeric(s, errors="coerce").astype(float)
    return pd.DataFrame(out)


def _dowhy_value(schema: TableSchema, column: str, value: Any) -> Any:
    """A reference value as DoWhy sees it (the category's string, or a float)."""
    col = schema[column]
    if not col.is_discrete:
        return float(value)
    for c in col.categories or []:
        if c == value or str(c) == str(value):
            return str(c)
        with contextlib.suppress(TypeError, ValueError):
            if float(c) == float(value):
                return str(c)
    raise DataError(f"{value!r} is not a category of column {column!r} (categories: {col.categories})")


class CutParents(ConditionalStochasticModel):
    """A fitted mechanism whose parent inputs are replaced before it is called (an edge intervention).

    ``reference`` maps a parent's input position to the constant it is set to;
    the positions in ``independent`` are permuted jointly across rows with
    ``rng``, which breaks their dependence on the row's other values.
    """

    def __init__(self, inner: Any, reference: dict[int, Any], independent: list[int]) -> None:
        self.inner = inner
        self.reference = reference
        self.independent = independent
        self.rng = np.random.default_rng(0)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.inner.fit(X, Y)

    def draw_samples(self, parent_samples: np.ndarray) -> np.ndarray:
        parents = np.array(parent_samples, dtype=object if parent_samples.dtype == object else None, copy=True)
        if parents.ndim == 1:
            parents = parents.reshape(-1, 1)
        if self.independent:
            perm = self.rng.permutation(parents.shape[0])
            parents[:, self.independent] = parents[perm][:, self.independent]
        for i, v in self.reference.items():
            parents[:, i] = v
        return self.inner.draw_samples(parents)

    def clone(self) -> CutParents:
        return CutParents(self.inner.clone(), dict(self.reference), list(self.independent))


class DoWhySCMGenerator(Generator):
    """Structural causal model from DoWhy gcm (automatic mechanisms); removes any pathway by intervening on edges."""

    Config: ClassVar[type[DoWhySCMConfig]] = DoWhySCMConfig
    removable_pathways: ClassVar[frozenset[str]] = frozenset({"direct", "indirect", "spurious"})
    handles_missing: ClassVar[bool] = False

    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        import networkx as nx
        from dowhy import gcm
        from dowhy.gcm.util.general import set_random_seed

        frame = _to_dowhy(data, ctx.schema)
        graph = nx.DiGraph()
        graph.add_nodes_from(ctx.graph.nodes)
        graph.add_edges_from(ctx.graph.edges)
        scm = gcm.StructuralCausalModel(graph)
        quality = {"fast": None, "good": gcm.auto.AssignmentQuality.GOOD, "better": gcm.auto.AssignmentQuality.BETTER}[
            self.config.quality
        ]
        with _seeded(ctx.seed), _gcm_settings(ctx.progress, self.config.n_jobs):
            fallbacks = self._assign(scm, frame, quality, ctx)
            set_random_seed(int(ctx.seed) % (2**32))
            gcm.fit(scm, frame)
        self.scm_, self.fit_schema_ = scm, ctx.schema
        self.sampling_scm_, self.cut_wrappers_ = self._with_cuts(scm, ctx.interventions, ctx.schema)
        ctx.report["dowhy_scm"] = {
            "fallback_mechanisms": fallbacks,
            "mechanisms": {n: type(scm.causal_mechanism(n)).__name__ for n in ctx.graph.nodes},
            "interventions": [
                {"source": c.source, "target": c.target, "mode": c.mode, "value": _plain(c.value)} for c in ctx.interventions
            ],
        }

    @staticmethod
    def _assign(scm: Any, frame: pd.DataFrame, quality: Any, ctx: FitContext) -> dict[str, str]:
        """``gcm.auto`` mechanism assignment node by node, in topological order.

        gcm's model selection cross-validates candidate models; a category too
        rare to appear in every fold makes it fail. Such a node gets a
        logistic-regression classifier mechanism instead, recorded in the
        returned ``{node: reason}``.
        """
        from dowhy import gcm
        from dowhy.gcm.util.general import set_random_seed

        fallbacks: dict[str, str] = {}
        for i, node in enumerate(ctx.graph.topological_order()):
            set_random_seed((int(ctx.seed) + 7919 * i) % (2**32))
            if quality is None:
                scm.set_causal_mechanism(node, _fast_mechanism(ctx, node))
                continue
            try:
                gcm.auto.assign_causal_mechanism_node(scm, node, frame, quality)
            except ValueError as exc:
                if not ctx.schema[node].is_discrete:
                    raise DataError(f"DoWhy could not choose a mechanism for {node!r}: {exc}") from None
                scm.set_causal_mechanism(node, gcm.ClassifierFCM(gcm.ml.create_logistic_regression_classifier(max_iter=1000)))
                fallbacks[node] = f"logistic regression (model selection failed: {str(exc).splitlines()[0][:120]})"
        return fallbacks

    @staticmethod
    def _with_cuts(scm: Any, cuts: list[EdgeCut], schema: TableSchema) -> tuple[Any, list[Any]]:
        """A copy of ``scm`` sharing its fitted mechanisms, with each cut target's mechanism wrapped."""
        from dowhy import gcm
        from dowhy.graph import get_ordered_predecessors

        if not cuts:
            return scm, []
        wrapped = gcm.StructuralCausalModel(scm.graph.copy())
        wrappers = []
        by_target: dict[str, list[EdgeCut]] = {}
        for cut in cuts:
            by_target.setdefault(cut.target, []).append(cut)
        for target, target_cuts in by_target.items():
            order = list(get_ordered_predecessors(scm.graph, target))
            reference: dict[int, Any] = {}
            independent: list[int] = []
            for cut in target_cuts:
                if cut.source not in order:
                    raise DataError(f"cannot cut {cut.source} -> {cut.target}: it is not an edge of the graph")
                i = order.index(cut.source)
                if cut.mode == "reference":
                    reference[i] = _dowhy_value(schema, cut.source, cut.value)
                else:
                    independent.append(i)
            w = CutParents(scm.causal_mechanism(target), reference, independent)
            wrapped.set_causal_mechanism(target, w)
            wrappers.append(w)
        return wrapped, wrappers

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        from dowhy import gcm

        for i, w in enumerate(self.cut_wrappers_):
            w.rng = np.random.default_rng([int(seed) % (2**32), i])
        with _seeded(seed), _gcm_settings(False):
            samples = gcm.draw_samples(self.sampling_scm_, n)
        return _from_dowhy(samples, self.fit_schema_)


def _fast_mechanism(ctx: FitContext, node: str) -> Any:
    """Mechanism without model selection: empirical roots, logistic classifiers, linear additive noise."""
    from dowhy import gcm

    if not ctx.graph.parents(node):
        return gcm.EmpiricalDistribution()
    col = ctx.schema[node]
    if col.is_discrete:
        return gcm.ClassifierFCM(gcm.ml.create_logistic_regression_classifier(max_iter=1000))
    if col.kind == "integer":
        return gcm.DiscreteAdditiveNoiseModel(gcm.ml.create_linear_regressor())
    return gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor())


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
