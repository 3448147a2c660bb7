"""Ablation: the faircausesyn generator with and without LLM augmentation of its training rows.

Both arms fit the ``faircausesyn`` generator (``tabular_lm`` backend) on the same
real train split; the "with" arm sets ``augment=<backend>`` (SmolLM2 by default),
so the smallest X x Y groups get LLM-written extra rows (down-weighted) before
the tabular LM is trained. Per seed and arm it reports:

- the LLM's yield (rows asked, proposed, valid, reasons, rows/s) in the "with" arm;
- fairness fidelity: |m_syn - m_real| for TV, DE, IE, SE (plug-in estimator, linear nuisances);
- group shares: the largest |share_syn - share_real| over the X x Y groups;
- small-group fidelity: the mean standardised difference of column means, synthetic
  vs real train, inside each augmented group;
- detection AUC (real train vs synthetic, 5-fold logistic regression; 0.5 is best);
- utility: train on synthetic, test on the real holdout (TSTR ROC AUC), overall and in the
  x0 group, next to train-on-real (TRTR, the same in both arms);
- fit and sample seconds.

Run (a few minutes per seed on a 2-core CPU; most of it is the LLM)::

    OMP_NUM_THREADS=1 python benchmarks/bench_augment_ablation.py --seeds 0 1 --per-group 12 \\
        --out benchmarks/results/augment_ablation.json

Results are written atomically as JSON after every arm (per seed and a
mean/std summary over the seeds both arms finished) and printed as a table. ``--columns`` restricts the mediators (shorter lines are
cheaper for a small LLM); both arms always see the same columns.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

MEASURES = ("TV", "DE", "IE", "SE")


def _torch_one_thread() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is needed by the generator anyway
        pass


def load(dataset: str, columns: list[str] | None) -> tuple[pd.DataFrame, Any]:
    """The dataset and its spec, with ``other`` columns dropped and mediators optionally restricted."""
    import faircausesyn

    df, spec = faircausesyn.load_dataset(dataset)
    mediators = [m for m in spec.mediators if columns is None or m in columns]
    spec = spec.model_copy(update={"mediators": mediators, "other": [],
                                   "descriptions": {k: v for k, v in spec.descriptions.items() if k in {spec.sensitive, spec.outcome, *spec.confounders, *mediators}}})
    return df[spec.analysed].dropna().reset_index(drop=True), spec


def group_of(frame: pd.DataFrame, spec: Any) -> pd.Series:
    """The X x Y group of each row as text."""
    return frame[spec.sensitive].astype(str) + "|" + frame[spec.outcome].astype(str)


def fairness_deviation(real: pd.DataFrame, synth: pd.DataFrame, spec: Any, seed: int) -> dict[str, float]:
    """|m_syn - m_real| per measure (plug-in, linear nuisances: fast and stable on small data)."""
    from faircausesyn.fairness import decompose

    kw = {"method": "plugin", "nuisance": "linear", "n_boot": 20, "seed": seed}
    r, s = decompose(real, spec, **kw), decompose(synth, spec, **kw)
    out = {f"abs_dev_{m}": abs(float(s[m].estimate) - float(r[m].estimate)) for m in MEASURES}
    out.update({f"real_{m}": float(r[m].estimate) for m in MEASURES})
    out.update({f"syn_{m}": float(s[m].estimate) for m in MEASURES})
    return out


def _design(frame: pd.DataFrame, columns: list[str], ref: pd.DataFrame) -> np.ndarray:
    """Numeric design matrix: numbers standardised by ``ref``, categories one-hot by ``ref``'s levels."""
    parts = []
    for c in columns:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(ref[c]) and ref[c].nunique() > 2:
            mu, sd = float(ref[c].mean()), float(ref[c].std() or 1.0)
            parts.append(((pd.to_numeric(s) - mu) / sd).to_numpy()[:, None])
        else:
            levels = sorted(ref[c].astype(str).unique())
            parts.append(np.stack([(s.astype(str) == lv).to_numpy(float) for lv in levels[1:]], axis=1) if len(levels) > 1 else np.zeros((len(s), 0)))
    return np.concatenate(parts, axis=1)


