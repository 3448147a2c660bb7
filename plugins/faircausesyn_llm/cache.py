"""An on-disk cache of LLM responses, keyed by a hash of the request.

The key is the SHA-256 of the canonical JSON of everything that determines an
answer (the route such as ``/chat/completions``, model, messages, sampling
settings, per-request seed) and never of credentials, so the cache holds no API
key. The server's address is not part of the key: a cache survives a server
that moved to another port or host. Each entry is one small
JSON file written atomically (``<dir>/<k[:2]>/<k>.json``), so concurrent
writers and interrupted runs never leave a half-written entry, and a rerun of
an interrupted call resumes from what was already answered. Entries hold only
the answer (text, token counts, finish reason), not the prompt, so a cache of
prompts with real rows in them does not copy those rows to disk.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from faircausesyn.io import atomic_write_text


def request_key(payload: dict[str, Any]) -> str:
    """A stable hex digest of a request payload (dict keys sorted, UTF-8)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A directory of cached answers: ``get(key)`` / ``put(key, value)``; safe across threads and processes."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer for ``key``, or None (also for an unreadable entry, which is then ignored)."""
        path = self._path(key)
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (a JSON-ready dict) under ``key``, atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(value, ensure_ascii=False, sort_keys=True))

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json"))
