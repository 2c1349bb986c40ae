"""Figures of the model-versus-brain comparison: best-predicted units, score vs ceiling, RDMs."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..core.results import EncodingResult, RSAResult
from .save import new_figure


def best_units_figure(enc: EncodingResult, title: str, n_best: int = 4) -> Figure:
    """Measured and held-out predicted PSTHs of the best-predicted units, clips laid end to end."""
    best = np.argsort(np.nan_to_num(enc.normalized, nan=-np.inf))[::-1][:n_best]
    fig, axes = new_figure(len(best), 1, figsize=(9, 2.2 * len(best) + 0.5), squeeze=False)
    for ax, u in zip(axes[:, 0], best):
        x = np.arange(enc.measured.shape[1] * enc.measured.shape[2])
        ax.plot(x, enc.measured[u].ravel(), color="k", lw=1, label="measured")
        ax.plot(x, enc.predicted[u].ravel(), color="tab:red", lw=1, label="predicted (held-out clips)")
        ax.set(ylabel="spikes/s", title=f"unit {enc.unit_ids[u]}: r = {enc.r[u]:.2f}, ceiling {enc.ceiling[u]:.2f}, "
               f"r²/ceiling {enc.normalized[u]:.2f}")
        for edge in range(0, x.size, enc.measured.shape[2]):
            ax.axvline(edge - 0.5, color="0.85", lw=0.5)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("clip x time bin (clips in stimulus_index order, bins within clip)")
    fig.suptitle(f"{title}: best-predicted units")
    fig.tight_layout()
    return fig


def score_vs_ceiling_figure(enc: EncodingResult, title: str) -> Figure:
    fig, ax = new_figure(figsize=(5, 5))
    ax.scatter(enc.ceiling, enc.r ** 2, s=18)
    lim = max(np.nanmax(enc.ceiling, initial=0), np.nanmax(enc.r ** 2, initial=0), 0.1) * 1.05
    ax.plot([0, lim], [0, lim], "k--", lw=1, label="r² = ceiling")
    ax.set(xlim=(min(0, np.nanmin(enc.ceiling, initial=0)), lim), ylim=(0, lim),
           xlabel="noise ceiling (split-half, SB)", ylabel="encoding r² (held-out clips)",
           title=f"{title}\nmedian r²/ceiling {np.nanmedian(enc.normalized):.2f}")
    ax.legend()
    fig.tight_layout()
    return fig


def rdm_figure(res: RSAResult, title: str, model_name: str = "model") -> Figure:
    fig, axes = new_figure(1, 2, figsize=(10, 4.6))
    for ax, rdm, name in zip(axes, (res.neural_rdm, res.model_rdm), ("IT population", model_name)):
        im = ax.imshow(rdm, cmap="viridis")
        ax.set(title=f"{name} RDM", xlabel="clip", ylabel="clip")
        fig.colorbar(im, ax=ax, label="1 - Pearson r", fraction=0.046)
    fig.suptitle(f"{title}: Spearman rho = {res.rho:.2f} (neural split-half ceiling {res.ceiling:.2f})")
    fig.tight_layout()
    return fig
