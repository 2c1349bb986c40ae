"""``nwb-it plot-activations``: activation heatmaps per clip and a PCA trajectory, from the NWB file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import ActivationPlotParams
from ..core.results import Activations
from ..nwb.activations import read_activations
from ..nwb.io import reading
from ..viz.activations import clip_figure, pca_figure
from ..viz.save import save_figure_folder
from .heatmaps import safe_name
from .jobs import elsewhere, model_folder, session_folder
from .targets import results_source


def read_activation_data(nwb_path: str | Path, params: ActivationPlotParams = ActivationPlotParams()) -> Activations:
    """The activations table ``params.activations`` of ``nwb_path``, checked to hold ``params.layer``."""
    with reading(nwb_path) as nwb:
        acts = read_activations(nwb, params.activations)
    if params.layer not in acts.layers:
        raise NwbItError(f"no layer '{params.layer}' in the activations table '{params.activations}' (have: "
                         f"{', '.join(acts.layers)})", nwb_path)
    return acts


def draw_activations(acts: Activations, out_dir: str | Path, params: ActivationPlotParams = ActivationPlotParams(),
                     *, output: OutputPolicy = OutputPolicy()) -> list[Path]:
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
    return save_figure_folder(out_dir, "plot-activations", makers, fmt, output)


def run_plot_activations(nwb_path: str | Path, params: ActivationPlotParams = ActivationPlotParams(), *,
                         out_dir: str | Path, output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """One heatmap per clip and one PCA trajectory figure, from an activations table of ``nwb_path``.

    With ``overwrite`` the previous run's figures in ``out_dir`` are replaced as a set.

    Examples
    --------
    >>> from nwb_it import ExtractionParams, example_metadata_path, run_convert, run_extract
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> from nwb_it.examples.readout import write_example_with_frames
    >>> model = save_random_videomae("tiny")
    >>> _ = write_example_with_frames("p_fixshortvid1_coco.mat", "frames", model, n_units=3, n_clips=4, n_repeats=3,
    ...                               n_readout=0, n_frames=8, frame_size=16)           # a session and its clips
    >>> nwb = run_convert("p_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> _ = run_extract("frames", ExtractionParams(model=str(model)), nwb_paths=[nwb])
    >>> paths = run_plot_activations(nwb, ActivationPlotParams(layer="last"), out_dir="figs")
    >>> len(paths) > 1, all(p.stat().st_size > 0 for p in paths)
    (True, True)
    """
    acts = read_activation_data(nwb_path, params)
    return draw_activations(acts, out_dir, params, output=output)


def plot_activations_job(nwb: Path, out_dir: Path, params, output: OutputPolicy = OutputPolicy()) -> dict:
    """:func:`~nwb_it.steps.plot_activations.run_plot_activations` on one file: how many figures, where."""
    folder = session_folder(out_dir, nwb, "activations", model_folder(params.activations))
    source = results_source(nwb, output)
    paths = run_plot_activations(source, params, out_dir=folder, output=output)
    return {"nwb": str(nwb), "figures": len(paths), "folder": str(folder), "read_from": elsewhere(nwb, source)}
