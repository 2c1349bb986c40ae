"""The ``heatmaps`` step: firing-rate figures and the reliability histograms (lab's heatmaps.ipynb).

* ``population``: units x time, each unit's rate averaged over clips and repeats,
  normalised per unit, rows sorted by peak latency;
* one clips x time heatmap of repeat-averaged rate per unit;
* ``r2_true_vs_null`` and ``dprime`` histograms, as the lab's real_stats notebook drew them.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from ..errors import NwbItError  # noqa: E402
from ..io.append import reading  # noqa: E402
from ..io.figures import save_figure  # noqa: E402
from .aligned import AlignedCounts, bin_aligned  # noqa: E402
from .reliability import ReliabilityResult  # noqa: E402
from .responsive import read_reliability  # noqa: E402

NORMALIZE = ("zscore", "minmax", "none")


def normalize(x: np.ndarray, how: str, axis=None) -> np.ndarray:
    """z-score or min-max scale ``x`` over ``axis`` (NaN-aware); 'none' returns it unchanged."""
    if how == "none":
        return x
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "zscore":
            out = (x - np.nanmean(x, axis=axis, keepdims=True)) / np.nanstd(x, axis=axis, keepdims=True)
        elif how == "minmax":
            lo = np.nanmin(x, axis=axis, keepdims=True)
            out = (x - lo) / (np.nanmax(x, axis=axis, keepdims=True) - lo)
        else:
            raise NwbItError(f"unknown normalisation {how!r} (use {', '.join(NORMALIZE)})")
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def _label(how: str) -> str:
    return {"zscore": "firing rate (z-score per unit)", "minmax": "firing rate (min-max per unit)",
            "none": "firing rate (spikes/s)"}[how]


def _heatmap(values: np.ndarray, edges: np.ndarray, how: str, cmap: str, clip_duration: float | None,
             ylabel: str, title: str) -> Figure:
    """Rows x time bins, clip onset (dashed) and offset (dotted) marked, labelled colour bar."""
    fig, ax = plt.subplots(figsize=(7, max(3, 0.1 * values.shape[0] + 1.5)))
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
    with np.errstate(invalid="ignore"):
        rates = np.nanmean(aligned.mean_rates(), axis=1)             # (units, bins)
    order = np.argsort(np.argmax(np.nan_to_num(rates), axis=1), kind="stable")
    return _heatmap(normalize(rates[order], how, axis=1), aligned.edges, how, "viridis", clip_duration,
                    "unit (sorted by peak latency)",
                    f"{title}\npopulation: mean over clips and repeats ({len(order)} units)")


def unit_figure(aligned: AlignedCounts, row: int, how: str = "none", title: str = "",
                clip_duration: float | None = 0.25) -> Figure:
    """Clips x time heatmap of one unit's repeat-averaged rate."""
    return _heatmap(normalize(aligned.mean_rates()[row], how), aligned.edges, how, "magma", clip_duration,
                    "clip (stimulus_index order)", f"{title}\nunit {aligned.unit_ids[row]} ({aligned.unit_names[row]})")


def histogram_figures(result: ReliabilityResult, title: str = "") -> tuple[Figure, Figure]:
    """The seed's two histograms: r2 of true vs null splits, and d' with the cutoff."""
    fig1, ax = plt.subplots(figsize=(6, 4))
    true, null = result.r2_true[np.isfinite(result.r2_true)], result.r2_null[np.isfinite(result.r2_null)]
    bins = np.linspace(0, max(true.max(initial=0), null.max(initial=0), 1e-3), 50)
    ax.hist(null, bins=bins, alpha=0.6, label="null (clips shuffled)", color="grey")
    ax.hist(true, bins=bins, alpha=0.6, label="true split halves", color="tab:blue")
    ax.set(xlabel="split-half r²", ylabel="count (units x splits)", yscale="log", title=f"{title}\nr² true vs null")
    ax.legend()
    fig1.tight_layout()
    fig2, ax = plt.subplots(figsize=(6, 4))
    d = result.dprime[np.isfinite(result.dprime)]
    ax.hist(d, bins=40, color="tab:green")
    ax.axvline(result.params.cutoff, color="k", ls="--", label=f"cutoff d' = {result.params.cutoff:g}")
    ax.set(xlabel="d'", ylabel="units",
           title=f"{title}\nd' ({int(result.responsive.sum())} of {len(result.dprime)} units responsive)")
    ax.legend()
    fig2.tight_layout()
    return fig1, fig2


def make_heatmaps(nwb_path: str | Path, out_dir: str | Path, bin_size: float = 0.01, how: str = "zscore",
                  units: str = "responsive", fmt: str = "png", window: tuple[float, float] = (-0.05, 0.30),
                  clip_duration: float | None = 0.25, progress: bool = False) -> list[Path]:
    """Write the population heatmap, one heatmap per unit and the reliability histograms.

    Examples
    --------
    >>> paths = make_heatmaps("sub-coco_ses-fixshortvid1_ecephys.nwb", "figures")   # doctest: +SKIP
    """
    if how not in NORMALIZE:
        raise NwbItError(f"unknown normalisation {how!r} (use {', '.join(NORMALIZE)})")
    if units not in ("responsive", "all"):
        raise NwbItError(f"--units must be responsive or all, not {units!r}")
    out_dir = Path(out_dir)
    with reading(nwb_path) as nwb:
        title = f"session {nwb.session_id}, subject {nwb.subject.subject_id if nwb.subject else '?'}"
        try:
            result = read_reliability(nwb)
        except NwbItError:
            if units == "responsive":
                raise NwbItError("no reliability table to pick responsive units: run nwb-it reliability "
                                 "first, or pass --units all", nwb_path) from None
            result = None
        chosen = None if units == "all" else result.unit_ids[result.responsive]
        if chosen is not None and chosen.size == 0:
            raise NwbItError("no responsive unit (d' > cutoff); pass --units all to plot every unit", nwb_path)
        aligned = bin_aligned(nwb, window, bin_size, chosen)
    paths = [save_figure(population_figure(aligned, how, title, clip_duration), out_dir / f"population.{fmt}", fmt)]
    for row in tqdm(range(len(aligned.unit_ids)), desc="unit heatmaps", disable=not progress, leave=False):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", aligned.unit_names[row])
        paths.append(save_figure(unit_figure(aligned, row, how, title, clip_duration),
                           out_dir / "units" / f"unit{aligned.unit_ids[row]:04d}_{name}.{fmt}", fmt))
    if result is not None:
        f1, f2 = histogram_figures(result, title)
        paths += [save_figure(f1, out_dir / f"r2_true_vs_null.{fmt}", fmt), save_figure(f2, out_dir / f"dprime.{fmt}", fmt)]
    return paths
