"""Causal discovery providers ``pc`` and ``ges`` (causal-learn), constrained by the role tiers.

The table is encoded numerically (categories as ordinal codes in sorted
order), rows with missing values are dropped, and, for the default Fisher-z
test, every column is replaced by its normal scores (the rank-based
"nonparanormal" transform, which makes Fisher-z valid for monotone, non-Gaussian
and ordinal data). For the chi-square / G-square tests continuous columns are
cut into quantile bins. The discovered skeleton is then oriented into a DAG:

1. an edge between tiers points from the lower tier to the higher one
   (Z, X -> W -> Y -> other), an edge between Z and X points into X;
2. an edge within a tier keeps the direction the algorithm found, when it has
   one and it closes no cycle; the remaining undirected edges are oriented by a
   consistent extension (Dor & Tarsi): no new unshielded collider and no cycle,
   so the DAG implies the independences the algorithm found; ties go from the
   column listed earlier in the spec to the later one. Only when no consistent
   extension exists are the left-over edges oriented by the spec order alone
   (listed in the repairs);
3. every mediator left unreachable from X gets an edge X -> W (listed in
   ``report_["repairs"]``), as the roles say W may be caused by X.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from faircausesyn import CausalGraph, CausalSpec, GraphProvider
from faircausesyn.errors import DataError
from faircausesyn.interfaces import ComponentConfig

from .tiers import TIER_ZX, forbidden_reason, repair_edges, tier_of


def encode(data: pd.DataFrame, columns: list[str], *, transform: Literal["rank", "none"], bins: int | None = None) -> np.ndarray:
    """A float matrix of ``columns``: categories as ordinal codes; ``rank`` gives normal scores; ``bins`` discretises."""
    from scipy.stats import norm, rankdata

    out = np.empty((len(data), len(columns)))
    for j, c in enumerate(columns):
        s = data[c]
        if pd.api.types.is_bool_dtype(s):
            v = s.astype(float).to_numpy()
        elif pd.api.types.is_numeric_dtype(s):
            v = s.astype(float).to_numpy()
        else:
            v = pd.Categorical(s.astype(str)).codes.astype(float)
        if bins is not None:
            if len(np.unique(v)) > bins:
                ranks = rankdata(v, method="average") / (len(v) + 1)
                v = np.minimum((ranks * bins).astype(int), bins - 1).astype(float)
            else:
                v = np.unique(v, return_inverse=True)[1].astype(float)
        elif transform == "rank":
            v = norm.ppf(rankdata(v, method="average") / (len(v) + 1))
        out[:, j] = v
    return out


def orient(
    spec: CausalSpec, columns: list[str], adjacency: list[tuple[str, str, str | None]]
) -> tuple[CausalGraph, list[str]]:
    """Orient a skeleton into a DAG consistent with the tiers (see the module docstring).

    ``adjacency`` holds ``(a, b, direction)`` with direction ``"ab"``, ``"ba"`` or
    None (undirected / bidirected). Returns the graph and the repairs.
    """
    import networkx as nx

    rank = {c: i for i, c in enumerate(columns)}
    fixed: list[tuple[str, str]] = []
    found: list[tuple[str, str]] = []
    loose: list[tuple[str, str]] = []
    notes: list[str] = []
    for a, b, d in adjacency:
        ta, tb = tier_of(spec, a), tier_of(spec, b)
        if ta != tb or (ta == TIER_ZX and spec.sensitive in (a, b)):
            if ta == tb:  # Z - X: into X
                e = (a, b) if b == spec.sensitive else (b, a)
            else:
                e = (a, b) if ta < tb else (b, a)
            if d is not None and (d == "ab") != (e == (a, b)):
                notes.append(f"reoriented {e[1]} -> {e[0]} as {e[0]} -> {e[1]} (role tiers)")
            fixed.append(e)
        elif d is not None and forbidden_reason(spec, *((a, b) if d == "ab" else (b, a))) is None:
            found.append((a, b) if d == "ab" else (b, a))
        else:
            loose.append((a, b) if rank[a] < rank[b] else (b, a))
    g = nx.DiGraph()
    g.add_nodes_from(columns)
    g.add_edges_from(fixed)  # between tiers: acyclic by construction
    for a, b in found:  # the algorithm's within-tier directions, unless one closes a cycle
        if nx.has_path(g, b, a):
            loose.append((a, b) if rank[a] < rank[b] else (b, a))
        else:
            g.add_edge(a, b)
    # Undirected edges: a consistent extension (Dor & Tarsi 1992) adds no new unshielded
    # collider, so the DAG keeps the independences the algorithm found.
    oriented, left = _consistent_extension(columns, set(g.edges), {frozenset(e) for e in loose})
    g.add_edges_from(oriented)
    for a, b in sorted(tuple(sorted(e, key=rank.__getitem__)) for e in left):
        if nx.has_path(g, b, a) or forbidden_reason(spec, a, b):
            a, b = b, a
        notes.append(f"oriented {a} - {b} as {a} -> {b} (no consistent extension; spec order and acyclicity)")
        g.add_edge(a, b)
    graph, more = repair_edges(spec, columns, list(g.edges))
    return graph, notes + more


def _consistent_extension(
    columns: list[str], directed: set[tuple[str, str]], undirected: set[frozenset[str]]
) -> tuple[list[tuple[str, str]], set[frozenset[str]]]:
    """Dor-Tarsi: orient ``undirected`` edges of a PDAG without new v-structures or cycles.

    Repeatedly picks a node (latest in ``columns`` first) with no outgoing directed edge
    whose undirected neighbours are adjacent to all its other neighbours, points its
    undirected edges into it and removes it. Returns the oriented edges and the
    undirected edges left when no such node exists (the PDAG has no consistent extension).
    """
    remaining = list(columns)
    d, u = set(directed), set(undirected)
    adjacent = {frozenset(e) for e in d} | u
    out: list[tuple[str, str]] = []
    while remaining and u:
        pick = None
        alive = set(remaining)
        for x in reversed(remaining):
            if any((x, y) in d for y in alive):
                continue
            nbrs = [y for y in alive if frozenset((x, y)) in u]
            adj = [y for y in alive if y != x and frozenset((x, y)) in adjacent]
            if all(z == y or frozenset((y, z)) in adjacent for y in nbrs for z in adj):
                pick = (x, nbrs)
                break
        if pick is None:
            break
        x, nbrs = pick
        for y in nbrs:
            out.append((y, x))
            u.discard(frozenset((x, y)))
            d.add((y, x))
        remaining.remove(x)
    return out, u


def _adjacency_from_matrix(names: list[str], m: np.ndarray) -> list[tuple[str, str, str | None]]:
    """causal-learn's endpoint matrix -> (a, b, direction); ``m[j, i] == 1 and m[i, j] == -1`` is i -> j."""
    out: list[tuple[str, str, str | None]] = []
    k = len(names)
    for i in range(k):
        for j in range(i + 1, k):
            if m[i, j] == 0 and m[j, i] == 0:
                continue
            if m[j, i] == 1 and m[i, j] == -1:
                d: str | None = "ab"
            elif m[i, j] == 1 and m[j, i] == -1:
                d = "ba"
            else:
                d = None
            out.append((names[i], names[j], d))
    return out


