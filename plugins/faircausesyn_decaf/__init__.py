"""Built-in plugin: ``decaf``, a DECAF-style causally-aware GAN (van Breugel et al., NeurIPS 2021).

One conditional generator per node of the causal graph, run in topological
order; a WGAN-GP critic on whole rows; fairness constraints realised by
cutting edges when rows are generated. Needs torch (the ``torch`` extra),
imported only when the generator is used.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_generators(registry):
    registry.register(
        "decaf",
        "faircausesyn_decaf.generator:DecafGenerator",
        description="DECAF-style causal GAN (one generator per node, WGAN-GP); removes direct/indirect/spurious pathways",
    )
