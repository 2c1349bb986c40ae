"""Figures of ``nwb-it score`` and ``nwb-it design``.

* :func:`score_time_figure` — each model's best layer, its cross-validated r bin by bin (± standard error
  over splits), beside the ceiling band: r reaches the ceiling at ``sqrt(ceiling)`` (ceiled = r² / ceiling);
  right: every layer's ceiled score;
* :func:`design_figure` — the predicted divergence of the candidate clips, the chosen ones marked,
  against as many clips drawn at random.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..core.benchmark import DesignResult, ModelScore
from .layers import DASHES, MARKERS
from .save import new_figure


def _best_per_model(scores: list[ModelScore]) -> list[ModelScore]:
    best: dict[str, ModelScore] = {}
    for s in scores:
        if s.model not in best or np.nan_to_num(s.raw, nan=-np.inf) > np.nan_to_num(best[s.model].raw, nan=-np.inf):
            best[s.model] = s
    return list(best.values())


def score_time_figure(scores: list[ModelScore], title: str = "") -> Figure:
    """Score over time with the ceiling band per model (best layer), and the ceiled score of every layer."""
    fig, (ax, bx) = new_figure(1, 2, figsize=(11, 4.4), width_ratios=(3, 2))
    ceiling, error = scores[0].ceiling, scores[0].ceiling_error
    for i, s in enumerate(_best_per_model(scores)):
        x = 0.5 * (s.edges_ms[:-1] + s.edges_ms[1:])
        ax.errorbar(x, s.per_bin, yerr=s.per_bin_error, marker=MARKERS[i % len(MARKERS)], ls=DASHES[i % len(DASHES)],
                    capsize=2, label=f"{s.model}: {s.layer} (ceiled {s.ceiled:.2f})")
    if np.isfinite(ceiling):
        lo, hi = np.sqrt(max(ceiling - error, 0.0)), np.sqrt(min(ceiling + error, 1.0))
        ax.axhspan(lo, hi, color="0.8", zorder=0, label=f"ceiling: √{ceiling:.2f} ± SE")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set(xlabel="time after onset (ms)", ylabel="median cross-validated r", title="score over time (best layer)")
    ax.legend(fontsize=8, loc="best")
    labels = [f"{s.model}: {s.layer}" for s in scores]
    y = np.arange(len(scores))
    bx.barh(y, [s.ceiled for s in scores], xerr=[s.ceiled_error for s in scores], color="C0", alpha=0.8)
    bx.set_yticks(y, labels, fontsize=7 if len(scores) > 12 else 9)
    bx.invert_yaxis()
    bx.axvline(1, color="0.4", ls="--", lw=0.8)
    bx.set(xlabel="ceiled score (r² / ceiling)", title="every layer")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def design_figure(result: DesignResult, random_divergence: np.ndarray) -> Figure:
    """Each candidate's predicted divergence (sorted), the chosen marked; the total divergence of the chosen set
    against sets of as many clips drawn at random."""
    fig, (ax, bx) = new_figure(1, 2, figsize=(11, 4.2))
    order = np.argsort(result.divergence)[::-1]
    chosen = np.isin(order, result.chosen)
    x = np.arange(order.size)
    ax.bar(x[~chosen], result.divergence[order][~chosen], color="0.7", label="candidates")
    ax.bar(x[chosen], result.divergence[order][chosen], color="C3", label=f"chosen ({result.chosen.size})")
    ax.set(xlabel="candidate clips, most divergent first", ylabel="predicted divergence (noise units²)",
           title=" vs\n".join(result.models) + ("\n(the smallest pair's)" if len(result.models) > 2 else ""))
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    total = result.pairwise[:, result.chosen].sum(1).min()             # the hardest pair's, as for the random sets
    bx.hist(random_divergence, bins=30, color="0.7", label=f"{result.chosen.size} random clips")
    bx.axvline(total, color="C3", lw=2, label="chosen clips")
    bx.set(xlabel="summed divergence of the set (hardest pair)", ylabel="random sets",
           title=f"repeats per clip at power {result.power:g}:\n{result.repeats} (random clips: "
                 f"{result.random_repeats:.1f})")
    bx.title.set_fontsize(9)
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig
