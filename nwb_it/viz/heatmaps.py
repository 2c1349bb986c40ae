"""Firing-rate heatmaps and the reliability histograms (the lab's heatmaps.ipynb and real_stats.ipynb).

* population: units x time, each unit's rate averaged over clips and repeats,
  normalized per unit, rows sorted by peak latency;
* one clips x time heatmap of repeat-averaged rate per unit;
* ``r2_true_vs_null`` and ``dprime`` histograms, as the lab's real_stats notebook drew them.
"""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..core.recording import AlignedCounts
from ..core.results import ReliabilityResult
from ..process.rates import normalize, population_rates
from .save import new_figure


def _label(how: str) -> str:
    return {"zscore": "firing rate (z-score per unit)", "minmax": "firing rate (min-max per unit)",
            "none": "firing rate (spikes/s)"}[how]


def _heatmap(values: np.ndarray, edges: np.ndarray, how: str, cmap: str, offsets: np.ndarray | None,
             ylabel: str, title: str, row_labels: list[str] | None = None) -> Figure:
    """Rows x time bins; clip onset dashed; each row's clip offset dotted where the clip length is known."""
    n_rows = values.shape[0]
    fig, ax = new_figure(figsize=(7.5, max(3, 0.16 * n_rows + 1.6)))
    colours = matplotlib.colormaps[cmap].with_extremes(bad="0.82")         # rows without data: light grey
    im = ax.imshow(values, aspect="auto", interpolation="nearest", cmap=colours,
                   extent=(edges[0], edges[-1], n_rows, 0))
    ax.axvline(0.0, color="w", lw=1.2, ls="--", label="clip onset")
    visible = offsets is not None and ((offsets >= edges[0]) & (offsets <= edges[-1])).any()
    if visible:
        rows = np.arange(n_rows)
        ax.vlines(offsets, rows, rows + 1, color="w", lw=1.4, linestyles=":", label="clip offset (clip length)")
    if row_labels is not None and n_rows <= 60:
        ax.set_yticks(np.arange(n_rows) + 0.5, row_labels, fontsize=7)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="time from clip onset (s)", ylabel=ylabel, title=title, xlim=(edges[0], edges[-1]))
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1 - 0.5 / (n_rows + 8)), ncol=2, fontsize=8, frameon=False,
              labelcolor="k", handlelength=3)
    for line in ax.get_legend().get_lines():
        line.set_color("k")
    fig.colorbar(im, ax=ax, label=_label(how))
    return fig


def clip_offsets(clip_index: np.ndarray, durations: dict[int, float] | None) -> np.ndarray | None:
    """Each clip's length (s), for the clips ``clip_index``; None when no length is known."""
    if not durations:
        return None
    return np.array([durations.get(int(c), np.nan) for c in clip_index])


def population_figure(aligned: AlignedCounts, how: str = "zscore", title: str = "",
                      durations: dict[int, float] | None = None) -> Figure:
    """Units x time heatmap of clip-averaged rate, rows sorted by peak latency (unit names on the axis)."""
    rates, order = population_rates(aligned)
    lengths = clip_offsets(aligned.clip_index, durations)
    same = lengths is not None and np.isfinite(lengths).all() and np.ptp(lengths) < 1e-9
    offsets = np.full(order.size, lengths[0]) if same else None          # one offset only when all clips agree
    return _heatmap(normalize(rates[order], how, axis=1), aligned.edges, how, "viridis", offsets,
                    "unit (sorted by peak latency)",
                    f"{title}\npopulation: mean over clips and repeats ({len(order)} units)",
                    [aligned.unit_names[u] for u in order])


def unit_figure(aligned: AlignedCounts, row: int, how: str = "none", title: str = "",
                durations: dict[int, float] | None = None, all_clips: dict[str, int] | None = None) -> Figure:
    """Clips x time heatmap of one unit's repeat-averaged rate, every clip of the file a named row.

    ``all_clips`` (name -> stimulus_index): every clip the file knows, shown or not; clips never
    presented get an empty (grey) row named "(never shown)", so no clip disappears silently.
    """
    shown = dict(zip((int(i) for i in aligned.clip_index), aligned.clip_names))
    every = {**{int(i): name for name, i in (all_clips or {}).items()}, **shown}
    index = np.array(sorted(every))
    values = np.full((index.size, aligned.edges.size - 1), np.nan)
    values[np.searchsorted(index, aligned.clip_index)] = normalize(aligned.mean_rates()[row], how)
    labels = [f"{i}: {every[i]}" + ("" if i in shown else " (never shown)") for i in index]
    missing = index.size - len(shown)
    note = f"; {missing} clip(s) never shown (grey rows)" if missing else ""
    return _heatmap(values, aligned.edges, how, "magma", clip_offsets(index, durations),
                    "clip (stimulus_index: name)",
                    f"{title}\n{aligned.unit_names[row]} (unit {aligned.unit_ids[row]}){note}", labels)


def histogram_figures(result: ReliabilityResult, title: str = "") -> tuple[Figure, Figure]:
    """The lab's two histograms: r² of true vs null splits, and d' with the cutoff."""
    return r2_figure(result, title), dprime_figure(result, title)


def r2_figure(result: ReliabilityResult, title: str = "") -> Figure:
    """Histogram of the split-half r² of true vs null splits."""
    fig1, ax = new_figure(figsize=(6, 4))
    true, null = result.r2_true[np.isfinite(result.r2_true)], result.r2_null[np.isfinite(result.r2_null)]
    bins = np.linspace(0, max(true.max(initial=0), null.max(initial=0), 1e-3), 50)
    ax.hist(null, bins=bins, alpha=0.6, label="null (clips shuffled)", color="grey")
    ax.hist(true, bins=bins, alpha=0.6, label="true split halves", color="tab:blue")
    ax.set(xlabel="split-half r²", ylabel="count (units x splits)", yscale="log", title=f"{title}\nr² true vs null")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig1


def dprime_figure(result: ReliabilityResult, title: str = "") -> Figure:
    """Histogram of every unit's d', the responsive cutoff marked."""
    fig2, ax = new_figure(figsize=(6.5, 4))
    d = result.dprime[np.isfinite(result.dprime)]
    cutoff = result.params.cutoff
    ax.hist(d, bins=cutoff_bins(d, cutoff), color="tab:green")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))                 # a count of units
    ax.axvline(cutoff, color="k", ls="--", label=f"cutoff d' = {cutoff:g}")
    n_nan = int(np.isnan(result.dprime).sum())
    ax.set(xlabel="d'", ylabel="units",
           title=f"{title}\nd': {int(result.responsive.sum())} of {len(result.dprime)} units responsive"
                 f"{f', {n_nan} undefined (not shown)' if n_nan else ''}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig2


def cutoff_bins(values: np.ndarray, cutoff: float, n: int = 40) -> np.ndarray:
    """Histogram edges with the cutoff on an edge, so no bar straddles it.

    Examples
    --------
    >>> edges = cutoff_bins(np.array([0.0, 10.0]), 3.0)
    >>> bool(np.isclose(edges - 3.0, np.round((edges - 3.0) / (edges[1] - edges[0])) * (edges[1] - edges[0])).all())
    True
    """
    lo, hi = min(values.min(initial=cutoff), cutoff), max(values.max(initial=cutoff), cutoff)
    width = max((hi - lo) / n, 1e-6)
    return cutoff + width * np.arange(np.floor((lo - cutoff) / width), np.ceil((hi - cutoff) / width) + 1.5)
