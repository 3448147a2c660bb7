"""Running one benchmark cell: a plain dict in, a plain record out (safe to ship to a Dask worker).

The cell's dataset is loaded where the cell runs (a built-in by name, or a
file with its spec), a :class:`~faircausesyn.pipeline.Pipeline` runs it, and
every failure becomes a record with ``status="error"`` and its message rather
than an exception, so one broken cell never stops the others.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
import time
import traceback
from typing import Any

from .dask_exec import WORKER_ENV


def load_plugin_objects(specs: list[str]) -> list[tuple[str, Any]]:
    """Import ``"module:attribute"`` plugin objects named by a benchmark config."""
    from ..errors import ConfigError

    out = []
    for spec in specs:
        module, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot load plugin {spec!r}: {exc}", hint="plugins are 'module:attribute' importable where cells run (PYTHONPATH)") from None
        out.append((spec, obj))
    return out


def load_cell_data(dataset: dict[str, Any], host: Any) -> tuple[Any, Any]:
    """The table and spec of a cell's dataset reference."""
    from ..io import read_table
    from ..spec import CausalSpec

    if dataset.get("path"):
        df = read_table(
            dataset["path"],
            delimiter=dataset.get("delimiter"),
            header=False if dataset.get("no_header") else None,
            na_values=dataset.get("na_values") or None,
        )
        spec = CausalSpec.from_file(dataset["spec"])
    else:
        df, spec = host.load_dataset(dataset["name"])
        if dataset.get("spec"):
            spec = CausalSpec.from_file(dataset["spec"])
    spec.validate(df)
    return df, spec


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def cell_identity(cell: dict[str, Any]) -> dict[str, Any]:
    """The fields that name a cell in ``results.jsonl`` (its key, dataset, generator, constraint, seed, config)."""
    return {
        "key": cell["key"],
        "benchmark": cell.get("benchmark"),
        "dataset": cell["dataset"]["name"],
        "generator": cell["generator"]["label"],
        "constraint": cell["constraint"]["name"],
        "seed": cell["seed"],
        "cell": cell,
    }


def run_cell(cell: dict[str, Any], progress: bool = False) -> dict[str, Any]:
    """Run one cell and return its record (``status`` ok / error / unsupported); never raises for a cell's own failure."""
    for k, v in WORKER_ENV.items():
        os.environ.setdefault(k, v)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    from ..errors import FairCauseSynError, UnsupportedConstraintError
    from ..pipeline import Pipeline
    from ..plugins import PluginHost
    from .resources import library_versions

    started = _now()
    t0 = time.perf_counter()
    record: dict[str, Any] = {
        **cell_identity(cell),
        "started_at": started,
        "worker": {"host": platform.node(), "pid": os.getpid()},
    }
    try:
        host = PluginHost(plugins=load_plugin_objects(cell.get("plugins") or []))
        df, spec = load_cell_data(cell["dataset"], host)
        pipe = Pipeline(
            cell["generator"]["name"],
            generator_config=cell["generator"]["config"],
            graph=cell.get("graph") or "sfm",
            constraint=cell["constraint"]["name"],
            constraint_config=cell["constraint"]["config"],
            evaluators=cell.get("evaluators"),
            evaluator_config=cell.get("evaluator_config") or {},
            rows=cell.get("rows"),
            holdout=cell["holdout"],
            seed=cell["seed"],
            decomposition=cell.get("decomposition"),
            no_copies=bool(cell.get("no_copies")),
            on_evaluator_error="record",
            host=host,
        )
        result = pipe.run(df, spec, progress=progress)
        d = result.to_dict()
        d.pop("config", None)
        record.update(status="ok", result=d)
        if result.errors:
            record["evaluator_errors"] = dict(result.errors)
    except UnsupportedConstraintError as exc:
        record.update(status="unsupported", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a failed cell is recorded, the others go on
        kind = "" if isinstance(exc, FairCauseSynError) else f"{type(exc).__name__}: "
        record.update(status="error", error=kind + str(exc), traceback="".join(traceback.format_exception(exc)[-6:]))
    record["finished_at"] = _now()
    record["wall_s"] = time.perf_counter() - t0
    record["versions"] = library_versions()
    return record
