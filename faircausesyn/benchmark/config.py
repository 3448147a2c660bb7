"""The benchmark configuration (YAML): a grid of datasets x generators x constraints x seeds.

Example::

    name: smoke
    datasets: [heart_failure, {name: mine, path: data/mine.csv, spec: data/mine.yaml}]
    generators:
      - gaussian_copula
      - {name: ctgan, label: ctgan-5ep, config: {epochs: 5}}
    constraints: [preserve, remove_direct]
    seeds: [0, 1]
    evaluators: [causal_fairness, fidelity]
    holdout: 0.3
    rows: null            # as many synthetic rows as real train rows

Relative paths are read from the config file's folder. Every grid point is a
:class:`Cell`-like plain dict (picklable, so a Dask worker can run it) whose
hash (:func:`cell_key`) identifies its result.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..chunked import fingerprint
from ..errors import ConfigError, pydantic_problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetRef(_Model):
    """A built-in dataset (``name`` only) or a file (``path``) with its ``spec``."""

    name: str
    path: str | None = None
    spec: str | None = None
    delimiter: str | None = None
    no_header: bool = False
    na_values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _spec_with_path(self) -> DatasetRef:
        if self.path is not None and self.spec is None:
            raise ValueError(f"dataset {self.name!r}: a file needs its spec (spec: path/to/spec.yaml)")
        return self


class GeneratorRef(_Model):
    """A generator by registered name with its configuration; ``label`` names it in tables."""

    name: str
    label: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def display(self) -> str:
        """The label, or the name."""
        return self.label or self.name


class ConstraintRef(_Model):
    """A fairness constraint by registered name with its configuration."""

    name: str
    config: dict[str, Any] = Field(default_factory=dict)


def _named(v: Any) -> Any:
    return {"name": v} if isinstance(v, str) else v


class BenchmarkConfig(_Model):
    """The whole grid and the settings shared by every cell."""

    name: str = "benchmark"
    description: str = ""
    datasets: list[DatasetRef] = Field(min_length=1)
    generators: list[GeneratorRef] = Field(min_length=1)
    constraints: list[ConstraintRef] = Field(default_factory=lambda: [ConstraintRef(name="preserve")])
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    evaluators: list[str] | None = None
    evaluator_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    graph: str = "sfm"
    holdout: float = Field(0.3, ge=0, lt=1)
    rows: int | None = Field(None, gt=0)
    decomposition: dict[str, Any] | None = Field(None, description="decompose() settings; None: take the causal_fairness evaluator's decompositions.")
    no_copies: bool = False
    plugins: list[str] = Field(default_factory=list, description="Extra in-process plugins, 'module:attribute'.")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        """``split: 0.3`` or ``split: {holdout: 0.3}`` set ``holdout``; ``seeds: 3`` means ``[0, 1, 2]``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "split" in data:
            split = data.pop("split")
            if "holdout" in data:
                raise ValueError("give either split or holdout, not both")
            if isinstance(split, dict):
                unknown = set(split) - {"holdout"}
                if unknown:
                    raise ValueError(f"split: unknown key(s) {', '.join(sorted(unknown))} (expected holdout)")
                split = split.get("holdout", 0.3)
            data["holdout"] = split
        seeds = data.get("seeds")
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ValueError("seeds: give a list of seeds or a positive count")
            data["seeds"] = list(range(seeds))
        return data

    @field_validator("datasets", "generators", "constraints", mode="before")
    @classmethod
    def _names_as_refs(cls, v: Any) -> Any:
        return [_named(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _unique(self) -> BenchmarkConfig:
        for what, names in (
            ("dataset", [d.name for d in self.datasets]),
            ("generator label", [g.display for g in self.generators]),
            ("constraint", [c.name + (fingerprint(c.config) if c.config else "") for c in self.constraints]),
        ):
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise ValueError(f"duplicate {what}(s): {', '.join(dups)} (give each a distinct label)")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("duplicate seeds")
        return self

    # ------------------------------------------------------------ loading
    @classmethod
    def from_file(cls, path: str | Path) -> BenchmarkConfig:
        """Read a YAML/JSON config; relative dataset paths are resolved against its folder."""
        from ..io import read_json_or_yaml

        p = Path(path)
        data = read_json_or_yaml(p)
        if not isinstance(data, dict):
            raise ConfigError(f"{str(p)!r} must hold a mapping (name, datasets, generators, ...)")
        cfg = cls.from_dict(data, source=str(p))
        base = p.resolve().parent
        for d in cfg.datasets:
            if d.path is not None and not Path(d.path).is_absolute():
                d.path = str(base / d.path)
            if d.spec is not None and not Path(d.spec).is_absolute():
                d.spec = str(base / d.spec)
        return cfg

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "the benchmark config") -> BenchmarkConfig:
        """Validate a mapping, reporting every problem at once."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source} is invalid: " + "; ".join(pydantic_problems(exc)), hint="see docs/benchmarks.md for the format") from None

    # ------------------------------------------------------------ cells
    def cells(self) -> list[dict[str, Any]]:
        """Every grid point as a plain, picklable dict with its ``key``; datasets outermost, seeds innermost."""
        out = []
        for d, g, c, s in itertools.product(self.datasets, self.generators, self.constraints, self.seeds):
            cell = {
                "benchmark": self.name,
                "dataset": {**d.model_dump(), "content": _content_hash(d)},
                "generator": {"name": g.name, "label": g.display, "config": g.config},
                "constraint": c.model_dump(),
                "seed": int(s),
                "evaluators": self.evaluators,
                "evaluator_config": self.evaluator_config,
                "graph": self.graph,
                "holdout": self.holdout,
                "rows": self.rows,
                "decomposition": self.decomposition,
                "no_copies": self.no_copies,
                "plugins": list(self.plugins),
            }
            cell["key"] = cell_key(cell)
            out.append(cell)
        return out


def cell_key(cell: dict[str, Any]) -> str:
    """The hash of a cell's configuration (everything but its benchmark name and key)."""
    return fingerprint({k: v for k, v in cell.items() if k not in ("key", "benchmark")})


def _content_hash(d: DatasetRef) -> str | None:
    """SHA-256 of a dataset file and its spec (None for a built-in, identified by name)."""
    if d.path is None:
        return None
    h = hashlib.sha256()
    for p in (d.path, d.spec):
        path = Path(p) if p else None
        if path is None or not path.is_file():
            raise ConfigError(f"dataset {d.name!r}: file {str(path)!r} does not exist", hint="paths are relative to the config file")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
