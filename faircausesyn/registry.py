"""Named components per kind, with lazy ``"module:attribute"`` entries."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import DuplicateComponentError, PluginLoadError, UnknownComponentError

KINDS = ("generator", "graph_provider", "constraint", "evaluator", "llm_backend", "dataset")

_KIND_WORDS = {
    "generator": "generator",
    "graph_provider": "graph provider",
    "constraint": "fairness constraint",
    "evaluator": "evaluator",
    "llm_backend": "LLM backend",
    "dataset": "dataset",
}


@dataclass
class Entry:
    """One registered component: its name, kind, target and the plugin that registered it."""

    name: str
    kind: str
    target: Any
    plugin: str
    description: str = ""

    @property
    def lazy(self) -> bool:
        """True when the target is a ``"module:attribute"`` string not yet imported."""
        return isinstance(self.target, str)

    @property
    def target_path(self) -> str:
        """``module:attribute`` of the target, without importing it."""
        if isinstance(self.target, str):
            return self.target
        mod = getattr(self.target, "__module__", "?")
        return f"{mod}:{getattr(self.target, '__qualname__', repr(self.target))}"

    def load(self) -> Any:
        """Import (if lazy) and return the target."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except ImportError as exc:
            raise PluginLoadError(
                f"{_KIND_WORDS[self.kind]} {self.name!r} (plugin {self.plugin!r}) needs a library that is not installed: {exc}",
                hint="install the optional extras, e.g. pip install -e '.[all]'",
            ) from exc
        except AttributeError as exc:
            raise PluginLoadError(
                f"{_KIND_WORDS[self.kind]} {self.name!r} (plugin {self.plugin!r}) points at {self.target!r}, which does not exist: {exc}"
            ) from exc
        return obj


@dataclass
class Registry:
    """Components of one kind, looked up by name."""

    kind: str
    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        """Add an entry; a name taken by another plugin raises :class:`DuplicateComponentError`."""
        if entry.name in self.entries:
            first = self.entries[entry.name]
            raise DuplicateComponentError(
                f"{_KIND_WORDS[self.kind]} {entry.name!r} is registered twice: by plugin {first.plugin!r} "
                f"({first.target_path}) and by plugin {entry.plugin!r} ({entry.target_path})",
                hint="rename one of them, or block one plugin with FAIRCAUSESYN_PLUGINS",
            )
        self.entries[entry.name] = entry

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self.entries)

    def entry(self, name: str) -> Entry:
        """The entry for ``name``; an unknown name lists the known ones and suggests the closest."""
        try:
            return self.entries[name]
        except KeyError:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            suggestion = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownComponentError(
                f"unknown {_KIND_WORDS[self.kind]} {name!r}{suggestion} Known: {', '.join(known) or '(none)'}",
                hint="run `faircausesyn plugins` to see what is installed",
            ) from None

    def get(self, name: str) -> Any:
        """The (imported) target registered under ``name``."""
        return self.entry(name).load()

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self.entries)


class Registrar:
    """What a registration hook receives: registers components of one kind for one plugin.

    Registrations are collected first and committed only when the whole hook
    succeeded, so a plugin that fails half-way leaves no partial components.
    """

    def __init__(self, kind: str, plugin: str) -> None:
        self.kind = kind
        self.plugin = plugin
        self.pending: list[Entry] = []

    def register(self, name: str, target: Any, *, description: str = "") -> None:
        """Register ``target`` (a class, a factory, or a lazy ``"module:attribute"`` string) as ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"component names must be non-empty strings, got {name!r}")
        if isinstance(target, str) and ":" not in target:
            raise ValueError(f"lazy targets are 'module:attribute' strings, got {target!r}")
        if not description and not isinstance(target, str):
            doc = (getattr(target, "__doc__", None) or "").strip()
            description = doc.splitlines()[0] if doc else ""
        self.pending.append(Entry(name=name, kind=self.kind, target=target, plugin=self.plugin, description=description))
