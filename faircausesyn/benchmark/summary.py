"""Benchmark tables: each finished cell flattened to named numbers, then mean and spread over seeds."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd

MEASURES = ("TV", "DE", "IE", "SE", "ETT")
GROUP = ["dataset", "generator", "constraint"]
#: Columns of the headline table of each dataset, when present.
HEADLINE = (
    "fairness/deviation_TV",
    "fairness/deviation_DE",
    "fairness/deviation_IE",
    "fairness/deviation_SE",
    "cost/fit_s",
    "cost/sample_s",
    "cost/peak_memory_mb",
    "privacy/exact_copies",
)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def measure_estimates(decomposition: dict[str, Any] | None) -> dict[str, dict[str, float | None]]:
    """``{measure: {estimate, lower, upper, se}}`` of a serialised decomposition."""
    if not decomposition:
        return {}
    measures = decomposition.get("measures", decomposition)
    out = {}
    for m in MEASURES:
        e = measures.get(m) if isinstance(measures, dict) else None
        if isinstance(e, dict):
            out[m] = {k: _num(e.get(k)) for k in ("estimate", "lower", "upper", "se")}
    return out


def flatten(record: dict[str, Any]) -> dict[str, float]:
    """The named numbers of one ``ok`` record: ``evaluator/metric``, ``fairness/...``, ``cost/...``, ``privacy/...``."""
    res = record.get("result") or {}
    out: dict[str, float] = {}
    decs = res.get("decompositions") or {}
    real, syn = measure_estimates(decs.get("real")), measure_estimates(decs.get("synthetic"))
    for m in MEASURES:
        r = (real.get(m) or {}).get("estimate")
        s = (syn.get(m) or {}).get("estimate")
        if r is not None:
            out[f"fairness/real_{m}"] = r
        if s is not None:
            out[f"fairness/synthetic_{m}"] = s
        if r is not None and s is not None:
            out[f"fairness/deviation_{m}"] = abs(s - r)
            lo, hi = real[m].get("lower"), real[m].get("upper")
            if lo is not None and hi is not None:
                out[f"fairness/inside_real_ci_{m}"] = float(lo <= s <= hi)
    for ev, metrics in (res.get("metrics") or {}).items():
        for m in metrics:
            v = _num(m.get("value"))
            if v is not None:
                out[f"{ev}/{m['name']}"] = v
    t = res.get("timings") or {}
    for k in ("fit_s", "sample_s", "decompose_s", "evaluate_s", "total_s"):
        if _num(t.get(k)) is not None:
            out[f"cost/{k}"] = float(t[k])
    if _num(res.get("peak_memory_mb")) is not None:
        out["cost/peak_memory_mb"] = float(res["peak_memory_mb"])
    rep = res.get("sample_report") or {}
    if _num(rep.get("exact_copies")) is not None:
        out["privacy/exact_copies"] = float(rep["exact_copies"])
    return out


def metric_meta(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{"evaluator/metric": {"ideal", "goal"}}`` from the evaluators' metrics."""
    meta: dict[str, dict[str, Any]] = {}
    for r in records:
        for ev, metrics in ((r.get("result") or {}).get("metrics") or {}).items():
            for m in metrics:
                meta.setdefault(f"{ev}/{m['name']}", {"ideal": m.get("ideal"), "goal": m.get("goal")})
    for m in MEASURES:
        meta.setdefault(f"fairness/deviation_{m}", {"ideal": 0.0, "goal": "min"})
    return meta


def summary_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Long table: dataset, generator, constraint, metric, mean, std, min, max, n (over seeds), ideal, goal."""
    records = [r for r in records if r.get("status") == "ok"]
    values: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for r in records:
        for name, v in flatten(r).items():
            values[(r["dataset"], r["generator"], r["constraint"], name)].append(v)
    meta = metric_meta(records)
    rows = []
    for (d, g, c, name), vs in values.items():
        s = pd.Series(vs, dtype=float)
        rows.append(
            {
                "dataset": d,
                "generator": g,
                "constraint": c,
                "metric": name,
                "mean": s.mean(),
                "std": s.std(ddof=1) if len(s) > 1 else 0.0,
                "min": s.min(),
                "max": s.max(),
                "n": len(s),
                "ideal": meta.get(name, {}).get("ideal"),
                "goal": meta.get(name, {}).get("goal"),
            }
        )
    cols = [*GROUP, "metric", "mean", "std", "min", "max", "n", "ideal", "goal"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows, columns=cols).sort_values([*GROUP, "metric"], kind="stable").reset_index(drop=True)


def wide(frame: pd.DataFrame, dataset: str, metrics: Iterable[str]) -> pd.DataFrame:
    """One dataset's table: a row per generator x constraint, a ``mean ± std`` column per metric."""
    sub = frame[(frame["dataset"] == dataset) & frame["metric"].isin(list(metrics))]
    if sub.empty:
        return pd.DataFrame()
    cell = sub.assign(text=[_fmt(m, s, n) for m, s, n in zip(sub["mean"], sub["std"], sub["n"], strict=True)])
    table = cell.pivot_table(index=["generator", "constraint"], columns="metric", values="text", aggfunc="first", sort=False)
    order = [m for m in metrics if m in table.columns]
    return table[order].reset_index()


def _fmt(mean: float, std: float, n: int) -> str:
    def f(v: float) -> str:
        a = abs(v)
        if a != 0 and (a >= 1e5 or a < 1e-3):
            return f"{v:.2e}"
        return f"{v:.3f}" if a < 100 else f"{v:.1f}"

    return f(mean) if n <= 1 else f"{f(mean)} ± {f(std)}"


def _markdown(table: pd.DataFrame) -> str:
    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines)


def summary_markdown(records: list[dict[str, Any]], title: str = "benchmark") -> str:
    """Markdown tables per dataset: the headline (deviations and costs), one per evaluator, then failures."""
    frame = summary_frame(records)
    lines = [f"# {title}", ""]
    status = pd.Series([r.get("status", "?") for r in records]).value_counts().to_dict() if records else {}
    lines.append("Cells: " + (", ".join(f"{v} {k}" for k, v in sorted(status.items())) or "none") + ". Values are mean ± standard deviation over seeds.")
    lines.append("")
    for d in sorted(frame["dataset"].unique()) if len(frame) else []:
        lines += [f"## {d}", ""]
        head = wide(frame, d, HEADLINE)
        if not head.empty:
            lines += ["Deviation |synthetic - real| of each measure, and costs.", "", _markdown(head), ""]
        evaluators = sorted({m.split("/", 1)[0] for m in frame.loc[frame["dataset"] == d, "metric"]} - {"fairness", "cost", "privacy"})
        for ev in evaluators:
            names = sorted(m for m in frame.loc[frame["dataset"] == d, "metric"].unique() if m.startswith(ev + "/"))
            table = wide(frame, d, names)
            if not table.empty:
                table.columns = [c.split("/", 1)[1] if "/" in str(c) else c for c in table.columns]
                lines += [f"### {ev}", "", _markdown(table), ""]
    bad = [r for r in records if r.get("status") in ("error", "unsupported")]
    if bad:
        lines += ["## Cells that did not run", "", "| dataset | generator | constraint | seed | status | reason |", "|---|---|---|---|---|---|"]
        for r in bad:
            reason = str(r.get("error", "")).splitlines()[0][:200].replace("|", "\\|")
            lines.append(f"| {r['dataset']} | {r['generator']} | {r['constraint']} | {r['seed']} | {r['status']} | {reason} |")
        lines.append("")
    return "\n".join(lines)
