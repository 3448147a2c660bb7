"""``faircausesyn benchmark CONFIG.yaml -o DIR``: run a grid of pipelines resumably, in-process or on Dask."""

from __future__ import annotations

import click

from .common import console


@click.command("benchmark")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Results folder (created; reused to resume).")
@click.option("--workers", type=int, default=None, help="Run cells on a Dask LocalCluster of N worker processes.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run cells on an existing Dask cluster (e.g. tcp://host:8786).")
@click.option("--retry-failed", is_flag=True, default=False, help="Run again the cells recorded as failed.")
@click.option("--report-only", is_flag=True, default=False, help="Only rewrite the tables and report from results.jsonl.")
@click.option("--quiet", is_flag=True, default=False, help="No progress bar.")
def benchmark_cmd(config_path: str, out_dir: str, workers: int | None, scheduler: str | None, retry_failed: bool, report_only: bool, quiet: bool) -> None:
    """Run every cell (dataset x generator x constraint x seed) of CONFIG.yaml and write DIR/results.jsonl,
    DIR/summary.csv, DIR/summary.md and DIR/report.html.

    Finished cells (keyed by the hash of their configuration) are not run again,
    so the same command continues an interrupted run. A failed cell is recorded
    with its error and the others go on.
    """
    from pathlib import Path

    from ..benchmark import BenchmarkConfig, run_benchmark, write_outputs
    from ..errors import DataError

    config = BenchmarkConfig.from_file(config_path)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out_dir!r} exists and is not a folder")
    if report_only:
        records = write_outputs(config, out)
        click.echo(f"wrote {out / 'summary.csv'}, {out / 'summary.md'} and {out / 'report.html'} from {len(records)} record(s)")
        return

    def show(record: dict) -> None:
        if not quiet and record["status"] == "error":
            reason = str(record.get("error", "")).splitlines()[0].split(" (hint:")[0][:200]
            console.print(f"[yellow]failed[/]: {record['dataset']} / {record['generator']} / {record['constraint']} / seed {record['seed']}: {reason}")

    summary = run_benchmark(config, out, workers=workers, scheduler=scheduler, retry_failed=retry_failed, progress=not quiet, on_record=show)
    click.echo(summary.line())


commands = [benchmark_cmd]
