"""Rows as text and as tokens: the vocabulary of the tabular language model.

A row is serialised in a fixed column order (the graph's topological order, so
that decoding follows the causal order) as ``"sex 1 | age 63 | ... | DEATH_EVENT 0"``.
The token sequence of a row is ``<bos> v1 v2 ... vK <eos>``: one token per value,
in the fixed column order. Value tokens are column-specific, and position
embeddings say which column comes next, so column-name tokens would add nothing
but length (they doubled the cost of training and decoding). A value token is a
(column, category) pair for a
discrete column, or a (column, quantile bin) pair for a numeric one. A numeric
bin is decoded by drawing one of the training values that fell into it, so the
marginals of numeric columns are reproduced and out-of-range values are
impossible. Columns with few distinct numbers get one bin per value (exact).

The vocabulary is built from the data (no hub download) and saved as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.errors import CheckpointError, DataError

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = 0, 1, 2, 3
FIELD_SEP = " | "
#: version 2: sequences hold value tokens only (version 1 interleaved column-name tokens)
VOCAB_FORMAT = "faircausesyn-tabular-vocab/2"


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _word(v: Any) -> str:
    """A value as one whitespace-free word."""
    return str(_py(v)).strip().replace(" ", "_").replace("|", "/") or "_"


@dataclass
class ColumnVocab:
    """The value tokens of one column.

    ``kind`` is ``"discrete"`` (``values`` are the categories) or ``"numeric"``
    (``edges`` are the inner bin boundaries, ``bin_values`` the sorted training
    values inside each bin and ``words`` the bin labels). ``nan`` says whether a
    missing-value token exists (last value token).
    """

    name: str
    kind: str
    first_id: int
    words: list[str]
    values: list[Any] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    bin_values: list[list[float]] = field(default_factory=list)
    decimals: int = 0
    integer: bool = False
    nan: bool = False

    @property
    def n_values(self) -> int:
        """Number of value tokens (bins or categories, plus the missing-value token)."""
        return len(self.words) + (1 if self.nan else 0)

    @property
    def ids(self) -> range:
        """Token ids of this column's values."""
        return range(self.first_id, self.first_id + self.n_values)

    # ------------------------------------------------------------ encoding
    def encode(self, series: pd.Series) -> np.ndarray:
        """Token ids of the values of ``series`` (raises on an unknown category)."""
        s = series.reset_index(drop=True)
        out = np.full(len(s), -1, dtype=np.int64)
        isna = s.isna().to_numpy()
        if isna.any():
            if not self.nan:
                raise DataError(f"column {self.name!r} has missing values the tokenizer has not seen", hint="fit on data with the same missingness")
            out[isna] = self.first_id + len(self.words)
        ok = ~isna
        if self.kind == "discrete":
            lookup = {_word(v): i for i, v in enumerate(self.values)}
            codes = [lookup.get(_word(v), -1) for v in s[ok]]
            bad = [v for v, c in zip(s[ok], codes, strict=True) if c < 0]
            if bad:
                raise DataError(f"column {self.name!r} holds {bad[0]!r}, which is not one of its categories {self.values}")
            out[ok] = self.first_id + np.asarray(codes, dtype=np.int64)
        else:
            num = pd.to_numeric(s[ok], errors="coerce").to_numpy(dtype=float)
            if np.isnan(num).any():
                raise DataError(f"column {self.name!r} holds a value that is not a number")
            out[ok] = self.first_id + self.bin_of(num)
        return out

    def bin_of(self, num: np.ndarray) -> np.ndarray:
        """The bin index of each number (values beyond the training range go to the end bins)."""
        return np.searchsorted(np.asarray(self.edges, dtype=float), num, side="right").astype(np.int64)

    def encode_word(self, word: str) -> int:
        """Token id of one text word (a category, a bin label or a number)."""
        if self.nan and word.lower() in ("nan", "na", "none", ""):
            return self.first_id + len(self.words)
        if self.kind == "discrete":
            for i, v in enumerate(self.values):
                if _word(v) == word:
                    return self.first_id + i
            try:
                f = float(word)
                for i, v in enumerate(self.values):
                    if isinstance(_py(v), int | float) and float(v) == f:
                        return self.first_id + i
            except ValueError:
                pass
            raise DataError(f"{word!r} is not a category of column {self.name!r} ({self.values})")
        if word in self.words:
            return self.first_id + self.words.index(word)
        try:
            f = float(word)
        except ValueError:
            raise DataError(f"{word!r} is not a number or a bin label of column {self.name!r}") from None
        if not math.isfinite(f):
            raise DataError(f"{word!r} is not a finite number (column {self.name!r})")
        return self.first_id + int(self.bin_of(np.array([f]))[0])

    # ------------------------------------------------------------ decoding
    def decode(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for token ids: categories, or a training value drawn inside each bin."""
        local = np.asarray(ids, dtype=np.int64) - self.first_id
        if local.min(initial=0) < 0 or local.max(initial=0) >= self.n_values:
            raise DataError(f"token ids out of the range of column {self.name!r}")
        nan_code = len(self.words)
        if self.kind == "discrete":
            out = np.empty(len(local), dtype=object)
            for i, code in enumerate(local):
                out[i] = np.nan if code == nan_code else self.values[code]
            return out
        out = np.full(len(local), np.nan)
        u = rng.random(len(local))
        for b in np.unique(local):
            if b == nan_code:
                continue
            vals = self.bin_values[b]
            sel = local == b
            pick = np.minimum((u[sel] * len(vals)).astype(np.int64), len(vals) - 1)
            out[sel] = np.asarray(vals, dtype=float)[pick]
        return out

    def format(self, value: Any) -> str:
        """A value as its text word."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "nan"
        if self.kind == "discrete":
            return _word(value)
        if self.integer:
            return str(int(round(float(value))))
        return f"{float(value):.{self.decimals}f}"


class TableVocab:
    """The vocabulary of a table: special tokens and each column's value tokens.

    Build it with :meth:`build` from a DataFrame and a column order; save and
    load it as JSON (:meth:`to_dict` / :meth:`from_dict`).
    """

    def __init__(self, columns: list[ColumnVocab]) -> None:
        self.columns = columns
        self.by_name = {c.name: c for c in columns}
        self.size = max((c.first_id + c.n_values for c in columns), default=len(SPECIALS))

    @property
    def names(self) -> list[str]:
        """Column names in serialisation order."""
        return [c.name for c in self.columns]

    @property
    def seq_len(self) -> int:
        """Length of a full row's token sequence: bos, one value token per column, eos."""
        return len(self.columns) + 2

    @classmethod
    def build(
        cls,
        data: pd.DataFrame,
        order: Sequence[str],
        *,
        n_bins: int = 20,
        kinds: dict[str, str] | None = None,
        decimals: dict[str, int] | None = None,
    ) -> TableVocab:
        """Build the vocabulary of ``data``'s columns in ``order``.

        ``kinds`` maps a column to ``"discrete"`` or ``"numeric"`` (default: numeric
        dtypes are numeric); numeric columns get at most ``n_bins`` quantile bins,
        or one bin per distinct value when they have no more than ``n_bins``.
        """
        if n_bins < 2:
            raise DataError(f"n_bins must be at least 2, got {n_bins}")
        kinds = dict(kinds or {})
        decimals = dict(decimals or {})
        next_id = len(SPECIALS)
        cols: list[ColumnVocab] = []
        for name in order:
            if name not in data.columns:
                raise DataError(f"column {name!r} of the order is not in the table")
            s = data[name]
            kind = kinds.get(name) or ("numeric" if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) else "discrete")
            has_nan = bool(s.isna().any())
            nonnull = s.dropna()
            if len(nonnull) == 0:
                raise DataError(f"column {name!r} has no values to build a vocabulary from")
            if kind == "discrete":
                values = sorted({_py(v) for v in nonnull}, key=lambda v: (str(type(v)), v))
                words = [_word(v) for v in values]
                if len(set(words)) != len(words):
                    raise DataError(f"column {name!r} has categories that differ only in spaces or '|'", hint="recode them")
                cv = ColumnVocab(name, "discrete", next_id, words, values=values, nan=has_nan)
            else:
                vals = np.sort(nonnull.to_numpy(dtype=float))
                uniq = np.unique(vals)
                integer = bool(np.allclose(vals, np.round(vals)))
                if len(uniq) <= n_bins:
                    edges = ((uniq[1:] + uniq[:-1]) / 2).tolist()
                else:
                    qs = np.quantile(vals, np.linspace(0, 1, n_bins + 1)[1:-1], method="inverted_cdf")
                    edges = np.unique(qs).tolist()
                    # a right-closed edge equal to the maximum would leave an empty last bin
                    edges = [e for e in edges if e < vals[-1]]
                bins = np.searchsorted(np.asarray(edges), vals, side="right")
                bin_values = [vals[bins == b].tolist() for b in range(len(edges) + 1)]
                keep = [b for b, bv in enumerate(bin_values) if bv]
                if len(keep) != len(bin_values):  # merge empty bins away
                    bin_values = [bin_values[b] for b in keep]
                    edges = [bin_values[i + 1][0] for i in range(len(bin_values) - 1)]
                words = [f"b{b:02d}" for b in range(len(bin_values))]
                cv = ColumnVocab(
                    name,
                    "numeric",
                    next_id,
                    words,
                    edges=[float(e) for e in edges],
                    bin_values=bin_values,
                    decimals=int(decimals.get(name, 6 if not integer else 0)),
                    integer=integer,
                    nan=has_nan,
                )
            next_id += cv.n_values
            cols.append(cv)
        return cls(cols)

    # ------------------------------------------------------------ rows <-> tokens
    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Token matrix ``[rows, seq_len]`` of a table with the vocabulary's columns."""
        n = len(data)
        out = np.empty((n, self.seq_len), dtype=np.int64)
        out[:, 0] = BOS
        for i, c in enumerate(self.columns):
            out[:, i + 1] = c.encode(data[c.name])
        out[:, -1] = EOS
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """A table from a full token matrix (column ``i``'s value token at position ``i + 1``)."""
        cols = {}
        for i, c in enumerate(self.columns):
            cols[c.name] = c.decode(tokens[:, i + 1], rng)
        return pd.DataFrame(cols)

    def value_mask(self) -> np.ndarray:
        """Boolean ``[columns, vocab]``: which tokens are values of each column."""
        m = np.zeros((len(self.columns), self.size), dtype=bool)
        for i, c in enumerate(self.columns):
            m[i, list(c.ids)] = True
        return m

    # ------------------------------------------------------------ text
    def serialize(self, data: pd.DataFrame) -> list[str]:
        """One text line per row, in the vocabulary's column order."""
        parts = [[f"{c.name} {c.format(v)}" for v in data[c.name].tolist()] for c in self.columns]
        return [FIELD_SEP.join(fields) for fields in zip(*parts, strict=True)] if parts else []

    def text_to_tokens(self, line: str, *, partial: bool = False) -> list[int]:
        """Token ids of one serialised row (a prefix of the columns when ``partial``)."""
        line = line.strip()
        if line.endswith("|"):
            line = line[:-1].rstrip()
        fields = [f.strip() for f in line.split("|")] if line else []
        fields = [f for f in fields if f]
        if len(fields) > len(self.columns):
            raise DataError(f"the row has {len(fields)} fields, the table has {len(self.columns)} columns")
        toks = [BOS]
        for i, f in enumerate(fields):
            col = self.columns[i]
            if not f.startswith(col.name + " ") and f != col.name:
                raise DataError(f"field {i + 1} is {f!r}; expected column {col.name!r} (order: {', '.join(self.names)})")
            word = f[len(col.name):].strip()
            if not word:
                if partial and i == len(fields) - 1:
                    break
                raise DataError(f"column {col.name!r} has no value in {line!r}")
            toks.append(col.encode_word(word))
        if not partial and len(fields) != len(self.columns):
            raise DataError(f"the row has {len(fields)} fields, expected {len(self.columns)}")
        if not partial:
            toks.append(EOS)
        return toks

    def tokens_to_text(self, tokens: Sequence[int], rng: np.random.Generator, start_col: int = 0) -> str:
        """Text of value tokens for columns ``start_col, start_col+1, ...``."""
        fields = []
        for j, t in enumerate(tokens):
            c = self.columns[start_col + j]
            v = c.decode(np.array([t]), rng)[0]
            fields.append(f"{c.name} {c.format(v)}")
        return FIELD_SEP.join(fields)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the whole vocabulary."""
        return {
            "format": VOCAB_FORMAT,
            "specials": list(SPECIALS),
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "first_id": c.first_id,
                    "words": c.words,
                    "values": [_py(v) for v in c.values],
                    "edges": c.edges,
                    "bin_values": c.bin_values,
                    "decimals": c.decimals,
                    "integer": c.integer,
                    "nan": c.nan,
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableVocab:
        """Inverse of :meth:`to_dict`; a malformed dict raises :class:`CheckpointError`."""
        try:
            if data.get("format") != VOCAB_FORMAT:
                raise ValueError(f"format {data.get('format')!r} is not {VOCAB_FORMAT!r} (written by another version)")
            return cls([ColumnVocab(**c) for c in data["columns"]])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"the vocabulary file is malformed: {exc}", hint="delete the checkpoint and fit again") from None

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> tuple[TableVocab, pd.DataFrame]:
        """A vocabulary (every column discrete) and the table parsed from serialised rows."""
        rows: list[dict[str, str]] = []
        order: list[str] | None = None
        for t in texts:
            for line in str(t).splitlines():
                line = line.strip()
                if not line:
                    continue
                fields = [f.strip() for f in line.split("|") if f.strip()]
                names, words = [], []
                for f in fields:
                    name, _, word = f.rpartition(" ")
                    if not name:
                        raise DataError(f"field {f!r} is not 'column value'")
                    names.append(name)
                    words.append(word)
                if order is None:
                    order = names
                elif names != order:
                    raise DataError(f"a row has columns {names}, the first row had {order}")
                rows.append(dict(zip(names, words, strict=True)))
        if not rows or order is None:
            raise DataError("no serialised rows to train on")
        df = pd.DataFrame(rows, columns=order)
        return cls.build(df, order, kinds={c: "discrete" for c in order}), df
