"""Chunked, resumable, bounded-memory sampling to a Parquet dataset (or one CSV), optionally on Dask.

Large generation is split into chunks of ``chunk_rows`` rows. Chunk ``i`` is
drawn with its own seed, :func:`chunk_seed` ``(seed, i)``, so the final table
depends only on the fitted generator, the run seed and the chunk size: not on
the order in which chunks ran, on how many workers ran them, or on how often
the run was interrupted.

While running, everything lives in a hidden work folder beside the output,
``.<name>.partial/``:

- ``_manifest.json``: what is being generated (a fingerprint of data, spec,
  generator and constraint; rows, chunk size, seed, ``no_copies``);
- ``_probe.json``: a hash of a small probe sample of the fitted generator. No
  model is written to disk (a pickle would run code on load): a resumed run
  refits with the same seed, and the probe proves that the refitted model is
  the model of the interrupted run before any chunk is drawn;
- ``part-00000.parquet`` ... : finished chunks, each written atomically, with
  ``_part-00000.json`` (its row and copy counts) written after it. A part
  without its ``.json`` is unfinished and is drawn again on resume.

At the end a Parquet output becomes a dataset folder (the work folder,
renamed, with a ``_SUCCESS`` marker; a single chunk becomes a single file) and
a CSV output is streamed chunk by chunk into one file. A reader never sees an
unfinished output under the final name: only the rename publishes it.
Memory stays bounded by one chunk (per worker) plus the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import CheckpointError, ConfigError, DataError
from .io import atomic_path, atomic_write_text, check_writable

if TYPE_CHECKING:
    import pandas as pd

    from .interfaces import Generator

#: Default rows per chunk: about 100 MB of pandas memory for 20 numeric columns.
DEFAULT_CHUNK_ROWS = 100_000
MANIFEST = "_manifest.json"
PROBE_FILE = "_probe.json"
PROBE_ROWS = 64
PROBE_SEED = 0x9E3779B1
SUCCESS = "_SUCCESS"
OUTPUT_SUFFIXES = (".parquet", ".pq", ".csv")


@dataclass(frozen=True)
class Chunk:
    """One chunk of a run: its index, its number of rows and its seed."""

    index: int
    rows: int
    seed: int

    @property
    def name(self) -> str:
        """File name of its part."""
        return f"part-{self.index:05d}.parquet"


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk ``index`` of a run with seed ``seed`` (independent streams, 31-bit)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index), 0xC4C4]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def plan_chunks(rows: int, chunk_rows: int, seed: int) -> list[Chunk]:
    """Split ``rows`` into chunks of at most ``chunk_rows`` rows, each with its seed."""
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows <= 0:
        raise ConfigError(f"the number of rows must be a positive integer, got {rows!r}", hint="e.g. --rows 1000")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer) or chunk_rows <= 0:
        raise ConfigError(f"the chunk size must be a positive integer, got {chunk_rows!r}", hint="e.g. --chunk-rows 100000")
    n = -(-int(rows) // int(chunk_rows))
    return [Chunk(i, min(int(chunk_rows), int(rows) - i * int(chunk_rows)), chunk_seed(seed, i)) for i in range(n)]


def fingerprint(obj: Any) -> str:
    """A short SHA-256 of ``obj`` as canonical JSON (key order does not matter)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def output_format(path: str | Path) -> str:
    """``"parquet"`` or ``"csv"`` from the output's suffix; anything else is an error."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise DataError(f"unsupported output format {suffix or '(none)'!r} for {str(path)!r}", hint="use a .csv or .parquet file name")


def check_output(path: str | Path) -> None:
    """Raise before any work when ``path`` cannot be written (bad suffix, missing or read-only folder)."""
    p = Path(path)
    output_format(p)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"cannot write {str(p)!r}: the folder {str(parent)!r} does not exist", hint="create it first or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"cannot write {str(p)!r}: the folder {str(parent)!r} is not writable", hint="choose a writable output path")
    if p.is_dir():
        if not (p / SUCCESS).exists():
            raise DataError(f"output path {str(p)!r} is a folder that is not a finished faircausesyn dataset", hint="choose another output path")
    elif p.exists():
        check_writable(p)


# --------------------------------------------------------------------- workers
def sample_chunk(generator: Generator, chunk: Chunk, work_dir: str, no_copies: bool) -> dict[str, Any]:
    """Draw one chunk, write its part file atomically, then its stats; return the stats.

    A plain function of picklable arguments, so a Dask worker can run it; it
    writes straight to ``work_dir`` (which must be on a file system the worker sees).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.perf_counter()
    frame = generator.sample(chunk.rows, seed=chunk.seed, no_copies=no_copies)
    report = dict(getattr(generator, "sample_report_", {}))
    work = Path(work_dir)
    with atomic_path(work / chunk.name) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    stats = {
        "index": chunk.index,
        "seed": chunk.seed,
        "rows_asked": chunk.rows,
        "rows": int(len(frame)),
        "exact_copies": int(report.get("exact_copies", 0)),
        "copies_replaced": int(report.get("copies_replaced", 0)),
        "exact_copies_left": int(report.get("exact_copies_left", report.get("exact_copies", 0))),
        "seconds": time.perf_counter() - t0,
    }
    atomic_write_text(work / f"_{chunk.name[:-8]}.json", json.dumps(stats))
    del frame
    return stats


