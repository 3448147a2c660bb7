"""Checkpoints of a generation run: the fitted model and every finished round.

Layout of ``checkpoint_dir``::

    model/                 tabular LM (safetensors + JSON, see TabularLM.save)
    fit.json               fingerprint of the data and configuration the model was fitted with
    run-<key>/round-0001.csv   rows accepted in round 1 (CSV, floats written exactly)
    run-<key>/round-0001.json  round record + sha256 of the CSV (written after it)

A round counts as done only when its JSON exists (both files are written
atomically, the JSON last), so a SIGKILL at any point loses at most the round
in progress, which the resumed run recomputes from the same seed: no row is
lost or duplicated. A file that exists but does not match its checksum, or is
not valid JSON, raises :class:`CheckpointError`. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.errors import CheckpointError
from faircausesyn.io import atomic_write_text
from faircausesyn.schema import TableSchema


def fingerprint(*parts: Any) -> str:
    """A short sha256 of JSON-serialisable parts (DataFrames are hashed by content)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, pd.DataFrame):
            h.update(pd.util.hash_pandas_object(p.reset_index(drop=True), index=False).to_numpy().tobytes())
            h.update(json.dumps([str(c) for c in p.columns]).encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON checkpoint file; anything unreadable is a :class:`CheckpointError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint file {str(path)!r} is corrupted: {exc}", hint=f"delete {str(path.parent)!r} to start over") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint file {str(path)!r} is corrupted: not a JSON object", hint=f"delete {str(path.parent)!r} to start over")
    return data


class RoundStore:
    """The finished rounds of one sampling run (one ``sample(n, seed)`` call)."""

    def __init__(self, directory: str | Path, key: str) -> None:
        self.dir = Path(directory) / f"run-{key}"

    def save(self, round_no: int, rows: pd.DataFrame, record: dict[str, Any]) -> None:
        """Write round ``round_no``'s accepted rows and its record (atomically, record last)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        rows.to_csv(buf, index=False)
        text = buf.getvalue()
        atomic_write_text(self.dir / f"round-{round_no:04d}.csv", text)
        payload = {"format": "faircausesyn-round/1", "rows_sha256": _sha(text), "n_rows": int(len(rows)), "record": record}
        atomic_write_text(self.dir / f"round-{round_no:04d}.json", json.dumps(payload, default=_json_default))

    def load(self, schema: TableSchema) -> list[tuple[pd.DataFrame, dict[str, Any]]]:
        """Every finished round in order (stopping at the first missing one)."""
        if not self.dir.is_dir():
            return []
        numbers = sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := re.fullmatch(r"round-(\d{4})\.json", p.name)))
        out: list[tuple[pd.DataFrame, dict[str, Any]]] = []
        for expect, r in enumerate(numbers, start=1):
            if r != expect:
                break
            meta = read_json(self.dir / f"round-{r:04d}.json")
            csv_path = self.dir / f"round-{r:04d}.csv"
            try:
                text = csv_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CheckpointError(f"rows of round {r} ({str(csv_path)!r}) cannot be read: {exc}", hint=f"delete {str(self.dir)!r} to start over") from None
            if meta.get("format") != "faircausesyn-round/1" or meta.get("rows_sha256") != _sha(text) or "record" not in meta:
                raise CheckpointError(f"round {r} of the checkpoint in {str(self.dir)!r} is corrupted (checksum mismatch)", hint=f"delete {str(self.dir)!r} to start over")
            if meta["n_rows"]:
                dtypes = {c.name: (object if c.is_discrete and c.dtype == "object" else None) for c in schema.columns}
                frame = pd.read_csv(io.StringIO(text), dtype={k: v for k, v in dtypes.items() if v is not None}, float_precision="round_trip")
                rows = schema.conform(frame)
            else:
                rows = schema.conform(pd.DataFrame({c: [] for c in schema.names}))
            if len(rows) != meta["n_rows"]:
                raise CheckpointError(f"round {r} holds {len(rows)} rows, its record says {meta['n_rows']}")
            out.append((rows, meta["record"]))
        return out


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)
