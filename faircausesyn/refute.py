"""Refutation of a causal graph against data: which implied conditional independences fail.

A DAG implies the local Markov condition: every node is independent of its
non-descendants given its parents. :func:`refute` tests each such implication
with DoWhy (``dowhy.gcm.falsify.validate_lmc`` runs the tests) and returns a
table of the implications with their p-values, the violated ones flagged.
:func:`falsify` runs DoWhy's node-permutation test (``falsify_graph``), which
asks whether the graph explains the data better than graphs with the node
labels shuffled.

Tests (``test=``):

``partial_correlation`` (default)
    Fisher-z test of the partial correlation of the normal scores (ranks mapped
    to normal quantiles, categories as ordinal codes): milliseconds per test,
    suits monotone relations of mixed data; misses non-monotone dependence.
``approx_kernel``
    DoWhy's approximate kernel test (random Fourier features, one run without
    bootstrap): nonparametric, a fraction of a second to a second per test on
    300 rows.
``kernel``
    DoWhy's exact kernel (KCI) test: nonparametric, several seconds per
    conditional test on 300 rows; use ``max_tests`` and ``max_rows``.

With many tests some fail by chance; ``correction="holm"`` (default) adjusts
the p-values (Holm-Bonferroni) before flagging violations.
DoWhy is imported only when these functions run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError, GraphError
from .graph import CausalGraph
from .spec import CausalSpec

TestName = Literal["partial_correlation", "approx_kernel", "kernel"]


@dataclass
class RefutationResult:
    """The implications tested, their p-values, and which the data violate.

    ``tests`` has one row per implication ``node _||_ non_descendant | given``
    with columns ``node``, ``non_descendant``, ``given`` (comma-separated
    parents), ``p_value``, ``p_adjusted`` and ``violated``. DoWhy reuses a
    p-value for implications that are the same test (e.g. two root nodes
    tested both ways), so ``details["tests_run"]`` may be below ``n_tests``.
    """

    tests: pd.DataFrame
    alpha: float
    test: str
    correction: str
    rows: int
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def violations(self) -> pd.DataFrame:
        """Only the violated implications, smallest p-value first."""
        v = self.tests[self.tests["violated"]]
        return v.sort_values("p_adjusted", kind="stable").reset_index(drop=True)

    @property
    def n_tests(self) -> int:
        """How many implications were tested."""
        return int(len(self.tests))

    @property
    def n_violations(self) -> int:
        """How many implications the data violate."""
        return int(self.tests["violated"].sum())

    def summary(self) -> str:
        """One line for people."""
        extra = f", {self.skipped} not tested (max_tests)" if self.skipped else ""
        return (
            f"{self.n_violations} of {self.n_tests} implied conditional independences violated "
            f"({self.test} test, alpha={self.alpha}, {self.correction} correction, {self.rows} rows{extra})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the summary numbers and every tested implication."""
        rows = self.tests.replace({np.nan: None}).to_dict(orient="records")
        return {
            "summary": self.summary(),
            "n_tests": self.n_tests,
            "n_violations": self.n_violations,
            "skipped": self.skipped,
            "alpha": self.alpha,
            "test": self.test,
            "correction": self.correction,
            "rows": self.rows,
            "tests_run": self.details.get("tests_run"),
            "tests": rows,
        }


# --------------------------------------------------------------------- tests
def partial_correlation_test(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> float:
    """p-value of the Fisher-z test of corr(x, y | z) = 0 (linear residuals on ``z``)."""
    from scipy.stats import norm

    x = np.asarray(x, dtype=float).reshape(len(x), -1)[:, 0]
    y = np.asarray(y, dtype=float).reshape(len(y), -1)[:, 0]
    n = len(x)
    k = 0
    if z is not None and np.size(z):
        zz = np.asarray(z, dtype=float).reshape(n, -1)
        k = zz.shape[1]
        design = np.column_stack([np.ones(n), zz])
        beta_x, *_ = np.linalg.lstsq(design, x, rcond=None)
        beta_y, *_ = np.linalg.lstsq(design, y, rcond=None)
        x, y = x - design @ beta_x, y - design @ beta_y
    sx, sy = x.std(), y.std()
    if n - k - 3 <= 0 or sx < 1e-12 or sy < 1e-12:
        return 1.0
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -0.999999, 0.999999))
    stat = math.sqrt(n - k - 3) * 0.5 * math.log((1 + r) / (1 - r))
    return float(2 * norm.sf(abs(stat)))


def _test_functions(test: str) -> tuple[Callable[..., float], Callable[..., float]]:
    if test == "partial_correlation":
        return (lambda a, b: partial_correlation_test(a, b)), partial_correlation_test
    if test == "approx_kernel":
        from functools import partial

        from dowhy.gcm.independence_test import approx_kernel_based

        fast = partial(approx_kernel_based, use_bootstrap=False)
        return fast, fast
    if test == "kernel":
        from dowhy.gcm.independence_test import kernel_based

        return kernel_based, kernel_based
    raise ConfigError(f"unknown independence test {test!r}", hint="choose partial_correlation, approx_kernel or kernel")


