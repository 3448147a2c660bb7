"""Commands about the installation and the data: ``plugins``, ``datasets``, ``validate``."""

from __future__ import annotations

import json

import click

from .common import data_options, load_data, out


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_cmd(as_json: bool) -> None:
    """List plugins, their distribution, version, status and components."""
    from rich.table import Table

    from ..plugins import PluginHost

    host = PluginHost()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in host.plugins], indent=2))
        return
    table = Table(title="faircausesyn plugins")
    for col in ("plugin", "distribution", "version", "status", "components"):
        table.add_column(col)
    for p in host.plugins:
        comps = "; ".join(f"{k}: {', '.join(v)}" for k, v in p.components.items())
        status = "[green]ok[/]" if p.status == "ok" else f"[red]failed[/]: {p.error}"
        table.add_row(p.name, p.distribution or "-", p.version or "-", status, comps)
    out.print(table)


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def datasets_cmd(as_json: bool) -> None:
    """List the registered datasets."""
    from rich.table import Table

    from ..plugins import PluginHost

    reg = PluginHost().registry("dataset")
    if as_json:
        click.echo(json.dumps([{"name": e.name, "plugin": e.plugin, "description": e.description} for e in reg], indent=2))
        return
    table = Table(title="datasets")
    for col in ("name", "plugin", "description"):
        table.add_column(col)
    for e in reg:
        table.add_row(e.name, e.plugin, e.description)
    out.print(table)


@click.command("validate")
@click.argument("data")
@data_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def validate_cmd(data: str, spec_path: str | None, delimiter: str | None, no_header: bool, na_values: tuple[str, ...], as_json: bool) -> None:
    """Check DATA against a spec; print roles, inferred types, group sizes and outcome rates.

    Every problem found is reported at once (exit code 2).
    """
    from ..summary import summarize

    df, spec = load_data(data, spec_path, delimiter=delimiter, no_header=no_header, na_values=na_values)
    summary = summarize(df, spec)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary)


def print_summary(summary: dict) -> None:
    """Print a table summary (from :func:`faircausesyn.summary.summarize`) for a person."""
    from rich.table import Table

    out.print(f"[bold]{summary['name'] or 'table'}[/]: {summary['rows']} rows, {summary['columns']} columns; spec OK")
    roles = Table(title="columns")
    for col in ("column", "role", "kind", "dtype", "missing", "values"):
        roles.add_column(col)
    for c in summary["schema"]:
        roles.add_row(c["name"], c["role"] or "-", c["kind"], c["dtype"], str(c["n_missing"]), c["values"])
    out.print(roles)
    groups = Table(title=f"groups of {summary['sensitive']} and outcome {summary['outcome']}")
    for col in ("group", "level", "rows", "share", "outcome mean"):
        groups.add_column(col)
    for g in summary["groups"]:
        groups.add_row(g["group"], str(g["level"]), str(g["rows"]), f"{g['share']:.1%}", f"{g['outcome_mean']:.4g}")
    out.print(groups)


commands = [plugins_cmd, datasets_cmd, validate_cmd]
