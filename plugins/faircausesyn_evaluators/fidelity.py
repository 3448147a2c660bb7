"""``fidelity``: SDMetrics' quality report (column shapes, column pair trends, overall score)."""

from __future__ import annotations

import contextlib
import io
import warnings

import pandas as pd
from pydantic import Field

from faircausesyn import Evaluator, Metric
from faircausesyn.errors import BackendError
from faircausesyn.interfaces import ComponentConfig
from faircausesyn.schema import infer_schema


class FidelityConfig(ComponentConfig):
    """Which columns are scored and how many rows at most (sampled, for speed)."""

    columns: str = Field("analysed", pattern="^(analysed|all)$", description="'analysed' (X, Z, W, Y) or 'all' spec columns")
    max_rows: int = Field(20_000, ge=100)
    seed: int = 0


def sdmetrics_metadata(frame: pd.DataFrame, column_types: dict[str, str]) -> dict:
    """SDMetrics column metadata from the inferred schema: discrete columns categorical, others numerical."""
    schema = infer_schema(frame, overrides=column_types)
    return {"columns": {c.name: {"sdtype": "categorical" if c.is_discrete else "numerical"} for c in schema.columns}}


class Fidelity(Evaluator):
    """SDMetrics ``QualityReport``: ``column_shapes`` (KS / TV complements), ``column_pair_trends``, ``quality_score``; all ideal 1."""

    Config = FidelityConfig

    def _evaluate(self, real, synthetic, spec, graph, holdout):
        try:
            from sdmetrics.reports import QualityReport
        except ImportError:
            raise BackendError("the fidelity evaluator needs sdmetrics", hint="pip install 'faircausesyn[sdv]'") from None
        cols = spec.analysed if self.config.columns == "analysed" else [c for c in spec.columns if c in synthetic.columns]
        r = _cap(real[cols], self.config.max_rows, self.config.seed)
        s = _cap(synthetic[cols], self.config.max_rows, self.config.seed)
        meta = sdmetrics_metadata(r, {k: v for k, v in spec.column_types.items() if k in cols})
        report = QualityReport()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            report.generate({"table": r}, {"table": s}, {"tables": {"table": meta}}, verbose=False)
            props = report.get_properties().set_index("Property")["Score"].to_dict()
            shapes = report.get_details("Column Shapes")
        per_column = {str(row["Column"]): float(row["Score"]) for _, row in shapes.iterrows()} if "Column" in shapes else {}
        return [
            Metric("quality_score", float(report.get_score()), ideal=1.0, goal="max", details={"rows_real": len(r), "rows_synthetic": len(s)}),
            Metric("column_shapes", float(props.get("Column Shapes", float("nan"))), ideal=1.0, goal="max", details={"per_column": per_column}),
            Metric("column_pair_trends", float(props.get("Column Pair Trends", float("nan"))), ideal=1.0, goal="max"),
        ]


def _cap(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    return frame.sample(n=n, random_state=seed).reset_index(drop=True) if len(frame) > n else frame
