"""The role tiers of the Standard Fairness Model and the repair of proposed edge lists.

Tiers: 0 = Z and X, 1 = W, 2 = Y, 3 = other. An edge may go from a lower tier
to a higher one, or within a tier, except: nothing leaves Y towards the
analysed columns, only confounders cause X, nothing in X or W causes a
confounder, and ``other`` columns (outside the analysis) cause nothing analysed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx

from faircausesyn import CausalGraph, CausalSpec

TIER_ZX, TIER_W, TIER_Y, TIER_OTHER = 0, 1, 2, 3


def tier_of(spec: CausalSpec, column: str) -> int:
    """The tier of a column under the roles (unknown columns are put with ``other``)."""
    role = spec.role_of(column)
    return {"sensitive": TIER_ZX, "confounder": TIER_ZX, "mediator": TIER_W, "outcome": TIER_Y}.get(role or "", TIER_OTHER)


def forbidden_reason(spec: CausalSpec, a: str, b: str) -> str | None:
    """Why the edge ``a -> b`` contradicts the roles, or None when it is allowed."""
    if a == b:
        return "a self-loop"
    x, y = spec.sensitive, spec.outcome
    z, w, analysed = set(spec.confounders), set(spec.mediators), set(spec.analysed)
    if a == y and b in analysed:
        return "it leaves the outcome (nothing analysed may be caused by Y)"
    if b == x and a not in z:
        return "it points into the sensitive attribute from a non-confounder (only Z may cause X)"
    if b in z and (a == x or a in w):
        return "it points into a confounder from X or a mediator (confounders are not caused by X)"
    if a not in analysed and b in analysed:
        return "it starts at a column outside the analysis ('other' columns cause nothing analysed)"
    return None


def repair_edges(
    spec: CausalSpec,
    nodes: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    add_missing_mediator_edges: bool = True,
) -> tuple[CausalGraph, list[str]]:
    """Turn a proposed, ordered edge list into a DAG that fits the roles; list every repair.

    Edges are taken in the given order (earlier = more confident): a duplicate
    is skipped, an edge the roles forbid is dropped, an edge that would close a
    directed cycle is dropped (the later edge of the cycle goes). Afterwards, every
    mediator not reachable from X gets an edge ``X -> W``. Returns the graph and
    the repairs as readable lines.
    """
    repairs: list[str] = []
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    for a, b in edges:
        if g.has_edge(a, b):
            continue
        reason = forbidden_reason(spec, a, b)
        if reason:
            repairs.append(f"dropped {a} -> {b}: {reason}")
            continue
        if a in g and b in g and nx.has_path(g, b, a):
            path = nx.shortest_path(g, b, a)
            repairs.append(f"dropped {a} -> {b}: it would close the cycle {' -> '.join([a, *path])}")
            continue
        g.add_edge(a, b)
    x = spec.sensitive
    if add_missing_mediator_edges and x in g:
        for m in spec.mediators:
            if m in g and not nx.has_path(g, x, m):
                g.add_edge(x, m)
                repairs.append(f"added {x} -> {m}: mediator {m!r} was not reachable from {x!r}")
    return CausalGraph(list(g.nodes), list(g.edges)), repairs
