"""Figure of the variance partition over layers: each band's share of the explained variance."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..core.comparison import BandedResult
from .save import new_figure


def partition_figure(res: BandedResult, title: str, n_units: int = 20) -> Figure:
    """Left: every included unit's share per band, with the median. Right: the bands' parts of R² for the units
    the joint model predicts best, stacked (their sum is the joint held-out R²)."""
    fig, (left, right) = new_figure(1, 2, figsize=(11, 4.4))
    inc = res.included
    x = np.arange(len(res.bands))
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, inc.sum())
    for b in x:
        left.scatter(b + jitter, res.share[b, inc], s=10, color="0.55")
        left.hlines(np.nanmedian(res.share[b, inc]) if inc.any() else np.nan, b - 0.3, b + 0.3, color="tab:red",
                    lw=2.5, label="median" if b == 0 else None)
    left.axhline(0, color="0.8", lw=0.8)
    left.set(xticks=x, xticklabels=res.bands, ylabel="share of the held-out R²",
             title=f"{int(inc.sum())} units (ceiling >= {res.params.min_ceiling:g}, joint R² > 0)")
    left.legend(fontsize=8)
    best = np.argsort(np.nan_to_num(res.r2_joint, nan=-np.inf))[::-1][:n_units]
    bottom_pos, bottom_neg = np.zeros(best.size), np.zeros(best.size)
    colors = [f"C{i % 10}" for i in x]
    for b in x:
        part = res.r2[b, best]
        base = np.where(part >= 0, bottom_pos, bottom_neg)
        right.bar(np.arange(best.size), part, bottom=base, color=colors[b], label=res.bands[b])
        bottom_pos, bottom_neg = bottom_pos + np.clip(part, 0, None), bottom_neg + np.clip(part, None, 0)
    right.set(xticks=np.arange(best.size), ylabel="held-out R² (parts by band)",
              title=f"the {best.size} best-predicted units")
    right.set_xticklabels([res.unit_names[u] for u in best], rotation=90, fontsize=7)
    right.legend(fontsize=8)
    fig.suptitle(f"{title}: variance partition over layers (banded ridge)")
    fig.tight_layout()
    return fig
