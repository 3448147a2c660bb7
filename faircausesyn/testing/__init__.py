"""The conformance kit: checks that a third party runs on its own components.

Example (in a plugin's test suite)::

    from faircausesyn.testing import check_generator, parametrize_with_checks

    def test_my_generator_conforms():
        check_generator(lambda: MyGenerator(epochs=2))

    @parametrize_with_checks("generator", {"mine": lambda: MyGenerator(epochs=2)})
    def test_each_check(check):
        check()

``faircausesyn.testing.llm_server`` runs a local OpenAI-compatible endpoint
(with fault injection) backed by any LLM backend, to test clients offline.
"""

from .checks import (
    check_constraint,
    check_evaluator,
    check_generator,
    check_graph_provider,
    check_llm_backend,
    constraint_checks,
    evaluator_checks,
    generator_checks,
    graph_provider_checks,
    llm_backend_checks,
    parametrize_with_checks,
)
from .data import toy_sfm

__all__ = [
    "check_constraint",
    "check_evaluator",
    "check_generator",
    "check_graph_provider",
    "check_llm_backend",
    "constraint_checks",
    "evaluator_checks",
    "generator_checks",
    "graph_provider_checks",
    "llm_backend_checks",
    "parametrize_with_checks",
    "toy_sfm",
]
