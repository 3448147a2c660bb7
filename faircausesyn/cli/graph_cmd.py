"""``faircausesyn graph``: build a causal graph for DATA with a provider, save it, plot it, refute it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .common import console, data_options, load_data, out, parse_config, write_json

_GRAPH_SUFFIXES = (".json", ".yaml", ".yml", ".dot", ".gv")
_PLOT_SUFFIXES = (".png", ".svg", ".pdf")


@click.command("graph")
@click.argument("data")
@data_options
@click.option("--provider", default="sfm", show_default=True, help="Graph provider: sfm, user, pc, ges, llm, or any registered one.")
@click.option("--config", "config_pairs", multiple=True, metavar="KEY=VALUE", help="Provider setting (repeatable), e.g. --config alpha=0.01.")
@click.option("--input", "-i", "input_path", type=click.Path(dir_okay=False), default=None, help="A graph file (.json/.yaml/.dot) to check: shortcut for --provider user --config path=FILE.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None, help="Write the graph: .json, .yaml/.yml or .dot/.gv.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Draw the graph, nodes coloured by role: .png, .svg or .pdf.")
@click.option("--refute", "do_refute", is_flag=True, default=False, help="Test the graph's implied conditional independences on DATA (DoWhy) and print the violated ones.")
@click.option("--refute-test", type=click.Choice(["partial_correlation", "approx_kernel", "kernel"]), default="partial_correlation", show_default=True, help="Independence test of --refute.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level of --refute.")
@click.option("--max-tests", type=int, default=200, show_default=True, help="At most this many implications tested by --refute.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False), default=None, help="A known true graph file: print adjacency recall/precision, orientation recall and SHD against it.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Write the provider's report (and the refutation) as JSON.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the graph, report and refutation as JSON.")
def graph_cmd(
    data: str,
    spec_path: str | None,
    delimiter: str | None,
    no_header: bool,
    na_values: tuple[str, ...],
    provider: str,
    config_pairs: tuple[str, ...],
    input_path: str | None,
    output: str | None,
    plot_path: str | None,
    do_refute: bool,
    refute_test: str,
    alpha: float,
    max_tests: int,
    truth_path: str | None,
    report_path: str | None,
    as_json: bool,
) -> None:
    """Build a causal graph (a DAG over the columns) for DATA and check it against the roles.

    A cyclic or role-violating graph is one error naming every problem (exit code 2).
    """
    from ..errors import ConfigError
    from ..io import check_writable
    from ..plugins import PluginHost

    # Everything that needs no data is checked first.
    for path, allowed, what in ((output, _GRAPH_SUFFIXES, "--output"), (plot_path, _PLOT_SUFFIXES, "--plot")):
        if path is not None:
            if Path(path).suffix.lower() not in allowed:
                raise ConfigError(f"{what} {path!r} has an unknown suffix", hint=f"use one of {', '.join(allowed)}")
            check_writable(path)
    if report_path is not None:
        check_writable(report_path)
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    config = parse_config(config_pairs)
    if input_path is not None:
        if provider not in ("sfm", "user"):
            raise ConfigError(f"--input reads a graph file; it cannot be combined with --provider {provider}", hint="drop --provider or --input")
        provider, config = "user", {**config, "path": input_path}
    host = PluginHost()
    component = host.create("graph_provider", provider, **config)
    truth = None
    if truth_path is not None:
        from ..graph import CausalGraph

        truth = CausalGraph.from_file(truth_path)

    df, spec = load_data(data, spec_path, delimiter=delimiter, no_header=no_header, na_values=na_values)
    graph = component.provide(df, spec)
    report: dict[str, Any] = dict(getattr(component, "report_", {}) or {})
    result: dict[str, Any] = {"provider": provider, "graph": graph.to_dict(), "report": report}

    if truth is not None:
        result["comparison"] = graph.compare(truth)

    refutation = None
    if do_refute:
        from ..refute import refute

        refutation = refute(graph, df, spec, test=refute_test, alpha=alpha, max_tests=max_tests)  # type: ignore[arg-type]
        result["refutation"] = refutation.to_dict()

    if output:
        graph.save(output, spec=spec)
    if plot_path:
        graph.plot(plot_path, spec=spec, title=f"{spec.name or 'table'}: {provider} graph ({len(graph.edges)} edges)")
    if report_path:
        write_json(result, report_path)

    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    _print_graph(graph, spec, provider, report)
    if truth is not None:
        c = result["comparison"]
        out.print(
            f"against {truth_path}: adjacency recall {c['adjacency_recall']:.2f}, precision {c['adjacency_precision']:.2f}, "
            f"orientation recall {c['orientation_recall']:.2f}, SHD {c['shd']} "
            f"({len(c['missing'])} missing, {len(c['extra'])} extra, {c['reversed']} reversed)"
        )
    if refutation is not None:
        _print_refutation(refutation)
    for path, what in ((output, "graph"), (plot_path, "plot"), (report_path, "report")):
        if path:
            console.print(f"wrote {what} to {path}")


def _print_graph(graph: Any, spec: Any, provider: str, report: dict[str, Any]) -> None:
    from rich.table import Table

    out.print(f"[bold]{provider}[/] graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges; acyclic and consistent with the roles")
    table = Table(title="parents of each column")
    for col in ("column", "role", "parents"):
        table.add_column(col)
    for n in graph.topological_order():
        table.add_row(n, spec.role_of(n) or "-", ", ".join(graph.parents(n)) or "-")
    out.print(table)
    repairs = report.get("repairs") or []
    if repairs:
        out.print(f"[bold]{len(repairs)} repair(s)[/] of the proposed edges:")
        for r in repairs:
            out.print(f"  - {r}")
    for key in ("warning",):
        if report.get(key):
            out.print(f"[yellow]warning[/]: {report[key]}")


def _print_refutation(refutation: Any) -> None:
    from rich.table import Table

    out.print(refutation.summary())
    v = refutation.violations
    if len(v):
        table = Table(title="violated implications: node _||_ non-descendant | parents")
        for col in ("node", "non-descendant", "given", "p-value", "adjusted"):
            table.add_column(col)
        for row in v.itertuples(index=False):
            table.add_row(row.node, row.non_descendant, row.given or "(nothing)", f"{row.p_value:.2g}", f"{row.p_adjusted:.2g}")
        out.print(table)


commands = [graph_cmd]