def detection_auc(real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], seed: int) -> float:
    """Cross-validated ROC AUC of a logistic regression telling real from synthetic rows (0.5 is best)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict, StratifiedKFold
    from sklearn.metrics import roc_auc_score

    both = pd.concat([real[columns], synth[columns]], ignore_index=True)
    X = _design(both, columns, real)
    y = np.r_[np.zeros(len(real)), np.ones(len(synth))]
    p = cross_val_predict(LogisticRegression(max_iter=2000), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def tstr(train: pd.DataFrame, test: pd.DataFrame, spec: Any, columns: list[str], seed: int) -> dict[str, float]:
    """ROC AUC on the real ``test`` rows of a gradient-boosting classifier trained on ``train``, overall and in x0."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    feats = [c for c in columns if c != spec.outcome]
    y_tr = train[spec.outcome].astype(int).to_numpy()
    if len(np.unique(y_tr)) < 2:
        return {"auc": float("nan"), "auc_x0": float("nan")}
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=seed)
    model.fit(_design(train, feats, test), y_tr)
    p = model.predict_proba(_design(test, feats, test))[:, 1]
    y = test[spec.outcome].astype(int).to_numpy()
    x0 = np.asarray(spec.x_indicator(test)) == 0
    out = {"auc": float(roc_auc_score(y, p))}
    out["auc_x0"] = float(roc_auc_score(y[x0], p[x0])) if len(np.unique(y[x0])) == 2 else float("nan")
    return out


def group_fidelity(real: pd.DataFrame, synth: pd.DataFrame, spec: Any, groups: list[str], columns: list[str]) -> dict[str, float]:
    """Per group: share gap and the mean |standardised mean difference| of the other columns (real vs synthetic)."""
    gr, gs = group_of(real, spec), group_of(synth, spec)
    out: dict[str, float] = {}
    shares = {g: abs(float((gs == g).mean()) - float((gr == g).mean())) for g in sorted(gr.unique())}
    out["max_share_gap"] = max(shares.values())
    feats = [c for c in columns if c not in (spec.sensitive, spec.outcome) and pd.api.types.is_numeric_dtype(real[c])]
    for g in groups:
        r, s = real[gr == g], synth[gs == g]
        if len(s) < 2:
            out[f"smd_{g}"] = float("nan")
            continue
        diffs = [abs(float(pd.to_numeric(s[c]).mean()) - float(pd.to_numeric(r[c]).mean())) / float(real[c].std() or 1.0) for c in feats]
        out[f"smd_{g}"] = float(np.mean(diffs))
    return out


