"""MkDocs hook: the nav lists only pages that exist, and every page that exists.

``mkdocs.yml`` names every planned page; a page not written yet is dropped
from the nav (so it is never a build error), and a page in ``docs/`` that the
nav does not name is appended under "More". A link to a planned page that is
not written yet is shown as plain text (logged at INFO). Every other broken
link (a typo, a page nobody plans, a missing anchor) remains an error under
``mkdocs build --strict``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.faircausesyn")
_MISSING: set[str] = set()
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s#]+\.md)(#[^)\s]*)?\)")


def _filter(items: list[Any], docs: Path, seen: set[str]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if item.startswith(("http://", "https://")) or (docs / item).is_file():
                seen.add(item)
                out.append(item)
            else:
                _MISSING.add(item)
        elif isinstance(item, dict):
            kept = {}
            for title, value in item.items():
                if isinstance(value, list):
                    sub = _filter(value, docs, seen)
                    if sub:
                        kept[title] = sub
                elif isinstance(value, str) and (value.startswith(("http://", "https://")) or (docs / value).is_file()):
                    seen.add(value)
                    kept[title] = value
                elif isinstance(value, str):
                    _MISSING.add(value)
            if kept:
                out.append(kept)
    return out


def on_config(config: Any, **kwargs: Any) -> Any:
    """Drop missing pages from the nav and append pages it does not list."""
    docs = Path(config["docs_dir"])
    _MISSING.clear()
    seen: set[str] = set()
    nav = _filter(list(config.get("nav") or []), docs, seen)
    extra = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md") if p.relative_to(docs).as_posix() not in seen)
    if extra:
        nav.append({"More": extra})
    config["nav"] = nav
    return config


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Show links to planned pages that are not written yet as plain text."""
    here = os.path.dirname(page.file.src_uri)

    def repl(m: re.Match[str]) -> str:
        target = os.path.normpath(os.path.join(here, m.group(2))).replace(os.sep, "/")
        if target in _MISSING:
            log.info("page %s links to the planned page %s, not written yet", page.file.src_uri, target)
            return m.group(1)
        return m.group(0)

    return _LINK.sub(repl, markdown)
