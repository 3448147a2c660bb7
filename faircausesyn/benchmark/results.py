"""``results.jsonl``: one JSON line per finished cell, appended as cells finish; read back to resume.

Only the process that drives a benchmark writes the file. Each line is
written whole, flushed and fsynced, so a killed run loses at most the line it
was writing; a torn last line is cut off when the file is opened again.
The last record of a key wins (a retried cell replaces its failed record).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

#: Statuses of a record: ``ok`` (ran), ``error`` (failed, message kept), ``unsupported`` (generator cannot realise the constraint).
FINISHED = ("ok", "error", "unsupported")


class ResultsStore:
    """The results file of one benchmark folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()

    def _repair(self) -> None:
        """Cut a torn last line (a run killed while writing it)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data.endswith(b"\n"):
                return
            cut = data.rfind(b"\n") + 1
            fh.truncate(cut)

    def records(self) -> list[dict[str, Any]]:
        """Every readable record, in file order (unreadable lines are skipped)."""
        if not self.path.exists():
            return []
        out = []
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "key" in rec:
                    out.append(rec)
        return out

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last record of each cell key."""
        return {r["key"]: r for r in self.records()}

    def append(self, record: dict[str, Any]) -> None:
        """Append one record durably."""
        line = json.dumps(_clean(record), default=_default, allow_nan=False) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        try:
            return _clean(obj.item())
        except (TypeError, ValueError):
            return str(obj)
    return obj


def _default(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)
