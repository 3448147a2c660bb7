"""Hook specifications of faircausesyn: the whole plugin API.

A plugin is a module (or object) with functions marked by
:data:`faircausesyn.hookimpl` whose names are the hooks below. Each hook
receives a :class:`~faircausesyn.registry.Registrar` for one kind of component
and calls ``registry.register(name, target, description=...)`` once per
component. ``target`` is a class (or factory), or a lazy ``"module:attribute"``
string that is imported only when the component is used, so that listing
plugins never imports torch, transformers, sdv or dowhy.

Plugins are found through the entry-point group ``faircausesyn``::

    [project.entry-points.faircausesyn]
    myplugin = "my_package.plugin"

The built-in plugins are registered exactly this way. pluggy lets an
implementation take fewer arguments than its spec, so hooks can grow new
arguments without breaking existing plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .registry import Registrar

PROJECT = "faircausesyn"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_generators(registry: Registrar) -> None:
    """Register synthetic-data generators (subclasses of :class:`~faircausesyn.interfaces.Generator`).

    Example::

        @hookimpl
        def register_generators(registry):
            registry.register("my_gan", "my_package.gan:MyGAN", description="a GAN of mine")
    """


@hookspec
def register_graph_providers(registry: Registrar) -> None:
    """Register causal-graph providers (subclasses of :class:`~faircausesyn.interfaces.GraphProvider`).

    Example::

        @hookimpl
        def register_graph_providers(registry):
            registry.register("expert", ExpertGraph, description="the graph our clinicians drew")
    """


@hookspec
def register_constraints(registry: Registrar) -> None:
    """Register fairness constraints (subclasses of :class:`~faircausesyn.interfaces.FairnessConstraint`).

    Example::

        @hookimpl
        def register_constraints(registry):
            registry.register("remove_direct_only_women", "my_package.fair:MyConstraint")
    """


@hookspec
def register_evaluators(registry: Registrar) -> None:
    """Register evaluators (subclasses of :class:`~faircausesyn.interfaces.Evaluator`).

    Example::

        @hookimpl
        def register_evaluators(registry):
            registry.register("calibration", "my_package.metrics:Calibration")
    """


@hookspec
def register_llm_backends(registry: Registrar) -> None:
    """Register language-model backends (subclasses of :class:`~faircausesyn.interfaces.LLMBackend`).

    Example::

        @hookimpl
        def register_llm_backends(registry):
            registry.register("my_server", "my_package.llm:MyServerBackend")
    """


@hookspec
def register_datasets(registry: Registrar) -> None:
    """Register datasets: a callable returning ``(DataFrame, CausalSpec)``, or a lazy path to one.

    Example::

        @hookimpl
        def register_datasets(registry):
            registry.register("my_cohort", "my_package.data:load_cohort", description="2,000 patients")
    """


#: Hook name -> component kind it registers.
HOOK_KINDS: dict[str, str] = {
    "register_generators": "generator",
    "register_graph_providers": "graph_provider",
    "register_constraints": "constraint",
    "register_evaluators": "evaluator",
    "register_llm_backends": "llm_backend",
    "register_datasets": "dataset",
}
