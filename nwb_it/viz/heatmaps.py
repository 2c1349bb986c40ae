"""Firing-rate heatmaps and the reliability histograms (the lab's heatmaps.ipynb and real_stats.ipynb).

* population: units x time, each unit's rate averaged over clips and repeats,
  normalised per unit, rows sorted by peak latency;
* one clips x time heatmap of repeat-averaged rate per unit;
* ``r2_true_vs_null`` and ``dprime`` histograms, as the lab's real_stats notebook drew them.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..core.results import AlignedCounts, ReliabilityResult
from ..process.rates import normalize, population_rates
from .save import new_figure


def _label(how: str) -> str:
    return {"zscore": "firing rate (z-score per unit)", "minmax": "firing rate (min-max per unit)",
            "none": "firing rate (spikes/s)"}[how]


def _heatmap(values: np.ndarray, edges: np.ndarray, how: str, cmap: str, clip_duration: float | None,
             ylabel: str, title: str) -> Figure:
    """Rows x time bins, clip onset (dashed) and offset (dotted) marked, labelled colour bar."""
    fig, ax = new_figure(figsize=(7, max(3, 0.1 * values.shape[0] + 1.5)))
    im = ax.imshow(values, aspect="auto", interpolation="nearest", cmap=cmap,
                   extent=(edges[0], edges[-1], values.shape[0], 0))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(0.0, color="w", lw=1.2, ls="--")
    if clip_duration:
        ax.axvline(clip_duration, color="w", lw=1.2, ls=":")
    ax.set(xlabel="time from clip onset (s)", ylabel=ylabel, title=title)
    fig.colorbar(im, ax=ax, label=_label(how))
    fig.tight_layout()
    return fig


def population_figure(aligned: AlignedCounts, how: str = "zscore", title: str = "",
                      clip_duration: float | None = 0.25) -> Figure:
    """Units x time heatmap of clip-averaged rate, rows sorted by peak latency."""
    rates, order = population_rates(aligned)
    return _heatmap(normalize(rates[order], how, axis=1), aligned.edges, how, "viridis", clip_duration,
                    "unit (sorted by peak latency)",
                    f"{title}\npopulation: mean over clips and repeats ({len(order)} units)")


def unit_figure(aligned: AlignedCounts, row: int, how: str = "none", title: str = "",
                clip_duration: float | None = 0.25) -> Figure:
    """Clips x time heatmap of one unit's repeat-averaged rate."""
    return _heatmap(normalize(aligned.mean_rates()[row], how), aligned.edges, how, "magma", clip_duration,
                    "clip (stimulus_index order)", f"{title}\nunit {aligned.unit_ids[row]} ({aligned.unit_names[row]})")


def histogram_figures(result: ReliabilityResult, title: str = "") -> tuple[Figure, Figure]:
    """The lab's two histograms: r² of true vs null splits, and d' with the cutoff."""
    fig1, ax = new_figure(figsize=(6, 4))
    true, null = result.r2_true[np.isfinite(result.r2_true)], result.r2_null[np.isfinite(result.r2_null)]
    bins = np.linspace(0, max(true.max(initial=0), null.max(initial=0), 1e-3), 50)
    ax.hist(null, bins=bins, alpha=0.6, label="null (clips shuffled)", color="grey")
    ax.hist(true, bins=bins, alpha=0.6, label="true split halves", color="tab:blue")
    ax.set(xlabel="split-half r²", ylabel="count (units x splits)", yscale="log", title=f"{title}\nr² true vs null")
    ax.legend()
    fig1.tight_layout()
    fig2, ax = new_figure(figsize=(6, 4))
    d = result.dprime[np.isfinite(result.dprime)]
    ax.hist(d, bins=40, color="tab:green")
    ax.axvline(result.params.cutoff, color="k", ls="--", label=f"cutoff d' = {result.params.cutoff:g}")
    ax.set(xlabel="d'", ylabel="units",
           title=f"{title}\nd' ({int(result.responsive.sum())} of {len(result.dprime)} units responsive)")
    ax.legend()
    fig2.tight_layout()
    return fig1, fig2
