"""A short description of a table under its spec: roles, kinds, group sizes and outcome rates."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .schema import infer_schema
from .spec import CausalSpec


def summarize(data: pd.DataFrame, spec: CausalSpec) -> dict[str, Any]:
    """Roles, inferred kinds, missing counts, group sizes per level of X and outcome means."""
    cols = [c for c in data.columns if c in set(spec.columns)]
    schema = infer_schema(data[cols], overrides=spec.column_types)
    rows = []
    for c in schema.columns:
        if c.is_discrete:
            values = ", ".join(map(str, (c.categories or [])[:6])) + (" ..." if len(c.categories or []) > 6 else "")
        else:
            values = f"{c.min:g} .. {c.max:g}"
        rows.append({"name": c.name, "role": spec.role_of(c.name), "kind": c.kind, "dtype": c.dtype, "n_missing": c.n_missing, "values": values})
    x = spec.x_indicator(data)
    y = pd.to_numeric(data[spec.outcome], errors="coerce")
    groups = []
    for label, code, level in (("x0", 0.0, spec.level_value(data[spec.sensitive], "x0")), ("x1", 1.0, spec.level_value(data[spec.sensitive], "x1"))):
        mask = x == code
        groups.append({"group": label, "level": level, "rows": int(mask.sum()), "share": float(mask.mean()), "outcome_mean": float(y[mask].mean())})
    return {
        "name": spec.name,
        "rows": int(len(data)),
        "columns": len(cols),
        "sensitive": spec.sensitive,
        "outcome": spec.outcome,
        "roles": {"X": spec.sensitive, "x0": spec.x0, "x1": spec.x1, "Y": spec.outcome, "Z": spec.confounders, "W": spec.mediators, "other": spec.other},
        "schema": rows,
        "groups": groups,
    }
