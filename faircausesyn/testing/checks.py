"""Conformance checks: the contract of each component kind, as checks a plugin author runs.

In the spirit of scikit-learn's ``parametrize_with_checks``: each ``*_checks``
function yields ``(check_name, callable)`` pairs; :func:`parametrize_with_checks`
turns a list of component factories into a pytest parametrisation, and the
``check_*`` functions run every check at once and raise ``AssertionError``
naming the check that failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any


import pandas as pd

from ..errors import ConfigError, FairCauseSynError, NotFittedError, UnsupportedConstraintError
from ..graph import CausalGraph
from ..interfaces import PATHWAYS, Completion, Evaluator, FairnessConstraint, Generator, GraphProvider, LLMBackend
from ..spec import CausalSpec
from .data import toy_sfm

Check = tuple[str, Callable[[], None]]


# ------------------------------------------------------------------ generators
def generator_checks(
    make: Callable[[], Generator], data: pd.DataFrame | None = None, spec: CausalSpec | None = None, *, n: int = 64
) -> Iterator[Check]:
    """The checks every generator must pass. ``make()`` returns a fresh, configured, unfitted generator."""
    if data is None or spec is None:
        data, spec = toy_sfm(300, seed=0)
    data = data.copy()

    def not_fitted_error() -> None:
        g = make()
        try:
            g.sample(5)
        except NotFittedError:
            return
        raise AssertionError("sample() before fit() must raise NotFittedError")

    def does_not_mutate_input() -> None:
        before = data.copy(deep=True)
        make().fit(data, spec)
        pd.testing.assert_frame_equal(data, before, obj="input after fit")

    def columns_and_dtypes() -> None:
        g = make().fit(data, spec)
        out = g.sample(n)
        fitted = [c for c in data.columns if c in set(spec.columns)]
        assert list(out.columns) == fitted, f"columns {list(out.columns)} != fitted {fitted}"
        assert len(out) == n, f"{len(out)} rows != {n}"
        for c in fitted:
            want = str(g.schema_[c].dtype)
            assert str(out[c].dtype) == want or (want.startswith("int") and str(out[c].dtype) == "float64"), f"column {c}: dtype {out[c].dtype} != {want}"
            col = g.schema_[c]
            if col.is_discrete:
                extra = set(out[c].dropna().tolist()) - set(col.categories or [])
                assert not extra, f"column {c}: values {extra} are not fitted categories"

    def reproducible_under_seed() -> None:
        g = make().fit(data, spec)
        a, b = g.sample(n, seed=123), g.sample(n, seed=123)
        pd.testing.assert_frame_equal(a, b, obj="two samples with the same seed")
        g2 = make().fit(data, spec)
        pd.testing.assert_frame_equal(a, g2.sample(n, seed=123), obj="samples of two fits with the same seed")

    def rejects_bad_row_count() -> None:
        g = make().fit(data, spec)
        for bad in (0, -3):
            try:
                g.sample(bad)
            except ConfigError:
                continue
            raise AssertionError(f"sample({bad}) must raise ConfigError")

    def unsupported_constraint_is_an_error() -> None:
        from ..plugins import PluginHost

        g = make()
        missing = [p for p in PATHWAYS if p not in g.removable_pathways]
        if not missing:
            return
        host = PluginHost()
        name = {"direct": "remove_direct", "indirect": "remove_indirect", "spurious": "remove_spurious"}[missing[0]]
        try:
            g.fit(data, spec, constraint=host.create("constraint", name))
        except UnsupportedConstraintError:
            return
        raise AssertionError(f"fit with constraint {name!r}, which the generator cannot realise, must raise UnsupportedConstraintError")

    for f in (not_fitted_error, does_not_mutate_input, columns_and_dtypes, reproducible_under_seed, rejects_bad_row_count, unsupported_constraint_is_an_error):
        yield f.__name__, f


# -------------------------------------------------------------- graph providers
def graph_provider_checks(make: Callable[[], GraphProvider], data: pd.DataFrame | None = None, spec: CausalSpec | None = None) -> Iterator[Check]:
    """The checks every graph provider must pass."""
    if data is None or spec is None:
        data, spec = toy_sfm(300, seed=0)

    def acyclic_over_columns() -> None:
        g = make().provide(data, spec)
        assert isinstance(g, CausalGraph), f"provide() returned {type(g).__name__}, not CausalGraph"
        assert g.is_acyclic(), "graph has a cycle"
        cols = {c for c in data.columns if c in set(spec.columns)}
        assert set(g.nodes) == cols, f"nodes {sorted(g.nodes)} != columns {sorted(cols)}"
        assert not g.problems(spec, columns=sorted(cols)), g.problems(spec, columns=sorted(cols))

    def does_not_mutate_input() -> None:
        before = data.copy(deep=True)
        make().provide(data, spec)
        pd.testing.assert_frame_equal(data, before)

    for f in (acyclic_over_columns, does_not_mutate_input):
        yield f.__name__, f


# ------------------------------------------------------------------ evaluators
def evaluator_checks(
    make: Callable[[], Evaluator], data: pd.DataFrame | None = None, spec: CausalSpec | None = None, *, tolerance: float = 0.1
) -> Iterator[Check]:
    """The checks every evaluator must pass: finite values, and (near) its ideal on real vs real."""
    if data is None or spec is None:
        data, spec = toy_sfm(600, seed=0)
    half = len(data) // 2
    train, holdout = data.iloc[:half].reset_index(drop=True), data.iloc[half:].reset_index(drop=True)

    def finite_values() -> None:
        other, _ = toy_sfm(half, seed=99)
        metrics = make().evaluate(train, other, spec, holdout=holdout)
        assert metrics, "no metrics returned"
        for m in metrics:
            assert isinstance(m.value, int | float) and math.isfinite(m.value), f"metric {m.name} = {m.value!r} is not finite"

    def ideal_on_real_vs_real() -> None:
        metrics = make().evaluate(train, train.copy(), spec, holdout=holdout)
        for m in metrics:
            if m.ideal is None:
                continue
            assert abs(m.value - m.ideal) <= tolerance * max(1.0, abs(m.ideal)), f"metric {m.name} = {m.value:.4g} on real vs real, ideal {m.ideal}"

    for f in (finite_values, ideal_on_real_vs_real):
        yield f.__name__, f


# ----------------------------------------------------------------- constraints
def constraint_checks(make: Callable[[], FairnessConstraint], spec: CausalSpec | None = None) -> Iterator[Check]:
    """The checks every fairness constraint must pass: consistent targets and cuts."""
    if spec is None:
        _, spec = toy_sfm(10, seed=0)
    graph = CausalGraph.sfm(spec)
    real = {"TV": 0.1, "DE": 0.05, "IE": -0.02, "SE": -0.03, "ETT": 0.07}

    def targets_obey_identities() -> None:
        t = make().targets(real)
        assert set(t) == {"TV", "DE", "IE", "SE", "ETT"}
        assert abs(t["TV"] - (t["DE"] - t["IE"] - t["SE"])) < 1e-12
        assert abs(t["ETT"] - (t["DE"] - t["IE"])) < 1e-12
        c = make()
        for p, m in (("direct", "DE"), ("indirect", "IE"), ("spurious", "SE")):
            if p in c.removed_pathways():
                assert t[m] == 0.0, f"{m} target must be 0 when the {p} pathway is removed"
            else:
                assert t[m] == real[m], f"{m} target must equal the real value when kept"

    def cuts_are_graph_edges() -> None:
        for cut in make().interventions(graph, spec):
            assert graph.has_edge(cut.source, cut.target), f"cut {cut} is not an edge of the graph"

    for f in (targets_obey_identities, cuts_are_graph_edges):
        yield f.__name__, f


# ---------------------------------------------------------------- LLM backends
def llm_backend_checks(make: Callable[[], LLMBackend], *, prompt: str = "age=61, sex=", max_tokens: int = 8) -> Iterator[Check]:
    """The checks every LLM backend must pass: one completion per prompt, reproducible under a seed."""

    def one_completion_per_prompt() -> None:
        b = make()
        out = b.complete([prompt, prompt + "1"], max_tokens=max_tokens)
        assert len(out) == 2 and all(isinstance(c, Completion) and isinstance(c.text, str) for c in out)

    def chat_answers() -> None:
        b = make()
        out = b.chat([[{"role": "user", "content": "Write one number."}]], max_tokens=max_tokens)
        assert len(out) == 1 and isinstance(out[0].text, str)

    def reproducible_under_seed() -> None:
        b = make()
        a = [c.text for c in b.complete([prompt], max_tokens=max_tokens, seed=7, temperature=1.0)]
        c2 = [c.text for c in b.complete([prompt], max_tokens=max_tokens, seed=7, temperature=1.0)]
        assert a == c2, f"same seed gave {a!r} and {c2!r}"

    def unknown_setting_is_an_error() -> None:
        try:
            make().complete([prompt], no_such_setting=1)
        except FairCauseSynError:
            return
        raise AssertionError("an unknown sampling setting must raise ConfigError")

    for f in (one_completion_per_prompt, chat_answers, reproducible_under_seed, unknown_setting_is_an_error):
        yield f.__name__, f


# -------------------------------------------------------------------- runners
def _run(checks: Iterator[Check], what: str) -> None:
    failures = []
    for name, f in checks:
        try:
            f()
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(f"{what} fails {len(failures)} conformance check(s): " + " | ".join(failures))


def check_generator(make: Callable[[], Generator], data: pd.DataFrame | None = None, spec: CausalSpec | None = None, **kw: Any) -> None:
    """Run every generator check; raise AssertionError listing the failures."""
    _run(generator_checks(make, data, spec, **kw), "generator")


def check_graph_provider(make: Callable[[], GraphProvider], data: pd.DataFrame | None = None, spec: CausalSpec | None = None) -> None:
    """Run every graph-provider check."""
    _run(graph_provider_checks(make, data, spec), "graph provider")


def check_evaluator(make: Callable[[], Evaluator], data: pd.DataFrame | None = None, spec: CausalSpec | None = None, **kw: Any) -> None:
    """Run every evaluator check."""
    _run(evaluator_checks(make, data, spec, **kw), "evaluator")


def check_constraint(make: Callable[[], FairnessConstraint], spec: CausalSpec | None = None) -> None:
    """Run every constraint check."""
    _run(constraint_checks(make, spec), "constraint")


def check_llm_backend(make: Callable[[], LLMBackend], **kw: Any) -> None:
    """Run every LLM-backend check."""
    _run(llm_backend_checks(make, **kw), "LLM backend")


_KIND_CHECKS = {
    "generator": generator_checks,
    "graph_provider": graph_provider_checks,
    "evaluator": evaluator_checks,
    "constraint": constraint_checks,
    "llm_backend": llm_backend_checks,
}


def parametrize_with_checks(kind: str, factories: dict[str, Callable[[], Any]], **kw: Any):
    """A ``pytest.mark.parametrize`` over (component, check) pairs: ``def test(check): check()``."""
    import pytest

    params = []
    for label, make in factories.items():
        for name, f in _KIND_CHECKS[kind](make, **kw):
            params.append(pytest.param(f, id=f"{label}-{name}"))
    return pytest.mark.parametrize("check", params)


