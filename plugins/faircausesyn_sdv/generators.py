"""SDV single-table synthesizers behind the faircausesyn :class:`Generator` contract.

SDV 2.0 synthesizers take and return dicts of tables (``{name: DataFrame}``);
the metadata is built from the project's :class:`~faircausesyn.schema.TableSchema`
(discrete columns are ``categorical``, integer and continuous ones
``numerical``), so SDV never guesses a column's type. Fitting runs under a
seeded global RNG (SDV's models draw from numpy's and torch's global
generators while training) whose previous state is restored afterwards;
sampling resets the synthesizer and seeds its own random state, so the same
seed gives the same table. SDV copes with missing numeric and categorical
values, so rows with missing values are kept.
"""

from __future__ import annotations

import contextlib
import logging
import random
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from faircausesyn import Generator
from faircausesyn.errors import BackendError
from faircausesyn.interfaces import FitContext, GeneratorConfig
from faircausesyn.schema import TableSchema

TABLE = "data"


def sdv_metadata(schema: TableSchema, table: str = TABLE) -> Any:
    """SDV ``Metadata`` for one table with the schema's columns and kinds."""
    from sdv.metadata import Metadata

    columns = {c.name: {"sdtype": "categorical" if c.is_discrete else "numerical"} for c in schema.columns}
    return Metadata.load_from_dict({"tables": {table: {"columns": columns}}})


@contextlib.contextmanager
def seeded_global_rng(seed: int, *, torch_too: bool) -> Iterator[None]:
    """Seed Python's, numpy's (and torch's) global RNGs; restore their states on exit."""
    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state = None
    if torch_too:
        import torch

        torch_state = torch.get_rng_state()
        torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch_state is not None:
            import torch

            torch.set_rng_state(torch_state)


@contextlib.contextmanager
def quiet(progress: bool) -> Iterator[None]:
    """Silence SDV's and its dependencies' warnings and info logs unless ``progress``."""
    if progress:
        yield
        return
    names = ("sdv", "rdt", "copulas", "ctgan", "SingleTableSynthesizer")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class SDVConfig(GeneratorConfig):
    """Settings shared by the SDV baselines."""

    enforce_min_max_values: bool = Field(True, description="Clip sampled numbers to the fitted range.")
    enforce_rounding: bool = Field(True, description="Round sampled numbers to the fitted decimals.")


class _SDVGenerator(Generator):
    """Common fit/sample logic; subclasses name the synthesizer and map their config to its arguments."""

    Config: ClassVar[type[SDVConfig]] = SDVConfig
    removable_pathways: ClassVar[frozenset[str]] = frozenset()
    handles_missing: ClassVar[bool] = True
    synthesizer_class: ClassVar[str] = ""
    uses_torch: ClassVar[bool] = False

    def _synthesizer_kwargs(self, progress: bool) -> dict[str, Any]:
        c = self.config
        return {"enforce_min_max_values": c.enforce_min_max_values, "enforce_rounding": c.enforce_rounding}

    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        try:
            import sdv.single_table as st
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendError(
                f"{type(self).__name__} needs SDV, which is not installed ({exc})",
                hint="pip install 'faircausesyn[sdv]'",
            ) from exc
        cls = getattr(st, self.synthesizer_class)
        with quiet(ctx.progress):
            metadata = sdv_metadata(ctx.schema)
            synth = cls(metadata, **self._synthesizer_kwargs(ctx.progress))
            with seeded_global_rng(ctx.seed, torch_too=self.uses_torch):
                synth.fit({TABLE: data.copy()})
        self.synthesizer_ = synth
        ctx.report["sdv_synthesizer"] = self.synthesizer_class

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        synth = self.synthesizer_
        with quiet(False), seeded_global_rng(seed, torch_too=self.uses_torch):
            synth.reset_sampling()
            # SDV's public sample() seeds its model with a fixed seed after a reset;
            # seeding it ourselves makes the table depend on (and only on) ``seed``.
            synth._set_random_state(int(seed) % (2**32))
            out = synth.sample(num_rows=n)
        table = out[TABLE] if isinstance(out, dict) else out
        return table.reset_index(drop=True)


