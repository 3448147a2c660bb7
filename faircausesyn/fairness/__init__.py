"""The causal fairness decomposition of the Standard Fairness Model (TV, ctf-DE, ctf-IE, ctf-SE, ETT).

``decompose(data, spec)`` estimates the five x-specific measures of Plecko &
Bareinboim (as the R package faircause defines them) with standard errors and
95% intervals; the result is a :class:`Decomposition` of :class:`Estimate` s.
Only numpy, pandas, scikit-learn and matplotlib are used.
"""

from __future__ import annotations

from .estimators import decompose
from .plot import plot_decompositions
from .result import MEANS, MEASURE_NAMES, MEASURES, Decomposition, Estimate

__all__ = ["MEANS", "MEASURES", "MEASURE_NAMES", "Decomposition", "Estimate", "decompose", "plot_decompositions"]
