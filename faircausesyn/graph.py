"""The causal graph: a DAG over the table's columns, read against the roles of a spec."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from .errors import GraphError
from .spec import CausalSpec


class CausalGraph:
    """A directed acyclic graph over column names.

    Build one with :meth:`sfm` (the Standard Fairness Model from the roles), from
    an edge list, or from a file (:meth:`from_file`). :meth:`validate` checks it
    against a spec and reports every problem at once.
    """

    def __init__(self, nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()) -> None:
        self._g = nx.DiGraph()
        self._g.add_nodes_from(nodes)
        self._g.add_edges_from((str(a), str(b)) for a, b in edges)

    # ----------------------------------------------------------- construction
    @classmethod
    def sfm(
        cls,
        spec: CausalSpec,
        columns: Sequence[str] | None = None,
        mediator_structure: Literal["chain", "independent"] = "chain",
    ) -> CausalGraph:
        """The Standard Fairness Model: Z -> X, X -> W, Z -> W, X -> Y, Z -> Y, W -> Y.

        Within W, ``"chain"`` (the default) orders the mediators as the spec lists
        them and adds every edge from an earlier to a later one (a clique in that
        order: the most general SFM, which assumes nothing about W); ``"independent"``
        adds no edges between mediators. Columns in ``other`` are sinks with every
        analysed column as parent. ``columns`` restricts the graph to those present.
        """
        keep = set(columns) if columns is not None else set(spec.columns)
        x, y = spec.sensitive, spec.outcome
        z = [c for c in spec.confounders if c in keep]
        w = [c for c in spec.mediators if c in keep]
        other = [c for c in spec.other if c in keep]
        nodes = [c for c in [x, *z, *w, y, *other] if c in keep]
        edges: list[tuple[str, str]] = []
        edges += [(c, x) for c in z]
        edges += [(x, c) for c in w] + [(c2, c) for c in w for c2 in z]
        if mediator_structure == "chain":
            edges += [(w[i], w[j]) for i in range(len(w)) for j in range(i + 1, len(w))]
        edges += [(x, y)] + [(c, y) for c in z] + [(c, y) for c in w]
        analysed = [x, *z, *w, y]
        edges += [(a, o) for o in other for a in analysed]
        edges = [(a, b) for a, b in edges if a in keep and b in keep]
        return cls(nodes, edges)

    # ---------------------------------------------------------------- queries
    @property
    def nodes(self) -> list[str]:
        """Node names in insertion order."""
        return list(self._g.nodes)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Edges as (source, target) pairs."""
        return list(self._g.edges)

    def parents(self, node: str) -> list[str]:
        """Direct causes of ``node``, in the graph's topological order."""
        order = {n: i for i, n in enumerate(self.topological_order())}
        return sorted(self._g.predecessors(node), key=order.__getitem__)

    def children(self, node: str) -> list[str]:
        """Direct effects of ``node``."""
        return list(self._g.successors(node))

    def has_edge(self, a: str, b: str) -> bool:
        """True when the graph has the edge a -> b."""
        return self._g.has_edge(a, b)

    def ancestors(self, node: str) -> set[str]:
        """Every node with a directed path into ``node``."""
        return set(nx.ancestors(self._g, node))

    def descendants(self, node: str) -> set[str]:
        """Every node reachable from ``node``."""
        return set(nx.descendants(self._g, node))

    def is_acyclic(self) -> bool:
        """True when the graph has no directed cycle."""
        return nx.is_directed_acyclic_graph(self._g)

    def find_cycle(self) -> list[str] | None:
        """One directed cycle as a list of nodes (first node repeated at the end), or None."""
        try:
            cyc = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return None
        return [a for a, _ in cyc] + [cyc[0][0]]

    def topological_order(self) -> list[str]:
        """Nodes so that every parent precedes its children (ties kept in insertion order)."""
        if not self.is_acyclic():
            raise GraphError([f"the graph has a cycle: {' -> '.join(self.find_cycle() or [])}"])
        pos = {n: i for i, n in enumerate(self._g.nodes)}
        return list(nx.lexicographical_topological_sort(self._g, key=pos.__getitem__))

    def to_networkx(self) -> nx.DiGraph:
        """A copy as a networkx DiGraph."""
        return self._g.copy()

    def copy(self) -> CausalGraph:
        """An independent copy."""
        return CausalGraph(self.nodes, self.edges)

    def without_edges(self, edges: Iterable[tuple[str, str]]) -> CausalGraph:
        """A copy with ``edges`` removed."""
        g = self.copy()
        g._g.remove_edges_from(list(edges))
        return g

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CausalGraph) and set(self.nodes) == set(other.nodes) and set(self.edges) == set(other.edges)

    def __repr__(self) -> str:
        return f"CausalGraph({len(self.nodes)} nodes, {len(self.edges)} edges)"

    # ------------------------------------------------------------- validation
    def problems(self, spec: CausalSpec, columns: Sequence[str] | None = None) -> list[str]:
        """Every problem of this graph against the roles of ``spec`` (empty when it fits)."""
        out: list[str] = []
        cyc = self.find_cycle()
        if cyc:
            out.append(f"the graph has a cycle: {' -> '.join(cyc)}")
        known = set(columns) if columns is not None else set(spec.columns)
        for n in self.nodes:
            if n not in known:
                out.append(f"node {n!r} is not a column of the table/spec")
        for c in known:
            if c in set(spec.columns) and c not in self._g:
                out.append(f"column {c!r} ({spec.role_of(c)}) is missing from the graph")
        x, y = spec.sensitive, spec.outcome
        z, w = set(spec.confounders), set(spec.mediators)
        if x in self._g and y in self._g:
            for a, b in self.edges:
                if b == x and a not in z:
                    out.append(f"edge {a} -> {b} points into the sensitive attribute from a {spec.role_of(a) or 'unknown'} column; only confounders may cause X")
                if a == y and b not in set(spec.other):
                    out.append(f"edge {a} -> {b} leaves the outcome; nothing in the analysis may be caused by Y")
                if b in z and a in ({x} | w):
                    out.append(f"edge {a} -> {b} makes confounder {b!r} downstream of X; confounders are not caused by X or W")
            if not cyc:
                desc = self.descendants(x)
                for m in spec.mediators:
                    if m in self._g and m not in desc:
                        out.append(f"mediator {m!r} is not reachable from {x!r}; add an edge {x} -> {m} or make it a confounder")
                for c in spec.confounders:
                    if c in desc:
                        out.append(f"confounder {c!r} is downstream of {x!r}; confounders are not caused by X")
        return out

    def validate(self, spec: CausalSpec, columns: Sequence[str] | None = None) -> None:
        """Raise :class:`GraphError` listing every problem against ``spec``."""
        problems = self.problems(spec, columns)
        if problems:
            raise GraphError(problems, hint="fix the graph file, or use the 'sfm' provider")

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """``{"nodes": [...], "edges": [[a, b], ...]}``."""
        return {"nodes": self.nodes, "edges": [list(e) for e in self.edges]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CausalGraph:
        """Inverse of :meth:`to_dict`; ``nodes`` may be omitted."""
        if not isinstance(data, dict) or "edges" not in data:
            raise GraphError(["expected a mapping with an 'edges' list (and optionally 'nodes')"])
        bad = [e for e in data["edges"] if not (isinstance(e, list | tuple) and len(e) == 2)]
        if bad:
            raise GraphError([f"edge {e!r} is not a [source, target] pair" for e in bad])
        edges = [(str(a), str(b)) for a, b in data["edges"]]
        nodes = [str(n) for n in data.get("nodes", [])]
        for a, b in edges:
            for n in (a, b):
                if n not in nodes:
                    nodes.append(n)
        return cls(nodes, edges)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> CausalGraph:
        """Parse JSON written by :meth:`to_json`."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise GraphError([f"not valid JSON: {exc}"]) from None

    def save(self, path: str | Path) -> None:
        """Write the graph as JSON (atomically)."""
        from .io import atomic_write_text

        atomic_write_text(Path(path), self.to_json())

    @classmethod
    def from_file(cls, path: str | Path) -> CausalGraph:
        """Read a graph written by :meth:`save` (JSON)."""
        p = Path(path)
        if not p.is_file():
            raise GraphError([f"graph file {str(p)!r} does not exist"])
        return cls.from_json(p.read_text(encoding="utf-8"))
