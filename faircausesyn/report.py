"""The HTML report: one self-contained page (inline SVG plots, inline CSS, no scripts, no external files).

:func:`render_benchmark_html` writes the page of a benchmark from its
``results.jsonl`` records: for each dataset the causal graph, the real
decomposition beside every generator's (bars with 95% intervals), the
deviation table, every evaluator's metrics (fidelity, detection, TSTR vs
TRTR, predictor bias, privacy, ...), fit and sample times and a
fairness-versus-utility scatter across generators; then the cells that failed.
:func:`render_evaluation_html` writes the same page for one real/synthetic
pair (``faircausesyn evaluate --html``).
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .benchmark.summary import MEASURES, measure_estimates, summary_frame, wide

_COLOURS = ("#333333", "#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.5rem}h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}
figure{margin:.5rem 0 1rem}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555}
.meta{color:#555;font-size:.9rem}.grid{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.err{color:#a00}
"""


# ----------------------------------------------------------------- helpers
def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


_SVG_COUNT = itertools.count()


def _svg(fig: Any) -> str:
    """A matplotlib figure as an inline ``<svg>`` element.

    Text stays text (``svg.fonttype: none``), the metadata block is dropped and
    every id gets a prefix unique to this figure, so that several plots on one
    page never share an id.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 - a Figure made without pyplot needs no closing
        pass
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    prefix = f"fig{next(_SVG_COUNT)}-"
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _table(frame: pd.DataFrame, caption: str | None = None) -> str:
    if frame is None or frame.empty:
        return ""
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        body.append("<tr>" + "".join(f"<td>{'' if (isinstance(v, float) and math.isnan(v)) or v is None else _esc(v)}</td>" for v in row) + "</tr>")
    cap = f"<caption style='caption-side:top;text-align:left'>{_esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _label(r: Mapping[str, Any]) -> str:
    c = r.get("constraint") or ""
    return f"{r.get('generator')}" + (f" / {c}" if c and c != "preserve" else "")


# ----------------------------------------------------------------- plots
def decomposition_plot(groups: Sequence[tuple[str, dict[str, dict[str, float | None]]]], title: str = "") -> str:
    """Grouped bars (one group per measure, one bar per table) with 95% intervals, as inline SVG."""
    import numpy as np

    measures = [m for m in MEASURES if any(m in g for _, g in groups)]
    if not measures or not groups:
        return ""
    k = len(groups)
    fig, ax = _figure(min(3.0 + 0.9 * len(measures) * max(k, 2) * 0.45, 12), 3.8)
    width = 0.8 / k
    pos = np.arange(len(measures))
    for i, (label, est) in enumerate(groups):
        vals = np.array([(est.get(m) or {}).get("estimate") or np.nan for m in measures], dtype=float)
        lo = np.array([(est.get(m) or {}).get("lower") if (est.get(m) or {}).get("lower") is not None else np.nan for m in measures], dtype=float)
        hi = np.array([(est.get(m) or {}).get("upper") if (est.get(m) or {}).get("upper") is not None else np.nan for m in measures], dtype=float)
        err = np.vstack([np.clip(np.nan_to_num(vals - lo), 0, None), np.clip(np.nan_to_num(hi - vals), 0, None)])
        ax.bar(pos + (i - (k - 1) / 2) * width, vals, width, yerr=err, capsize=2, label=label, color=_COLOURS[i % len(_COLOURS)], alpha=0.9 if i else 1.0)
    ax.axhline(0, color="black", linewidth=0.7)
    ax.set_xticks(pos, [m if m in ("TV", "ETT") else f"ctf-{m}" for m in measures])
    ax.set_ylabel("effect (difference in E[Y])")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncols=2 if k > 4 else 1, frameon=False)
    return _svg(fig)


def scatter_plot(points: Sequence[tuple[str, float, float]], xlabel: str, ylabel: str, reference: float | None = None, ref_label: str = "") -> str:
    """A labelled scatter (one point per generator), as inline SVG."""
    if not points:
        return ""
    fig, ax = _figure(6, 4)
    for i, (label, x, y) in enumerate(points):
        ax.scatter([x], [y], s=50, color=_COLOURS[(i + 1) % len(_COLOURS)], zorder=3)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if reference is not None:
        ax.axhline(reference, color="#555", linestyle="--", linewidth=0.8, label=ref_label)
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _svg(fig)


def time_plot(rows: Sequence[tuple[str, float, float]]) -> str:
    """Horizontal bars of fit and sample seconds per generator, as inline SVG."""
    if not rows:
        return ""
    import numpy as np

    fig, ax = _figure(6.5, 0.8 + 0.35 * len(rows))
    y = np.arange(len(rows))
    fit = np.array([r[1] for r in rows])
    samp = np.array([r[2] for r in rows])
    ax.barh(y, fit, color=_COLOURS[1], label="fit")
    ax.barh(y, samp, left=fit, color=_COLOURS[2], label="sample")
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (mean over seeds)")
    ax.legend(fontsize=8, frameon=False)
    return _svg(fig)


def graph_plot(graph: Mapping[str, Any] | None, spec: Mapping[str, Any] | None) -> str:
    """The causal graph drawn by :meth:`CausalGraph.plot`, as inline SVG."""
    if not graph:
        return ""
    from .graph import CausalGraph
    from .spec import CausalSpec

    try:
        g = CausalGraph.from_dict(dict(graph))
        s = CausalSpec.from_dict(dict(spec)) if spec else None
        fig = g.plot(spec=s)
    except Exception as exc:  # noqa: BLE001 - a report shows what it can; the failure is written on the page
        return f"<p class='err'>graph not drawn: {_esc(exc)}</p>"
    return _svg(fig)


# ----------------------------------------------------------------- page
def _pick(names: Iterable[str], *needles: str) -> str | None:
    names = list(names)
    for needle in needles:
        for n in names:
            if needle in n.lower():
                return n
    return None


def _dataset_section(dataset: str, records: list[dict[str, Any]], frame: pd.DataFrame) -> str:
    ok = [r for r in records if r.get("status") == "ok"]
    parts = [f"<h2 id='{_esc(dataset)}'>{_esc(dataset)}</h2>"]
    if not ok:
        return parts[0] + "<p>No cell of this dataset finished.</p>"
    first = ok[0]["result"]
    rows = first.get("rows", {})
    parts.append(f"<p class='meta'>{len(ok)} finished cell(s); real train {rows.get('train', '?')} rows, holdout {rows.get('holdout', '?')} rows.</p>")
    # Decomposition bars: real (averaged over seeds) beside each generator / constraint.
    groups: list[tuple[str, dict[str, dict[str, float | None]]]] = []
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        by_label.setdefault(_label(r), []).append(r)

    def mean_est(decs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        ests = [measure_estimates(d) for d in decs if d]
        for m in MEASURES:
            vals = [e[m] for e in ests if m in e and e[m].get("estimate") is not None]
            if vals:
                out[m] = {k: (sum(v[k] for v in vals if v.get(k) is not None) / max(1, sum(1 for v in vals if v.get(k) is not None))) if any(v.get(k) is not None for v in vals) else None for k in ("estimate", "lower", "upper", "se")}
        return out

    real_decs = {r["seed"]: (r["result"].get("decompositions") or {}).get("real") for r in ok}
    real = mean_est([d for d in real_decs.values() if d])
    if real:
        groups.append(("real (train)", real))
        for label, rs in by_label.items():
            syn = mean_est([(r["result"].get("decompositions") or {}).get("synthetic") for r in rs])
            if syn:
                groups.append((label, syn))
        parts.append("<h3>Causal fairness: real against synthetic</h3>")
        parts.append(f"<figure>{decomposition_plot(groups, title=f'{dataset}: decomposition with 95% intervals (mean over seeds)')}<figcaption>Bars: estimates; whiskers: 95% intervals. Constraints that remove a pathway should bring its measure to 0.</figcaption></figure>")
        dev = wide(frame, dataset, [f"fairness/deviation_{m}" for m in MEASURES] + [f"fairness/inside_real_ci_{m}" for m in MEASURES])
        if not dev.empty:
            dev.columns = [str(c).replace("fairness/", "") for c in dev.columns]
            parts.append(_table(dev, "Deviation |synthetic − real| per measure and share of seeds whose synthetic estimate lies inside the real 95% interval"))
    else:
        parts.append("<p class='meta'>No decompositions were recorded (the benchmark ran with decomposition: null).</p>")
    # Every evaluator's metrics.
    sub = frame[frame["dataset"] == dataset]
    evaluators = sorted({m.split("/", 1)[0] for m in sub["metric"]} - {"fairness", "cost"})
    for ev in evaluators:
        names = sorted(m for m in sub["metric"].unique() if m.startswith(ev + "/"))
        table = wide(frame, dataset, names)
        if not table.empty:
            table.columns = [str(c).split("/", 1)[1] if "/" in str(c) else c for c in table.columns]
            parts.append(f"<h3>{_esc(ev)}</h3>" + _table(table))
    # Fairness versus utility.
    metric_names = list(sub["metric"].unique())
    candidates = [n for n in metric_names if not n.startswith(("fairness/", "cost/", "privacy/", "causal_fairness/", "detection/"))]
    util = _pick(candidates, "tstr_auc", "tstr", "auc", "quality", "score")
    trtr = util.replace("tstr", "trtr") if util and "tstr" in util and util.replace("tstr", "trtr") in metric_names else None
    if util and real:
        pts = []
        for label, rs in by_label.items():
            xs, ys = [], []
            for r in rs:
                from .benchmark.summary import flatten

                f = flatten(r)
                devs = [f[k] for k in (f"fairness/deviation_{m}" for m in ("DE", "IE", "SE")) if k in f]
                if devs and util in f:
                    xs.append(sum(devs) / len(devs))
                    ys.append(f[util])
            if xs:
                pts.append((label, sum(xs) / len(xs), sum(ys) / len(ys)))
        ref = None
        if trtr:
            vals = sub.loc[sub["metric"] == trtr, "mean"]
            ref = float(vals.mean()) if len(vals) else None
        if pts:
            parts.append("<h3>Fairness against utility</h3>")
            parts.append(f"<figure>{scatter_plot(pts, 'mean deviation of ctf-DE, ctf-IE, ctf-SE (lower is better)', util, ref, trtr or '')}<figcaption>One point per generator (mean over seeds); dashed: {_esc(trtr or '')} (real data).</figcaption></figure>")
    # Costs.
    cost = wide(frame, dataset, ["cost/fit_s", "cost/sample_s", "cost/decompose_s", "cost/evaluate_s", "cost/total_s", "cost/peak_memory_mb", "privacy/exact_copies"])
    if not cost.empty:
        cost.columns = [str(c).split("/", 1)[1] if "/" in str(c) else c for c in cost.columns]
        parts.append("<h3>Cost</h3>" + _table(cost))
        trows = []
        for label, rs in by_label.items():
            fits = [r["result"]["timings"].get("fit_s", 0) or 0 for r in rs]
            samps = [r["result"]["timings"].get("sample_s", 0) or 0 for r in rs]
            trows.append((label, sum(fits) / len(fits), sum(samps) / len(samps)))
        parts.append(f"<figure>{time_plot(trows)}</figure>")
    errs = [(f"{_label(r)} (seed {r.get('seed')})", ev, msg) for r in ok for ev, msg in (r.get("evaluator_errors") or (r.get("result") or {}).get("evaluator_errors") or {}).items()]
    if errs:
        parts.append("<h3>Evaluators that failed</h3><ul>" + "".join(f"<li>{_esc(who)}, <b>{_esc(ev)}</b>: <span class='err'>{_esc(str(msg).splitlines()[0])}</span></li>" for who, ev, msg in errs) + "</ul>")
    parts.append("<h3>Causal graph</h3>")
    parts.append(f"<figure>{graph_plot(first.get('graph'), first.get('spec'))}</figure>")
    return "\n".join(parts)


def build_page(records: list[dict[str, Any]], title: str = "faircausesyn report", intro: str = "") -> str:
    """The whole HTML page for ``records`` (the lines of ``results.jsonl``)."""
    frame = summary_frame(records)
    datasets = sorted({r.get("dataset", "?") for r in records})
    status = pd.Series([r.get("status", "?") for r in records]).value_counts().to_dict() if records else {}
    hosts = sorted({(r.get("worker") or {}).get("host", "") for r in records} - {""})
    versions = next((r.get("versions") for r in records if r.get("versions")), {}) or {}
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>{_esc(title)}</h1>"]
    if intro:
        body.append(f"<p>{_esc(intro)}</p>")
    body.append(
        f"<p class='meta'>Generated {now}. Cells: {_esc(', '.join(f'{v} {k}' for k, v in sorted(status.items())) or 'none')}."
        + (f" Ran on: {_esc(', '.join(hosts))}." if hosts else "")
        + (f" Versions: {_esc(', '.join(f'{k} {v}' for k, v in versions.items()))}." if versions else "")
        + "</p>"
    )
    if len(datasets) > 1:
        body.append("<p>" + " · ".join(f"<a href='#{_esc(d)}'>{_esc(d)}</a>" for d in datasets) + "</p>")
    for d in datasets:
        body.append(_dataset_section(d, [r for r in records if r.get("dataset") == d], frame))
    bad = [r for r in records if r.get("status") in ("error", "unsupported")]
    if bad:
        rows = pd.DataFrame(
            [{"dataset": r.get("dataset"), "generator": r.get("generator"), "constraint": r.get("constraint"), "seed": r.get("seed"), "status": r.get("status"), "reason": str(r.get("error", "")).splitlines()[0][:300]} for r in bad]
        )
        body.append("<h2>Cells that did not run</h2>" + _table(rows))
    return f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'><title>{_esc(title)}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"


def render_benchmark_html(records: list[dict[str, Any]], path: str | Path, title: str = "benchmark") -> Path:
    """Write the benchmark report page for ``records`` to ``path`` (atomically); returns the path."""
    from .io import atomic_write_text

    p = Path(path)
    atomic_write_text(p, build_page(list(records), title=f"faircausesyn benchmark: {title}"))
    return p


def evaluation_record(results: Any, *, dataset: str | None = None, generator: str = "synthetic") -> dict[str, Any]:
    """Turn one evaluation into a report record.

    ``results`` may be a :class:`~faircausesyn.pipeline.PipelineResult`, its
    ``to_dict()``, a mapping ``{evaluator: [Metric | dict, ...]}``, a mapping
    with ``"metrics"`` (that shape, or a flat list) and optionally
    ``"decompositions"`` (``{"real": ..., "synthetic": ...}``, each a
    ``Decomposition`` or its ``to_dict()``), ``"graph"``, ``"spec"``,
    ``"timings"``, or a plain list of metrics.
    """
    if hasattr(results, "to_dict") and hasattr(results, "metrics") and not isinstance(results, Mapping):
        results = results.to_dict()
    if isinstance(results, list | tuple):
        results = {"metrics": {"evaluation": list(results)}}
    if not isinstance(results, Mapping):
        raise TypeError(f"cannot report on a {type(results).__name__}")
    res = dict(results)
    if "metrics" not in res:
        res = {"metrics": res}
    metrics = res["metrics"]
    if isinstance(metrics, list | tuple):
        metrics = {"evaluation": list(metrics)}

    def as_dict(m: Any) -> dict[str, Any]:
        return m.to_dict() if hasattr(m, "to_dict") else dict(m)

    res["metrics"] = {str(ev): [as_dict(m) for m in ms] for ev, ms in dict(metrics).items()}
    decs = res.get("decompositions") or {}
    res["decompositions"] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in dict(decs).items()}
    if hasattr(res.get("graph"), "to_dict"):
        res["graph"] = res["graph"].to_dict()
    if hasattr(res.get("spec"), "model_dump"):
        res["spec"] = res["spec"].model_dump(mode="json")
    res.setdefault("timings", {})
    name = dataset or ((res.get("spec") or {}).get("name") if isinstance(res.get("spec"), Mapping) else None) or "data"
    return {"key": "evaluation", "status": "ok", "dataset": name, "generator": generator, "constraint": "", "seed": 0, "result": res}


def render_evaluation_html(results: Any, path: str | Path, *, title: str | None = None, dataset: str | None = None, generator: str = "synthetic") -> Path:
    """Write the report page for one real/synthetic pair (see :func:`evaluation_record` for ``results``)."""
    from .io import atomic_write_text

    record = evaluation_record(results, dataset=dataset, generator=generator)
    p = Path(path)
    atomic_write_text(p, build_page([record], title=title or f"faircausesyn evaluation: {record['dataset']}"))
    return p
