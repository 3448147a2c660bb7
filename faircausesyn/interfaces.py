"""Base classes of the components that plugins provide.

Each component has a pydantic ``Config`` that forbids unknown keys; ``__init__``
only validates and stores the configuration, learned state ends in ``_``.
Public methods (``fit``, ``sample``, ``provide``, ``evaluate``, ...) check their
input and wrap the private ones (``_fit``, ``_sample``, ...) that a plugin
implements, so every plugin gets the same validation and error messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import (
    ConfigError,
    DataError,
    NotFittedError,
    UnsupportedConstraintError,
    pydantic_problems,
)
from .spec import CausalSpec

if TYPE_CHECKING:
    from .fairness import Decomposition
    from .graph import CausalGraph
    from .schema import TableSchema

Pathway = Literal["direct", "indirect", "spurious"]
PATHWAYS: tuple[Pathway, ...] = ("direct", "indirect", "spurious")
#: The measure that quantifies each pathway.
PATHWAY_MEASURE: dict[str, str] = {"direct": "DE", "indirect": "IE", "spurious": "SE"}
MEASURES: tuple[str, ...] = ("TV", "DE", "IE", "SE", "ETT")


# ---------------------------------------------------------------------- config
class ComponentConfig(BaseModel):
    """Base of every component configuration: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Component:
    """Something a plugin registers: holds a validated configuration."""

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def __init__(self, config: ComponentConfig | Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        values: dict[str, Any] = {}
        if isinstance(config, BaseModel):
            values.update(config.model_dump())
        elif config is not None:
            values.update(dict(config))
        values.update(kwargs)
        try:
            self.config = self.Config(**values)
        except ValidationError as exc:
            keys = ", ".join(self.Config.model_fields) or "(none)"
            raise ConfigError(
                f"invalid configuration of {type(self).__name__}: " + "; ".join(pydantic_problems(exc)),
                hint=f"valid keys: {keys}",
            ) from None

    def get_params(self) -> dict[str, Any]:
        """The configuration as a plain dict."""
        return self.config.model_dump()

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


# ------------------------------------------------------------------ constraints
@dataclass(frozen=True)
class EdgeCut:
    """An intervention on one edge of the graph, applied when ``target`` is generated.

    ``mode="reference"``: ``target`` is generated with its parent ``source`` set to
    ``value`` (e.g. Y generated as if X were x0, while W keeps the row's X).
    ``mode="independent"``: ``target`` is generated with ``source`` replaced by an
    independent draw from its marginal (e.g. X generated independently of Z).
    """

    source: str
    target: str
    mode: Literal["reference", "independent"]
    value: Any = None


class FairnessConstraint(Component):
    """Which causal pathways from X to Y the synthetic data keeps and which it removes.

    A constraint yields targets for the measures (:meth:`targets`: the real value,
    or 0 for a removed pathway) and the graph interventions that realise it for
    structural generators (:meth:`interventions`).
    """

    def removed_pathways(self) -> frozenset[str]:
        """The pathways (``direct``, ``indirect``, ``spurious``) this constraint removes."""
        raise NotImplementedError

    def targets(self, real: Decomposition | Mapping[str, float]) -> dict[str, float]:
        """Target values of TV, DE, IE, SE and ETT given the real data's measures."""
        get = (lambda m: float(real[m].estimate)) if not isinstance(real, Mapping) else (lambda m: float(real[m]))
        removed = self.removed_pathways()
        t = {PATHWAY_MEASURE[p]: (0.0 if p in removed else get(PATHWAY_MEASURE[p])) for p in PATHWAYS}
        t["TV"] = t["DE"] - t["IE"] - t["SE"]
        t["ETT"] = t["DE"] - t["IE"]
        return {m: t[m] for m in MEASURES}

    def interventions(self, graph: CausalGraph, spec: CausalSpec) -> list[EdgeCut]:
        """The edge cuts that remove this constraint's pathways from ``graph``.

        Direct: Y is generated with X held at one level for every row, while W keeps
        the row's X. The level is x1: the x-specific ctf-IE and ctf-SE are both
        defined through Y's mechanism at x1 (E[Y_{x1, W_{x0}} | x0], E[Y_{x1} | x]),
        so holding it at x1 makes ctf-DE exactly 0 and leaves ctf-IE and ctf-SE as
        they were. Indirect: every mediator child of X is generated with X at x0,
        which leaves ctf-DE (defined at W_{x0}) unchanged. Spurious: X is generated
        from an independent draw of each confounder parent.
        """
        cuts: list[EdgeCut] = []
        x, removed = spec.sensitive, self.removed_pathways()
        if "direct" in removed and graph.has_edge(x, spec.outcome):
            cuts.append(EdgeCut(x, spec.outcome, "reference", spec.x1))
        if "indirect" in removed:
            cuts += [EdgeCut(x, c, "reference", spec.x0) for c in graph.children(x) if c in spec.mediators]
        if "spurious" in removed:
            cuts += [EdgeCut(p, x, "independent") for p in graph.parents(x)]
        return cuts

    def describe(self) -> str:
        """A one-line human description."""
        removed = sorted(self.removed_pathways())
        return "keep every pathway" if not removed else "remove the " + " and ".join(removed) + " pathway" + ("s" if len(removed) > 1 else "")


# ------------------------------------------------------------------ generators
class GeneratorConfig(ComponentConfig):
    """Settings every generator has."""

    seed: int = 0


@dataclass
class FitContext:
    """Everything a generator's ``_fit`` may use besides the data."""

    spec: CausalSpec
    schema: TableSchema
    graph: CausalGraph
    constraint: FairnessConstraint | None
    interventions: list[EdgeCut]
    seed: int
    progress: bool = False
    report: dict[str, Any] = field(default_factory=dict)


class Generator(Component):
    """A synthetic-data generator.

    Subclasses implement ``_fit(data, ctx)`` and ``_sample(n, seed)``, and declare
    which pathways they can remove (``removable_pathways``) and whether they
    model missing values (``handles_missing``; otherwise rows with missing values
    are dropped before ``_fit`` and counted in ``fit_report_``).
    """

    Config: ClassVar[type[ComponentConfig]] = GeneratorConfig
    #: Pathways this generator can remove when given a constraint.
    removable_pathways: ClassVar[frozenset[str]] = frozenset()
    #: Whether ``_fit`` accepts missing values.
    handles_missing: ClassVar[bool] = False

    # -- public API
    def fit(
        self,
        data: pd.DataFrame,
        spec: CausalSpec,
        graph: CausalGraph | None = None,
        constraint: FairnessConstraint | str | None = None,
        *,
        progress: bool = False,
    ) -> Generator:
        """Learn from ``data`` (its ``spec`` columns), optionally realising a fairness ``constraint``."""
        from .graph import CausalGraph
        from .schema import infer_schema

        if not isinstance(data, pd.DataFrame):
            raise DataError(f"fit expects a pandas DataFrame, got {type(data).__name__}")
        spec.validate(data)
        if isinstance(constraint, str):
            from .plugins import PluginHost

            constraint = PluginHost().create("constraint", constraint)
        removed = constraint.removed_pathways() if constraint is not None else frozenset()
        unsupported = sorted(set(removed) - set(self.removable_pathways))
        if unsupported:
            can = ", ".join(sorted(self.removable_pathways)) or "none"
            raise UnsupportedConstraintError(
                f"generator {type(self).__name__} cannot remove the {' and '.join(unsupported)} pathway "
                f"(it can remove: {can})",
                hint="choose a structural generator such as decaf, dowhy_scm or faircausesyn, or the 'preserve' constraint",
            )
        columns = [c for c in data.columns if c in set(spec.columns)]
        frame = data[columns]
        report: dict[str, Any] = {"rows_in": int(len(frame))}
        if not self.handles_missing:
            keep = frame.notna().all(axis=1)
            report["rows_dropped_missing"] = int((~keep).sum())
            frame = frame[keep]
        frame = frame.reset_index(drop=True)
        if len(frame) < 2:
            raise DataError(f"only {len(frame)} complete row(s) to fit on", hint="give the generator more rows")
        schema = infer_schema(frame, overrides=spec.column_types)
        graph = graph if graph is not None else CausalGraph.sfm(spec, columns=columns)
        graph.validate(spec, columns=columns)
        cuts = constraint.interventions(graph, spec) if constraint is not None else []
        seed = int(getattr(self.config, "seed", 0))
        ctx = FitContext(spec=spec, schema=schema, graph=graph, constraint=constraint, interventions=cuts, seed=seed, progress=progress, report=report)
        self._fit(frame, ctx)
        from .privacy import row_hashes

        self._train_hashes_ = row_hashes(schema.conform(data[columns].dropna() if not self.handles_missing else data[columns]))
        self.spec_, self.schema_, self.graph_, self.constraint_, self.fit_report_ = spec, schema, graph, constraint, report
        self.columns_ = columns
        return self

    def sample(self, n: int, seed: int | None = None, *, no_copies: bool = False) -> pd.DataFrame:
        """Draw ``n`` rows with the fitted columns and dtypes; the same seed gives the same table.

        ``sample_report_`` then holds ``exact_copies``: how many rows equal a real
        training row. With ``no_copies=True`` such rows are replaced by fresh draws
        (up to 10 extra rounds), so the table holds no copy of a real row.
        """
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet", hint="call fit(data, spec) before sample(n)")
        if isinstance(n, bool) or not isinstance(n, int | float) or int(n) != n or n <= 0:
            raise ConfigError(f"the number of rows must be a positive integer, got {n!r}", hint="e.g. --rows 1000")
        from .privacy import copy_mask

        n = int(n)
        seed = int(getattr(self.config, "seed", 0)) if seed is None else int(seed)
        out = self.schema_.conform(self._sample(n, seed), n=n)
        copies = copy_mask(out, self._train_hashes_)
        report = {"rows": n, "exact_copies": int(copies.sum()), "copies_replaced": 0}
        rounds = 0
        while no_copies and copies.any() and rounds < 10:
            rounds += 1
            k = int(copies.sum())
            fresh = self.schema_.conform(self._sample(max(k * 2, 16), seed + 7919 * rounds), n=None)
            fresh = fresh[~copy_mask(fresh, self._train_hashes_)].head(k)
            idx = out.index[copies][: len(fresh)]
            out.loc[idx] = fresh.to_numpy()
            report["copies_replaced"] += len(idx)
            out = self.schema_.conform(out, n=n)
            copies = copy_mask(out, self._train_hashes_)
        if no_copies and copies.any():
            out = out[~copies].reset_index(drop=True)
        report["exact_copies_left"] = int(copy_mask(out, self._train_hashes_).sum())
        self.sample_report_ = report
        return out

    @property
    def is_fitted(self) -> bool:
        """True after a successful ``fit``."""
        return hasattr(self, "schema_")

    # -- for subclasses
    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        raise NotImplementedError

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        raise NotImplementedError


# ------------------------------------------------------------- graph providers
class GraphProvider(Component):
    """Proposes a causal graph (a DAG over the columns) for a table and its roles."""

    def provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        """A DAG over ``spec``'s columns present in ``data``, checked against the roles."""
        spec.validate(data)
        graph = self._provide(data, spec)
        graph.validate(spec, columns=[c for c in data.columns if c in set(spec.columns)])
        return graph

    def _provide(self, data: pd.DataFrame, spec: CausalSpec) -> CausalGraph:
        raise NotImplementedError


# ------------------------------------------------------------------ evaluators
@dataclass
class Metric:
    """One named number an evaluator reports.

    ``ideal`` is the value a perfect synthetic table would get (a real table
    evaluated against itself should come close to it); ``goal`` says whether
    lower (``min``), higher (``max``) or closeness to ``ideal`` (``target``) is
    better; ``details`` holds anything else worth keeping (intervals, counts).
    """

    name: str
    value: float
    ideal: float | None = None
    goal: Literal["min", "max", "target"] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite values become None)."""
        v = self.value if self.value is not None and math.isfinite(self.value) else None
        return {"name": self.name, "value": v, "ideal": self.ideal, "goal": self.goal, "details": self.details}


class Evaluator(Component):
    """Compares a synthetic table with the real one; returns named metrics."""

    #: True when the evaluator needs a real holdout table (utility, predictor bias, privacy).
    needs_holdout: ClassVar[bool] = False

    def evaluate(
        self,
        real: pd.DataFrame,
        synthetic: pd.DataFrame,
        spec: CausalSpec,
        graph: CausalGraph | None = None,
        *,
        holdout: pd.DataFrame | None = None,
    ) -> list[Metric]:
        """Metrics of ``synthetic`` against ``real`` (the data the generator saw) and an optional real ``holdout``."""
        spec.validate(real)
        missing = [c for c in spec.analysed if c not in synthetic.columns]
        if missing:
            raise DataError(
                f"the synthetic table lacks the column(s) {', '.join(map(repr, missing))} of the spec",
                hint="evaluate a table generated for this spec",
            )
        if holdout is not None:
            spec.validate(holdout)
        return self._evaluate(real, synthetic, spec, graph, holdout)

    def _evaluate(
        self,
        real: pd.DataFrame,
        synthetic: pd.DataFrame,
        spec: CausalSpec,
        graph: CausalGraph | None,
        holdout: pd.DataFrame | None,
    ) -> list[Metric]:
        raise NotImplementedError


# ---------------------------------------------------------------- LLM backends
class Message(TypedDict):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class Completion:
    """One generated text with its token accounting."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


