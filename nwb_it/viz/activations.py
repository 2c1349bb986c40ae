"""Figures of model activations: a heatmap per clip and a PCA trajectory of all windows."""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..process.stats import pca
from .save import new_figure


def clip_figure(values: np.ndarray, time: np.ndarray, last_frame: np.ndarray, n_clip_frames: int,
                title: str) -> Figure:
    """Hidden units x windows for one clip, grey-padding spans shaded, clip onset/offset marked."""
    fig, ax = new_figure(figsize=(8, 4.5))
    step = np.median(np.diff(time)) if time.size > 1 else 1.0
    im = ax.imshow(values.T, aspect="auto", interpolation="nearest", cmap="RdBu_r",
                   extent=(time[0] - step / 2, time[-1] + step / 2, values.shape[1], 0),
                   vmin=-np.abs(values).max(), vmax=np.abs(values).max())
    lead, trail = time[last_frame < 0], time[last_frame >= n_clip_frames]
    for span in (lead, trail):
        if span.size:
            ax.axvspan(span[0] - step / 2, span[-1] + step / 2, color="grey", alpha=0.35, lw=0)
    ax.axvline(0.0, color="k", ls="--", lw=1, label="clip onset (last frame = first clip frame)")
    ax.axvline((n_clip_frames - 1) * step, color="k", ls=":", lw=1, label="clip offset (last clip frame)")
    ax.set(xlabel="time of the window's last frame from clip onset (s); grey = window ends in grey padding",
           ylabel="hidden unit", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.colorbar(im, ax=ax, label="pooled activation")
    return fig


def pca_figure(values: np.ndarray, clip: np.ndarray, in_clip: np.ndarray, title: str) -> Figure:
    """First two principal components of every window, one line per clip, a colour key of the clips."""
    pcs, explained = pca(values, 2)
    fig, ax = new_figure(figsize=(7.2, 5.5))
    n_clips = max(int(clip.max()) + 1, 1)
    cmap = matplotlib.colormaps["viridis"]
    colours = cmap(np.linspace(0, 1, n_clips))
    for c in np.unique(clip):
        sel = clip == c
        ax.plot(pcs[sel, 0], pcs[sel, 1], "-", color=colours[c], lw=0.8, alpha=0.7)
        ax.scatter(pcs[sel & in_clip, 0], pcs[sel & in_clip, 1], color=colours[c], s=14, zorder=3)
    ax.scatter(pcs[~in_clip, 0], pcs[~in_clip, 1], marker="x", color="grey", s=18, zorder=4,
               label="window ends in grey padding")
    ax.scatter([], [], color="k", s=14, label="window ends on a clip frame (colour = clip)")
    ax.set(xlabel=f"PC1 ({explained[0]:.0%})", ylabel=f"PC2 ({explained[1]:.0%})", title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.1), frameon=False)
    key = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(1, n_clips), cmap=cmap)
    fig.colorbar(key, ax=ax, label="clip (order in the frames folder)")
    return fig
