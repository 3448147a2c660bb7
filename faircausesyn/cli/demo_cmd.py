"""``faircausesyn demo``: the whole pipeline on built-in data, real and synthetic decompositions side by side."""

from __future__ import annotations

from pathlib import Path

import click

from .common import console, out, write_json

MEASURES = ("TV", "DE", "IE", "SE", "ETT")


@click.command("demo")
@click.option("--dataset", default="heart_failure", show_default=True, help="Built-in dataset to run on.")
@click.option("--generator", default="faircausesyn", show_default=True, help="Generator to fit.")
@click.option("--constraint", default="preserve", show_default=True, help="Fairness constraint (e.g. remove_direct).")
@click.option("--rows", type=int, default=None, help="Synthetic rows (default: as many as the real training part).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo-output", show_default=True, help="Folder for the synthetic table and results.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo_cmd(dataset: str, generator: str, constraint: str, rows: int | None, seed: int, out_dir: str, quiet: bool) -> None:
    """Load built-in data, validate it, fit a generator, and compare real and synthetic causal fairness."""
    from ..io import write_table
    from ..pipeline import Pipeline
    from ..plugins import PluginHost
    from ..summary import summarize
    from .core_cmds import print_summary

    host = PluginHost()
    df, spec = host.load_dataset(dataset)
    spec.validate(df)
    print_summary(summarize(df, spec))
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    console.print(f"fitting [bold]{generator}[/] with constraint [bold]{constraint}[/] on 70% of {dataset} (seed {seed}) ...")
    pipe = Pipeline(
        generator,
        generator_config={"seed": seed},
        constraint=constraint,
        evaluators=("causal_fairness", "fidelity", "detection", "utility"),
        rows=rows,
        holdout=0.3,
        seed=seed,
        decomposition={"method": "debiased"},
        host=host,
    )
    result = pipe.run(df, spec, progress=not quiet)
    real, syn = result.decompositions["real"]["measures"], result.decompositions["synthetic"]["measures"]
    target = host.create("constraint", constraint).targets({m: real[m]["estimate"] for m in MEASURES})
    from rich.table import Table

    table = Table(title=f"causal fairness of {dataset}: real (train, {len(result.train)} rows) vs {generator} ({len(result.synthetic)} rows)")
    for col in ("measure", "real [95% CI]", "target", "synthetic [95% CI]", "|syn - target|"):
        table.add_column(col, justify="right")
    for m in MEASURES:
        r, s = real[m], syn[m]
        table.add_row(
            m,
            f"{r['estimate']:+.3f} [{r['lower']:+.2f}, {r['upper']:+.2f}]",
            f"{target[m]:+.3f}",
            f"{s['estimate']:+.3f} [{s['lower']:+.2f}, {s['upper']:+.2f}]",
            f"{abs(s['estimate'] - target[m]):.3f}",
        )
    out.print(table)
    flat = result.flat_metrics()
    labels = {
        "fidelity/quality_score": "fidelity (SDMetrics quality, 1 is best)",
        "detection/detection_auc": "detection AUC (0.5 is best)",
        "utility/gbm_tstr_auc": "utility: AUC trained on synthetic, tested on real holdout",
        "utility/gbm_trtr_auc": "utility: AUC trained on real, tested on real holdout",
    }
    for key, label in labels.items():
        if flat.get(key) is not None:
            out.print(f"{label}: {flat[key]:.3f}")
    t = result.timings
    out.print(f"fit {t['fit_s']:.1f} s, sample {t['sample_s']:.2f} s, exact copies of real rows: {result.sample_report.get('exact_copies', 0)}")
    write_table(result.synthetic, folder / "synthetic.csv")
    write_json(result.to_dict(), folder / "result.json")
    out.print(f"wrote {folder / 'synthetic.csv'} and {folder / 'result.json'}")


commands = [demo_cmd]
