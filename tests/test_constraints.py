"""Every built-in fairness constraint passes the conformance kit and cuts the right edges."""

from __future__ import annotations

import pytest

import faircausesyn as fcs
from faircausesyn.errors import ConfigError
from faircausesyn.testing import parametrize_with_checks, toy_sfm

NAMES = ["preserve", "remove_direct", "remove_indirect", "remove_spurious"]
FACTORIES = {n: (lambda n=n: fcs.get_constraint(n)) for n in NAMES}
FACTORIES["business_necessity(keep=spurious)"] = lambda: fcs.get_constraint("business_necessity", keep=["spurious"])


@parametrize_with_checks("constraint", FACTORIES)
def test_constraint_conformance(check):
    check()


def test_every_registered_constraint_is_checked():
    assert set(fcs.PluginHost().registry("constraint").names()) == {*NAMES, "business_necessity"}


def test_cuts_realise_the_removed_pathways():
    _, spec = toy_sfm(10)
    graph = fcs.CausalGraph.sfm(spec)
    cuts = {n: fcs.get_constraint(n).interventions(graph, spec) for n in NAMES}
    assert cuts["preserve"] == []
    assert [(c.source, c.target, c.mode, c.value) for c in cuts["remove_direct"]] == [("sex", "event", "reference", "M")]
    assert {c.target for c in cuts["remove_indirect"]} == set(spec.mediators) and {c.value for c in cuts["remove_indirect"]} == {"F"}
    assert [(c.source, c.target, c.mode) for c in cuts["remove_spurious"]] == [("age", "sex", "independent")]
    bn = fcs.get_constraint("business_necessity", keep="spurious").interventions(graph, spec)
    assert {c.target for c in bn} == {"event", *spec.mediators}


def test_business_necessity_rejects_unknown_pathways():
    with pytest.raises(ConfigError, match="unknown pathway"):
        fcs.get_constraint("business_necessity", keep=["sideways"])