# ------------------------------------------------------------------------ run
@dataclass
class ChunkedResult:
    """What a chunked run produced: rows, copies, chunk counts and timings."""

    path: str
    format: str
    rows: int
    chunks: int
    chunks_resumed: int
    exact_copies: int
    copies_replaced: int
    exact_copies_left: int
    seconds: float
    chunk_stats: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


class ChunkedRun:
    """One chunked generation into ``out`` (``.parquet`` dataset or ``.csv`` file).

    ``identity`` is what makes two runs the same run (data, spec, generator,
    configuration, constraint, graph): a resumed run must match it, together
    with ``rows``, ``chunk_rows``, ``seed`` and ``no_copies``.

    Typical use::

        run = ChunkedRun("out.parquet", rows=10**6, chunk_rows=10**5, seed=0, identity={...})
        run.prepare(resume=True)
        gen = fit_a_generator()        # same data, settings and seed as before
        run.verify_probe(gen)          # refuses a refit that is not the interrupted run's model
        result = run.run(gen)          # or run.run(gen, client=dask_client)
    """

    def __init__(
        self,
        out: str | Path,
        *,
        rows: int,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        seed: int = 0,
        no_copies: bool = False,
        identity: Mapping[str, Any] | None = None,
    ) -> None:
        self.out = Path(out)
        self.format = output_format(self.out)
        self.rows = int(rows)
        self.chunk_rows = int(chunk_rows)
        self.seed = int(seed)
        self.no_copies = bool(no_copies)
        self.chunks = plan_chunks(rows, chunk_rows, seed)
        self.manifest = {
            "identity": fingerprint(dict(identity or {})),
            "rows": self.rows,
            "chunk_rows": self.chunk_rows,
            "seed": self.seed,
            "no_copies": self.no_copies,
            "format": self.format,
            "chunks": len(self.chunks),
        }
        self._resumed = 0

    @property
    def work_dir(self) -> Path:
        """The hidden folder holding the unfinished run."""
        return self.out.parent / f".{self.out.name}.partial"

    # ---------------------------------------------------------- lifecycle
    def prepare(self, resume: bool = False) -> None:
        """Create the work folder; with ``resume`` keep a matching unfinished run, else start afresh.

        Resuming a run whose manifest differs (other data, generator, seed,
        rows or chunk size) raises :class:`CheckpointError` naming the difference.
        """
        check_output(self.out)
        work = self.work_dir
        if work.exists() and resume:
            try:
                old = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise CheckpointError(
                    f"the unfinished run in {str(work)!r} has no readable manifest ({exc})",
                    hint="run again without --resume to start afresh",
                ) from None
            diff = sorted(k for k in set(old) | set(self.manifest) if old.get(k) != self.manifest.get(k))
            if diff:
                what = ", ".join(f"{k}: {old.get(k)!r} then, {self.manifest.get(k)!r} now" for k in diff)
                raise CheckpointError(
                    f"cannot resume: the unfinished run in {str(work)!r} was started with other settings ({what})",
                    hint="repeat the original command with --resume, or drop --resume to start afresh",
                )
            for stray in work.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    stray.unlink() if stray.is_file() else shutil.rmtree(stray)
            return
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        atomic_write_text(work / MANIFEST, json.dumps(self.manifest, indent=2))

    @staticmethod
    def probe(generator: Generator) -> str:
        """A hash of a small sample of ``generator`` drawn with a fixed seed (its fingerprint)."""
        from .privacy import row_hashes_unsorted

        sample = generator.sample(PROBE_ROWS, seed=PROBE_SEED)
        return hashlib.sha256(row_hashes_unsorted(sample).tobytes()).hexdigest()

    def record_probe(self, generator: Generator) -> None:
        """Record the fitted generator's probe hash, so that a resumed run can check its refit."""
        atomic_write_text(self.work_dir / PROBE_FILE, json.dumps({"probe": self.probe(generator)}))

    def verify_probe(self, generator: Generator) -> None:
        """Raise :class:`CheckpointError` unless ``generator`` (refitted) matches the interrupted run's model.

        A run interrupted before its probe was recorded has drawn no chunk, so the
        new probe is simply recorded.
        """
        path = self.work_dir / PROBE_FILE
        if not path.is_file():
            self.record_probe(generator)
            return
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["probe"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"the probe {str(path)!r} of the interrupted run is corrupted ({exc})",
                hint="run again without --resume to start afresh",
            ) from None
        if recorded != self.probe(generator):
            raise CheckpointError(
                "cannot resume: refitting with the same seed did not reproduce the model of the interrupted run "
                "(the generator is not deterministic under its seed here)",
                hint="run again without --resume to start afresh",
            )

    def done(self) -> dict[int, dict[str, Any]]:
        """Stats of the finished chunks (those with both their part file and their stats)."""
        finished: dict[int, dict[str, Any]] = {}
        for chunk in self.chunks:
            part = self.work_dir / chunk.name
            meta = self.work_dir / f"_{chunk.name[:-8]}.json"
            if part.is_file() and meta.is_file():
                try:
                    stats = json.loads(meta.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    continue
                if stats.get("seed") == chunk.seed and stats.get("rows_asked") == chunk.rows:
                    finished[chunk.index] = stats
        return finished

    def pending(self) -> list[Chunk]:
        """The chunks still to draw."""
        finished = self.done()
        return [c for c in self.chunks if c.index not in finished]

    def run(
        self,
        generator: Generator,
        *,
        client: Any = None,
        on_chunk: Callable[[dict[str, Any]], None] | None = None,
    ) -> ChunkedResult:
        """Draw every pending chunk (in-process, or on a Dask ``client``), then publish the output."""
        t0 = time.perf_counter()
        todo = self.pending()
        self._resumed = len(self.chunks) - len(todo)
        work = str(self.work_dir)
        if client is None:
            for chunk in todo:
                stats = sample_chunk(generator, chunk, work, self.no_copies)
                if on_chunk:
                    on_chunk(stats)
        elif todo:
            from dask.distributed import as_completed

            remote = client.scatter(generator, broadcast=True)
            futures = [client.submit(sample_chunk, remote, c, work, self.no_copies, key=f"chunk-{uuid.uuid4().hex[:8]}-{c.index}", pure=False) for c in todo]
            for fut in as_completed(futures):
                stats = fut.result()
                if on_chunk:
                    on_chunk(stats)
                fut.release()
        missing = self.pending()
        if missing:
            raise DataError(f"{len(missing)} chunk(s) did not finish (first: {missing[0].index})", hint="run again with --resume")
        return self.finalize(time.perf_counter() - t0)

    def finalize(self, seconds: float = 0.0) -> ChunkedResult:
        """Publish the finished parts under the output name; return the totals."""
        finished = self.done()
        stats = [finished[c.index] for c in self.chunks]
        result = ChunkedResult(
            path=str(self.out),
            format=self.format,
            rows=sum(s["rows"] for s in stats),
            chunks=len(self.chunks),
            chunks_resumed=self._resumed,
            exact_copies=sum(s["exact_copies"] for s in stats),
            copies_replaced=sum(s["copies_replaced"] for s in stats),
            exact_copies_left=sum(s["exact_copies_left"] for s in stats),
            seconds=seconds,
            chunk_stats=stats,
        )
        work = self.work_dir
        if self.format == "csv":
            self._write_csv()
            shutil.rmtree(work, ignore_errors=True)
        elif len(self.chunks) == 1:
            _replace(work / self.chunks[0].name, self.out)
            shutil.rmtree(work, ignore_errors=True)
        else:
            (work / PROBE_FILE).unlink(missing_ok=True)
            atomic_write_text(work / SUCCESS, json.dumps({k: v for k, v in result.to_dict().items() if k != "chunk_stats"}, indent=2))
            _replace(work, self.out)
        return result

    def _write_csv(self) -> None:
        import pyarrow.parquet as pq

        with atomic_path(self.out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            for i, chunk in enumerate(self.chunks):
                frame = pq.read_table(self.work_dir / chunk.name).to_pandas()
                frame.to_csv(fh, index=False, header=(i == 0))
                del frame


def _replace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing a previous file or finished dataset folder."""
    if dst.is_dir():
        trash = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(dst, trash)
        os.replace(src, dst)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        if src.is_dir() and dst.exists():
            dst.unlink()
        os.replace(src, dst)


def read_output(path: str | Path) -> pd.DataFrame:
    """Read what a chunked run wrote (a Parquet file or dataset folder, or a CSV) in chunk order."""
    import pandas as pd

    p = Path(path)
    if p.is_dir():
        if not (p / SUCCESS).exists():
            raise DataError(f"{str(p)!r} is not a finished dataset (no {SUCCESS} marker)")
        parts = sorted(p.glob("part-*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in parts], ignore_index=True)
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p)
    return pd.read_parquet(p)
