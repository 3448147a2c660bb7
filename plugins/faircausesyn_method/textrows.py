"""Rows as text and text back to rows: the line format every LLM part of the method speaks.

A row is one line of ``name=value`` pairs in a fixed column order (the graph's
topological order, so a language model decodes causes before effects)::

    age=63, sex=1, smoking=0, DEATH_EVENT=1

Parsing is lenient about *form* (surrounding whitespace, quotes, backticks,
markdown bullets, a numbered prefix such as ``3:`` or ``row 3.``, trailing
prose after the last value) and strict about *content*: a value that is not a
number for a numeric column, an unknown category, a value outside the
column's range, a fraction in an integer column, a duplicated or missing
column each make the row invalid. Invalid rows are counted with their reason
and dropped, never coerced into something valid.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from faircausesyn.schema import ColumnSchema, TableSchema

#: Texts read as a missing value, for columns that had missing values when fitted.
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "missing"})

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A pair: key, "=", then a quoted value or everything up to the next comma/semicolon.
_PAIR = re.compile(
    r"""\s*(?P<key>[^=,;]+?)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^,;]*)\s*(?:[,;]|$)"""
)
# An optional numbered prefix: "3:", "3.", "3)", "#3:", "row 3:", "Row 3 -".
_PREFIX = re.compile(r"^\s*(?:[-*•]\s*)?(?:(?:row|line)\s*)?#?(?P<index>\d+)\s*[:.)\]-]\s*(?=\S)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•>]+\s+)")
_STRIP = " \t\"'`*_"


# ------------------------------------------------------------------ writing
def format_value(value: Any, col: ColumnSchema) -> str:
    """The text of one value: integers without ``.0``, floats at the column's decimals, text as is.

    Text that contains a comma, ``=`` or a quote is double-quoted so that the
    line can be parsed back.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    v = value.item() if isinstance(value, np.generic) else value
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int | float) and not isinstance(v, bool):
        f = float(v)
        if col.kind == "integer" or (col.is_discrete and f.is_integer()) or (f.is_integer() and col.decimals == 0):
            return str(int(round(f)))
        text = f"{f:.{max(col.decimals, 1)}f}".rstrip("0").rstrip(".") if col.decimals <= 8 else repr(f)
        return text if text not in ("", "-0") else "0"
    text = str(v)
    if any(ch in text for ch in ",;=\"") or text != text.strip():
        return '"' + text.replace('"', '\\"') + '"'
    return text


def row_to_text(row: Mapping[str, Any], columns: Sequence[str], schema: TableSchema) -> str:
    """One row as ``name=value, name=value`` in the order of ``columns``."""
    return ", ".join(f"{c}={format_value(row[c], schema[c])}" for c in columns)


def rows_to_text(data: pd.DataFrame, columns: Sequence[str], schema: TableSchema) -> list[str]:
    """Every row of ``data`` as a line (see :func:`row_to_text`)."""
    records = data[list(columns)].to_dict("records")
    return [row_to_text(r, columns, schema) for r in records]


def causal_column_order(graph: Any, columns: Sequence[str]) -> list[str]:
    """``columns`` sorted by the graph's topological order (columns not in the graph go last, in order)."""
    order = {c: i for i, c in enumerate(graph.topological_order())}
    cols = list(columns)
    return sorted(cols, key=lambda c: (order.get(c, len(order)), cols.index(c)))


# ------------------------------------------------------------------ reading
@dataclass
class ParsedLine:
    """The pairs found on one line of text, before any check of their values."""

    text: str
    index: int | None
    pairs: dict[str, str]
    duplicates: list[str] = field(default_factory=list)


def split_rows(line: str) -> list[ParsedLine]:
    """The rows written on one line: their ``name=value`` pairs as text (empty for a line without any).

    Tolerates a numbered prefix (returned as ``index`` of the first row),
    bullets, quotes and backticks around keys or values, and prose after the
    last value (kept in the last value's text; :func:`parse_value` drops it
    only where that is unambiguous). Small models often write several rows on
    one line; a new row starts where the first key of the current row comes
    again (``age=52, sex=1, age=70, sex=0`` is two rows). Any other repeated key
    is kept in ``duplicates`` and makes its row invalid.
    """
    text = line.strip().strip("`").strip()
    if "=" not in text:
        return []
    index = None
    m = _PREFIX.match(text)
    if m and "=" not in text[: m.end()]:
        index = int(m.group("index"))
        text = text[m.end():]
    else:
        text = _BULLET.sub("", text)
    found: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            break
        key = m.group("key").strip(_STRIP + "-•[]()")
        if key:
            found.append((key, m.group("value").strip()))
        pos = m.end()
    rows: list[ParsedLine] = []
    pairs: dict[str, str] = {}
    dups: list[str] = []
    for key, value in found:
        if pairs and key == next(iter(pairs)):
            rows.append(ParsedLine(line, index if not rows else None, pairs, dups))
            pairs, dups = {}, []
        if key in pairs:
            dups.append(key)
        pairs[key] = value
    if pairs:
        rows.append(ParsedLine(line, index if not rows else None, pairs, dups))
    return rows