class LLMBackendConfig(ComponentConfig):
    """Sampling settings every LLM backend has."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    seed: int = 0
    batch_size: int = 8
    stop: list[str] | None = None


class LLMBackend(Component):
    """A language model: prompts or chat conversations in, texts out.

    ``trainable`` backends (a tabular LM trained on serialised rows) also
    implement ``train(texts)``; ``chat`` falls back to a flat prompt for models
    without a chat template.
    """

    Config: ClassVar[type[ComponentConfig]] = LLMBackendConfig
    trainable: ClassVar[bool] = False

    def complete(self, prompts: Sequence[str], **overrides: Any) -> list[Completion]:
        """Continue each prompt; ``overrides`` replace sampling settings for this call."""
        return self._complete(list(prompts), self._params(overrides))

    def chat(self, conversations: Sequence[Sequence[Message]], **overrides: Any) -> list[Completion]:
        """Answer each conversation (a list of messages)."""
        return self._chat([list(c) for c in conversations], self._params(overrides))

    def train(self, texts: Sequence[str], **kwargs: Any) -> None:
        """Train on a corpus of texts (only for ``trainable`` backends)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be trained")

    def _params(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        base = self.config.model_dump()
        unknown = set(overrides) - set(base)
        if unknown:
            raise ConfigError(f"unknown sampling setting(s): {', '.join(sorted(unknown))}", hint=f"valid: {', '.join(base)}")
        base.update(overrides)
        return base

    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        raise NotImplementedError

    def _chat(self, conversations: list[list[Message]], params: dict[str, Any]) -> list[Completion]:
        flat = ["\n".join(f"{m['role']}: {m['content']}" for m in conv) + "\nassistant:" for conv in conversations]
        return self._complete(flat, params)
