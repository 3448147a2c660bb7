"""Benchmark of the baseline generators: fit and sample times on the shared datasets, and fairness.

For every generator (``gaussian_copula``, ``ctgan``, ``tvae``, ``decaf``,
``dowhy_scm``) and dataset (``heart_failure``, ``cleveland``, ``ilpd``) it
records fit wall and CPU seconds, the wall seconds and rows per second of
sampling ``--rows`` rows, the process's peak resident memory so far, and
whether the sample has exactly the fitted columns and dtypes. With
``--fairness`` the structural generators are also fitted with
``--constraint`` (default ``remove_direct``) and the TV/DE/IE/SE of the real
table and of a large synthetic sample are reported (debiased estimator,
gradient-boosting nuisances, 5 folds: the project's reference estimator).

    OMP_NUM_THREADS=1 python benchmarks/bench_generators.py --out bench_generators.json
    OMP_NUM_THREADS=1 python benchmarks/bench_generators.py --generators decaf dowhy_scm --fairness
    OMP_NUM_THREADS=1 python benchmarks/bench_generators.py --quick   # few epochs: a smoke run

Times depend on the machine's load: the JSON records the CPU count and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

GENERATORS = ("gaussian_copula", "ctgan", "tvae", "decaf", "dowhy_scm")
DATASETS = ("heart_failure", "cleveland", "ilpd")
STRUCTURAL = ("decaf", "dowhy_scm")
QUICK = {"ctgan": {"epochs": 10}, "tvae": {"epochs": 10}, "decaf": {"epochs": 20}, "dowhy_scm": {"quality": "fast"}}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _measures(df: Any, spec: Any) -> dict[str, float]:
    from faircausesyn import decompose

    d = decompose(df, spec, method="debiased", folds=5, seed=0)
    return {m: round(float(d[m].estimate), 4) for m in ("TV", "DE", "IE", "SE")}


def run_one(name: str, dataset: str, rows: int, seed: int, config: dict[str, Any], constraint: str | None) -> dict[str, Any]:
    """Fit one generator on one dataset and sample from it; returns the timings (and measures)."""
    from faircausesyn import get_generator, load_dataset

    df, spec = load_dataset(dataset)
    entry: dict[str, Any] = {"generator": name, "dataset": dataset, "constraint": constraint or "preserve", "config": config}
    gen = get_generator(name, seed=seed, **config)
    t0, c0 = time.perf_counter(), time.process_time()
    gen.fit(df, spec, constraint=constraint)
    entry["fit_wall_s"] = round(time.perf_counter() - t0, 2)
    entry["fit_cpu_s"] = round(time.process_time() - c0, 2)
    t0 = time.perf_counter()
    out = gen.sample(rows, seed=seed)
    wall = time.perf_counter() - t0
    entry["sample_rows"] = rows
    entry["sample_wall_s"] = round(wall, 3)
    entry["rows_per_s"] = round(rows / max(wall, 1e-9))
    cols = [c for c in df.columns if c in set(spec.columns)]
    entry["columns_and_dtypes_ok"] = bool(list(out.columns) == cols and all(str(out[c].dtype) == str(gen.schema_[c].dtype) for c in cols))
    entry["exact_copies"] = gen.sample_report_["exact_copies"]
    entry["peak_rss_mb"] = _peak_rss_mb()
    if constraint is not None:
        big = gen.sample(max(rows, 10000), seed=seed + 1)
        entry["real"] = _measures(df, spec)
        entry["synthetic"] = _measures(big, spec)
    return entry


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=GENERATORS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--rows", type=int, default=1000, help="rows sampled per fit (timing)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="few epochs / no model selection: a smoke run")
    parser.add_argument("--fairness", action="store_true", help="also fit the structural generators with --constraint and decompose")
    parser.add_argument("--constraint", default="remove_direct")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    try:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ImportError:  # pragma: no cover
        pass
    results = []
    for dataset in args.datasets:
        for name in args.generators:
            config = QUICK.get(name, {}) if args.quick else {}
            runs = [None] + ([args.constraint] if args.fairness and name in STRUCTURAL else [])
            for constraint in runs:
                entry = run_one(name, dataset, args.rows, args.seed, config, constraint)
                results.append(entry)
                print(json.dumps(entry), flush=True)
    report = {
        "benchmark": "generators",
        "rows": args.rows,
        "seed": args.seed,
        "quick": args.quick,
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "results": results,
    }
    if args.out is not None:
        from faircausesyn.io import atomic_write_text

        atomic_write_text(args.out, json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
