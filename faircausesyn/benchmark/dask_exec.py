"""Dask execution: a LocalCluster for ``--workers N`` or an existing scheduler for ``--scheduler ADDRESS``.

``FAIRCAUSESYN_DASK_CONNECT_TIMEOUT`` (default ``10s``) bounds the wait for an existing scheduler.

Dask is imported only here and only when a run asks for it. Workers get
``OMP_NUM_THREADS=1`` (and friends) so that numeric libraries do not
oversubscribe the cores, one thread each, and the dashboard on a free port (never a clash).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError

#: Environment every worker process gets.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def check_execution(workers: int | None, scheduler: str | None) -> None:
    """Reject contradictory or impossible settings before any work."""
    if workers is not None and scheduler:
        raise ConfigError("give either --workers or --scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"--workers must be at least 1, got {workers!r}")
    if workers is not None or scheduler:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise ConfigError("running on Dask needs dask[distributed]", hint="pip install 'faircausesyn[dask]'") from None


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """Yield a Dask ``Client`` (a new LocalCluster of ``workers`` processes, or ``scheduler``'s), or None for in-process."""
    check_execution(workers, scheduler)
    if workers is None and not scheduler:
        yield None
        return
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=os.environ.get("FAIRCAUSESYN_DASK_CONNECT_TIMEOUT", "10s"))
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}", hint="check the address, e.g. tcp://host:8786") from None
        try:
            client.run(_set_worker_env)
            yield client
        finally:
            client.close()
        return
    env = {**WORKER_ENV, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: never clashes with another cluster
        silence_logs=logging.ERROR,
        env=env,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _set_worker_env() -> None:
    """Set the single-thread environment on a worker of an existing cluster (for libraries not yet imported)."""
    for k, v in WORKER_ENV.items():
        os.environ.setdefault(k, v)
