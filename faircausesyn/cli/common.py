"""Shared pieces of the CLI commands: data/spec loading, ``--config k=v`` parsing, output."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console

from ..errors import ConfigError, DataError
from ..spec import CausalSpec

console = Console(stderr=True, highlight=False)
# Wide enough for the side-by-side tables when output goes to a file or pipe (rich assumes 80 there).
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)


def data_options(f):
    """Options for reading DATA: --spec, --delimiter, --no-header, --na."""
    f = click.option("--na", "na_values", multiple=True, help="Extra marker of a missing value (repeatable), e.g. --na '?'.")(f)
    f = click.option("--no-header", is_flag=True, default=False, help="The CSV has no header row (columns are then col0, col1, ...).")(f)
    f = click.option("--delimiter", default=None, help="CSV delimiter (default: sniffed).")(f)
    f = click.option("--spec", "spec_path", type=click.Path(dir_okay=False), default=None, help="Causal spec (YAML or JSON). Optional for a built-in dataset.")(f)
    return f


def load_data(
    data: str,
    spec_path: str | None,
    *,
    delimiter: str | None = None,
    no_header: bool = False,
    na_values: Sequence[str] = (),
    validate: bool = True,
) -> tuple[pd.DataFrame, CausalSpec]:
    """Read DATA (a file, or a built-in dataset name) and its spec; validate the spec against it."""
    from ..io import read_table
    from ..plugins import PluginHost

    path = Path(data)
    spec: CausalSpec | None = CausalSpec.from_file(spec_path) if spec_path else None
    if not path.exists():
        host = PluginHost()
        datasets = host.registry("dataset")
        if data in datasets:
            df, builtin_spec = host.load_dataset(data)
            spec = spec or builtin_spec
        else:
            names = ", ".join(datasets.names()) or "(none)"
            raise DataError(
                f"{data!r} is neither a file nor a built-in dataset",
                hint=f"give a path to a CSV or Parquet file, or one of: {names}",
            )
    else:
        df = read_table(path, delimiter=delimiter, header=False if no_header else None, na_values=na_values or None)
        if spec is None:
            raise DataError(f"no spec for {data!r}", hint="pass --spec SPEC.yaml naming the sensitive attribute, x0, x1, outcome, confounders and mediators")
    if validate:
        spec.validate(df)
    return df, spec


def parse_config(pairs: Sequence[str]) -> dict[str, Any]:
    """``["epochs=10", "lr=1e-3", "keep=[direct]"]`` -> ``{"epochs": 10, "lr": 0.001, "keep": ["direct"]}`` (values parsed as YAML)."""
    import yaml

    result: dict[str, Any] = {}
    bad = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            bad.append(pair)
            continue
        try:
            parsed = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            parsed = value
        result[key.strip()] = parsed
    if bad:
        raise ConfigError(f"--config expects key=value, got {', '.join(map(repr, bad))}", hint="e.g. --config epochs=50")
    return result


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    from ..io import atomic_write_text

    atomic_write_text(Path(path), json.dumps(obj, indent=2, default=_json_default))


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)
