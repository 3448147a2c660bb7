"""Commands ``fairness`` (decompose one table) and ``evaluate`` (compare a synthetic table with the real one)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, DataError
from .common import console, data_options, load_data, out, parse_config, write_json


def _save_figure(fig: Any, path: str) -> None:
    """Save a matplotlib figure atomically, in the format its suffix names."""
    from ..io import atomic_path

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg", "jpg", "jpeg"):
        raise DataError(f"cannot write a plot as {suffix or '(no suffix)'!r}: {path}", hint="use a .png, .pdf or .svg file name")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix, dpi=150)


def print_decomposition(dec: Any) -> None:
    """Print a decomposition as a table for a person."""
    from rich.table import Table

    from ..fairness import MEASURE_NAMES

    table = Table(title=f"causal fairness of {dec.outcome} by {dec.sensitive} (x0={dec.x0}, x1={dec.x1}); {dec.method}")
    for col in ("measure", "estimate", "se", "95% interval", "definition"):
        table.add_column(col)
    for m, e in dec.measures.items():
        table.add_row(m, f"{e.estimate:+.4f}", f"{e.se:.4f}", f"[{e.lower:+.4f}, {e.upper:+.4f}]", MEASURE_NAMES.get(m, ""))
    out.print(table)
    out.print(f"{dec.n_used} rows used ({dec.n_x0} with x0, {dec.n_x1} with x1), {dec.n_dropped} dropped for missing values, {dec.n_clipped} with clipped propensities")


@click.command("fairness")
@click.argument("data")
@data_options
@click.option("--method", type=click.Choice(["debiased", "plugin"]), default="debiased", show_default=True, help="One-step debiased (cross-fitted) or g-formula plug-in (bootstrap).")
@click.option("--nuisance", type=click.Choice(["gbm", "linear"]), default="gbm", show_default=True, help="Nuisance models: gradient boosting or logistic/linear regression.")
@click.option("--folds", type=int, default=5, show_default=True, help="Cross-fitting folds (debiased).")
@click.option("--n-boot", type=int, default=100, show_default=True, help="Bootstrap resamples (plugin).")
@click.option("--repeats", type=int, default=1, show_default=True, help="Repeated cross-fitting, averaged (debiased).")
@click.option("--clip", type=float, default=0.01, show_default=True, help="Propensities are clipped to [clip, 1-clip].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the decomposition as JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Write a bar chart with intervals (.png, .pdf, .svg).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def fairness_cmd(
    data: str,
    spec_path: str | None,
    delimiter: str | None,
    no_header: bool,
    na_values: tuple[str, ...],
    method: str,
    nuisance: str,
    folds: int,
    n_boot: int,
    repeats: int,
    clip: float,
    seed: int,
    json_path: str | None,
    plot_path: str | None,
    quiet: bool,
) -> None:
    """Decompose the disparity of Y between x1 and x0 in DATA: TV, ctf-DE, ctf-IE, ctf-SE, ETT with 95% intervals.

    DATA is a CSV/Parquet file (with --spec) or a built-in dataset name.
    Rows with missing values in the analysed columns are dropped and counted.
    """
    from ..fairness import decompose
    from ..io import check_writable

    for p in (json_path, plot_path):
        if p:
            check_writable(p)
    df, spec = load_data(data, spec_path, delimiter=delimiter, no_header=no_header, na_values=na_values, validate=False)
    dec = decompose(df, spec, method=method, nuisance=nuisance, folds=folds, n_boot=n_boot, repeats=repeats, clip=clip, seed=seed)
    if json_path:
        write_json({"data": data, "spec": spec.model_dump(mode="json"), **dec.to_dict()}, json_path)
    if plot_path:
        _save_figure(dec.plot(labels=[spec.name or "data"]), plot_path)
    if not quiet:
        print_decomposition(dec)
        for p in (json_path, plot_path):
            if p:
                console.print(f"wrote {p}")


def _evaluator_configs(pairs: tuple[str, ...], names: list[str]) -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {n: {} for n in names}
    for key, value in parse_config(pairs).items():
        ev, dot, field = key.partition(".")
        if not dot or not field:
            raise ConfigError(f"--config expects evaluator.key=value, got {key!r}", hint="e.g. --config causal_fairness.nuisance=linear")
        if ev not in configs:
            raise ConfigError(f"--config names evaluator {ev!r}, which is not run", hint=f"evaluators run: {', '.join(names)}")
        configs[ev][field] = value
    return configs


@click.command("evaluate")
@click.argument("real")
@click.argument("synthetic", type=click.Path(exists=True, dir_okay=True))
@data_options
@click.option("--holdout", "holdout_path", type=click.Path(exists=True), default=None, help="Real rows the generator never saw (for utility, predictor bias, privacy). Without it, part of REAL is split off.")
@click.option("--evaluators", "evaluator_names", multiple=True, help="Evaluators to run (repeatable or comma-separated; default: every installed one).")
@click.option("--config", "config_pairs", multiple=True, help="Evaluator setting evaluator.key=value (repeatable), e.g. causal_fairness.nuisance=linear.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write every metric as JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None, help="Write an HTML report.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def evaluate_cmd(
    real: str,
    synthetic: str,
    spec_path: str | None,
    delimiter: str | None,
    no_header: bool,
    na_values: tuple[str, ...],
    holdout_path: str | None,
    evaluator_names: tuple[str, ...],
    config_pairs: tuple[str, ...],
    json_path: str | None,
    html_path: str | None,
    quiet: bool,
) -> None:
    """Compare the SYNTHETIC table with REAL (a file with --spec, or a built-in dataset name) with every evaluator."""
    from ..io import check_writable, read_table
    from ..plugins import PluginHost

    for p in (json_path, html_path):
        if p:
            check_writable(p)
    render = None
    if html_path:
        try:
            from ..report import render_evaluation_html as render
        except ImportError:
            raise ConfigError("--html needs faircausesyn.report.render_evaluation_html, which this installation lacks", hint="use --json, or update faircausesyn") from None
    df_real, spec = load_data(real, spec_path, delimiter=delimiter, no_header=no_header, na_values=na_values)
    read = {"delimiter": delimiter, "header": False if no_header else None, "na_values": list(na_values) or None}
    df_syn = read_table(synthetic, **read)
    df_hold = read_table(holdout_path, **read) if holdout_path else None
    host = PluginHost()
    registered = host.registry("evaluator").names()
    names = [n.strip() for item in evaluator_names for n in item.split(",") if n.strip()] or list(registered)
    unknown = [n for n in names if n not in registered]
    if unknown:
        raise ConfigError(f"unknown evaluator(s): {', '.join(unknown)}", hint=f"installed: {', '.join(registered) or '(none)'}")
    configs = _evaluator_configs(config_pairs, names)
    evaluators = {n: host.create("evaluator", n, **configs[n]) for n in names}
    metrics: dict[str, list[dict[str, Any]]] = {}
    timings: dict[str, float] = {}
    decompositions: dict[str, Any] = {}
    for name, ev in evaluators.items():
        t0 = time.perf_counter()
        ms = ev.evaluate(df_real, df_syn, spec, holdout=df_hold)
        timings[name] = round(time.perf_counter() - t0, 3)
        metrics[name] = [m.to_dict() for m in ms]
        for m in ms:
            if m.name == "max_abs_deviation" and "real" in m.details and "synthetic" in m.details:
                decompositions = {"real": m.details["real"], "synthetic": m.details["synthetic"]}
    result = {
        "real": real,
        "synthetic": synthetic,
        "holdout": holdout_path,
        "spec": spec.model_dump(mode="json"),
        "metrics": metrics,
        "decompositions": decompositions,
        "timings": {"evaluators_s": timings},
    }
    if json_path:
        write_json(result, json_path)
    if render is not None:
        render(result, html_path, dataset=spec.name or Path(real).stem)
    if not quiet:
        _print_metrics(metrics)
        for p in (json_path, html_path):
            if p:
                console.print(f"wrote {p}")


def _print_metrics(metrics: dict[str, list[dict[str, Any]]]) -> None:
    from rich.table import Table

    for name, ms in metrics.items():
        table = Table(title=name)
        for col in ("metric", "value", "ideal", "goal"):
            table.add_column(col)
        for m in ms:
            v = m["value"]
            table.add_row(m["name"], "n/a" if v is None else f"{v:.4g}", "" if m["ideal"] is None else f"{m['ideal']:g}", m["goal"] or "")
        out.print(table)


commands = [fairness_cmd, evaluate_cmd]
