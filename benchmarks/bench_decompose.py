"""Benchmark of faircausesyn.fairness.decompose: run time against rows, and interval coverage.

Timing (default): a simulated SFM table with 20 columns (X, 5 confounders, 13
mediators, Y) at 10k, 100k and 1M rows; wall and CPU seconds of the debiased
estimator (5-fold cross-fitting, gradient boosting) and of the plug-in point
estimate, and the growth exponent between sizes (1.0 = linear in rows).

    python benchmarks/bench_decompose.py --rows 10000 100000 1000000 --out bench_decompose.json

Coverage (``--coverage``): the share of 95% intervals that cover the true
measures over repeated draws of the simulated SCMs in ``tests/scm.py``.

    python benchmarks/bench_decompose.py --coverage --reps 200 --n 1000 --kinds linear_logistic nonlinear
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def wide_sfm(n: int, seed: int = 0) -> tuple[pd.DataFrame, object]:
    """A 20-column SFM table: X, Z1..Z5 (two of them binary), W1..W13 (one categorical), binary Y."""
    from faircausesyn import CausalSpec

    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 5))
    z[:, 3] = (z[:, 3] > 0).astype(float)
    z[:, 4] = (z[:, 4] > 0.5).astype(float)
    x = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * z[:, 0] - 0.4 * z[:, 3])))).astype(int)
    w = rng.normal(size=(n, 13)) + 0.4 * x[:, None] + 0.3 * z[:, [1]] - 0.2 * z[:, [3]]
    w[:, 12] = np.digitize(w[:, 12], [-0.5, 0.5])  # 3-level categorical mediator
    lin = -0.4 + 0.3 * x + 0.25 * w[:, :4].sum(axis=1) + 0.3 * np.tanh(w[:, 4]) + 0.4 * z[:, 0] - 0.3 * z[:, 3] + 0.3 * (w[:, 12] == 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    df = pd.DataFrame(z, columns=[f"z{i}" for i in range(1, 6)])
    for j in range(13):
        df[f"w{j + 1}"] = w[:, j]
    df["w13"] = np.array(["low", "mid", "high"])[df["w13"].astype(int)]
    df["x"], df["y"] = x, y
    spec = CausalSpec(sensitive="x", x0=0, x1=1, outcome="y", confounders=[f"z{i}" for i in range(1, 6)], mediators=[f"w{j}" for j in range(1, 14)])
    return df, spec


def timing(rows: list[int], folds: int) -> dict:
    from faircausesyn.fairness import decompose

    results = []
    for n in rows:
        df, spec = wide_sfm(n)
        entry = {"rows": n, "columns": df.shape[1]}
        for method in ("debiased", "plugin-point"):
            t0, c0 = time.perf_counter(), time.process_time()
            if method == "debiased":
                dec = decompose(df, spec, folds=folds)
            else:
                dec = decompose(df, spec, method="plugin", n_boot=2)  # 2 resamples: mostly the point estimate's cost
            entry[f"{method}_wall_s"] = round(time.perf_counter() - t0, 2)
            entry[f"{method}_cpu_s"] = round(time.process_time() - c0, 2)
            if method == "debiased":
                entry["estimates"] = {m: round(e.estimate, 4) for m, e in dec.measures.items()}
        results.append(entry)
        print(json.dumps(entry), flush=True)
    for a, b in zip(results, results[1:], strict=False):
        b["growth_exponent_debiased_cpu"] = round(math.log(b["debiased_cpu_s"] / a["debiased_cpu_s"]) / math.log(b["rows"] / a["rows"]), 2)
    return {"benchmark": "decompose timing", "folds": folds, "omp_threads": os.environ.get("OMP_NUM_THREADS"), "cpus": os.cpu_count(), "load_average": os.getloadavg(), "results": results}


def coverage(kinds: list[str], n: int, reps: int, nuisance: str, repeats: int = 1) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from scm import simulate_sfm

    from faircausesyn.fairness import MEASURES, decompose

    out = {}
    for kind in kinds:
        hits, z = [], []
        t0 = time.perf_counter()
        for r in range(reps):
            df, spec, truth = simulate_sfm(n, seed=100_000 + r, kind=kind)
            dec = decompose(df, spec, seed=r, nuisance=nuisance, repeats=repeats)
            hits.append([dec[m].covers(truth[m]) for m in MEASURES])
            z.append([(dec[m].estimate - truth[m]) / dec[m].se if dec[m].se > 0 else 0.0 for m in MEASURES])
        hits_a, z_a = np.asarray(hits, float), np.asarray(z)
        out[kind] = {
            "coverage": dict(zip(MEASURES, hits_a.mean(axis=0).round(3).tolist(), strict=True)),
            "pooled": round(float(hits_a.mean()), 3),
            "mean_z": dict(zip(MEASURES, z_a.mean(axis=0).round(2).tolist(), strict=True)),
            "sd_z": dict(zip(MEASURES, z_a.std(axis=0).round(2).tolist(), strict=True)),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(kind, json.dumps(out[kind]), flush=True)
    return {"benchmark": "decompose coverage", "n": n, "reps": reps, "nuisance": nuisance, "repeats": repeats, "results": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--coverage", action="store_true")
    ap.add_argument("--kinds", nargs="+", default=["linear_logistic", "nonlinear", "categorical_mediator", "continuous_y"])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--nuisance", default="gbm")
    ap.add_argument("--repeats", type=int, default=1, help="repeated cross-fitting (coverage mode)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    res = coverage(args.kinds, args.n, args.reps, args.nuisance, args.repeats) if args.coverage else timing(args.rows, args.folds)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
