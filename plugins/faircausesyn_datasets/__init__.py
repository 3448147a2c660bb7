"""Built-in datasets: three public health tables with their Standard Fairness Model roles.

Registered through the ``register_datasets`` hook like any third party's. The
files are byte-for-byte copies of the publishers' files (CC BY 4.0; see
``data/README.md`` for provenance, licences and citations).
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_datasets(registry):
    registry.register(
        "heart_failure",
        "faircausesyn_datasets.loaders:heart_failure",
        description="Heart failure clinical records (UCI 519), 299 patients; X=sex, Y=DEATH_EVENT",
    )
    registry.register(
        "cleveland",
        "faircausesyn_datasets.loaders:cleveland",
        description="UCI Heart Disease, Cleveland (UCI 45), 303 patients; X=sex, Y=heart_disease (num>0)",
    )
    registry.register(
        "ilpd",
        "faircausesyn_datasets.loaders:ilpd",
        description="Indian Liver Patient Dataset (UCI 225), 583 patients; X=Gender, Y=liver_patient",
    )