class _DiscoveryBase(GraphProvider):
    method: ClassVar[str] = ""

    def _prepare(self, data: pd.DataFrame, spec: CausalSpec) -> tuple[list[str], pd.DataFrame]:
        cols = [c for c in spec.columns if c in set(data.columns)]
        frame = data[cols].dropna()
        if len(frame) < 20:
            raise DataError(f"only {len(frame)} complete rows for causal discovery", hint="discovery needs at least a few dozen rows")
        constant = [c for c in cols if frame[c].nunique() < 2]
        if constant:
            raise DataError(f"column(s) {', '.join(constant)} are constant after dropping missing rows", hint="drop them from the spec")
        return cols, frame

    def _finish(self, spec: CausalSpec, cols: list[str], adjacency: list[tuple[str, str, str | None]], report: dict[str, Any]) -> CausalGraph:
        graph, repairs = orient(spec, cols, adjacency)
        report.update({"skeleton": [[a, b] for a, b, _ in adjacency], "repairs": repairs, "edges": len(graph.edges)})
        self.report_ = report
        return graph


class PCConfig(ComponentConfig):
    """Settings of the PC algorithm.

    ``indep_test``: ``fisherz`` (default, on normal scores: fast, suits mixed
    monotone data), ``gsq`` / ``chisq`` (on discretised data, ``bins`` quantile bins),
    ``kci`` (kernel test: nonparametric but slow, use on a few hundred rows only).
    ``max_k``: the largest conditioning set (None = unbounded).
    ``uc_rule`` / ``uc_priority``: causal-learn's rule for unshielded colliders
    (0 = sepset, 1 = maxP, 2 = definite maxP) and for conflicting ones
    (2 = prioritise existing colliders, the default).
    """

    alpha: float = Field(0.05, gt=0, lt=1)
    indep_test: Literal["fisherz", "gsq", "chisq", "kci"] = "fisherz"
    bins: int = Field(4, ge=2, le=20)
    max_k: int | None = Field(None, ge=0)
    stable: bool = True
    uc_rule: Literal[0, 1, 2] = 0
    uc_priority: Literal[-1, 0, 1, 2, 3, 4] = 2


