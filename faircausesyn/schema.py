"""Column types of a table, inferred once and used to return the same columns and dtypes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError

ColumnKind = Literal["binary", "categorical", "integer", "continuous"]
KINDS: tuple[str, ...] = ("binary", "categorical", "integer", "continuous")


@dataclass
class ColumnSchema:
    """What a generator must reproduce about one column."""

    name: str
    kind: ColumnKind
    dtype: str
    categories: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    decimals: int = 0
    n_missing: int = 0

    @property
    def is_discrete(self) -> bool:
        """Binary or categorical: values come from ``categories``."""
        return self.kind in ("binary", "categorical")


@dataclass
class TableSchema:
    """The ordered columns of a table with their kinds and dtypes."""

    columns: list[ColumnSchema] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"columns": [_jsonable(asdict(c)) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        """Inverse of :meth:`to_dict`."""
        return cls([ColumnSchema(**c) for c in data["columns"]])

    # ------------------------------------------------------------ validation
    def row_problems(self, data: pd.DataFrame) -> pd.Series:
        """Per row, the first reason it breaks the schema ('' for a valid row).

        Checks presence (no missing value unless the column had some), type,
        category membership and the observed range widened by 10% of its span.
        """
        reasons = pd.Series("", index=data.index, dtype=object)
        for col in self.columns:
            if col.name not in data.columns:
                reasons[:] = f"missing column {col.name}"
                return reasons
            s = data[col.name]
            bad = pd.Series(False, index=data.index)
            why = ""
            if col.is_discrete:
                cats = _category_lookup(col.categories or [])
                norm = s.map(lambda v: _norm_key(v) in cats if not _isna(v) else col.n_missing > 0)
                bad = ~norm.astype(bool)
                why = f"{col.name} not one of its categories"
            else:
                num = pd.to_numeric(s, errors="coerce")
                isna = num.isna() & ~(s.isna() & (col.n_missing > 0))
                span = (col.max or 0) - (col.min or 0)
                lo = (col.min if col.min is not None else -np.inf) - 0.1 * span
                hi = (col.max if col.max is not None else np.inf) + 0.1 * span
                out = (num < lo) | (num > hi)
                bad = isna | out.fillna(False)
                if col.kind == "integer":
                    frac = (num - num.round()).abs() > 1e-9
                    bad = bad | frac.fillna(False)
                why = f"{col.name} not a number in range"
            reasons[bad & (reasons == "")] = why
        return reasons

    def conform(self, data: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
        """Return ``data`` with exactly the schema's columns, in order, in their dtypes.

        Integer columns are rounded; discrete values are mapped back to the fitted
        categories (so ``"1"`` becomes ``1`` for an integer-coded category). A value
        that is not a category, or a missing column, is an error: this is a final
        check of a generator's output, not a silent repair.
        """
        missing = [c for c in self.names if c not in data.columns]
        if missing:
            raise DataError(f"generated table lacks column(s) {', '.join(missing)}")
        if n is not None and len(data) != n:
            raise DataError(f"generator returned {len(data)} rows, {n} were asked for")
        out = {}
        for col in self.columns:
            s = data[col.name].reset_index(drop=True)
            if col.is_discrete:
                lookup = _category_lookup(col.categories or [])
                mapped = s.map(lambda v: lookup.get(_norm_key(v), _BAD) if not _isna(v) else np.nan)
                bad = mapped.map(lambda v: v is _BAD)
                if bad.any():
                    ex = s[bad].iloc[0]
                    raise DataError(f"generated column {col.name!r} holds {ex!r}, not one of its categories {col.categories}")
                out[col.name] = _cast(mapped, col.dtype)
            else:
                num = pd.to_numeric(s, errors="coerce").astype(float)
                if col.kind == "integer":
                    num = num.round()
                out[col.name] = _cast(num, col.dtype)
        return pd.DataFrame(out)


_BAD = object()


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _norm_key(v: Any) -> Any:
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, bool):
        return ("n", float(v))
    if isinstance(v, int | float):
        return ("n", float(v))
    if isinstance(v, str):
        try:
            return ("n", float(v))
        except ValueError:
            return ("s", v.strip())
    return ("s", str(v))


def _category_lookup(categories: list[Any]) -> dict[Any, Any]:
    return {_norm_key(c): c for c in categories}


def _cast(s: pd.Series, dtype: str) -> pd.Series:
    try:
        if dtype.startswith(("int", "uint")) and s.isna().any():
            return s.astype("float64")
        if dtype == "bool":
            return s.astype(bool)
        if dtype in ("object", "string", "str"):
            return s.astype(object)
        if dtype == "category":
            return s.astype("category")
        return s.astype(dtype)
    except (TypeError, ValueError):
        return s


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return {k: conv(v) for k, v in d.items()}


def _decimals(values: np.ndarray, cap: int = 6) -> int:
    for d in range(cap + 1):
        if np.allclose(values, np.round(values, d), rtol=0, atol=10 ** -(cap + 2)):
            return d
    return cap


def infer_column(series: pd.Series, override: str | None = None) -> ColumnSchema:
    """Infer the kind of one column (``override`` forces one of :data:`KINDS`)."""
    name = str(series.name)
    dtype = str(series.dtype)
    s = series.dropna()
    n_missing = int(series.isna().sum())
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    uniq = pd.unique(s)
    if override is not None and override not in KINDS:
        raise DataError(f"unknown column kind {override!r} for {name!r}; use one of {', '.join(KINDS)}")
    if override in ("binary", "categorical") or not numeric:
        cats = sorted((u.item() if isinstance(u, np.generic) else u for u in uniq), key=lambda v: (str(type(v)), v))
        kind = override or ("binary" if len(cats) == 2 else "categorical")
        return ColumnSchema(name, kind, dtype, categories=cats, n_missing=n_missing)
    vals = s.to_numpy(dtype=float)
    if len(vals) == 0:
        return ColumnSchema(name, override or "continuous", dtype, n_missing=n_missing)
    whole = bool(np.all(np.isfinite(vals)) and np.all(np.abs(vals - np.round(vals)) < 1e-9))
    if override is None:
        if len(uniq) == 2 and set(np.round(vals).tolist()) <= {0.0, 1.0} and whole:
            kind = "binary"
        elif whole:
            kind = "integer"
        else:
            kind = "continuous"
    else:
        kind = override
    if kind == "binary":
        cats = sorted(u.item() if isinstance(u, np.generic) else u for u in uniq)
        return ColumnSchema(name, "binary", dtype, categories=cats, n_missing=n_missing)
    return ColumnSchema(
        name,
        kind,  # type: ignore[arg-type]
        dtype,
        min=float(np.nanmin(vals)),
        max=float(np.nanmax(vals)),
        decimals=0 if kind == "integer" else _decimals(vals),
        n_missing=n_missing,
    )


def infer_schema(data: pd.DataFrame, overrides: Mapping[str, str] | None = None) -> TableSchema:
    """Infer a :class:`TableSchema` for every column of ``data``."""
    overrides = dict(overrides or {})
    return TableSchema([infer_column(data[c], overrides.get(str(c))) for c in data.columns])