def run_arm(train: pd.DataFrame, test: pd.DataFrame, spec: Any, seed: int, augment: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """Fit, sample and evaluate one arm for one seed."""
    import faircausesyn

    cfg: dict[str, Any] = {"seed": seed, "epochs": args.epochs, "rounds": args.rounds}
    if augment:
        cfg.update(augment=augment, augment_per_group=args.per_group, augment_weight=args.weight,
                   augment_config={"max_tokens": args.max_tokens, "batch_size": args.batch_size, "temperature": args.temperature})
    gen = faircausesyn.get_generator("faircausesyn", **cfg)
    t0 = time.perf_counter()
    gen.fit(train, spec)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synth = gen.sample(len(train), seed=seed)
    sample_s = time.perf_counter() - t0
    cols = spec.analysed
    aug = gen.fit_report_.get("augment") or {}
    groups = [g["group"] for g in aug.get("groups", [])]
    keys = [_group_key(g, spec) for g in groups] if groups else _small_groups(train, spec)
    rec: dict[str, Any] = {"arm": "with" if augment else "without", "seed": seed, "fit_s": round(fit_s, 2), "sample_s": round(sample_s, 2)}
    if augment:
        rec["llm"] = {k: aug.get(k) for k in ("proposed", "parsed", "valid", "invalid", "returned", "invalid_reasons", "seconds", "rows_per_s", "completion_tokens", "groups")}
    rec.update(fairness_deviation(train, synth, spec, seed))
    rec.update(group_fidelity(train, synth, spec, keys, cols))
    rec["detection_auc"] = detection_auc(train, synth, cols, seed)
    t = tstr(synth, test, spec, cols, seed)
    rec["tstr_auc"], rec["tstr_auc_x0"] = t["auc"], t["auc_x0"]
    ref = tstr(train, test, spec, cols, seed)  # train on real: the reference both arms are compared with
    rec["trtr_auc"], rec["trtr_auc_x0"] = ref["auc"], ref["auc_x0"]
    return rec


def _group_key(text: str, spec: Any) -> str:
    """'sex=0 and DEATH_EVENT=1' -> '0|1' (the key of :func:`group_of`)."""
    parts = dict(p.split("=", 1) for p in text.split(" and "))
    return f"{parts[spec.sensitive]}|{parts[spec.outcome]}"


def _small_groups(train: pd.DataFrame, spec: Any) -> list[str]:
    """The groups smaller than the mean group size (what augment_rows picks by default)."""
    sizes = group_of(train, spec).value_counts()
    small = sizes[sizes < sizes.mean()]
    return sorted(small.index if len(small) else sizes.index[-1:])


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std over the seeds both arms finished, per arm, and the difference with - without."""
    out: dict[str, Any] = {}
    both = {r["seed"] for r in records if r["arm"] == "with"} & {r["seed"] for r in records if r["arm"] == "without"}
    out["seeds"] = sorted(both)
    for arm in ("without", "with"):
        rows = [r for r in records if r["arm"] == arm and r["seed"] in both]
        keys = sorted({k for r in rows for k, v in r.items() if isinstance(v, int | float) and k != "seed"})
        out[arm] = {k: {"mean": _nanmean([r.get(k) for r in rows]), "std": _nanstd([r.get(k) for r in rows])} for k in keys}
    common = set(out["without"]) & set(out["with"])
    out["with_minus_without"] = {k: out["with"][k]["mean"] - out["without"][k]["mean"] for k in sorted(common)}
    return out


def _nanmean(v: list[Any]) -> float:
    a = np.array([x for x in v if x is not None], dtype=float)
    return float(np.nanmean(a)) if a.size and not np.isnan(a).all() else float("nan")


def _nanstd(v: list[Any]) -> float:
    a = np.array([x for x in v if x is not None], dtype=float)
    return float(np.nanstd(a)) if a.size and not np.isnan(a).all() else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="heart_failure")
    p.add_argument("--columns", default=None, help="comma-separated mediators to keep (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--holdout", type=float, default=0.3)
    p.add_argument("--backend", default="smollm2", help="LLM backend for the 'with' arm")
    p.add_argument("--per-group", type=int, default=12, help="LLM rows asked per small group")
    p.add_argument("--weight", type=float, default=0.5, help="training weight of an LLM-written row")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/augment_ablation.json")
    args = p.parse_args(argv)
    _torch_one_thread()

    from faircausesyn.io import atomic_write_text
    from faircausesyn.pipeline import stratified_split

    data, spec = load(args.dataset, args.columns.split(",") if args.columns else None)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    for seed in args.seeds:
        train, test = stratified_split(data, spec, args.holdout, seed)
        for augment in (None, args.backend):
            rec = run_arm(train, test, spec, seed, augment, args)
            records.append(rec)
            print(json.dumps({k: v for k, v in rec.items() if k != "llm"}, default=_num), flush=True)
            if "llm" in rec:
                print("  llm:", json.dumps({k: rec["llm"][k] for k in ("proposed", "valid", "returned", "seconds", "rows_per_s")}), flush=True)
            # rewritten after every arm, so an interrupted run keeps what it measured
            summary = summarise(records)
            result = {"config": vars(args), "spec": spec.model_dump(mode="json"), "rows": len(data), "records": records, "summary": summary}
            atomic_write_text(out, json.dumps(result, indent=2, default=_num))
    print(f"\n{'metric':28s} {'without':>16s} {'with':>16s} {'with-without':>13s}")
    for k, d in summary["with_minus_without"].items():
        w0, w1 = summary["without"][k], summary["with"][k]
        print(f"{k:28s} {w0['mean']:8.4f}±{w0['std']:<7.4f} {w1['mean']:8.4f}±{w1['std']:<7.4f} {d:+13.4f}")
    print(f"written {out}")
    return 0


def _num(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
