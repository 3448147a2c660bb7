"""Built-in plugin: SDV's single-table synthesizers as baseline generators.

``ctgan``, ``tvae`` and ``gaussian_copula`` wrap SDV's ``CTGANSynthesizer``,
``TVAESynthesizer`` and ``GaussianCopulaSynthesizer``. They learn the joint
distribution without a causal graph, so they cannot remove a pathway: they
only support the ``preserve`` constraint (or none). SDV is an optional extra
(``pip install 'faircausesyn[sdv]'``) under the Business Source License 1.1;
it is imported only when one of these generators is used.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_generators(registry):
    registry.register(
        "ctgan",
        "faircausesyn_sdv.generators:CTGANGenerator",
        description="SDV CTGAN: conditional tabular GAN (baseline; no pathway removal; needs the sdv extra)",
    )
    registry.register(
        "tvae",
        "faircausesyn_sdv.generators:TVAEGenerator",
        description="SDV TVAE: tabular variational autoencoder (baseline; no pathway removal; needs the sdv extra)",
    )
    registry.register(
        "gaussian_copula",
        "faircausesyn_sdv.generators:GaussianCopulaGenerator",
        description="SDV Gaussian copula (baseline; no pathway removal; needs the sdv extra)",
    )
