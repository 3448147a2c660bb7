"""Built-in causal-graph providers: ``sfm``, ``user``, ``pc``, ``ges`` and ``llm``.

Targets are lazy ``"module:Class"`` strings, so listing plugins imports neither
causal-learn nor any LLM backend.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_graph_providers(registry):
    registry.register(
        "sfm",
        "faircausesyn_graphs.basic:SFMProvider",
        description="the Standard Fairness Model from the roles (default; mediators fully ordered)",
    )
    registry.register(
        "user",
        "faircausesyn_graphs.basic:UserProvider",
        description="a graph the user gives (a .json/.yaml/.dot file or an edge mapping), validated",
    )
    registry.register(
        "pc",
        "faircausesyn_graphs.discovery:PCProvider",
        description="causal discovery with causal-learn's PC, the roles as tiers of background knowledge",
    )
    registry.register(
        "ges",
        "faircausesyn_graphs.discovery:GESProvider",
        description="causal discovery with causal-learn's GES (BIC), oriented along the role tiers",
    )
    registry.register(
        "llm",
        "faircausesyn_graphs.llm:LLMProvider",
        description="edges proposed by an LLM backend from column names, descriptions and roles; repaired and logged",
    )
