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

    def compare(self, truth: CausalGraph) -> dict[str, Any]:
        """How well this graph recovers ``truth``: adjacency recall/precision, orientation, SHD.

        Adjacencies are compared without direction. ``orientation_recall`` is the
        share of true edges found with the right direction; ``reversed`` counts
        true adjacencies found the other way round; ``shd`` (structural Hamming
        distance) = missing + extra adjacencies + reversed edges.
        """
        mine = {frozenset(e) for e in self.edges}
        true = {frozenset(e) for e in truth.edges}
        tp = len(mine & true)
        directed_tp = len(set(self.edges) & set(truth.edges))
        rev = sum(1 for a, b in truth.edges if self.has_edge(b, a))
        missing, extra = sorted(true - mine, key=sorted), sorted(mine - true, key=sorted)
        return {
            "adjacency_recall": tp / len(true) if true else 1.0,
            "adjacency_precision": tp / len(mine) if mine else 1.0,
            "orientation_recall": directed_tp / len(truth.edges) if truth.edges else 1.0,
            "true_edges": len(true),
            "found_edges": len(mine),
            "missing": [sorted(e) for e in missing],
            "extra": [sorted(e) for e in extra],
            "reversed": rev,
            "shd": len(missing) + len(extra) + rev,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CausalGraph) and set(self.nodes) == set(other.nodes) and set(self.edges) == set(other.edges)

    def __repr__(self) -> str:
        return f"CausalGraph({len(self.nodes)} nodes, {len(self.edges)} edges)"

    # ------------------------------------------------------------- validation
    def problems(self, spec: CausalSpec, columns: Sequence[str] | None = None) -> list[str]:
        """Every problem of this graph against the roles of ``spec`` (empty when it fits).

        Reported at once, in a stable order: each directed cycle (up to five,
        named node by node), nodes that are not columns, columns missing from
        the graph, edges into X from a non-confounder, edges out of Y, edges
        into a confounder from X or a mediator, mediators not reachable from X
        and confounders downstream of X.
        """
        out: list[str] = []
        cycles = self._cycles(limit=5)
        for cyc in cycles:
            out.append(f"the graph has a cycle: {' -> '.join(cyc)}")
        spec_cols = list(spec.columns)
        known = list(columns) if columns is not None else spec_cols
        known_set = set(known)
        for n in self.nodes:
            if n not in known_set:
                out.append(f"node {n!r} is not a column of the table/spec")
        for c in known:
            if c in set(spec_cols) and c not in self._g:
                out.append(f"column {c!r} ({spec.role_of(c)}) is missing from the graph")
        x, y = spec.sensitive, spec.outcome
        z, w = set(spec.confounders), set(spec.mediators)
        named: set[str] = set()
        if x in self._g and y in self._g:
            for a, b in self.edges:
                if b == x and a not in z:
                    role = spec.role_of(a)
                    out.append(f"edge {a} -> {b} points into the sensitive attribute from {'a ' + role if role else 'an unknown'} column; only confounders may cause X")
                if a == y and b not in set(spec.other):
                    out.append(f"edge {a} -> {b} leaves the outcome; nothing in the analysis may be caused by Y")
                if b in z and a in ({x} | w):
                    named.add(b)
                    out.append(f"edge {a} -> {b} makes confounder {b!r} downstream of X; confounders are not caused by X or W")
            desc = self.descendants(x)
            for m in spec.mediators:
                if m in self._g and m not in desc:
                    out.append(f"mediator {m!r} is not reachable from {x!r}; add an edge {x} -> {m} or make it a confounder")
            for c in spec.confounders:
                if c in desc and c not in named:
                    out.append(f"confounder {c!r} is downstream of {x!r}; confounders are not caused by X")
        return out

    def _cycles(self, limit: int = 5) -> list[list[str]]:
        """Up to ``limit`` directed cycles (shortest first), each with its first node repeated at the end."""
        if self.is_acyclic():
            return []
        found: list[list[str]] = []
        try:
            for cyc in nx.simple_cycles(self._g, length_bound=len(self._g)):
                found.append(cyc)
                if len(found) >= 50:
                    break
        except TypeError:  # networkx without length_bound
            found = [c[:-1] for c in [self.find_cycle() or []] if c]
        pos = {n: i for i, n in enumerate(self._g.nodes)}
        rotated = []
        for cyc in found:
            k = min(range(len(cyc)), key=lambda i: pos[cyc[i]])
            cyc = cyc[k:] + cyc[:k]
            rotated.append([*cyc, cyc[0]])
        rotated.sort(key=lambda c: (len(c), [pos[n] for n in c]))
        return rotated[:limit]

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
        """Inverse of :meth:`to_dict`; ``nodes`` may be omitted.

        ``edges`` may be a list of ``[source, target]`` pairs, a list of
        ``"source -> target"`` strings, or a mapping ``{source: [target, ...]}``
        (an adjacency list, as people write it in YAML). Every malformed edge is
        reported at once.
        """
        if not isinstance(data, dict) or "edges" not in data:
            raise GraphError(["expected a mapping with an 'edges' list (and optionally 'nodes')"])
        raw = data["edges"]
        items: list[Any]
        if isinstance(raw, dict):
            items = []
            for src, targets in raw.items():
                targets = [] if targets is None else targets
                targets = [targets] if isinstance(targets, str | int | float) else targets
                items += [[src, t] for t in targets]
        elif isinstance(raw, list):
            items = list(raw)
        else:
            raise GraphError([f"'edges' must be a list or a mapping, got {type(raw).__name__}"])
        edges: list[tuple[str, str]] = []
        bad: list[str] = []
        for e in items:
            if isinstance(e, str):
                parts = [p.strip() for p in e.split("->")]
                if len(parts) >= 2 and all(parts):
                    edges += list(zip(parts[:-1], parts[1:], strict=True))
                    continue
            elif isinstance(e, list | tuple) and len(e) == 2 and all(isinstance(v, str | int | float) for v in e):
                edges.append((str(e[0]), str(e[1])))
                continue
            bad.append(f"edge {e!r} is not a [source, target] pair or a 'source -> target' string")
        raw_nodes = data.get("nodes") or []
        if not isinstance(raw_nodes, list):
            bad.append(f"'nodes' must be a list, got {type(raw_nodes).__name__}")
            raw_nodes = []
        if bad:
            raise GraphError(bad)
        nodes = [str(n) for n in raw_nodes]
        seen = set(nodes)
        for a, b in edges:
            for n in (a, b):
                if n not in seen:
                    nodes.append(n)
                    seen.add(n)
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

    def to_yaml(self) -> str:
        """YAML text: ``nodes:`` then ``edges:`` as a list of ``[source, target]`` pairs."""
        import yaml

        return yaml.safe_dump({"nodes": self.nodes, "edges": [list(e) for e in self.edges]}, sort_keys=False, default_flow_style=None)

    @classmethod
    def from_yaml(cls, text: str) -> CausalGraph:
        """Parse a YAML edge list (see :meth:`from_dict` for the accepted edge forms)."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GraphError([f"not valid YAML: {exc}"]) from None
        if isinstance(data, list):
            data = {"edges": data}
        return cls.from_dict(data)

    def to_dot(self, name: str = "causal_graph", spec: CausalSpec | None = None) -> str:
        """Graphviz DOT text (``digraph { "a" -> "b"; }``); with ``spec`` nodes carry their role and colour."""
        from .graph_dot import quote

        lines = [f"digraph {quote(name)} {{"]
        for n in self.nodes:
            if spec is not None:
                role = spec.role_of(n) or "unknown"
                lines.append(f"  {quote(n)} [role={quote(role)}, style=filled, fillcolor={quote(ROLE_COLOURS.get(role, '#dddddd'))}];")
            else:
                lines.append(f"  {quote(n)};")
        lines += [f"  {quote(a)} -> {quote(b)};" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dot(cls, text: str) -> CausalGraph:
        """Parse the DOT subset written by :meth:`to_dot` and by most tools: ``digraph { a -> b -> c; d; }``.

        Quoted and bare names, attribute lists, ``a -> {b c}``, subgraphs and
        comments are understood; an undirected ``graph`` or an ``--`` edge is an error.
        """
        from .graph_dot import parse_dot

        nodes, edges = parse_dot(text)
        return cls(nodes, edges)

    def save(self, path: str | Path, spec: CausalSpec | None = None) -> None:
        """Write the graph atomically, in the format of the suffix: .json (default), .yaml/.yml, .dot/.gv."""
        from .io import atomic_write_text

        p = Path(path)
        fmt = _format_of(p, default="json")
        text = {"json": self.to_json, "yaml": self.to_yaml}.get(fmt)
        atomic_write_text(p, text() if text is not None else self.to_dot(spec=spec))

    @classmethod
    def from_file(cls, path: str | Path) -> CausalGraph:
        """Read a graph file: .json, .yaml/.yml (edge list) or .dot/.gv (Graphviz); other suffixes are read as JSON."""
        p = Path(path)
        if not p.is_file():
            raise GraphError([f"graph file {str(p)!r} does not exist"], hint="pass the path of a .json, .yaml or .dot graph file")
        text = p.read_text(encoding="utf-8")
        fmt = _format_of(p, default="json")
        try:
            if fmt == "yaml":
                return cls.from_yaml(text)
            if fmt == "dot":
                return cls.from_dot(text)
            return cls.from_json(text)
        except GraphError as exc:
            raise GraphError([f"{p.name}: {q}" for q in exc.problems], hint=exc.hint) from None

    # ------------------------------------------------------------------ plots
    def layers(self, spec: CausalSpec | None = None) -> list[list[str]]:
        """Columns of nodes for drawing: with a spec ``[Z + X, W, Y, other]`` (empty layers dropped), else topological generations."""
        if spec is not None:
            role_layer = {"confounder": 0, "sensitive": 0, "mediator": 1, "outcome": 2, "other": 3}
            out: list[list[str]] = [[], [], [], [], []]
            for n in self.nodes:
                out[role_layer.get(spec.role_of(n) or "", 4)].append(n)
            return [layer for layer in out if layer]
        if self.is_acyclic():
            return [list(g) for g in nx.topological_generations(self._g)]
        return [self.nodes]

    def plot(self, path: str | Path | None = None, spec: CausalSpec | None = None, *, title: str | None = None) -> Any:
        """Draw the DAG with matplotlib, nodes coloured by role, in layers (Z, X | W | Y | other).

        Returns the matplotlib ``Figure``; with ``path`` it is also saved
        atomically (format from the suffix: .png, .svg, .pdf) and closed.
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        layers = self.layers(spec)
        pos: dict[str, tuple[float, float]] = {}
        for i, layer in enumerate(layers):
            k = len(layer)
            inner = any(self._g.has_edge(a, b) for a in layer for b in layer)
            for j, n in enumerate(layer):
                # Zig-zag a layer with edges inside it, so that those edges stay visible.
                pos[n] = (float(i) + (0.22 * (1 if j % 2 else -1) if inner else 0.0), (k - 1) / 2.0 - j)
        height = max((len(layer) for layer in layers), default=1)
        fig, ax = plt.subplots(figsize=(3.0 + 2.6 * len(layers), 1.2 + 0.75 * height))
        roles = {n: (spec.role_of(n) or "unknown") if spec is not None else "unknown" for n in self.nodes}
        colours = [ROLE_COLOURS.get(roles[n], "#dddddd") for n in self.nodes]
        nx.draw_networkx_edges(
            self._g, pos, ax=ax, arrows=True, arrowsize=14, edge_color="#555555", width=1.0,
            connectionstyle="arc3,rad=0.12", node_size=1600, min_source_margin=12, min_target_margin=14,
        )
        nx.draw_networkx_nodes(self._g, pos, ax=ax, node_color=colours, node_size=1600, edgecolors="#333333", linewidths=0.8)
        nx.draw_networkx_labels(self._g, pos, ax=ax, labels={n: _short(n) for n in self.nodes}, font_size=8)
        if spec is not None:
            present = [r for r in ROLE_COLOURS if r in set(roles.values())]
            ax.legend(handles=[Patch(color=ROLE_COLOURS[r], label=ROLE_LABELS[r]) for r in present], loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(1.0, 1.0))
        ax.set_title(title or f"causal graph: {len(self.nodes)} nodes, {len(self.edges)} edges", fontsize=10)
        ax.set_axis_off()
        ax.margins(0.12)
        fig.tight_layout()
        if path is not None:
            from .io import atomic_path

            p = Path(path)
            fmt = (p.suffix.lstrip(".") or "png").lower()
            with atomic_path(p) as tmp:
                fig.savefig(tmp, format=fmt, dpi=120)
            plt.close(fig)
        return fig


#: Fill colour of each role in plots and DOT output.
ROLE_COLOURS: dict[str, str] = {
    "sensitive": "#e4572e",
    "confounder": "#76b041",
    "mediator": "#4f9dde",
    "outcome": "#f3a712",
    "other": "#bbbbbb",
    "unknown": "#eeeeee",
}
ROLE_LABELS: dict[str, str] = {
    "sensitive": "X (sensitive)",
    "confounder": "Z (confounder)",
    "mediator": "W (mediator)",
    "outcome": "Y (outcome)",
    "other": "other",
    "unknown": "not in the spec",
}

_SUFFIX_FORMAT = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".dot": "dot", ".gv": "dot"}


def _format_of(path: Path, default: str) -> str:
    return _SUFFIX_FORMAT.get(path.suffix.lower(), default)


def _short(name: str, width: int = 14) -> str:
    """Wrap long column names for node labels."""
    if len(name) <= width:
        return name
    import textwrap

    return "\n".join(textwrap.wrap(name.replace("_", "_ "), width)).replace("_ ", "_")
