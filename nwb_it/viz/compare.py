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
        ax.set(ylabel="spikes/s", title=f"{enc.unit_names[u]} (unit {enc.unit_ids[u]}): r = {enc.r[u]:.2f}, "
               f"ceiling {enc.ceiling[u]:.2f}, r²/ceiling {enc.normalized[u]:.2f}")
        for edge in range(0, x.size, enc.measured.shape[2]):
            ax.axvline(edge - 0.5, color="0.85", lw=0.5)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("clip x time bin (clips in stimulus_index order, bins within clip)")
    fig.suptitle(f"{title}: best-predicted units")
    fig.tight_layout()
    return fig


def score_vs_ceiling_figure(enc: EncodingResult, title: str) -> Figure:
    """Signed r² (sign(r) r²) of the model and its two baselines against each unit's noise ceiling."""
    fig, ax = new_figure(figsize=(5.6, 5.2))
    signed = {"model": np.sign(enc.r) * enc.r ** 2,
              "clip-shuffled features": np.sign(enc.r_clip_shuffled) * enc.r_clip_shuffled ** 2,
              "onset only": np.sign(enc.r_onset_only) * enc.r_onset_only ** 2}
    styles = ({"color": "tab:blue", "s": 22}, {"color": "0.6", "s": 14, "marker": "x"},
              {"color": "tab:orange", "s": 14, "marker": "+"})
    for (name, values), style in zip(signed.items(), styles):
        ax.scatter(enc.ceiling, values, label=name, **style)
    top = max(np.nanmax(enc.ceiling, initial=0), *(np.nanmax(v, initial=0) for v in signed.values()), 0.1) * 1.05
    low = min(0, *(np.nanmin(v, initial=0) for v in signed.values()))
    ax.plot([0, top], [0, top], "k--", lw=1, label="r² = ceiling")
    ax.axhline(0, color="0.8", lw=0.8)
    s = enc.summary()
    ax.set(xlim=(min(0, np.nanmin(enc.ceiling, initial=0)), top), ylim=(low * 1.05, top),
           xlabel="noise ceiling (split-half, Spearman-Brown)", ylabel="signed encoding r² (held-out clips)",
           title=f"{title}\nmedian r²/ceiling {s['median']:.2f} (95% CI {s['ci_low']:.2f}..{s['ci_high']:.2f}), "
                 f"+{s['above_clip_shuffled']:.2f} over clip-shuffled")
    ax.title.set_fontsize(9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


#: Each RSA distance's colour-bar labels: (neural RDM, model RDM), the distances :mod:`nwb_it.process.rsa` computes.
RDM_LABELS = {"crossnobis": ("crossnobis distance (cross-validated sq. Euclidean per unit)",
                             "squared Euclidean distance per feature"),
              "poisson": ("Poisson-cv distance (cross-validated, per unit)", "squared Euclidean distance per feature"),
              "correlation": ("1 - Pearson r", "1 - Pearson r")}


def rdm_figure(res: RSAResult, title: str, model_name: str = "model") -> Figure:
    """The neural and model RDMs side by side, clips named on both axes (every k-th when there are many)."""
    n = len(res.clip_names)
    side = min(14.0, max(4.6, 0.14 * n + 2.5))
    fig, axes = new_figure(1, 2, figsize=(2 * side + 1, side))
    step = max(1, int(np.ceil(n / 50)))
    ticks = np.arange(0, n, step)
    names = [res.clip_names[i] for i in ticks]
    labels = RDM_LABELS.get(res.distance, (res.distance, res.distance))
    for ax, rdm, name, label in zip(axes, (res.neural_rdm, res.model_rdm), ("IT population", model_name), labels):
        im = ax.imshow(rdm, cmap="viridis")
        ax.set_xticks(ticks, names, rotation=90, fontsize=6)
        ax.set_yticks(ticks, names, fontsize=6)
        ax.set(title=f"{name} RDM", xlabel="clip" + (f" (every {step}th named)" if step > 1 else ""), ylabel="clip")
        fig.colorbar(im, ax=ax, label=label, fraction=0.046)
    fig.suptitle(f"{title}: Spearman rho = {res.rho:.2f} (with half-data RDMs {res.rho_halves:.2f}), ceiling "
                 f"{res.ceiling:.2f}, rho_halves/ceiling {res.normalized:.2f}")
    fig.tight_layout()
    return fig
