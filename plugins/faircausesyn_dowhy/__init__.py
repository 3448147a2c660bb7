"""Built-in plugin: ``dowhy_scm``, a structural causal model fitted with DoWhy's ``gcm`` module.

Mechanisms are assigned automatically per node of the causal graph, fitted
and sampled ancestrally; fairness constraints are realised by cutting edges
at sampling time. Needs the ``dowhy`` extra, imported only when used.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_generators(registry):
    registry.register(
        "dowhy_scm",
        "faircausesyn_dowhy.scm:DoWhySCMGenerator",
        description="DoWhy gcm structural causal model (auto mechanisms); removes direct/indirect/spurious pathways",
    )
