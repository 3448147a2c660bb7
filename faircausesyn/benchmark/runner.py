"""The benchmark runner: the grid's cells, skipping finished ones, in-process or on Dask, then tables and report.

``run_benchmark(config, out_dir)`` writes into ``out_dir``:

- ``results.jsonl``: one line per finished cell (appended as cells finish);
- ``summary.csv`` / ``summary.md``: mean and spread over seeds;
- ``report.html``: the self-contained report page;
- ``run.json``: the config, the machine, library versions and the run's counts.

A cell whose key (the hash of its configuration) already has a record is not
run again, so an interrupted run continued with the same command picks up
where it stopped; failed cells are retried only with ``retry_failed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .cell import cell_identity, run_cell
from .config import BenchmarkConfig
from .results import ResultsStore


@dataclass
class BenchmarkSummary:
    """Counts of one invocation of the runner."""

    cells: int
    already_done: int
    ran: int
    ok: int
    failed: int
    unsupported: int
    seconds: float
    out_dir: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    def line(self) -> str:
        """A one-line human summary."""
        return (
            f"{self.cells} cells: {self.already_done} already done, {self.ran} run now "
            f"({self.ok} ok, {self.failed} failed, {self.unsupported} unsupported) in {self.seconds:.1f} s; results in {self.out_dir}"
        )


def pending_cells(config: BenchmarkConfig, store: ResultsStore, retry_failed: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The cells still to run and how many are already finished."""
    latest = store.latest()
    todo, done = [], 0
    for cell in config.cells():
        rec = latest.get(cell["key"])
        if rec is not None and (rec.get("status") in ("ok", "unsupported") or (rec.get("status") == "error" and not retry_failed)):
            done += 1
        else:
            todo.append(cell)
    return todo, done


def _check_names(config: BenchmarkConfig) -> None:
    """Every generator, constraint, evaluator and built-in dataset name must exist: fail before any cell runs."""
    from ..plugins import PluginHost
    from .cell import load_plugin_objects

    host = PluginHost(plugins=load_plugin_objects(config.plugins))
    for g in config.generators:
        host.registry("generator").entry(g.name)
    for c in config.constraints:
        host.registry("constraint").entry(c.name)
    for e in config.evaluators or []:
        host.registry("evaluator").entry(e)
    for d in config.datasets:
        if d.path is None:
            host.registry("dataset").entry(d.name)
    if config.graph != "sfm" and not config.graph.endswith(".json"):
        host.registry("graph_provider").entry(config.graph)


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    report: bool = True,
) -> BenchmarkSummary:
    """Run every unfinished cell of ``config`` and write results, tables and the report into ``out_dir``."""
    from ..io import atomic_write_text
    from .dask_exec import check_execution, dask_client
    from .resources import library_versions, machine_info

    check_execution(workers, scheduler)
    _check_names(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultsStore(out / "results.jsonl")
    todo, done = pending_cells(config, store, retry_failed)
    t0 = time.perf_counter()
    counts = {"ok": 0, "error": 0, "unsupported": 0}

    def finish(record: dict[str, Any]) -> None:
        store.append(record)
        counts[record["status"]] = counts.get(record["status"], 0) + 1
        if on_record:
            on_record(record)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..cli.common import console

    with Progress(TextColumn("[bold]benchmark[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=not progress) as bar:
        task = bar.add_task(config.name, total=len(todo) + done, completed=done)
        with dask_client(workers, scheduler) as client:
            if client is None:
                for cell in todo:
                    bar.update(task, description=f"{cell['dataset']['name']} / {cell['generator']['label']} / {cell['constraint']['name']} / seed {cell['seed']}")
                    finish(run_cell(cell))
                    bar.advance(task)
            else:
                from dask.distributed import as_completed

                futures = {client.submit(run_cell, cell, key=f"cell-{cell['key']}-{time.time_ns()}", pure=False): cell for cell in todo}
                for fut in as_completed(futures):
                    cell = futures[fut]
                    try:
                        record = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker that died (memory, signal) fails its cell only
                        record = _lost_cell(cell, exc)
                    finish(record)
                    fut.release()
                    bar.advance(task)
    summary = BenchmarkSummary(
        cells=len(todo) + done,
        already_done=done,
        ran=len(todo),
        ok=counts["ok"],
        failed=counts["error"],
        unsupported=counts["unsupported"],
        seconds=time.perf_counter() - t0,
        out_dir=str(out),
    )
    write_outputs(config, out, report=report)
    import json

    atomic_write_text(
        out / "run.json",
        json.dumps(
            {"config": config.model_dump(mode="json"), "last_invocation": summary.to_dict(), "machine": machine_info(), "versions": library_versions(), "execution": {"workers": workers, "scheduler": scheduler}},
            indent=2,
        ),
    )

    return summary


def write_outputs(config: BenchmarkConfig | None, out_dir: str | Path, *, report: bool = True) -> list[dict[str, Any]]:
    """(Re)write ``summary.csv``, ``summary.md`` and ``report.html`` from ``results.jsonl``; returns the records used.

    With a config, only the records of its current cells are used (an edited
    config leaves old records in the file but out of the tables).
    """
    from ..io import atomic_path, atomic_write_text
    from .summary import summary_frame, summary_markdown

    out = Path(out_dir)
    latest = ResultsStore(out / "results.jsonl").latest()
    if config is not None:
        keys = [c["key"] for c in config.cells()]
        records = [latest[k] for k in keys if k in latest]
    else:
        records = list(latest.values())
    frame = summary_frame(records)
    with atomic_path(out / "summary.csv") as tmp:
        frame.to_csv(tmp, index=False)
    title = config.name if config is not None else "benchmark"
    atomic_write_text(out / "summary.md", summary_markdown(records, title=title))
    from ..report import render_benchmark_html

    if report:
        render_benchmark_html(records, out / "report.html", title=title)
    return records


def _lost_cell(cell: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    return {
        **cell_identity(cell),
        "status": "error",
        "error": f"the worker running this cell was lost: {type(exc).__name__}: {exc}",
    }
