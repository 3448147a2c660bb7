"""The ``sfm`` and ``user`` graph providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import model_validator

from faircausesyn import CausalGraph, CausalSpec, GraphProvider
from faircausesyn.errors import ConfigError, GraphError
from faircausesyn.interfaces import ComponentConfig


def _columns(data: pd.DataFrame, spec: CausalSpec) -> list[str]:
    return [c for c in data.columns if c in set(spec.columns)]


class SFMConfig(ComponentConfig):
    """``mediator_structure``: ``chain`` (default) orders W as the spec lists them and links every
    earlier mediator to every later one (a clique in that order, assuming nothing about W);
    ``independent`` draws no edge between mediators."""

    mediator_structure: Literal["chain", "independent"] = "chain"


class SFMProvider(GraphProvider):
    """The Standard Fairness Model from the roles: Z -> X, X -> W, Z -> W, X -> Y, Z -> Y, W -> Y."""

    Config = SFMConfig

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        g = CausalGraph.sfm(spec, columns=_columns(data, spec), mediator_structure=self.config.mediator_structure)
        self.report_ = {"provider": "sfm", "mediator_structure": self.config.mediator_structure, "edges": len(g.edges)}
        return g


class UserConfig(ComponentConfig):
    """Exactly one of ``path`` (a .json, .yaml/.yml or .dot/.gv file) or ``graph``
    (a mapping ``{"nodes": [...], "edges": [[a, b], ...]}``, edges may also be ``"a -> b"``
    strings or an adjacency mapping ``{a: [b, c]}``)."""

    path: str | None = None
    graph: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> UserConfig:
        if (self.path is None) == (self.graph is None):
            raise ValueError("give exactly one of 'path' (a graph file) or 'graph' (a mapping with 'edges')")
        return self


class UserProvider(GraphProvider):
    """A graph given by the user, checked against the roles with every problem reported at once.

    Columns of the table that the user's graph does not mention are added as
    isolated nodes only if they are in ``other``; a missing analysed column is a
    problem (the user must say where it goes).
    """

    Config = UserConfig

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        if self.config.path is not None:
            if not Path(self.config.path).is_file():
                raise ConfigError(f"graph file {self.config.path!r} does not exist", hint="pass path=... to a .json, .yaml or .dot file")
            g = CausalGraph.from_file(self.config.path)
        else:
            g = CausalGraph.from_dict(dict(self.config.graph or {}))
        cols = _columns(data, spec)
        extra = [c for c in cols if c in set(spec.other) and c not in g.nodes]
        if extra:
            g = CausalGraph([*g.nodes, *extra], g.edges)
        problems = g.problems(spec, columns=cols)
        if problems:
            raise GraphError(problems, hint="fix the graph, or use the 'sfm' provider")
        self.report_ = {"provider": "user", "source": self.config.path or "mapping", "added_other_nodes": extra, "edges": len(g.edges)}
        return g
