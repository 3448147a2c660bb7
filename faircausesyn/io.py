"""Reading and writing tables and files, atomically."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".data", ".parquet", ".pq")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure remove it.

    A reader never sees a half-written file, and a failed write leaves nothing behind.
    """
    target = Path(path)
    check_writable(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            # mkstemp makes a private (0600) file; give the result the usual permissions.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if tmp_path.is_dir():
                import shutil

                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def check_writable(path: str | Path) -> None:
    """Raise :class:`DataError` unless ``path`` can be created or replaced."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise DataError(f"output path {str(p)!r} is a directory", hint="give a file name, e.g. out.csv")
    if not parent.exists():
        raise DataError(f"cannot write {str(p)!r}: the folder {str(parent)!r} does not exist", hint="create it first or choose another path")
    if not os.access(parent, os.W_OK):
        raise DataError(f"cannot write {str(p)!r}: the folder {str(parent)!r} is not writable", hint="choose a writable output path")
    if p.exists() and not os.access(p, os.W_OK):
        raise DataError(f"cannot write {str(p)!r}: the file is read-only", hint="choose another output path")


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    names: Sequence[str] | None = None,
    na_values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV-like or Parquet table.

    ``delimiter=None`` sniffs it from the first lines; ``header=None`` guesses
    whether the first line is a header (``names`` implies no header unless
    ``header=True``); ``na_values`` adds markers of missing values (e.g. ``"?"``).
    Unreadable, empty or one-column-by-mistake files raise :class:`DataError`.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file {str(p)!r} does not exist", hint="check the path, or use a built-in dataset name (faircausesyn datasets)")
    if p.is_dir():
        if any(p.glob("*.parquet")):
            return _read_parquet(p)
        raise DataError(f"{str(p)!r} is a folder, not a table file")
    if p.stat().st_size == 0:
        raise DataError(f"data file {str(p)!r} is empty")
    if p.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(p)
    try:
        with p.open("r", encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(64 * 1024)
    except UnicodeDecodeError:
        raise DataError(f"{str(p)!r} is not a UTF-8 text table", hint="save it as CSV (UTF-8) or Parquet") from None
    if not sample.strip():
        raise DataError(f"data file {str(p)!r} holds no data")
    if delimiter is None:
        delimiter = _sniff_delimiter(sample, p)
    if header is None:
        header = False if names is not None else _has_header(sample, delimiter, na_values or ())
    try:
        df = pd.read_csv(
            p,
            sep=delimiter,
            header=0 if header else None,
            names=list(names) if names is not None else None,
            na_values=list(na_values) if na_values else None,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"cannot parse {str(p)!r} as a {delimiter!r}-separated table: {str(exc).splitlines()[0]}", hint="check --delimiter") from None
    if df.shape[0] == 0:
        raise DataError(f"data file {str(p)!r} has a header but no rows")
    if df.shape[1] == 1:
        first = str(df.columns[0])
        for d in (";", "\t", "|", ","):
            if d != delimiter and d in first:
                raise DataError(f"{str(p)!r} was read as one column; it looks {d!r}-separated", hint=f"pass --delimiter {d!r}")
    if not header and names is None:
        df.columns = [f"col{i}" for i in range(df.shape[1])]
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
        raise DataError(f"cannot read Parquet {str(p)!r}: {str(exc).splitlines()[0]}") from None


def _sniff_delimiter(sample: str, p: Path) -> str:
    if p.suffix.lower() == ".tsv":
        return "\t"
    lines = [ln for ln in sample.splitlines() if ln.strip()][:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: min(ln.count(d) for ln in lines) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] > 0 else ","


def _has_header(sample: str, delimiter: str, na_values: Sequence[str] = ()) -> bool:
    lines = [ln for ln in sample.splitlines() if ln.strip()]
    if len(lines) < 2:
        return True
    first = [c.strip().strip('"') for c in lines[0].split(delimiter)]
    second = [c.strip().strip('"') for c in lines[1].split(delimiter)]
    na = {"", "NA", "NaN", "nan", "null", "NULL", *na_values}

    def numeric(v: str) -> bool:
        try:
            float(v)
            return True
        except ValueError:
            return False

    # A header has a text cell above a numeric cell; a first line of numbers (or NA markers) is data.
    if any(not numeric(a) and a not in na and numeric(b) for a, b in zip(first, second, strict=False)):
        return True
    if all(numeric(a) or a in na for a in first):
        return False
    try:
        return csv.Sniffer().has_header("\n".join(lines[:20]))
    except csv.Error:
        return True


def write_table(data: pd.DataFrame, path: str | Path) -> Path:
    """Write ``data`` to CSV or Parquet (by suffix), atomically; returns the path."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".tsv", ".parquet", ".pq"):
        raise DataError(f"unsupported output format {suffix or '(none)'!r} for {str(p)!r}", hint="use a .csv or .parquet file name")
    with atomic_path(p) as tmp:
        if suffix in (".parquet", ".pq"):
            data.to_parquet(tmp, index=False)
        else:
            data.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
    return p


def read_json_or_yaml(path: str | Path) -> Any:
    """Parse a JSON or YAML file into Python objects, with a clear error."""
    import json

    import yaml

    p = Path(path)
    if not p.is_file():
        raise DataError(f"file {str(p)!r} does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        return json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{str(p)!r} is not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
