"""Benchmark of the faircausesyn method against the SDV baselines (issue 5 targets).

For each dataset and seed: a stratified 75/25 split of the real rows (the
generators see only the train part); every generator is fitted on train and
samples as many rows; measured on the same machine in the same run:

* faithful mode (``preserve``): the debiased decomposition (TV, DE, IE, SE) of
  the synthetic table, and whether each estimate lies in the real train's 95%
  interval; |m_syn - m_real|;
* fair mode (``remove_direct``, ``remove_indirect``): the removed pathway of
  predictors trained on synthetic vs on real data, evaluated on the real
  holdout (``predictor_bias`` evaluator: bias reduction), and TSTR vs TRTR AUC;
* fidelity: SDMetrics quality score (``fidelity`` evaluator), for every generator;
* cost: fit and sample wall time (seconds) and rows per second of sampling.

Results: one JSON line per (dataset, seed, generator) cell in
``--out`` (default ``benchmarks/results/method.jsonl``, appended as cells
finish, so a partial run keeps its cells) and a Markdown summary
(``--markdown``, default ``benchmarks/results/method.md``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_method.py --datasets heart_failure cleveland ilpd --seeds 0 1 2 3 4
    python benchmarks/bench_method.py --summarise-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
MEASURES = ("TV", "DE", "IE", "SE")
RUNS = {
    "faircausesyn": ("faircausesyn", None),
    "faircausesyn:remove_direct": ("faircausesyn", "remove_direct"),
    "faircausesyn:remove_indirect": ("faircausesyn", "remove_indirect"),
    "ctgan": ("ctgan", None),
    "tvae": ("tvae", None),
    "gaussian_copula": ("gaussian_copula", None),
}


def _dec(df: pd.DataFrame, spec: Any, seed: int) -> dict[str, dict[str, float]]:
    from faircausesyn.fairness import decompose

    # a synthetic table whose generator collapsed a Z or W column is still measured without it
    d = decompose(df, spec, method="debiased", seed=seed, constant_columns="drop")
    return {m: {"estimate": d[m].estimate, "lower": d[m].lower, "upper": d[m].upper, "se": d[m].se} for m in (*MEASURES, "ETT")}


#: Tables of 4,000 rows or more for the |m_syn - m_real| <= 0.02 target (no shipped health
#: dataset is that large): COMPAS (7,214 rows, the faircause package's copy in tests/data) and a
#: simulated mixed-type SFM of 6,000 rows (``faircausesyn.testing.toy_sfm``).
LARGE = ("compas", "sim6000")


def load(dataset: str) -> tuple[pd.DataFrame, Any]:
    """A shipped dataset by name, or one of :data:`LARGE`."""
    import faircausesyn as fcs
    from faircausesyn import CausalSpec

    if dataset == "compas":
        data = ROOT.parent / "tests" / "data"
        # the COMPAS score columns (``other``) would only be carried along: leave them out
        spec = CausalSpec.from_file(data / "compas.spec.yaml").model_copy(update={"other": []})
        return pd.read_csv(data / "compas.csv")[list(spec.columns)], spec
    if dataset == "sim6000":
        from faircausesyn.testing import toy_sfm

        return toy_sfm(n=6000, seed=2026)
    return fcs.load_dataset(dataset)


def run_cell(dataset: str, seed: int, label: str, threads: int, config: dict[str, Any], fair_rows: int = 0) -> dict[str, Any]:
    """Fit, sample and evaluate one generator on one split."""
    import torch

    import faircausesyn as fcs
    from faircausesyn.pipeline import stratified_split

    torch.set_num_threads(threads)
    df, spec = load(dataset)
    df = df[[c for c in df.columns if c in set(spec.columns)]].dropna().reset_index(drop=True)
    train, test = stratified_split(df, spec, 0.25, seed)
    name, constraint = RUNS[label]
    kw: dict[str, Any] = {"seed": seed}
    if name == "faircausesyn":
        kw |= {"threads": threads} | config
    gen = fcs.get_generator(name, **kw)
    t0 = time.perf_counter()
    gen.fit(train, spec, constraint=constraint)
    t_fit = time.perf_counter() - t0
    t1 = time.perf_counter()
    syn = gen.sample(len(train), seed=seed)
    t_sample = time.perf_counter() - t1
    out: dict[str, Any] = {
        "dataset": dataset,
        "seed": seed,
        "generator": label,
        "rows_train": len(train),
        "rows_test": len(test),
        "fit_s": t_fit,
        "sample_s": t_sample,
        "rows_per_s": len(syn) / max(t_sample, 1e-9),
        "invalid_rows": int((gen.schema_.row_problems(syn) != "").sum()),
        "exact_copies": gen.sample_report_.get("exact_copies"),
    }
    if name == "faircausesyn":
        out["rounds"] = [{k: r.get(k) for k in ("round", "proposed", "valid", "accepted", "pool", "gaps", "score", "elapsed_s")} for r in gen.rounds_]
        out["lm"] = gen.fit_report_.get("lm")
        out["critic_auc"] = gen.fit_report_.get("critic_auc")
    real_dec, syn_dec = _dec(train, spec, seed), _dec(syn, spec, seed)
    out["real"], out["synthetic"] = real_dec, syn_dec
    out["in_real_ci"] = {m: bool(real_dec[m]["lower"] <= syn_dec[m]["estimate"] <= real_dec[m]["upper"]) for m in MEASURES}
    out["abs_dev"] = {m: abs(syn_dec[m]["estimate"] - real_dec[m]["estimate"]) for m in MEASURES}
    ev = {m.name: m.value for m in fcs.get_evaluator("fidelity").evaluate(train, syn, spec)}
    out["quality_score"] = ev.get("quality_score")
    util = {m.name: m.value for m in fcs.get_evaluator("utility").evaluate(train, syn, spec, holdout=test)}
    out["tstr_auc"] = util.get("gbm_tstr_auc", util.get("logistic_tstr_auc"))
    out["trtr_auc"] = util.get("gbm_trtr_auc", util.get("logistic_trtr_auc"))
    if constraint is not None or label == "faircausesyn":
        # Predictors learn a removed pathway's absence only as well as the rows show it: the
        # fair-mode predictors are trained on ``fair_rows`` synthetic rows (a second, larger
        # sample; same seed family), which also measures the synthetic data's own pathways
        # with a tenth of the noise of an n_train-row table.
        big = syn
        if fair_rows and fair_rows > len(syn):
            t2 = time.perf_counter()
            big = gen.sample(fair_rows, seed=seed + 7919)
            out["fair_rows"], out["fair_sample_s"] = len(big), time.perf_counter() - t2
            out["synthetic_large"] = _dec(big, spec, seed)
        pb = fcs.get_evaluator("predictor_bias", fair_predictor=False).evaluate(train, big, spec, holdout=test)
        out["predictor_bias"] = {m.name: m.value for m in pb}
        if hasattr(gen, "targets_"):
            out["targets"] = dict(gen.targets_)
    return out


def perf(dataset: str, threads_list: list[int], rows: int) -> list[dict[str, Any]]:
    """Wall and CPU seconds of training the tabular LM (default settings) and of decoding ``rows`` rows."""
    import torch

    import faircausesyn as fcs
    from faircausesyn.graph import CausalGraph
    from faircausesyn.schema import infer_schema
    from faircausesyn_method.tabular_lm import TabularLM

    df, spec = fcs.load_dataset(dataset)
    df = df[[c for c in df.columns if c in set(spec.columns)]].dropna().reset_index(drop=True)
    order = CausalGraph.sfm(spec, columns=list(df.columns)).topological_order()
    schema = infer_schema(df, spec.column_types)
    kinds = {c.name: ("discrete" if c.is_discrete else "numeric") for c in schema.columns}
    out = []
    # warm-up: library imports and first-call allocations are not the backend's cost
    TabularLM(seed=0, epochs=1).train_table(df[order], order, kinds=kinds).sample_table(10, seed=0)
    for threads in threads_list:
        torch.set_num_threads(threads)
        lm = TabularLM(seed=0, threads=threads)
        w0, c0 = time.perf_counter(), time.process_time()
        lm.train_table(df[order], order, kinds=kinds)
        w1, c1 = time.perf_counter(), time.process_time()
        lm.sample_table(rows, seed=0)
        w2, c2 = time.perf_counter(), time.process_time()
        out.append({"dataset": dataset, "threads": threads, "train_rows": len(df), "epochs": lm.config.epochs,
                    "fit_wall_s": w1 - w0, "fit_cpu_s": c1 - c0, "sample_rows": rows, "sample_wall_s": w2 - w1,
                    "sample_cpu_s": c2 - c1, "rows_per_s_wall": rows / (w2 - w1), "load_avg_1min": os.getloadavg()[0]})
        print(json.dumps(out[-1]), flush=True)
    return out


def summarise(rows: list[dict[str, Any]]) -> str:
    """Markdown tables: mean (sd) over seeds per dataset and generator."""
    if not rows:
        return "(no results)\n"
    df = pd.DataFrame(rows)
    lines = []

    def ms(v: pd.Series, digits: int = 3) -> str:
        v = pd.to_numeric(v, errors="coerce").dropna()
        if len(v) == 0:
            return "-"
        return f"{v.mean():.{digits}f} ({v.std(ddof=1) if len(v) > 1 else 0:.{digits}f})"

    lines.append("| dataset | generator | seeds | fit s | sample s | rows/s | quality | TSTR AUC | TRTR AUC | in real CI (TV/DE/IE/SE) | abs dev TV | DE | IE | SE | invalid |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (ds, gen), g in df.groupby(["dataset", "generator"], sort=False):
        ci = "/".join(f"{sum(r[m] for r in g['in_real_ci'])}" for m in MEASURES)
        dev = [ms(g["abs_dev"].map(lambda d, m=m: d[m])) for m in MEASURES]
        lines.append(
            f"| {ds} | {gen} | {len(g)} | {ms(g.fit_s, 1)} | {ms(g.sample_s, 2)} | {ms(g.rows_per_s, 0)} | {ms(g.quality_score)} | {ms(g.tstr_auc)} | {ms(g.trtr_auc)} | {ci} of {len(g)} | "
            + " | ".join(dev)
            + f" | {int(g.invalid_rows.sum())} |"
        )
    large = df[(df.rows_train + df.rows_test >= 4000) & ~df.generator.str.contains("remove_")]
    if len(large):
        lines.append("")
        lines.append("Tables of 4,000 rows or more: |m_syn - m_real| per measure (max over seeds) and the seeds where all four are <= 0.02.")
        lines.append("")
        lines.append("| dataset | generator | max dev TV | DE | IE | SE | seeds with all four <= 0.02 |")
        lines.append("|---|---|---|---|---|---|---|")
        for (ds, gen), g in large.groupby(["dataset", "generator"], sort=False):
            dev = pd.DataFrame(list(g["abs_dev"]))
            ok = int((dev[list(MEASURES)] <= 0.02).all(axis=1).sum())
            lines.append(f"| {ds} | {gen} | " + " | ".join(f"{dev[m].max():.3f}" for m in MEASURES) + f" | {ok} of {len(g)} |")
    sdv = [g for g in ("ctgan", "tvae", "gaussian_copula") if g in set(df.generator)]
    if "faircausesyn" in set(df.generator) and sdv:
        lines.append("")
        lines.append("Fidelity (SDMetrics quality) against the best SDV baseline on the same split, per seed.")
        lines.append("")
        lines.append("| dataset | faircausesyn | best SDV baseline | seeds where faircausesyn >= best baseline |")
        lines.append("|---|---|---|---|")
        for ds, g in df.groupby("dataset", sort=False):
            q = g.pivot_table(index="seed", columns="generator", values="quality_score")
            if "faircausesyn" not in q.columns or not set(sdv) & set(q.columns):
                continue
            best = q[[c for c in sdv if c in q.columns]].max(axis=1)
            ok = int((q["faircausesyn"] >= best).sum())
            lines.append(f"| {ds} | {ms(q['faircausesyn'])} | {ms(best)} | {ok} of {int(q['faircausesyn'].notna().sum())} |")
    if {"faircausesyn", "ctgan"} <= set(df.generator):
        lines.append("")
        lines.append("Wall time against SDV CTGAN (default settings: 300 epochs), same split, same process: (fit + sample of faircausesyn) / (fit + sample of CTGAN), per seed.")
        lines.append("")
        lines.append("| dataset | train rows | faircausesyn s | CTGAN s | ratio per seed | seeds within CTGAN's time |")
        lines.append("|---|---|---|---|---|---|")
        for ds, g in df.groupby("dataset", sort=False):
            t = g.assign(total=g.fit_s + g.sample_s).pivot_table(index="seed", columns="generator", values="total")
            if not {"faircausesyn", "ctgan"} <= set(t.columns):
                continue
            t = t[["faircausesyn", "ctgan"]].dropna()
            ratio = t["faircausesyn"] / t["ctgan"]
            rows_ = int(g.rows_train.iloc[0])
            lines.append(f"| {ds} | {rows_} | {ms(t['faircausesyn'], 1)} | {ms(t['ctgan'], 1)} | {', '.join(f'{r:.2f}' for r in ratio)} | {int((ratio <= 1).sum())} of {len(ratio)} |")
    fair = df[df.generator.str.contains("remove_")]
    if len(fair):
        lines.append("")
        lines.append("Fair mode: removed pathway of predictors trained on synthetic vs real data, on the real holdout (bias reduction = 1 - |effect syn| / |effect real|).")
        lines.append("")
        lines.append("DE is the predictors' exact ctf-DE (a predictor is a known function: the mean of f(x1,z,w) - f(x0,z,w) over the holdout's x0 rows); IE is estimated (debiased) on the holdout. Predictors are trained on the larger fair-mode sample when one was drawn (`fair rows`).")
        lines.append("")
        lines.append("| dataset | generator | fair rows | measure | effect (pred. on real) | effect (pred. on synthetic) | bias reduction | AUC (pred. on synthetic) - AUC (pred. on real) |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for (ds, gen), g in fair.groupby(["dataset", "generator"], sort=False):
            m = "DE" if "direct" in gen and "indirect" not in gen else "IE"
            key = "DE_exact" if m == "DE" else m
            pb = g["predictor_bias"]
            red = pb.map(lambda d, k=key: d.get(f"{k}_bias_reduction"))
            e_r = pb.map(lambda d, k=key: d.get(f"{k}_pred_real"))
            e_s = pb.map(lambda d, k=key: d.get(f"{k}_pred_synthetic"))
            rows_ = g["fair_rows"].dropna().astype(int).unique().tolist() if "fair_rows" in g else []
            auc = pb.map(lambda d: d.get("auc_pred_synthetic", math.nan) - d.get("auc_pred_real", math.nan))
            lines.append(f"| {ds} | {gen} | {'/'.join(map(str, rows_)) or 'n_train'} | {m} | {ms(e_r)} | {ms(e_s)} | {ms(red)} | {ms(auc)} |")
        lines.append("")
        lines.append("Fair mode: the synthetic data's own pathways (debiased estimate on the fair-mode sample, or on the n_train-row table) with, in square brackets, the mean target from the real train's debiased estimates (0 for the removed pathway, the real value for the others, TV = DE - IE - SE).")
        lines.append("")
        lines.append("| dataset | generator | " + " | ".join(f"{m} syn [target]" for m in MEASURES) + " | removed pathway cut |")
        lines.append("|---|---|" + "---|" * len(MEASURES) + "---|")
        for (ds, gen), g in fair.groupby(["dataset", "generator"], sort=False):
            m0 = "DE" if "direct" in gen and "indirect" not in gen else "IE"
            src = g["synthetic_large"] if "synthetic_large" in g and g["synthetic_large"].notna().all() else g["synthetic"]
            cells = []
            for m in MEASURES:
                own = src.map(lambda d, m=m: d[m]["estimate"])
                tgt = g["real"].map(lambda d, m=m, m0=m0: _target(d, m, m0)).mean()
                cells.append(f"{ms(own)} [{tgt:.3f}]")
            real = g["real"].map(lambda d, m=m0: d[m]["estimate"])
            own = src.map(lambda d, m=m0: d[m]["estimate"])
            cut = 1 - (own.abs() / real.abs().where(real.abs() > 1e-12))
            lines.append(f"| {ds} | {gen} | " + " | ".join(cells) + f" | {ms(cut)} |")
    return "\n".join(lines) + "\n"


def _target(real: dict[str, dict[str, float]], m: str, removed: str) -> float:
    """A fair-mode target from the real (debiased) estimates: 0 for the removed measure, TV = DE - IE - SE."""
    t = {k: (0.0 if k == removed else real[k]["estimate"]) for k in ("DE", "IE", "SE")}
    return t["DE"] - t["IE"] - t["SE"] if m == "TV" else t[m]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["heart_failure", "cleveland", "ilpd"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--generators", nargs="+", default=list(RUNS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--config", nargs="*", default=[], help="faircausesyn config overrides key=value")
    ap.add_argument("--out", default=str(ROOT / "results" / "method.jsonl"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "method.md"))
    ap.add_argument("--summarise-only", action="store_true")
    ap.add_argument("--perf", action="store_true", help="only time the tabular LM's training and decoding (threads 1 and 2)")
    ap.add_argument("--perf-rows", type=int, default=5000)
    ap.add_argument("--fair-rows", type=int, default=3000, help="rows of the second synthetic sample fair-mode predictors are trained on (0: the n_train-row table)")
    args = ap.parse_args(argv)
    from faircausesyn.cli.common import parse_config
    from faircausesyn.io import atomic_write_text

    if args.perf:
        res = [r for ds in args.datasets for r in perf(ds, [1, 2], args.perf_rows)]
        atomic_write_text(str(ROOT / "results" / "method_perf.json"), json.dumps(res, indent=1))
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    config = parse_config(args.config) if args.config else {}
    if not args.summarise_only:
        for ds in args.datasets:
            for seed in args.seeds:
                for label in args.generators:
                    t0 = time.perf_counter()
                    try:
                        row = run_cell(ds, seed, label, args.threads, config, args.fair_rows)
                    except Exception as exc:  # noqa: BLE001 - a failed cell is recorded, the run goes on
                        row = {"dataset": ds, "seed": seed, "generator": label, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}
                    row["wall_s"] = time.perf_counter() - t0
                    with open(out, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row, default=_default) + "\n")
                    msg = row.get("error") or f"fit {row['fit_s']:.1f}s sample {row['sample_s']:.1f}s quality {row['quality_score']:.3f} in-CI {row['in_real_ci']}"
                    print(f"{ds} seed {seed} {label}: {msg}", flush=True)
    rows = [json.loads(x) for x in out.read_text().splitlines() if x.strip()] if out.exists() else []
    ok = [r for r in rows if "error" not in r]
    text = "# faircausesyn method benchmark\n\nmean (sd) over seeds; generated by `benchmarks/bench_method.py`.\n\n" + summarise(ok)
    errors = [r for r in rows if "error" in r]
    if errors:
        text += "\nFailed cells:\n\n" + "\n".join(f"- {r['dataset']} seed {r['seed']} {r['generator']}: {r['error']}" for r in errors) + "\n"
    atomic_write_text(args.markdown, text)
    print(text)
    return 0


def _default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
