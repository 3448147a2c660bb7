"""The result of a causal fairness decomposition: estimates with intervals, serialisable to JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DataError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The five measures, in the order they are reported.
MEASURES: tuple[str, ...] = ("TV", "DE", "IE", "SE", "ETT")

#: Long names of the measures (faircause's notation).
MEASURE_NAMES: dict[str, str] = {
    "TV": "total variation E[Y|x1] - E[Y|x0]",
    "DE": "ctf-DE E[Y_{x1,W_{x0}}|x0] - E[Y_{x0}|x0]",
    "IE": "ctf-IE E[Y_{x1,W_{x0}}|x0] - E[Y_{x1}|x0]",
    "SE": "ctf-SE E[Y_{x1}|x0] - E[Y_{x1}|x1]",
    "ETT": "ETT E[Y_{x1}|x0] - E[Y_{x0}|x0]",
}

#: The four (potential-outcome) means every measure is a difference of.
MEANS: tuple[str, ...] = ("E[Y|x0]", "E[Y|x1]", "E[Y_x1|x0]", "E[Y_x1,W_x0|x0]")


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its standard error and 95% interval ``[lower, upper]``."""

    measure: str
    estimate: float
    se: float
    lower: float
    upper: float

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the 95% interval."""
        return bool(self.lower <= value <= self.upper)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become None)."""
        return {
            "measure": self.measure,
            "estimate": _num(self.estimate),
            "se": _num(self.se),
            "lower": _num(self.lower),
            "upper": _num(self.upper),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        nan = float("nan")
        return cls(
            str(data["measure"]),
            *(nan if data.get(k) is None else float(data[k]) for k in ("estimate", "se", "lower", "upper")),
        )


@dataclass
class Decomposition:
    """TV, ctf-DE, ctf-IE, ctf-SE and ETT of one table, each an :class:`Estimate`.

    ``dec["DE"].estimate`` is the point estimate; ``means`` holds the four
    potential-outcome means the measures are differences of (so the identities
    TV = DE - IE - SE and ETT = DE - IE hold exactly for the estimates).
    ``n_used`` rows entered the estimate, ``n_dropped`` were dropped for missing
    values, ``n_clipped`` had a propensity clipped (debiased method only).
    """

    measures: dict[str, Estimate]
    method: str
    n_used: int
    n_dropped: int = 0
    n_clipped: int = 0
    means: dict[str, Estimate] = field(default_factory=dict)
    n_x0: int = 0
    n_x1: int = 0
    sensitive: str = ""
    x0: Any = None
    x1: Any = None
    outcome: str = ""
    binary_outcome: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ access
    def __getitem__(self, measure: str) -> Estimate:
        try:
            return self.measures[measure]
        except KeyError:
            raise KeyError(f"unknown measure {measure!r}; choose one of {', '.join(self.measures)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.measures)

    def __contains__(self, measure: object) -> bool:
        return measure in self.measures

    def estimates(self) -> dict[str, float]:
        """``{measure: point estimate}``."""
        return {m: e.estimate for m, e in self.measures.items()}

    def to_frame(self):
        """The measures as a pandas DataFrame (one row per measure)."""
        import pandas as pd

        return pd.DataFrame([e.to_dict() for e in self.measures.values()]).set_index("measure")

    def __str__(self) -> str:
        lines = [f"causal fairness decomposition ({self.method}; {self.n_used} rows, {self.n_dropped} dropped, {self.n_clipped} clipped)"]
        for m, e in self.measures.items():
            lines.append(f"  {m:<4} {e.estimate:+.4f}  (se {e.se:.4f}; 95% [{e.lower:+.4f}, {e.upper:+.4f}])")
        return "\n".join(lines)

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        x0 = self.x0.item() if hasattr(self.x0, "item") else self.x0
        x1 = self.x1.item() if hasattr(self.x1, "item") else self.x1
        return {
            "method": self.method,
            "measures": {m: e.to_dict() for m, e in self.measures.items()},
            "means": {m: e.to_dict() for m, e in self.means.items()},
            "n_used": int(self.n_used),
            "n_dropped": int(self.n_dropped),
            "n_clipped": int(self.n_clipped),
            "n_x0": int(self.n_x0),
            "n_x1": int(self.n_x1),
            "sensitive": self.sensitive,
            "x0": x0,
            "x1": x1,
            "outcome": self.outcome,
            "binary_outcome": bool(self.binary_outcome),
            "details": _jsonable(self.details),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decomposition:
        """Rebuild a decomposition from :meth:`to_dict` output."""
        try:
            return cls(
                measures={m: Estimate.from_dict(e) for m, e in data["measures"].items()},
                method=str(data["method"]),
                n_used=int(data["n_used"]),
                n_dropped=int(data.get("n_dropped", 0)),
                n_clipped=int(data.get("n_clipped", 0)),
                means={m: Estimate.from_dict(e) for m, e in data.get("means", {}).items()},
                n_x0=int(data.get("n_x0", 0)),
                n_x1=int(data.get("n_x1", 0)),
                sensitive=str(data.get("sensitive", "")),
                x0=data.get("x0"),
                x1=data.get("x1"),
                outcome=str(data.get("outcome", "")),
                binary_outcome=bool(data.get("binary_outcome", True)),
                details=dict(data.get("details", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not a serialised decomposition: {exc}", hint="pass the output of Decomposition.to_dict()") from None

    @classmethod
    def from_json(cls, text: str) -> Decomposition:
        """Rebuild a decomposition from :meth:`to_json` text."""
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------ plot
    def plot(self, other: Decomposition | None = None, labels: Sequence[str] | None = None, *, ax=None, title: str | None = None) -> Figure:
        """Bars with 95% intervals for each measure; with ``other``, its bars beside these (e.g. real and synthetic)."""
        from .plot import plot_decompositions

        decs = [self] if other is None else [self, other]
        if labels is None:
            labels = ["data"] if other is None else ["real", "synthetic"]
        return plot_decompositions(decs, labels=labels, ax=ax, title=title)


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str):
        try:
            v = v.item()
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)
