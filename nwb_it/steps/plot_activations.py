"""``nwb-it plot-activations``: activation heatmaps per clip and a PCA trajectory, from the NWB file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..nwb.activations import DEFAULT_TABLE, read_activations
from ..nwb.io import reading
from ..viz.activations import clip_figure, pca_figure
from ..viz.save import save_figure_folder
from .heatmaps import safe_name


def plot_activations(nwb_path: str | Path, out_dir: str | Path, layer: str = "last", fmt: str = "png",
                     progress: bool = False, table: str = DEFAULT_TABLE, overwrite: bool = False,
                     force: bool = False) -> list[Path]:
    """One heatmap per clip and one PCA trajectory figure, from an activations table of ``nwb_path``.

    With ``overwrite`` the previous run's figures in ``out_dir`` are replaced as a set.
    """
    out_dir = Path(out_dir)
    with reading(nwb_path) as nwb:
        acts = read_activations(nwb, table)
    if layer not in acts.layers:
        raise NwbItError(f"no layer '{layer}' in the activations table (have: {', '.join(acts.layers)})", nwb_path)
    values, last, time = acts.layers[layer], acts.last_frame, acts.time
    pad = int(acts.provenance["pad"])
    family = acts.provenance.get("family", "model")
    in_clip = np.zeros(len(last), dtype=bool)
    makers = {}
    for c, key in enumerate(acts.clip_keys):
        sel = acts.clip_of_window == c
        n_clip = int(last[sel].max()) - pad + 1       # the last window ends pad frames after the clip
        in_clip[sel] = (last[sel] >= 0) & (last[sel] < n_clip)
        name = acts.stimulus_names[c]
        title = f"clip {key}{'' if name == key else f' (trials: {name})'}: {family} layer {layer}"
        makers[out_dir / "clips" / f"clip_{safe_name(key)}.{fmt}"] = (
            lambda sel=sel, n_clip=n_clip, title=title: clip_figure(values[sel], time[sel], last[sel], n_clip, title))
    title = f"{family} layer {layer}: windows of {len(acts.clip_keys)} clips"
    makers = {out_dir / f"pca_trajectory.{fmt}": lambda: pca_figure(values, acts.clip_of_window, in_clip, title,
                                                                    list(acts.clip_keys)),
              **makers}
    return save_figure_folder(out_dir, "plot-activations", makers, fmt, overwrite, progress, force)
