"""Bar charts of decompositions: one bar per measure with its 95% interval, tables side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .result import MEASURES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .result import Decomposition

_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


def plot_decompositions(
    decompositions: Sequence[Decomposition],
    labels: Sequence[str] | None = None,
    *,
    ax=None,
    title: str | None = None,
) -> Figure:
    """A figure with grouped bars (estimates) and error bars (95% intervals) per measure.

    Uses matplotlib's object API (no pyplot), so it works without a display;
    save it with ``fig.savefig("out.png")``.
    """
    from matplotlib.figure import Figure

    labels = list(labels) if labels is not None else [f"table {i + 1}" for i in range(len(decompositions))]
    if len(labels) != len(decompositions):
        raise ValueError(f"{len(decompositions)} decompositions but {len(labels)} labels")
    if ax is None:
        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    measures = [m for m in MEASURES if all(m in d.measures for d in decompositions)]
    k = len(decompositions)
    width = 0.8 / max(k, 1)
    pos = np.arange(len(measures))
    for i, (dec, label) in enumerate(zip(decompositions, labels, strict=True)):
        est = np.array([dec[m].estimate for m in measures])
        lo = np.array([dec[m].lower for m in measures])
        hi = np.array([dec[m].upper for m in measures])
        err = np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])
        ax.bar(pos + (i - (k - 1) / 2) * width, est, width, yerr=err, capsize=3, label=label, color=_COLOURS[i % len(_COLOURS)])
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(pos, [m if m in ("TV", "ETT") else f"ctf-{m}" for m in measures])
    first = decompositions[0] if decompositions else None
    unit = "difference in P(Y=1)" if (first is None or first.binary_outcome) else "difference in E[Y]"
    ax.set_ylabel(unit)
    if title is None and first is not None and first.sensitive:
        title = f"causal fairness of {first.outcome} by {first.sensitive} (x0={first.x0}, x1={first.x1})"
    if title:
        ax.set_title(title, fontsize=10)
    if k > 1 or labels != ["data"]:
        ax.legend(frameon=False)
    return fig