class PCProvider(_DiscoveryBase):
    """PC (causal-learn) with the roles as background knowledge: tiers Z, X | W | Y | other, nothing out of Y."""

    Config = PCConfig
    method = "pc"

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        from causallearn.graph.GraphNode import GraphNode
        from causallearn.search.ConstraintBased.PC import pc
        from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

        cols, frame = self._prepare(data, spec)
        cfg = self.config
        discrete = cfg.indep_test in ("gsq", "chisq")
        matrix = encode(frame, cols, transform="none" if discrete or cfg.indep_test == "kci" else "rank", bins=cfg.bins if discrete else None)
        if cfg.indep_test == "kci":
            matrix = (matrix - matrix.mean(0)) / (matrix.std(0) + 1e-12)
        nodes = {c: GraphNode(c) for c in cols}
        bk = BackgroundKnowledge()
        for c in cols:
            bk.add_node_to_tier(nodes[c], tier_of(spec, c))
        for a in cols:
            for b in cols:
                if a != b and forbidden_reason(spec, a, b):
                    bk.add_forbidden_by_node(nodes[a], nodes[b])
        kwargs: dict[str, Any] = {}
        if cfg.max_k is not None:
            kwargs["max_k"] = cfg.max_k
        cg = pc(
            matrix, alpha=cfg.alpha, indep_test=cfg.indep_test, stable=cfg.stable, uc_rule=cfg.uc_rule, uc_priority=cfg.uc_priority,
            background_knowledge=bk,
            show_progress=False, node_names=cols, **kwargs,
        )
        adjacency = _adjacency_from_matrix(cols, np.asarray(cg.G.graph))
        report = {"provider": "pc", "alpha": cfg.alpha, "indep_test": cfg.indep_test, "rows": int(len(frame))}
        return self._finish(spec, cols, adjacency, report)


class GESConfig(ComponentConfig):
    """Settings of GES: ``score``: ``bic`` (linear-Gaussian BIC on normal scores, fast) or ``bdeu``
    (discrete BDeu on ``bins`` quantile bins); ``max_parents``: bound on parents (None = unbounded)."""

    score: Literal["bic", "bdeu"] = "bic"
    bins: int = Field(4, ge=2, le=20)
    max_parents: int | None = Field(None, ge=1)


class GESProvider(_DiscoveryBase):
    """GES (causal-learn), then every edge oriented along the role tiers (GES takes no background knowledge)."""

    Config = GESConfig
    method = "ges"

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        from causallearn.search.ScoreBased.GES import ges

        cols, frame = self._prepare(data, spec)
        cfg = self.config
        if cfg.score == "bdeu":
            matrix = encode(frame, cols, transform="none", bins=cfg.bins)
            score = "local_score_BDeu"
        else:
            matrix = encode(frame, cols, transform="rank")
            score = "local_score_BIC"
        record = ges(matrix, score_func=score, maxP=cfg.max_parents, node_names=cols)
        adjacency = _adjacency_from_matrix(cols, np.asarray(record["G"].graph))
        report = {"provider": "ges", "score": cfg.score, "rows": int(len(frame))}
        return self._finish(spec, cols, adjacency, report)
