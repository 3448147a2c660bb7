"""``faircausesyn generate``: fit a generator on DATA and write synthetic rows, chunked and resumable.

Every check that needs no data or model (rows, output path, names,
configurations, graph file, execution settings) runs before any work. The
output is written atomically: a single CSV or Parquet file, or, for several
chunks, a Parquet dataset folder published only when complete (see
:mod:`faircausesyn.chunked`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .common import console, data_options, load_data, parse_config, write_json


@click.command("generate")
@click.argument("data")
@data_options
@click.option("--generator", "generator_name", required=True, help="Registered generator name (see `faircausesyn plugins`).")
@click.option("--config", "config_pairs", multiple=True, metavar="KEY=VALUE", help="Generator setting (repeatable), e.g. --config epochs=50.")
@click.option("--backend", default=None, help="LLM backend of the generator: shortcut for --config backend=NAME.")
@click.option("--constraint", "constraint_name", default="preserve", show_default=True, help="Fairness constraint (e.g. remove_direct).")
@click.option("--constraint-config", "constraint_pairs", multiple=True, metavar="KEY=VALUE", help="Constraint setting (repeatable).")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False), default=None, help="Causal graph file (JSON, YAML or DOT); default: the SFM of the spec.")
@click.option("--rows", type=int, required=True, help="Number of synthetic rows.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of fitting and of every chunk.")
@click.option("--no-copies", is_flag=True, default=False, help="Replace rows that exactly copy a real training row.")
@click.option("--chunk-rows", type=int, default=None, help="Rows per chunk (default 100000). The table depends on seed and chunk size.")
@click.option("--workers", type=int, default=None, help="Sample the chunks on a Dask LocalCluster of N worker processes.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Sample the chunks on an existing Dask cluster (shared file system needed).")
@click.option("--resume", is_flag=True, default=False, help="Continue an interrupted run with the same settings (finished chunks are kept).")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False), default=None, help="Write a JSON record of the run (settings, counts, timings, versions).")
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="Output .csv or .parquet.")
@click.option("--quiet", is_flag=True, default=False, help="No progress bars.")
def generate_cmd(
    data: str,
    spec_path: str | None,
    delimiter: str | None,
    no_header: bool,
    na_values: tuple[str, ...],
    generator_name: str,
    config_pairs: tuple[str, ...],
    backend: str | None,
    constraint_name: str,
    constraint_pairs: tuple[str, ...],
    graph_path: str | None,
    rows: int,
    seed: int,
    no_copies: bool,
    chunk_rows: int | None,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    manifest_path: str | None,
    output: str,
    quiet: bool,
) -> None:
    """Fit GENERATOR on DATA (a file or a built-in dataset) and write --rows synthetic rows to -o.

    Chunk i is drawn with a seed derived from --seed and i, so an interrupted
    run continued with --resume gives the same table as an uninterrupted one.
    Prints one line: rows written, exact copies of real rows, time.
    """
    from ..benchmark.dask_exec import check_execution
    from ..chunked import DEFAULT_CHUNK_ROWS, ChunkedRun, check_output, plan_chunks
    from ..errors import ConfigError
    from ..io import check_writable
    from ..plugins import PluginHost

    t_start = time.perf_counter()
    # ---- every cheap check first
    if rows is None or rows <= 0:
        raise ConfigError(f"--rows must be a positive integer, got {rows}", hint="e.g. --rows 1000")
    if chunk_rows is not None and chunk_rows <= 0:
        raise ConfigError(f"--chunk-rows must be a positive integer, got {chunk_rows}")
    check_execution(workers, scheduler)
    check_output(output)
    if manifest_path:
        check_writable(manifest_path)
    config = parse_config(config_pairs)
    if backend:
        if "backend" in config and config["backend"] != backend:
            raise ConfigError(f"--backend {backend!r} contradicts --config backend={config['backend']!r}")
        config["backend"] = backend
    constraint_config = parse_config(constraint_pairs)
    host = PluginHost()
    gen_cls = host.registry("generator").get(generator_name)
    if "seed" in getattr(getattr(gen_cls, "Config", None), "model_fields", {}):
        config.setdefault("seed", seed)
    generator = host.create("generator", generator_name, **config)
    constraint = host.create("constraint", constraint_name, **constraint_config)
    graph = None
    if graph_path:
        from ..graph import CausalGraph

        graph = CausalGraph.from_file(graph_path)
    df, spec = load_data(data, spec_path, delimiter=delimiter, no_header=no_header, na_values=na_values)
    if graph is not None:
        graph.validate(spec, columns=[c for c in df.columns if c in set(spec.columns)])

    k = chunk_rows or DEFAULT_CHUNK_ROWS
    chunks = plan_chunks(rows, k, seed)
    chunked = len(chunks) > 1 or resume or workers is not None or bool(scheduler)
    identity = {
        "data": _data_fingerprint(df),
        "spec": spec.model_dump(mode="json"),
        "generator": generator_name,
        "config": generator.get_params(),
        "constraint": constraint_name,
        "constraint_config": constraint.get_params(),
        "graph": graph.to_dict() if graph is not None else "sfm",
    }
    run = ChunkedRun(output, rows=rows, chunk_rows=k, seed=seed, no_copies=no_copies, identity=identity) if chunked else None

    # ---- the Dask client first (an unreachable scheduler fails before any training), then fit and sample
    from ..benchmark.dask_exec import dask_client

    with dask_client(workers, scheduler) if run is not None else _no_client() as client:
        if run is not None:
            run.prepare(resume=resume)
        if not quiet:
            verb = "refitting" if run is not None and resume else "fitting"
            console.print(f"{verb} [bold]{generator_name}[/] on {len(df)} rows ({constraint.describe()}) ...")
        t0 = time.perf_counter()
        generator.fit(df, spec, graph=graph, constraint=constraint, progress=not quiet)
        fit_s = time.perf_counter() - t0
        if run is not None:
            # No model is stored on disk: a resumed run refits with the same seed and must reproduce the probe.
            run.verify_probe(generator) if resume else run.record_probe(generator)

        t0 = time.perf_counter()
        if run is None:
            from ..io import write_table

            frame = generator.sample(rows, seed=chunks[0].seed, no_copies=no_copies)
            rep = dict(getattr(generator, "sample_report_", {}))
            write_table(frame, output)
            summary: dict[str, Any] = {
                "rows": int(len(frame)),
                "chunks": 1,
                "chunks_resumed": 0,
                "exact_copies": int(rep.get("exact_copies", 0)),
                "copies_replaced": int(rep.get("copies_replaced", 0)),
                "exact_copies_left": int(rep.get("exact_copies_left", rep.get("exact_copies", 0))),
            }
        else:
            summary = _run_chunks(run, generator, client, quiet)
        sample_s = time.perf_counter() - t0
    total_s = time.perf_counter() - t_start

    from ..benchmark.resources import library_versions, machine_info, max_rss_bytes

    line = (
        f"wrote {summary['rows']:,} rows to {output}"
        + (f" ({summary['chunks']} chunks, {summary['chunks_resumed']} resumed)" if summary["chunks"] > 1 else "")
        + f"; exact copies of real rows: {summary['exact_copies']}"
        + (f" (replaced {summary['copies_replaced']}, left {summary['exact_copies_left']})" if no_copies else "")
        + f"; fit {fit_s:.1f} s, sample {sample_s:.1f} s, total {total_s:.1f} s"
    )
    click.echo(line)
    if manifest_path:
        write_json(
            {
                "output": str(Path(output).resolve()),
                "data": data,
                "spec": spec.model_dump(mode="json"),
                "generator": generator_name,
                "config": generator.get_params(),
                "constraint": constraint_name,
                "constraint_config": constraint.get_params(),
                "graph": graph_path or "sfm",
                "rows_asked": rows,
                "seed": seed,
                "chunk_rows": k,
                "no_copies": no_copies,
                "execution": {"workers": workers, "scheduler": scheduler},
                **summary,
                "fit_report": getattr(generator, "fit_report_", {}),
                "timings": {"fit_s": fit_s, "sample_s": sample_s, "total_s": total_s},
                "peak_rss_mb": round(max_rss_bytes() / 2**20, 1),
                "versions": library_versions(),
                "machine": machine_info(),
            },
            manifest_path,
        )


@contextlib.contextmanager
def _no_client() -> Iterator[None]:
    yield None


def _run_chunks(run: Any, generator: Any, client: Any, quiet: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    done_rows = sum(s["rows_asked"] for s in run.done().values())
    with Progress(
        TextColumn("sampling"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), TimeRemainingColumn(),
        console=console, disable=quiet, transient=False,
    ) as bar:
        task = bar.add_task("sampling", total=run.rows, completed=done_rows)
        result = run.run(generator, client=client, on_chunk=lambda s: bar.advance(task, s["rows_asked"]))
    d = result.to_dict()
    return {k: d[k] for k in ("rows", "chunks", "chunks_resumed", "exact_copies", "copies_replaced", "exact_copies_left")}


def _data_fingerprint(df: Any) -> str:
    import hashlib

    import pandas as pd

    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


commands = [generate_cmd]
