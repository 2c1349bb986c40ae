"""The ``plot-activations`` step: activation heatmaps per clip and a PCA trajectory of all windows."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from ..errors import NwbItError  # noqa: E402
from ..io.append import reading  # noqa: E402
from ..io.figures import save_figure  # noqa: E402
from .activations import read_activations  # noqa: E402


def clip_figure(values: np.ndarray, time: np.ndarray, last_frame: np.ndarray, n_clip_frames: int,
                title: str) -> Figure:
    """Hidden units x windows for one clip, grey-padding spans shaded, clip onset/offset marked."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    ax.legend(loc="upper right", fontsize=7)
    fig.colorbar(im, ax=ax, label="pooled activation")
    fig.tight_layout()
    return fig


def pca_figure(values: np.ndarray, clip: np.ndarray, in_clip: np.ndarray, title: str) -> Figure:
    """First two principal components of every window, one line per clip."""
    centred = values - values.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:2].T
    explained = s[:2] ** 2 / max((s ** 2).sum(), 1e-12)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.cm.viridis(np.linspace(0, 1, max(clip.max() + 1, 1)))
    for c in np.unique(clip):
        sel = clip == c
        ax.plot(pcs[sel, 0], pcs[sel, 1], "-", color=colours[c], lw=0.8, alpha=0.7)
        ax.scatter(pcs[sel & in_clip, 0], pcs[sel & in_clip, 1], color=colours[c], s=14, zorder=3)
    ax.scatter(pcs[~in_clip, 0], pcs[~in_clip, 1], marker="x", color="grey", s=18, zorder=4,
               label="window ends in grey padding")
    ax.scatter([], [], color="k", s=14, label="window ends on a clip frame (colour = clip)")
    ax.set(xlabel=f"PC1 ({explained[0]:.0%})", ylabel=f"PC2 ({explained[1]:.0%})", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_activations(nwb_path: str | Path, out_dir: str | Path, layer: str = "last", fmt: str = "png",
                     progress: bool = False) -> list[Path]:
    """One heatmap per clip and one PCA trajectory figure, from the activations table of ``nwb_path``."""
    out_dir = Path(out_dir)
    with reading(nwb_path) as nwb:
        table = read_activations(nwb)
    column = f"activations_{layer}"
    if column not in table:
        raise NwbItError(f"no layer '{layer}' in the activations table (have: "
                         f"{', '.join(c[12:] for c in table if c.startswith('activations_'))})", nwb_path)
    values, keys = table[column], table["clip_key"].astype(str)
    order = list(dict.fromkeys(keys))
    clip = np.array([order.index(k) for k in keys])
    last = table["last_frame"]
    pad = int(re.search(r"pad=(\d+)", table["description"]).group(1))
    in_clip = np.zeros(len(keys), dtype=bool)
    paths = []
    for c, key in enumerate(tqdm(order, desc="clip figures", disable=not progress, leave=False)):
        sel = clip == c
        n_clip = int(last[sel].max()) - pad + 1       # the last window ends pad frames after the clip
        in_clip[sel] = (last[sel] >= 0) & (last[sel] < n_clip)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
        paths.append(save_figure(clip_figure(values[sel], table["time"][sel], last[sel], n_clip,
                                       f"clip {key} ({table['stimulus_name'][sel][0]}): layer {layer}"),
                           out_dir / "clips" / f"clip_{name}.{fmt}", fmt))
    paths.insert(0, save_figure(pca_figure(values, clip, in_clip, f"VideoMAE layer {layer}: windows of {len(order)} clips"),
                          out_dir / f"pca_trajectory.{fmt}", fmt))
    return paths
