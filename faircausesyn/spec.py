"""The causal roles of a table under the Standard Fairness Model.

A :class:`CausalSpec` says which column is the sensitive attribute X (with its
two levels ``x0``, the reference group, and ``x1``), which is the outcome Y,
which are confounders Z (not caused by X) and mediators W (possibly caused by
X), and which are carried along outside the analysis (``other``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SpecError, pydantic_problems

Level = str | int | float | bool
ColumnKind = Literal["binary", "categorical", "integer", "continuous"]

#: Analysed categorical columns with more levels than this are reported as a problem.
MAX_CATEGORY_LEVELS = 100


class CausalSpec(BaseModel):
    """Roles of the columns of a table: X, its levels, Y, Z, W and carried columns.

    Build it in Python (``CausalSpec(sensitive="sex", x0=0, x1=1, ...)``) or load
    it with :meth:`from_file` from YAML or JSON. :meth:`validate` checks it against
    a table and reports every problem at once.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitive: str = Field(description="The sensitive attribute X (a column name).")
    x0: Level = Field(description="Reference level of X (the group compared against).")
    x1: Level = Field(description="The other level of X.")
    outcome: str = Field(description="The outcome Y: binary (0/1) or numeric.")
    confounders: list[str] = Field(default_factory=list, description="Z: columns not caused by X.")
    mediators: list[str] = Field(default_factory=list, description="W: columns possibly caused by X.")
    other: list[str] = Field(default_factory=list, description="Columns carried along but outside the analysis.")
    column_types: dict[str, ColumnKind] = Field(
        default_factory=dict,
        description="Overrides of inferred column kinds (e.g. numeric codes that are categorical).",
    )
    descriptions: dict[str, str] = Field(
        default_factory=dict, description="Optional human descriptions of columns (used by LLM prompts)."
    )
    name: str | None = Field(default=None, description="Optional name of the dataset.")

    @field_validator("confounders", "mediators", "other", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        return v

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CausalSpec:
        """Build a spec from a mapping, turning validation errors into a :class:`SpecError`."""
        if not isinstance(data, dict):
            raise SpecError([f"expected a mapping of roles, got {type(data).__name__}"])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(
                pydantic_problems(exc),
                hint="a spec needs sensitive, x0, x1 and outcome; confounders, mediators and other are lists",
            ) from None

    @classmethod
    def from_file(cls, path: str | Path) -> CausalSpec:
        """Load a spec from a ``.yaml``/``.yml`` or ``.json`` file."""
        import yaml

        p = Path(path)
        if not p.is_file():
            raise SpecError([f"spec file {str(p)!r} does not exist"], hint="pass --spec PATH to a YAML or JSON file")
        text = p.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise SpecError([f"{p.name} is not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}"]) from None
        return cls.from_dict(data)

    def to_file(self, path: str | Path) -> None:
        """Write the spec as YAML (or JSON when the suffix is ``.json``)."""
        import yaml

        from .io import atomic_write_text

        p = Path(path)
        data = self.model_dump(exclude_defaults=True)
        text = json.dumps(data, indent=2) if p.suffix.lower() == ".json" else yaml.safe_dump(data, sort_keys=False)
        atomic_write_text(p, text)

    # ------------------------------------------------------------------ roles
    @property
    def analysed(self) -> list[str]:
        """Columns of the analysis, in causal order: X, Z, W, Y."""
        return [self.sensitive, *self.confounders, *self.mediators, self.outcome]

    @property
    def columns(self) -> list[str]:
        """All columns the spec names: the analysed ones then ``other``."""
        return [*self.analysed, *self.other]

    def role_of(self, column: str) -> str | None:
        """The role of a column: 'sensitive', 'outcome', 'confounder', 'mediator', 'other' or None."""
        if column == self.sensitive:
            return "sensitive"
        if column == self.outcome:
            return "outcome"
        if column in self.confounders:
            return "confounder"
        if column in self.mediators:
            return "mediator"
        if column in self.other:
            return "other"
        return None

    # ------------------------------------------------------------------ levels
    def level_value(self, series: pd.Series, which: Literal["x0", "x1"]) -> Any:
        """The value of ``x0``/``x1`` as it appears in ``series`` (e.g. YAML ``"0"`` for an int column)."""
        value = getattr(self, which)
        return _match_level(series, value)

    def x_indicator(self, data: pd.DataFrame) -> np.ndarray:
        """1 where X equals x1, 0 where it equals x0, NaN elsewhere (float array)."""
        s = data[self.sensitive]
        v0, v1 = self.level_value(s, "x0"), self.level_value(s, "x1")
        out = np.full(len(s), np.nan)
        out[(s == v0).to_numpy()] = 0.0
        out[(s == v1).to_numpy()] = 1.0
        return out

    # ------------------------------------------------------------------ checks
    def problems(self, data: pd.DataFrame) -> list[str]:
        """Every problem of this spec against ``data``, as readable lines (empty when it fits)."""
        problems: list[str] = []
        cols = set(map(str, data.columns))
        # Roles.
        seen: dict[str, str] = {}
        for role, names in (
            ("sensitive", [self.sensitive]),
            ("outcome", [self.outcome]),
            ("confounders", self.confounders),
            ("mediators", self.mediators),
            ("other", self.other),
        ):
            for name in names:
                if name in seen and seen[name] != role:
                    problems.append(f"column {name!r} is given two roles ({seen[name]} and {role})")
                elif name in seen:
                    problems.append(f"column {name!r} is listed twice in {role}")
                else:
                    seen[name] = role
        if self.x0 == self.x1 or str(self.x0) == str(self.x1):
            problems.append(f"x0 and x1 are the same level ({self.x0!r}); they must name the two groups of {self.sensitive!r}")
        missing = [c for c in self.columns if c not in cols]
        for c in missing:
            close = _closest(c, cols)
            problems.append(f"column {c!r} ({self.role_of(c)}) is not in the table" + (f"; did you mean {close!r}?" if close else ""))
        for c in self.column_types:
            if c not in cols:
                problems.append(f"column_types names {c!r}, which is not in the table")
        if data.shape[0] == 0:
            problems.append("the table has no rows")
            return problems

        # Sensitive attribute.
        if self.sensitive in cols:
            s = data[self.sensitive]
            levels = pd.unique(s.dropna())
            n_nan = int(s.isna().sum())
            if n_nan:
                problems.append(f"sensitive attribute {self.sensitive!r} has {n_nan} missing value(s); drop or impute those rows")
            shown = ", ".join(repr(_py(v)) for v in list(levels)[:6]) + (", ..." if len(levels) > 6 else "")
            if len(levels) != 2:
                problems.append(
                    f"sensitive attribute {self.sensitive!r} must have exactly 2 levels, found {len(levels)} ({shown}); "
                    "recode it to two groups"
                )
            for which in ("x0", "x1"):
                v = getattr(self, which)
                if _match_level(s, v, strict=True) is None:
                    problems.append(f"{which}={v!r} is not a level of {self.sensitive!r} (levels: {shown})")

        # Outcome.
        if self.outcome in cols:
            y = data[self.outcome]
            n_nan = int(y.isna().sum())
            if n_nan:
                problems.append(f"outcome {self.outcome!r} has {n_nan} missing value(s); drop those rows")
            if not (pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)):
                vals = pd.unique(y.dropna())
                problems.append(
                    f"outcome {self.outcome!r} must be binary 0/1 or numeric, but it holds text "
                    f"({', '.join(repr(_py(v)) for v in vals[:4])}{', ...' if len(vals) > 4 else ''}); recode it"
                )
            elif y.dropna().nunique() == 2 and not set(pd.unique(y.dropna().astype(float))) <= {0.0, 1.0}:
                problems.append(f"outcome {self.outcome!r} is binary but not coded 0/1 (values {sorted(pd.unique(y.dropna()))}); recode it to 0/1")
            if self.outcome in self.mediators or self.outcome in self.confounders:
                pass  # reported above as two roles

        # Every analysed or carried column.
        x_ind = None
        if self.sensitive in cols and not any("sensitive attribute" in p and "levels" in p for p in problems):
            try:
                x_ind = self.x_indicator(data)
            except Exception:  # noqa: BLE001 - malformed levels are reported above
                x_ind = None
        for c in self.columns:
            if c not in cols:
                continue
            col = data[c]
            if col.isna().all():
                problems.append(f"column {c!r} is entirely missing (all NaN); drop it from the spec")
                continue
            if col.nunique(dropna=True) <= 1:
                problems.append(f"column {c!r} is constant ({_py(col.dropna().iloc[0])!r}); it carries no information, drop it from the spec")
                continue
            if c in self.analysed and c != self.outcome:
                kind = self.column_types.get(c)
                is_text = not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))
                if (is_text or kind == "categorical") and col.nunique() > MAX_CATEGORY_LEVELS:
                    problems.append(
                        f"column {c!r} has {col.nunique()} categories (more than {MAX_CATEGORY_LEVELS}); it looks like an identifier or free text; "
                        "drop it, group rare levels, or move it to 'other'"
                    )
            if c in self.mediators:
                if c != self.sensitive and x_ind is not None and _is_copy_of_x(col, x_ind):
                    problems.append(f"mediator {c!r} is a copy (or recoding) of the sensitive attribute {self.sensitive!r}; remove it from the mediators")
                if self.outcome in cols and _is_copy(col, data[self.outcome]):
                    problems.append(f"mediator {c!r} is a copy of the outcome {self.outcome!r}; it leaks Y, remove it from the mediators")
        return problems

    def validate(self, data: pd.DataFrame) -> None:  # type: ignore[override]
        """Check this spec against ``data``; raise :class:`SpecError` listing every problem."""
        problems = self.problems(data)
        if problems:
            raise SpecError(problems, hint="edit the spec or the table and run `faircausesyn validate` again")


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _closest(name: str, choices: set[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    if m:
        return m[0]
    lowered = {c.lower(): c for c in choices}
    return lowered.get(name.lower())


def _match_level(series: pd.Series, value: Any, strict: bool = False) -> Any:
    """The element of ``series`` equal to ``value``, tolerating '0' vs 0 vs 0.0 vs True."""
    levels = list(pd.unique(series.dropna()))
    for lv in levels:
        if type(_py(lv)) is type(value) and _py(lv) == value:
            return _py(lv)
    for lv in levels:
        if str(_py(lv)) == str(value):
            return _py(lv)
        try:
            if float(_py(lv)) == float(value):
                return _py(lv)
        except (TypeError, ValueError):
            pass
    if strict:
        return None
    return value


def _is_copy(a: pd.Series, b: pd.Series) -> bool:
    """True when ``a`` determines ``b`` one-to-one (a recoding of it)."""
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    if len(both) < 10 or both["a"].nunique() > 20:
        return False
    return bool(both.groupby("a")["b"].nunique().max() == 1 and both.groupby("b")["a"].nunique().max() == 1)


def _is_copy_of_x(col: pd.Series, x_ind: np.ndarray) -> bool:
    return _is_copy(col.reset_index(drop=True), pd.Series(x_ind))
