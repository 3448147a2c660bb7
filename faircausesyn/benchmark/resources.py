"""Measuring what a run costs and where it ran: peak memory, library versions, the machine."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import resource
import sys
import threading
import time
from typing import Any

#: Libraries whose versions every result records (when installed).
VERSIONED = (
    "faircausesyn",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "sdv",
    "sdmetrics",
    "transformers",
    "dowhy",
    "causal-learn",
    "dask",
    "distributed",
    "pyarrow",
)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes() -> int:
    """The resident set size of this process now, in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        try:
            import psutil  # type: ignore[import-untyped]

            return int(psutil.Process().memory_info().rss)
        except Exception:  # noqa: BLE001 - psutil missing or unsupported platform
            return 0


def max_rss_bytes() -> int:
    """The highest resident set size this process ever had (``getrusage``), in bytes."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(ru) if sys.platform == "darwin" else int(ru) * 1024


class PeakMemory:
    """Context manager that tracks the peak resident memory of this process while it is open.

    A background thread samples the RSS every ``interval`` seconds, so the peak
    is that of the block itself (``getrusage`` only knows the lifetime peak of
    the process, which is useless when one worker runs many cells).
    ``peak_mb`` is the peak, ``start_mb`` the RSS when the block was entered.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self.start_bytes = self.peak_bytes = current_rss_bytes()
        self._thread = threading.Thread(target=self._watch, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, current_rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_bytes = max(self.peak_bytes, current_rss_bytes())

    @property
    def peak_mb(self) -> float:
        """Peak RSS in MiB."""
        return self.peak_bytes / 2**20

    @property
    def start_mb(self) -> float:
        """RSS at entry in MiB."""
        return self.start_bytes / 2**20


def library_versions(names: tuple[str, ...] = VERSIONED) -> dict[str, str]:
    """Installed versions of ``names`` (without importing them) plus Python's."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def machine_info() -> dict[str, Any]:
    """Where a run happened: host name, platform, CPU count, total memory."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    return info


class Stopwatch:
    """Wall-clock timer: ``with Stopwatch() as t: ...; t.seconds``."""

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