def split_line(line: str) -> ParsedLine | None:
    """The first row written on ``line`` (see :func:`split_rows`), or None for a line without pairs."""
    rows = split_rows(line)
    return rows[0] if rows else None


class ValueProblem(ValueError):
    """A value that does not fit its column; ``reason`` is a short, countable key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}{': ' + detail if detail else ''}")
        self.reason = reason


def _unquote(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'`":
        t = t[1:-1]
        return t.replace('\\"', '"')
    return t.strip("`*")


def _category_of(text: str, col: ColumnSchema) -> tuple[bool, Any]:
    for cat in col.categories or []:
        c = cat.item() if isinstance(cat, np.generic) else cat
        if isinstance(c, bool):
            if text.lower() in (str(c).lower(), str(int(c))):
                return True, cat
        elif isinstance(c, int | float):
            if _NUMBER.fullmatch(text) and float(text) == float(c):
                return True, cat
        elif text == str(c):
            return True, cat
    lowered = [c for c in (col.categories or []) if isinstance(c, str) and c.lower() == text.lower()]
    if len(lowered) == 1:
        return True, lowered[0]
    return False, None


def parse_value(text: str, col: ColumnSchema, *, last: bool = False, slack: float = 0.1) -> Any:
    """The value of ``col`` written as ``text``; raises :class:`ValueProblem` when it does not fit.

    Numbers must be plain numbers (``63``, ``63.0``, ``-1.5e3``); an integer
    column rejects fractions; a numeric value must lie in the fitted range
    widened by ``slack`` times its span (0.1, as :meth:`TableSchema.row_problems`);
    a discrete value must be one of the fitted categories (``"1"`` matches the
    category ``1``, case is ignored for text when unambiguous). With
    ``last=True`` (the line's last pair) prose after the value, separated by
    whitespace, is ignored: ``"0 (survived)"`` reads as ``0``.
    """
    raw = _unquote(text)
    candidates = [raw]
    if last:
        head = re.split(r"\s+|\(|#|//", raw, maxsplit=1)[0]
        if head and head != raw:
            candidates.append(_unquote(head.rstrip(".;:")))
    candidates += [c.rstrip(".") for c in candidates if c.endswith(".") and not _NUMBER.fullmatch(c)]
    if raw.lower() in MISSING_TOKENS:
        if col.n_missing > 0:
            return np.nan
        raise ValueProblem(f"{col.name}: missing value")
    if col.is_discrete:
        for cand in candidates:
            ok, value = _category_of(cand, col)
            if ok:
                return value
        raise ValueProblem(f"{col.name}: unknown category", repr(raw))
    for cand in candidates:
        if _NUMBER.fullmatch(cand):
            num = float(cand)
            break
    else:
        raise ValueProblem(f"{col.name}: not a number", repr(raw))
    if not math.isfinite(num):
        raise ValueProblem(f"{col.name}: not a number", repr(raw))
    if col.kind == "integer" and abs(num - round(num)) > 1e-9:
        raise ValueProblem(f"{col.name}: not an integer", repr(raw))
    if col.min is not None and col.max is not None:
        span = col.max - col.min
        lo, hi = col.min - slack * span, col.max + slack * span
        if not lo - 1e-12 <= num <= hi + 1e-12:
            raise ValueProblem(f"{col.name}: out of range", f"{num} not in [{lo:g}, {hi:g}]")
    return int(round(num)) if col.kind == "integer" else num


def parse_pairs(parsed: ParsedLine, schema: TableSchema, columns: Sequence[str], *, slack: float = 0.1) -> tuple[dict[str, Any] | None, str, bool]:
    """Read ``columns`` from a split line: ``(values, reason, parsed_ok)``.

    ``values`` is None when the row is invalid, with ``reason`` the first
    problem; ``parsed_ok`` tells whether every column was present and
    syntactically readable (so a row can be parsed but invalid, e.g. out of range).
    Keys are matched exactly, then ignoring case; keys of other columns are ignored.
    """
    lower: dict[str, str] = {}
    for k in parsed.pairs:
        lower.setdefault(k.lower(), k)
    dup_lower = {d.lower() for d in parsed.duplicates}
    values: dict[str, Any] = {}
    last_key = next(reversed(parsed.pairs))
    first_problem: str | None = None
    syntax_ok = True
    for c in columns:
        key = c if c in parsed.pairs else lower.get(c.lower())
        if key is None:
            return None, f"missing column {c}", False
        if c.lower() in dup_lower:
            return None, f"duplicate column {c}", False
        try:
            values[c] = parse_value(parsed.pairs[key], schema[c], last=key == last_key, slack=slack)
        except ValueProblem as p:
            if p.reason.endswith(("not a number", "missing value")):
                syntax_ok = False
            first_problem = first_problem or p.reason
    if first_problem:
        return None, first_problem, syntax_ok
    return values, "", True


@dataclass
class ParseCounts:
    """How many rows were proposed, parsed and valid, and why the others were rejected.

    ``proposed`` counts candidate rows (lines holding at least one ``name=value``
    pair, or row slots a stage asked for); ``parsed`` those with every column
    present and readable; ``valid`` those that also passed every check;
    ``invalid = proposed - valid``, broken down in ``invalid_reasons``.
    """

    proposed: int = 0
    parsed: int = 0
    valid: int = 0
    invalid_reasons: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)
    max_examples: int = 10

    @property
    def invalid(self) -> int:
        """Rows proposed but not valid."""
        return self.proposed - self.valid

    def reject(self, reason: str, line: str = "", *, parsed: bool = False) -> None:
        """Count one invalid row (``parsed``: it was read fine but failed a check)."""
        self.proposed += 1
        self.parsed += int(parsed)
        self.invalid_reasons[reason] += 1
        if len(self.examples) < self.max_examples and line:
            self.examples.append({"line": line.strip()[:300], "reason": reason})

    def accept(self) -> None:
        """Count one valid row."""
        self.proposed += 1
        self.parsed += 1
        self.valid += 1

    def merge(self, other: ParseCounts) -> ParseCounts:
        """Add ``other``'s counts to these (in place) and return self."""
        self.proposed += other.proposed
        self.parsed += other.parsed
        self.valid += other.valid
        self.invalid_reasons.update(other.invalid_reasons)
        room = self.max_examples - len(self.examples)
        self.examples += other.examples[: max(room, 0)]
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: proposed, parsed, valid, invalid, invalid_reasons, invalid_examples."""
        return {
            "proposed": self.proposed,
            "parsed": self.parsed,
            "valid": self.valid,
            "invalid": self.invalid,
            "invalid_reasons": dict(self.invalid_reasons.most_common()),
            "invalid_examples": list(self.examples),
        }


def parse_rows(
    lines: str | Iterable[str],
    schema: TableSchema,
    columns: Sequence[str] | None = None,
    *,
    slack: float = 0.1,
    counts: ParseCounts | None = None,
) -> tuple[list[dict[str, Any]], ParseCounts]:
    """Every valid row in ``lines`` (a text or its lines), reading ``columns`` (default: all of the schema).

    Lines without any ``name=value`` pair (prose, code fences) are not
    candidates and are not counted; every row on the other lines (see
    :func:`split_rows`) is a proposed row, valid or counted as invalid with its reason. Returns the valid rows as dicts of typed
    values (categories as fitted, integers as int) and the counts.
    """
    cols = list(columns) if columns is not None else schema.names
    counts = counts if counts is not None else ParseCounts()
    text_lines = lines.splitlines() if isinstance(lines, str) else list(lines)
    out: list[dict[str, Any]] = []
    for line in text_lines:
        for parsed in split_rows(line):
            values, reason, ok = parse_pairs(parsed, schema, cols, slack=slack)
            if values is None:
                counts.reject(reason, line, parsed=ok)
            else:
                counts.accept()
                out.append(values)
    return out, counts


def rows_frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Parsed rows as a DataFrame with ``columns`` (an empty frame with those columns when none)."""
    return pd.DataFrame([dict(r) for r in rows], columns=list(columns))
