"""Exact copies of real rows in synthetic tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_hashes(data: pd.DataFrame) -> np.ndarray:
    """A sorted array of 64-bit hashes, one per row (column order matters, index does not)."""
    if len(data) == 0:
        return np.array([], dtype=np.uint64)
    return np.sort(row_hashes_unsorted(data))


def copy_mask(data: pd.DataFrame, real_hashes: np.ndarray) -> pd.Series:
    """True for each row of ``data`` that exactly equals a row whose hash is in ``real_hashes``."""
    if len(data) == 0 or len(real_hashes) == 0:
        return pd.Series(False, index=data.index)
    h = row_hashes_unsorted(data)
    pos = np.searchsorted(real_hashes, h)
    pos = np.clip(pos, 0, len(real_hashes) - 1)
    return pd.Series(real_hashes[pos] == h, index=data.index)


def row_hashes_unsorted(data: pd.DataFrame) -> np.ndarray:
    """Row hashes in row order (see :func:`row_hashes`)."""
    norm = data.reset_index(drop=True).copy()
    for c in norm.columns:
        if pd.api.types.is_numeric_dtype(norm[c]) and not pd.api.types.is_bool_dtype(norm[c]):
            norm[c] = norm[c].astype(float).round(9)
    return pd.util.hash_pandas_object(norm, index=False).to_numpy()


def count_copies(synthetic: pd.DataFrame, real: pd.DataFrame) -> int:
    """How many rows of ``synthetic`` exactly equal some row of ``real`` (on the shared columns)."""
    cols = [c for c in real.columns if c in synthetic.columns]
    return int(copy_mask(synthetic[cols], row_hashes(real[cols])).sum())
