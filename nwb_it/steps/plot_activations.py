"""``nwb-it plot-activations``: activation heatmaps per clip and a PCA trajectory, from the NWB file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.params import ActivationPlotParams
from ..core.results import Activations
from ..nwb.activations import read_activations
from ..nwb.io import reading
from ..viz.activations import clip_figure, pca_figure
from ..viz.save import save_figure_folder
from .heatmaps import safe_name


def read_activation_data(nwb_path: str | Path, params: ActivationPlotParams = ActivationPlotParams()) -> Activations:
    """The activations table ``params.activations`` of ``nwb_path``, checked to hold ``params.layer``."""
    with reading(nwb_path) as nwb:
        acts = read_activations(nwb, params.activations)
    if params.layer not in acts.layers:
        raise NwbItError(f"no layer '{params.layer}' in the activations table '{params.activations}' (have: "
                         f"{', '.join(acts.layers)})", nwb_path)
    return acts


def draw_activations(acts: Activations, out_dir: str | Path, params: ActivationPlotParams = ActivationPlotParams(),
                     *, overwrite: bool = False, progress: bool = False, force: bool = False) -> list[Path]:
    """One heatmap per clip (``clips/``) and one PCA trajectory of layer ``params.layer`` of ``acts``."""
    out_dir, layer, fmt = Path(out_dir), params.layer, params.fmt
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


def run_plot_activations(nwb_path: str | Path, params: ActivationPlotParams = ActivationPlotParams(), *,
                         out_dir: str | Path, overwrite: bool = False, progress: bool = False,
                         force: bool = False) -> list[Path]:
    """One heatmap per clip and one PCA trajectory figure, from an activations table of ``nwb_path``.

    With ``overwrite`` the previous run's figures in ``out_dir`` are replaced as a set.

    Examples
    --------
    >>> paths = run_plot_activations("ses.nwb", ActivationPlotParams(layer="last"), out_dir="figs")  # doctest: +SKIP
    """
    acts = read_activation_data(nwb_path, params)
    return draw_activations(acts, out_dir, params, overwrite=overwrite, progress=progress, force=force)
