"""faircausesyn: causally fair synthetic tabular health data.

The public Python API. Every lookup builds a fresh :class:`PluginHost`, so
plugins installed (or blocked through ``FAIRCAUSESYN_PLUGINS``) since the last
call are seen; create a ``PluginHost`` yourself to add in-process plugins.
Importing this package is light: torch, transformers, sdv and dowhy are only
imported by the plugins that need them, when they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FairCauseSynError
from .graph import CausalGraph
from .hookspecs import hookimpl
from .interfaces import (
    EdgeCut,
    Evaluator,
    FairnessConstraint,
    Generator,
    GraphProvider,
    LLMBackend,
    Metric,
)
from .plugins import PluginHost, PluginInfo
from .spec import CausalSpec

if TYPE_CHECKING:
    import pandas as pd

__version__ = "0.1.0"

__all__ = [
    "CausalGraph",
    "CausalSpec",
    "EdgeCut",
    "Evaluator",
    "FairCauseSynError",
    "FairnessConstraint",
    "Generator",
    "GraphProvider",
    "LLMBackend",
    "Metric",
    "Pipeline",
    "PluginHost",
    "PluginInfo",
    "decompose",
    "get_constraint",
    "get_evaluator",
    "get_generator",
    "get_graph_provider",
    "get_llm_backend",
    "hookimpl",
    "list_datasets",
    "list_plugins",
    "load_dataset",
]


def get_generator(name: str, **config: Any) -> Generator:
    """A generator by registered name, configured with ``config``."""
    return PluginHost().create("generator", name, **config)


def get_evaluator(name: str, **config: Any) -> Evaluator:
    """An evaluator by registered name."""
    return PluginHost().create("evaluator", name, **config)


def get_constraint(name: str, **config: Any) -> FairnessConstraint:
    """A fairness constraint by registered name (e.g. ``remove_direct``)."""
    return PluginHost().create("constraint", name, **config)


def get_graph_provider(name: str, **config: Any) -> GraphProvider:
    """A causal-graph provider by registered name (e.g. ``sfm``)."""
    return PluginHost().create("graph_provider", name, **config)


def get_llm_backend(name: str, **config: Any) -> LLMBackend:
    """An LLM backend by registered name (e.g. ``tabular_lm``)."""
    return PluginHost().create("llm_backend", name, **config)


def load_dataset(name: str) -> tuple[pd.DataFrame, CausalSpec]:
    """A registered dataset and its spec, e.g. ``load_dataset("heart_failure")``."""
    return PluginHost().load_dataset(name)


def list_datasets() -> list[str]:
    """Names of the registered datasets."""
    return PluginHost().registry("dataset").names()


def list_plugins() -> list[PluginInfo]:
    """Every plugin found, with its status and components (failed ones included)."""
    return PluginHost().plugins


def __getattr__(name: str) -> Any:
    # Heavier parts of the core are imported on first use.
    if name == "decompose":
        from .fairness import decompose

        return decompose
    if name == "Pipeline":
        from .pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'faircausesyn' has no attribute {name!r}")
