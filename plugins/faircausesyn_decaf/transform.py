"""Encoding of mixed-type columns for the DECAF networks, and back.

Discrete columns (binary, categorical) become one-hot blocks; numeric ones
(integer, continuous) one standard-normal score through a quantile transform,
which makes skewed lab values (CPK, creatinine) well behaved for small
networks and maps generated scores back into the observed range. Integers are
rounded later by the schema. Everything is fitted deterministically from the
data, so a refit on the same data gives the same encoder (checkpoints rely on
that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.errors import DataError
from faircausesyn.schema import ColumnSchema, TableSchema


@dataclass
class Block:
    """Where one column lives in the encoded matrix."""

    name: str
    kind: str
    start: int
    width: int
    categories: list[Any] | None = None

    @property
    def discrete(self) -> bool:
        """One-hot (True) or one numeric score (False)."""
        return self.categories is not None

    @property
    def stop(self) -> int:
        """End of the block (exclusive)."""
        return self.start + self.width


def match_category(column: ColumnSchema, value: Any) -> int:
    """Index of ``value`` among a discrete column's categories (``"0"`` matches ``0``)."""
    cats = column.categories or []
    for i, c in enumerate(cats):
        if c == value:
            return i
    for i, c in enumerate(cats):
        try:
            if float(c) == float(value):
                return i
        except (TypeError, ValueError):
            if str(c).strip() == str(value).strip():
                return i
    raise DataError(f"{value!r} is not a category of column {column.name!r} (categories: {cats})")


class TableEncoder:
    """One-hot for discrete columns, quantile-normal scores for numeric ones."""

    def __init__(self, schema: TableSchema, n_quantiles: int = 1000) -> None:
        self.schema = schema
        self.n_quantiles = n_quantiles
        self.blocks: dict[str, Block] = {}
        self._quantile: dict[str, Any] = {}

    @property
    def width(self) -> int:
        """Columns of the encoded matrix."""
        return sum(b.width for b in self.blocks.values())

    def fit(self, data: pd.DataFrame) -> TableEncoder:
        """Learn the blocks and the quantile transforms from ``data`` (no missing values)."""
        from sklearn.preprocessing import QuantileTransformer

        start = 0
        for col in self.schema.columns:
            if col.is_discrete:
                cats = list(col.categories or [])
                self.blocks[col.name] = Block(col.name, col.kind, start, len(cats), cats)
                start += len(cats)
            else:
                x = pd.to_numeric(data[col.name], errors="coerce").to_numpy(dtype=float).reshape(-1, 1)
                qt = QuantileTransformer(
                    n_quantiles=max(2, min(self.n_quantiles, len(x))),
                    output_distribution="normal",
                    subsample=10**9,
                    random_state=0,
                )
                qt.fit(x)
                self._quantile[col.name] = qt
                self.blocks[col.name] = Block(col.name, col.kind, start, 1)
                start += 1
        return self

    def encode_column(self, name: str, values: pd.Series) -> np.ndarray:
        """The encoded block of one column, shape (n, width)."""
        block = self.blocks[name]
        col = self.schema[name]
        if block.discrete:
            idx = np.array([match_category(col, v) for v in values], dtype=int)
            out = np.zeros((len(values), block.width), dtype=np.float32)
            out[np.arange(len(values)), idx] = 1.0
            return out
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float).reshape(-1, 1)
        return self._quantile[name].transform(x).astype(np.float32)

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """The whole table encoded, shape (n, width), blocks in schema order."""
        return np.concatenate([self.encode_column(n, data[n]) for n in self.blocks], axis=1)

    def encode_value(self, name: str, value: Any) -> np.ndarray:
        """One value of one column encoded, shape (width,) (used for reference interventions)."""
        block = self.blocks[name]
        if block.discrete:
            out = np.zeros(block.width, dtype=np.float32)
            out[match_category(self.schema[name], value)] = 1.0
            return out
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{value!r} is not a number, but column {name!r} is numeric") from None
        return self._quantile[name].transform(np.array([[v]])).astype(np.float32).reshape(-1)

    def decode_column(self, name: str, block_values: np.ndarray) -> np.ndarray:
        """Values of one column from its encoded block (argmax for one-hot blocks)."""
        block = self.blocks[name]
        if block.discrete:
            cats = np.array(block.categories, dtype=object)
            return cats[np.asarray(block_values).argmax(axis=1)]
        return self._quantile[name].inverse_transform(np.asarray(block_values, dtype=float).reshape(-1, 1)).reshape(-1)

    def decode(self, encoded: np.ndarray) -> pd.DataFrame:
        """A table (schema columns, raw values) from an encoded matrix."""
        return pd.DataFrame({n: self.decode_column(n, encoded[:, b.start : b.stop]) for n, b in self.blocks.items()})
