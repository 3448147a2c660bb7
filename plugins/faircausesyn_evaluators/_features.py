"""Shared helpers of the evaluators: numeric feature matrices and the real holdout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from faircausesyn import CausalSpec
from faircausesyn.errors import DataError


def is_binary(y: pd.Series) -> bool:
    """True when ``y`` holds only 0 and 1."""
    vals = pd.unique(pd.to_numeric(y, errors="coerce").dropna())
    return len(vals) > 0 and set(np.asarray(vals, dtype=float)) <= {0.0, 1.0}


class FeatureEncoder:
    """Columns to a float matrix: numbers standardised by the reference table, categories one-hot.

    Fitted on one table (``fit``), applied identically to others, so real,
    synthetic and holdout rows share the same columns; a level not seen in the
    reference table encodes as all zeros.
    """

    def __init__(self, columns: list[str], categorical: set[str] | None = None, standardise: bool = True) -> None:
        self.columns = list(columns)
        self.categorical = set(categorical or ())
        self.standardise = standardise

    def _is_cat(self, s: pd.Series) -> bool:
        return s.name in self.categorical or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))

    def fit(self, *frames: pd.DataFrame) -> FeatureEncoder:
        """Learn levels (from every frame given) and the scale (from the first)."""
        self.levels_: dict[str, list[str]] = {}
        self.scale_: dict[str, tuple[float, float]] = {}
        ref = frames[0]
        for c in self.columns:
            if self._is_cat(ref[c]):
                levels: set[str] = set()
                for f in frames:
                    levels |= set(f[c].dropna().astype(str))
                self.levels_[c] = sorted(levels)
            else:
                v = pd.to_numeric(ref[c], errors="coerce").to_numpy(dtype=float)
                mu, sd = float(np.nanmean(v)), float(np.nanstd(v))
                self.scale_[c] = (mu, sd if sd > 0 else 1.0) if self.standardise else (0.0, 1.0)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The feature matrix of ``frame`` (missing numbers become the reference mean)."""
        parts = []
        for c in self.columns:
            if c in self.levels_:
                s = frame[c].astype(str).to_numpy()
                parts.append(np.stack([(s == lv).astype(float) for lv in self.levels_[c]], axis=1) if self.levels_[c] else np.zeros((len(frame), 0)))
            else:
                mu, sd = self.scale_[c]
                v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                parts.append(((np.where(np.isnan(v), mu, v) - mu) / sd).reshape(-1, 1))
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    @property
    def names(self) -> list[str]:
        """Names of the encoded features."""
        out = []
        for c in self.columns:
            out += [f"{c}={lv}" for lv in self.levels_[c]] if c in self.levels_ else [c]
        return out


def categorical_columns(spec: CausalSpec) -> set[str]:
    """Columns the spec forces to be categorical."""
    return {c for c, k in spec.column_types.items() if k == "categorical"}


@dataclass
class Split:
    """The real rows to train on, the real rows to test on, and the synthetic rows to train on."""

    train: pd.DataFrame
    test: pd.DataFrame
    synthetic: pd.DataFrame
    note: str


def resolve_holdout(real: pd.DataFrame, synthetic: pd.DataFrame, spec: CausalSpec, holdout: pd.DataFrame | None, *, share: float, seed: int) -> Split:
    """Real train/test parts for the evaluators that need unseen real rows.

    With a ``holdout`` the real table is the train part. Without one, a share of
    the real rows (stratified by X and Y) becomes the test part, and synthetic
    rows that exactly copy a test row are left out of synthetic training (a
    generator fitted on all real rows could otherwise be scored on rows it saw).
    """
    cols = spec.analysed
    if holdout is not None:
        return Split(real.reset_index(drop=True), holdout.reset_index(drop=True), synthetic.reset_index(drop=True), "given holdout")
    if len(real) < 20:
        raise DataError(f"only {len(real)} real rows: too few to split off a holdout", hint="pass a real holdout table")
    rng = np.random.default_rng(seed)
    strata = real[spec.sensitive].astype(str) + "|" + real[spec.outcome].astype(str)
    test_idx: list[int] = []
    for _, idx in real.groupby(strata, sort=True).indices.items():
        idx = np.asarray(idx)
        k = int(round(share * len(idx)))
        test_idx += list(rng.choice(idx, size=k, replace=False)) if k else []
    is_test = np.zeros(len(real), dtype=bool)
    is_test[test_idx] = True
    train, test = real[~is_test].reset_index(drop=True), real[is_test].reset_index(drop=True)
    test_keys = set(pd.util.hash_pandas_object(_norm(test[cols]), index=False).tolist())
    syn_keys = pd.util.hash_pandas_object(_norm(synthetic[cols].reset_index(drop=True)), index=False).to_numpy()
    keep = np.array([k not in test_keys for k in syn_keys], dtype=bool)
    note = f"no holdout given: {len(test)} of {len(real)} real rows split off as test; {int((~keep).sum())} synthetic copies of test rows left out"
    return Split(train, test, synthetic.reset_index(drop=True)[keep].reset_index(drop=True), note)


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].astype(float).round(9)
        else:
            out[c] = out[c].astype(str)
    return out