def _encode(data: pd.DataFrame, columns: list[str], normal_scores: bool) -> pd.DataFrame:
    from scipy.stats import norm, rankdata

    out = {}
    for c in columns:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            v = s.astype(float).to_numpy()
        else:
            v = pd.Categorical(s.astype(str)).codes.astype(float)
        if normal_scores:
            v = norm.ppf(rankdata(v) / (len(v) + 1))
        out[c] = v
    return pd.DataFrame(out)


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def _prepare(graph: CausalGraph, data: pd.DataFrame, max_rows: int | None, seed: int) -> tuple[list[str], pd.DataFrame]:
    if not graph.is_acyclic():
        raise GraphError([f"the graph has a cycle: {' -> '.join(graph.find_cycle() or [])}"], hint="only a DAG can be refuted")
    missing = [n for n in graph.nodes if n not in data.columns]
    if missing:
        raise DataError(f"the graph's node(s) {', '.join(map(repr, missing))} are not columns of the table", hint="refute the graph against the table it was built for")
    nodes = graph.nodes
    frame = data[nodes].dropna()
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed)
    if len(frame) < 10:
        raise DataError(f"only {len(frame)} complete rows to test the graph on", hint="give more rows")
    return nodes, frame.reset_index(drop=True)


# ------------------------------------------------------------------ refute
def refute(
    graph: CausalGraph,
    data: pd.DataFrame,
    spec: CausalSpec | None = None,
    *,
    test: TestName = "partial_correlation",
    alpha: float = 0.05,
    correction: Literal["holm", "none"] = "holm",
    max_tests: int = 200,
    max_rows: int | None = 2000,
    seed: int = 0,
) -> RefutationResult:
    """Test the local Markov condition of ``graph`` on ``data`` with DoWhy; return the table of implications.

    Every node is tested for independence of each non-descendant (other than
    its parents) given its parents, at most ``max_tests`` implications (in the
    graph's topological order; the rest are counted as skipped), on at most
    ``max_rows`` rows (a seeded sample). ``spec``, if given, restricts the test
    to the graph's nodes that are columns of the spec.
    """
    from dowhy.gcm.falsify import FalsifyConst, validate_lmc

    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    if correction not in ("holm", "none"):
        raise ConfigError(f"unknown correction {correction!r}", hint="choose holm or none")
    if spec is not None:
        keep = [n for n in graph.nodes if n in set(spec.columns)]
        graph = CausalGraph(keep, [(a, b) for a, b in graph.edges if a in keep and b in keep])
    nodes, frame = _prepare(graph, data, max_rows, seed)
    encoded = _encode(frame, nodes, normal_scores=test == "partial_correlation")
    uncond, cond = _test_functions(test)
    budget = {"left": int(max_tests), "skipped": 0}

    def limited(f: Callable[..., float]) -> Callable[..., float | None]:
        def run(*args: Any) -> float | None:
            if budget["left"] <= 0:
                budget["skipped"] += 1
                return None
            budget["left"] -= 1
            return float(f(*args))

        return run

    np.random.seed(seed)
    dag = graph.to_networkx()
    ordered = CausalGraph(graph.topological_order(), graph.edges).to_networkx()
    ordered.add_edges_from(dag.edges)
    result = validate_lmc(
        ordered, encoded, independence_test=limited(uncond), conditional_independence_test=limited(cond),
        significance_level=alpha, include_unconditional=True, n_jobs=1,
    )
    rows = []
    for (node, other), (p, _) in result[FalsifyConst.P_VALUES].items():
        rows.append({"node": node, "non_descendant": other, "given": ", ".join(graph.parents(node)), "p_value": float(p)})
    tests = pd.DataFrame(rows, columns=["node", "non_descendant", "given", "p_value"])
    p = tests["p_value"].to_numpy(dtype=float)
    tests["p_adjusted"] = _holm(p) if correction == "holm" else p
    tests["violated"] = tests["p_adjusted"] <= alpha
    run = int(max_tests) - budget["left"]
    return RefutationResult(
        tests=tests, alpha=alpha, test=test, correction=correction, rows=len(frame), skipped=budget["skipped"], details={"tests_run": run}
    )


def falsify(
    graph: CausalGraph,
    data: pd.DataFrame,
    *,
    test: TestName = "partial_correlation",
    alpha: float = 0.05,
    n_permutations: int = 20,
    max_rows: int | None = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """DoWhy's node-permutation falsification (``falsify_graph``): is the graph better than shuffled ones?

    Returns ``falsified`` (the data contradict the graph more than chance
    permutations), ``informative`` (few permutations share its implications),
    the fraction of violated implications of the graph and of the permutations,
    and DoWhy's p-values.
    """
    from dowhy.gcm.falsify import FalsifyConst, falsify_graph

    nodes, frame = _prepare(graph, data, max_rows, seed)
    encoded = _encode(frame, nodes, normal_scores=test == "partial_correlation")
    uncond, cond = _test_functions(test)
    np.random.seed(seed)
    res = falsify_graph(
        graph.to_networkx(), encoded, independence_test=uncond, conditional_independence_test=cond,
        significance_level=alpha, n_permutations=n_permutations, show_progress_bar=False, n_jobs=1,
    )
    lmc = res.summary[FalsifyConst.VALIDATE_LMC]
    tpa = res.summary[FalsifyConst.VALIDATE_TPA]
    return {
        "falsified": res.falsified,
        "informative": res.falsifiable,
        "violations": int(lmc[FalsifyConst.GIVEN_VIOLATIONS]),
        "n_tests": int(lmc[FalsifyConst.N_TESTS]),
        "p_value_lmc": float(lmc[FalsifyConst.P_VALUE]),
        "p_value_tpa": float(tpa[FalsifyConst.P_VALUE]),
        "n_permutations": n_permutations,
        "text": repr(res),
    }
