"""Benchmarks: a grid of datasets x generators x constraints x seeds, run resumably, in-process or on Dask.

See :func:`run_benchmark` and :class:`BenchmarkConfig`; ``faircausesyn benchmark CONFIG.yaml -o DIR`` is the command.
Nothing here imports dask, torch or sdv at import time.
"""

from __future__ import annotations

from .config import BenchmarkConfig, cell_key
from .results import ResultsStore
from .runner import BenchmarkSummary, run_benchmark, write_outputs

__all__ = ["BenchmarkConfig", "BenchmarkSummary", "ResultsStore", "cell_key", "run_benchmark", "write_outputs"]
