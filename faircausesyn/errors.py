"""Exceptions users see.

Every error a user can cause derives from :class:`FairCauseSynError`. It carries
a one-line message saying what is wrong and, where possible, a hint saying how
to fix it. The CLI prints ``error: <message>`` (plus the hint) and exits with
code 2; it shows a traceback only with ``--debug``. Errors that gather several
problems at once (a spec checked against a table, a graph checked against the
roles) list every problem, so that a user can fix them all in one go.
"""

from __future__ import annotations

from collections.abc import Iterable


class FairCauseSynError(Exception):
    """Base class of every error caused by input, configuration or environment."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class ProblemsError(FairCauseSynError):
    """An error that reports a list of independent problems at once."""

    what = "input"

    def __init__(self, problems: Iterable[str], *, what: str | None = None, hint: str | None = None) -> None:
        self.problems = [str(p) for p in problems]
        if what is not None:
            self.what = what
        n = len(self.problems)
        joined = "; ".join(f"({i}) {p}" for i, p in enumerate(self.problems, 1))
        super().__init__(f"{self.what} has {n} problem{'s' if n != 1 else ''}: {joined}", hint=hint)


class SpecError(ProblemsError):
    """A causal spec that does not fit the table (or is malformed)."""

    what = "the causal spec"


class GraphError(ProblemsError):
    """A causal graph that is cyclic, unknown to the table, or violates the roles."""

    what = "the causal graph"


class DataError(FairCauseSynError):
    """A table that cannot be read, is empty, or has the wrong content."""


class ConfigError(FairCauseSynError):
    """A component configuration with unknown keys or invalid values."""


class RegistryError(FairCauseSynError):
    """An unknown or duplicate component name."""


class UnknownComponentError(RegistryError):
    """A component name that no loaded plugin registered."""


class DuplicateComponentError(RegistryError):
    """Two plugins registered a component of the same kind under the same name."""


class PluginLoadError(FairCauseSynError):
    """A plugin could not be imported or its hook failed."""


class NotFittedError(FairCauseSynError):
    """A component method was called before ``fit``."""


class UnsupportedConstraintError(FairCauseSynError):
    """A generator asked to realise a fairness constraint it cannot realise."""


class BackendError(FairCauseSynError):
    """An LLM backend failed (unreachable endpoint, missing model file, ...)."""


class CheckpointError(FairCauseSynError):
    """A checkpoint that is missing, corrupted or from another configuration."""


def pydantic_problems(exc: Exception) -> list[str]:
    """Turn a pydantic ``ValidationError`` into one readable line per problem."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return [str(exc)]
    out = []
    for err in errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        inp = err.get("input")
        if err.get("type") != "missing" and not isinstance(inp, dict | list):
            out.append(f"{loc}: {msg} (got {inp!r})")
        else:
            out.append(f"{loc}: {msg}")
    return out