# ---------------------------------------------------------------- CTGAN
class CTGANConfig(SDVConfig):
    """CTGAN's main settings (SDV's defaults, except that the GPU is off unless asked for)."""

    epochs: int = Field(300, ge=1, description="Training epochs.")
    batch_size: int = Field(500, ge=2, description="Rows per step; a multiple of pac and even.")
    embedding_dim: int = Field(128, ge=1)
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    discriminator_steps: int = Field(1, ge=1)
    pac: int = Field(10, ge=1, description="Rows the critic sees together (PacGAN).")
    log_frequency: bool = True
    enable_gpu: bool = False

    @model_validator(mode="after")
    def _batch_fits_pac(self) -> CTGANConfig:
        if self.batch_size % 2 or self.batch_size % self.pac:
            raise ValueError(f"batch_size ({self.batch_size}) must be even and a multiple of pac ({self.pac})")
        return self


class CTGANGenerator(_SDVGenerator):
    """SDV's CTGAN (Xu et al., 2019): a conditional GAN with mode-specific normalisation; baseline, no pathway removal."""

    Config = CTGANConfig
    synthesizer_class = "CTGANSynthesizer"
    uses_torch = True

    def _synthesizer_kwargs(self, progress: bool) -> dict[str, Any]:
        c = self.config
        return {
            **super()._synthesizer_kwargs(progress),
            "epochs": c.epochs,
            "batch_size": c.batch_size,
            "embedding_dim": c.embedding_dim,
            "generator_dim": tuple(c.generator_dim),
            "discriminator_dim": tuple(c.discriminator_dim),
            "generator_lr": c.generator_lr,
            "discriminator_lr": c.discriminator_lr,
            "discriminator_steps": c.discriminator_steps,
            "pac": c.pac,
            "log_frequency": c.log_frequency,
            "enable_gpu": c.enable_gpu,
            "verbose": progress,
        }


# ---------------------------------------------------------------- TVAE
class TVAEConfig(SDVConfig):
    """TVAE's main settings (SDV's defaults, GPU off unless asked for)."""

    epochs: int = Field(300, ge=1)
    batch_size: int = Field(500, ge=1)
    embedding_dim: int = Field(128, ge=1)
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)
    l2scale: float = Field(1e-5, ge=0)
    loss_factor: float = Field(2.0, gt=0)
    enable_gpu: bool = False


class TVAEGenerator(_SDVGenerator):
    """SDV's TVAE (Xu et al., 2019): a variational autoencoder for tables; baseline, no pathway removal."""

    Config = TVAEConfig
    synthesizer_class = "TVAESynthesizer"
    uses_torch = True

    def _synthesizer_kwargs(self, progress: bool) -> dict[str, Any]:
        c = self.config
        return {
            **super()._synthesizer_kwargs(progress),
            "epochs": c.epochs,
            "batch_size": c.batch_size,
            "embedding_dim": c.embedding_dim,
            "compress_dims": tuple(c.compress_dims),
            "decompress_dims": tuple(c.decompress_dims),
            "l2scale": c.l2scale,
            "loss_factor": c.loss_factor,
            "enable_gpu": c.enable_gpu,
            "verbose": progress,
        }


# ---------------------------------------------------------- Gaussian copula
Distribution = Literal["norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde"]


class GaussianCopulaConfig(SDVConfig):
    """Marginal distributions of the Gaussian copula."""

    default_distribution: Distribution = Field("beta", description="Marginal of numeric columns.")
    numerical_distributions: dict[str, Distribution] = Field(
        default_factory=dict, description="Per-column marginals overriding default_distribution."
    )


class GaussianCopulaGenerator(_SDVGenerator):
    """SDV's Gaussian copula: parametric marginals joined by a Gaussian copula; fast baseline, no pathway removal."""

    Config = GaussianCopulaConfig
    synthesizer_class = "GaussianCopulaSynthesizer"

    def _synthesizer_kwargs(self, progress: bool) -> dict[str, Any]:
        c = self.config
        unknown = sorted(set(c.numerical_distributions) - set(self._numeric_columns))
        if unknown:
            from faircausesyn.errors import ConfigError

            raise ConfigError(
                f"numerical_distributions names column(s) that are not numeric here: {', '.join(unknown)}",
                hint=f"numeric columns: {', '.join(self._numeric_columns) or '(none)'}",
            )
        return {
            **super()._synthesizer_kwargs(progress),
            "default_distribution": c.default_distribution,
            "numerical_distributions": dict(c.numerical_distributions) or None,
        }

    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        self._numeric_columns = [c.name for c in ctx.schema.columns if not c.is_discrete]
        super()._fit(data, ctx)
