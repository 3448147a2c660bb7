"""Render the per-dataset tables of docs/benchmarks.md from a benchmark run's summary.csv.

    python benchmarks/docs_tables.py runs/full/summary.csv > /tmp/tables.md
"""

from __future__ import annotations

import sys

import pandas as pd

COLUMNS = [
    ("fairness/synthetic_DE", "syn. DE"),
    ("fairness/deviation_DE", "abs dev. DE"),
    ("fairness/deviation_IE", "abs dev. IE"),
    ("fairness/deviation_SE", "abs dev. SE"),
    ("causal_fairness/share_in_real_interval", "measures in real 95% CI"),
    ("fidelity/quality_score", "quality"),
    ("detection/detection_auc", "detection AUC"),
    ("utility/gbm_tstr_auc", "TSTR AUC (gbm)"),
    ("predictor_bias/DE_bias_reduction", "DE bias red."),
    ("privacy/exact_copy_rate", "exact-copy rate"),
    ("privacy/dcr_ratio", "DCR ratio"),
    ("cost/fit_s", "fit s"),
    ("cost/sample_s", "sample s"),
]


def fmt(mean: float, std: float) -> str:
    """``mean ± std`` with three decimals (– when missing)."""
    if pd.isna(mean):
        return "–"
    return f"{mean:.3f} ± {0.0 if pd.isna(std) else std:.3f}"


def render(summary: pd.DataFrame) -> str:
    """One Markdown section per dataset: real measures, then a row per generator x constraint."""
    out = []
    for ds, part in summary.groupby("dataset", sort=False):
        def real_mean(metric: str) -> float:
            rows = part[part.metric == metric]
            return float(rows["mean"].mean()) if len(rows) else float("nan")
        out += [f"### {ds}", ""]
        out.append(
            f"Real train part: ctf-DE {real_mean('fairness/real_DE'):+.3f}, ctf-IE {real_mean('fairness/real_IE'):+.3f}, "
            f"ctf-SE {real_mean('fairness/real_SE'):+.3f} (mean over the splits); TRTR AUC (gbm) {real_mean('utility/gbm_trtr_auc'):.3f}."
        )
        out += ["", "| generator | constraint | " + " | ".join(label for _, label in COLUMNS) + " |", "|---" * (len(COLUMNS) + 2) + "|"]
        for (gen, con), cell in part.groupby(["generator", "constraint"], sort=True):
            idx = cell.set_index("metric")
            vals = [fmt(idx["mean"].get(m, float("nan")), idx["std"].get(m, float("nan"))) for m, _ in COLUMNS]
            out.append(f"| {gen} | {con} | " + " | ".join(vals) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(pd.read_csv(sys.argv[1])))
