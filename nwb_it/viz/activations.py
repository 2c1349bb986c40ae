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
    shaded = False
    for span in (lead, trail):
        if span.size:
            ax.axvspan(span[0] - step / 2, span[-1] + step / 2, color="grey", alpha=0.35, lw=0,
                       label=None if shaded else "window ends in grey padding")
            shaded = True
    if last_frame[0] > 0:                 # no padding: the first window ends on a later frame
        ax.axvspan(min(0.0, time[0]) - step / 2, time[0] - step / 2, color="none", hatch="//", ec="0.7", lw=0,
                   label=f"no window ends here (the first ends on clip frame {int(last_frame[0])})")
    ax.axvline(0.0, color="k", ls="--", lw=1, label="clip onset (last frame = first clip frame)")
    ax.axvline((n_clip_frames - 1) * step, color="k", ls=":", lw=1, label="clip offset (last clip frame)")
    ax.set(xlabel="time of the window's last frame from clip onset (s)", ylabel="hidden unit", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.colorbar(im, ax=ax, label="pooled activation")
    return fig


KEY_NAMES = 20     # up to this many clips the colour key names each clip; beyond, a numbered colour bar


def pca_figure(values: np.ndarray, clip: np.ndarray, in_clip: np.ndarray, title: str,
               clip_names: list[str] | None = None) -> Figure:
    """First two principal components of every window, one line per clip, a categorical colour key of the clips."""
    pcs, explained = pca(values, 2)
    fig, ax = new_figure(figsize=(8.2, 5.5))
    n_clips = max(int(clip.max()) + 1, 1)
    names = clip_names or [str(c + 1) for c in range(n_clips)]
    cmap = matplotlib.colormaps["tab20" if n_clips <= KEY_NAMES else "viridis"].resampled(n_clips)
    colours = cmap(np.arange(n_clips))
    for c in np.unique(clip):
        sel = clip == c
        ax.plot(pcs[sel, 0], pcs[sel, 1], "-", color=colours[c], lw=0.8, alpha=0.7,
                label=names[c] if n_clips <= KEY_NAMES else None)
        ax.scatter(pcs[sel & in_clip, 0], pcs[sel & in_clip, 1], color=colours[c], s=14, zorder=3)
    padding = ax.scatter(pcs[~in_clip, 0], pcs[~in_clip, 1], marker="x", color="grey", s=18, zorder=4)
    ax.set(xlabel=f"PC1 ({explained[0]:.0%})", ylabel=f"PC2 ({explained[1]:.0%})", title=title)
    notes = [padding] if (~in_clip).any() else []
    fig.legend(notes, ["window ends in grey padding"] if notes else [], fontsize=8, loc="lower left", frameon=False)
    if n_clips <= KEY_NAMES:
        ax.legend(title="clip", fontsize=7, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
                  frameon=False)
    else:                            # one colour per clip, ticks on whole clip numbers (in frames-folder order)
        norm = matplotlib.colors.BoundaryNorm(np.arange(n_clips + 1) + 0.5, n_clips)
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                           label="clip number (order in the frames folder)")
        bar.locator = matplotlib.ticker.MaxNLocator(integer=True)
        bar.update_ticks()
    return fig
