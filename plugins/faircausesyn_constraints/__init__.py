"""Built-in fairness constraints: which causal pathways from X to Y the synthetic data keeps.

``preserve`` keeps the real decomposition (faithful data); ``remove_direct``,
``remove_indirect`` and ``remove_spurious`` set one pathway's measure to 0;
``business_necessity(keep=[...])`` removes every pathway except those kept
(e.g. ``keep=["spurious"]`` keeps only the spurious one). The targets and the
edge cuts come from :class:`faircausesyn.FairnessConstraint`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from faircausesyn import FairnessConstraint, hookimpl
from faircausesyn.interfaces import PATHWAYS, ComponentConfig


class Preserve(FairnessConstraint):
    """Keep every pathway: the synthetic data should match the real TV, DE, IE and SE."""

    def removed_pathways(self) -> frozenset[str]:
        return frozenset()


class _RemoveOne(FairnessConstraint):
    pathway: ClassVar[str] = ""

    def removed_pathways(self) -> frozenset[str]:
        return frozenset({self.pathway})


class RemoveDirect(_RemoveOne):
    """Remove the direct pathway X -> Y (ctf-DE = 0); keep the indirect and spurious ones."""

    pathway = "direct"


class RemoveIndirect(_RemoveOne):
    """Remove the indirect pathway X -> W -> Y (ctf-IE = 0); keep the direct and spurious ones."""

    pathway = "indirect"


class RemoveSpurious(_RemoveOne):
    """Remove the spurious pathway X <- Z -> Y (ctf-SE = 0): X independent of the confounders."""

    pathway = "spurious"


class BusinessNecessityConfig(ComponentConfig):
    """Pathways justified by business necessity; all others are removed."""

    keep: list[str] = []

    @field_validator("keep", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",") if s.strip()]
        bad = [p for p in v if p not in PATHWAYS]
        if bad:
            raise ValueError(f"unknown pathway(s) {bad}; choose from {list(PATHWAYS)}")
        return list(dict.fromkeys(v))


class BusinessNecessity(FairnessConstraint):
    """Remove every pathway except those in ``keep`` (the business-necessity set)."""

    Config = BusinessNecessityConfig

    def removed_pathways(self) -> frozenset[str]:
        return frozenset(PATHWAYS) - set(self.config.keep)


@hookimpl
def register_constraints(registry):
    registry.register("preserve", Preserve)
    registry.register("remove_direct", RemoveDirect)
    registry.register("remove_indirect", RemoveIndirect)
    registry.register("remove_spurious", RemoveSpurious)
    registry.register("business_necessity", BusinessNecessity)
