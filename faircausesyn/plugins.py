"""The plugin manager: finds plugins through entry points and collects their components.

Every :class:`PluginHost` builds a fresh pluggy manager; nothing is loaded at
import time and no global state is kept. A plugin that cannot be imported, or
whose hook raises, is recorded with its error and listed as failed.

Environment:

``FAIRCAUSESYN_PLUGINS``
    Comma-separated entry-point names: load only these plugins.
``FAIRCAUSESYN_DISABLE_PLUGIN_AUTOLOAD``
    Set to ``1`` to load no entry-point plugin (only those passed explicitly).
``FAIRCAUSESYN_TRACE_HOOKS``
    Set to ``1`` to print every hook call to standard error.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import FairCauseSynError, PluginLoadError
from .registry import KINDS, Registrar, Registry

ENTRY_POINT_GROUP = "faircausesyn"
ENV_ONLY = "FAIRCAUSESYN_PLUGINS"
ENV_NO_AUTOLOAD = "FAIRCAUSESYN_DISABLE_PLUGIN_AUTOLOAD"
ENV_TRACE = "FAIRCAUSESYN_TRACE_HOOKS"


@dataclass
class PluginInfo:
    """What ``faircausesyn plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: str = "ok"  # "ok" or "failed"
    error: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "components": self.components,
        }


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class PluginHost:
    """Loaded plugins and the registries of their components.

    ``plugins`` adds in-process plugins (modules or objects with hook
    implementations; pairs ``(name, plugin)`` name them). ``autoload`` (default:
    unless ``FAIRCAUSESYN_DISABLE_PLUGIN_AUTOLOAD``) loads entry-point plugins;
    ``only`` (default: ``FAIRCAUSESYN_PLUGINS``) restricts them by name.
    """

    def __init__(
        self,
        plugins: Iterable[Any] = (),
        *,
        autoload: bool | None = None,
        only: Iterable[str] | None = None,
    ) -> None:
        if autoload is None:
            autoload = not _truthy(os.environ.get(ENV_NO_AUTOLOAD))
        if only is None and os.environ.get(ENV_ONLY):
            only = [s.strip() for s in os.environ[ENV_ONLY].split(",") if s.strip()]
        self._only = set(only) if only is not None else None
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if _truthy(os.environ.get(ENV_TRACE)):
            self.pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
            self.pm.enable_tracing()
        self.plugins: list[PluginInfo] = []
        self.registries: dict[str, Registry] = {k: Registry(k) for k in KINDS}
        if autoload:
            self._load_entry_points()
        for item in plugins:
            name, obj = item if isinstance(item, tuple) else (getattr(item, "__name__", None) or type(item).__name__, item)
            self._add(name, obj, module=getattr(obj, "__name__", type(obj).__module__))

    # ---------------------------------------------------------------- loading
    def _load_entry_points(self) -> None:
        seen: set[str] = set()
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen:
                continue
            seen.add(ep.name)
            if self._only is not None and ep.name not in self._only:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                info.status, info.error = "failed", _describe(exc)
                self.plugins.append(info)
                continue
            self._add(ep.name, obj, info=info)

    def _add(self, name: str, obj: Any, *, module: str | None = None, info: PluginInfo | None = None) -> None:
        info = info or PluginInfo(name=name, module=module or "?")
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors, duplicates
            info.status, info.error = "failed", _describe(exc)
            self.plugins.append(info)
            return
        pending: list[Registrar] = []
        try:
            for hook_name, kind in hookspecs.HOOK_KINDS.items():
                caller = getattr(self.pm.hook, hook_name)
                for impl in caller.get_hookimpls():
                    if impl.plugin_name != name:
                        continue
                    registrar = Registrar(kind, name)
                    kwargs = {"registry": registrar}
                    impl.function(*[kwargs[a] for a in impl.argnames])
                    pending.append(registrar)
            # Commit only when every registration of this plugin is valid.
            trial = {k: dict(r.entries) for k, r in self.registries.items()}
            for registrar in pending:
                reg = Registry(registrar.kind, trial[registrar.kind])
                for entry in registrar.pending:
                    reg.add(entry)
        except Exception as exc:  # noqa: BLE001 - a failing hook is recorded, not fatal
            self.pm.unregister(name=name)
            info.status, info.error = "failed", _describe(exc)
            info.components = {}
            self.plugins.append(info)
            return
        for registrar in pending:
            for entry in registrar.pending:
                self.registries[registrar.kind].add(entry)
                info.components.setdefault(registrar.kind, []).append(entry.name)
        self.plugins.append(info)

    # ---------------------------------------------------------------- lookups
    def registry(self, kind: str) -> Registry:
        """The registry of one kind (``generator``, ``constraint``, ...)."""
        return self.registries[kind]

    def create(self, kind: str, name: str, /, **config: Any) -> Any:
        """An instance of component ``name`` of ``kind`` built with ``config``."""
        target = self.registries[kind].get(name)
        try:
            return target(**config)
        except FairCauseSynError:
            raise
        except TypeError as exc:
            raise PluginLoadError(f"cannot create {kind} {name!r}: {exc}") from exc

    def load_dataset(self, name: str) -> tuple[Any, Any]:
        """``(DataFrame, CausalSpec)`` of a registered dataset."""
        loader = self.registries["dataset"].get(name)
        return loader()

    def failed(self) -> list[PluginInfo]:
        """Plugins that failed to load."""
        return [p for p in self.plugins if p.status != "ok"]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FairCauseSynError):
        return str(exc)
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"
