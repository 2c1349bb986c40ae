"""When after onset a model matches IT: scores bin by bin (the ``encoding_time`` table's figures).

* :func:`time_course_figure` — the bin's score (median sign(r) r² / median ceiling) against time, one line per
  (model, layer), 95 % bootstrap bands, the two baselines dashed;
* :func:`best_layer_figure` — which (model, layer) scores best in each bin;
* :func:`unit_time_figure` — every unit's r²/ceiling by bin (one layer).

Inputs are the per-bin summaries :func:`nwb_it.nwb.compare_tables.layer_summaries` reads
back (``curve["time"][layer]``), or one :class:`~nwb_it.core.results.EncodingResult`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..core.results import EncodingResult
from .layers import DASHES, MARKERS, series_label
from .save import new_figure


def _centres(t: dict) -> np.ndarray:
    return 0.5 * (np.asarray(t["bin_start"], dtype=float) + np.asarray(t["bin_stop"], dtype=float))


def _series(curves: list[dict]):
    for curve in curves:
        for layer, t in curve.get("time", {}).items():
            yield f"{series_label(curve)}: {layer}", t


def time_course_figure(curves: list[dict], title: str) -> Figure:
    """The bin's score (median sign(r) r² over the median ceiling) per time bin after onset, one line per (model,
    layer), with bands and baselines."""
    fig, ax = new_figure(figsize=(8, 4.6))
    baselines_drawn = False
    for i, (label, t) in enumerate(_series(curves)):
        x = _centres(t) * 1000
        line, = ax.plot(x, np.asarray(t["median"], dtype=float), marker=MARKERS[i % len(MARKERS)],
                        ls=DASHES[i % len(DASHES)], ms=5, label=label)
        ax.fill_between(x, np.asarray(t["ci_low"], dtype=float), np.asarray(t["ci_high"], dtype=float),
                        color=line.get_color(), alpha=0.15, lw=0)
        if not baselines_drawn:                     # the baselines are the same for every layer's fit
            ax.plot(x, np.asarray(t["clip_shuffled"], dtype=float), color="0.5", ls="--", lw=1,
                    label="clip-shuffled baseline")
            ax.plot(x, np.asarray(t["onset_only"], dtype=float), color="0.5", ls=":", lw=1,
                    label="onset-only baseline")
            baselines_drawn = True
    ax.axhline(0, color="0.85", lw=0.8)
    ax.set(xlabel="time after clip onset (ms, bin centre)", ylabel="median sign(r) r² / median ceiling",
           title=f"{title}: encoding score through time (95% bootstrap interval)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    return fig


def best_layer_figure(curves: list[dict], title: str) -> Figure:
    """For every time bin, the (model, layer) with the highest bin score, and that score."""
    series = list(_series(curves))
    fig, ax = new_figure(figsize=(8, max(3.0, 0.3 * len(series) + 1.5)))
    if not series:
        ax.text(0.5, 0.5, "no time-resolved scores", ha="center", transform=ax.transAxes)
        return fig
    x = _centres(series[0][1]) * 1000
    scores = np.array([np.asarray(t["median"], dtype=float) for _, t in series])        # (series, bins)
    best = np.nanargmax(np.where(np.isnan(scores), -np.inf, scores), axis=0)
    labels = [label for label, _ in series]
    best_scores = scores[best, np.arange(x.size)]
    ok = np.isfinite(best_scores)
    ax.scatter(x[ok], best[ok], c=best_scores[ok], cmap="viridis", s=80, zorder=3)
    for i in np.flatnonzero(ok):                       # a bin no unit could be scored in stays empty
        ax.annotate(f"{scores[best[i], i]:.2f}", (x[i], best[i]), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=7)
    ax.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    ax.set_ylim(-0.5, len(labels) - 0.5)
    ax.set(xlabel="time after clip onset (ms, bin centre)", title=f"{title}: best layer per time bin "
           "(its bin score above each point)")
    return fig


def unit_time_figure(enc: EncodingResult, title: str) -> Figure:
    """Every unit's r²/ceiling in every time bin (one layer); units sorted by their best bin."""
    t = enc.time
    score = t.normalized
    order = np.argsort(np.nanargmax(np.where(np.isnan(score), -np.inf, score), axis=1), kind="stable")
    fig, ax = new_figure(figsize=(7, max(3.0, 0.12 * score.shape[0] + 1.5)))
    edges = np.r_[t.bin_start, t.bin_stop[-1]] * 1000
    mesh = ax.pcolormesh(edges, np.arange(score.shape[0] + 1), score[order], cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_yticks(np.arange(score.shape[0]) + 0.5, [enc.unit_names[i] for i in order], fontsize=6)
    ax.set(xlabel="time after clip onset (ms)", ylabel="unit (sorted by best bin)",
           title=f"{title}: r²/ceiling per unit and time bin")
    fig.colorbar(mesh, ax=ax, label="sign(r) r²/ceiling")
    return fig
