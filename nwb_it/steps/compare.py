"""``nwb-it compare``: encoding model and RSA of model activations vs IT responses, stored in the NWB file.

Tables in ``processing/ecephys``: ``encoding`` and ``rsa`` (see :mod:`nwb_it.nwb.results`).
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.params import CompareParams, PresentationSpec, to_dict
from ..core.results import EncodingResult, RSAResult
from ..io.atomic import check_updatable, refuse_existing
from ..nwb.activations import DEFAULT_TABLE, read_activations
from ..nwb.io import reading, replace_in_module
from ..nwb.results import MODULE, MODULE_DESCRIPTION, compare_tables, layer_summaries, read_reliability
from ..process.encoding import encoding_model
from ..process.rsa import rsa
from ..process.selection import select_units
from ..viz.compare import best_units_figure, rdm_figure, score_vs_ceiling_figure
from ..viz.layers import depth_figure, ranking_figure
from ..viz.save import save_figure_folder
from .aligned import read_aligned

FIGURES = ("encoding_best_units.png", "encoding_score_vs_ceiling.png", "rsa_rdms.png")
LAYER_FIGURES = ("layers_by_depth.png", "models_by_layer.png")


def chosen_layers(spec: str, stored: list[str], table: str) -> list[str]:
    """'all' -> every stored layer; 'a,b' -> those; a single name -> itself. Unknown names are an error."""
    names = stored if spec == "all" else [x.strip() for x in spec.split(",")]
    names = [f"layer{n}" if n.isdigit() else n for n in names]
    missing = [n for n in names if n not in stored]
    if missing:
        raise NwbItError(f"no layer '{missing[0]}' in the activations table '{table}' (have: {', '.join(stored)})")
    return names


def run_compare_layers(nwb_path: str | Path, params: CompareParams = CompareParams(),
                       fig_dir: str | Path | None = None, activations: str = DEFAULT_TABLE,
                       presentations: PresentationSpec = PresentationSpec(), overwrite: bool = False,
                       force: bool = False) -> dict[str, tuple[EncodingResult, RSAResult]]:
    """Encoding model + RSA for every layer ``params.layer`` names ('all', 'a,b' or one), stored in the file.

    Tables ``encoding``/``rsa`` (for ``videomae_activations``) or ``encoding_<table>``/``rsa_<table>``
    hold one row per (unit, layer) / layer, with a ``layer`` column. With several layers the
    figures are the median score (95 % bootstrap interval) against relative depth, one line per
    model compared in this file, and a ranking of models x layers.

    Units observed (``obs_intervals``) during only part of the presentations are left out:
    the encoding model and the RDMs need every clip's responses. A file its owner made
    read-only is refused before anything is computed, unless ``force``.
    """
    check_updatable(nwb_path, force)                  # it is updated in place
    with reading(nwb_path) as nwb:
        rel = read_reliability(nwb)
        acts = read_activations(nwb, activations)
        layers = chosen_layers(params.layer, list(acts.layers), activations)
        names = FIGURES if len(layers) == 1 else LAYER_FIGURES
        figures = [] if fig_dir is None else [Path(fig_dir) / name for name in names]
        for path in figures:
            refuse_existing(path, overwrite, force)          # before the slow part
        aligned = read_aligned(nwb, params.window, params.bin_size, select_units(rel, params.units), presentations)
        full = aligned.fully_observed()
        if full.size < aligned.unit_ids.size:
            warnings.warn(f"{nwb_path}: {aligned.unit_ids.size - full.size} unit(s) observed during only part of the "
                          "presentations are left out of compare", stacklevel=2)
            aligned = aligned.select_units(full)
        title = f"session {nwb.session_id}"
        if np.isin(aligned.clip_index, acts.stimulus_index).sum() < max(params.folds, 4):
            raise NwbItError(f"fewer clips with both spikes and activations than folds ({params.folds})")
    results = {}
    for layer in layers:
        one = replace(params, layer=layer)
        results[layer] = (encoding_model(aligned, acts, one), rsa(aligned, acts, one))
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION,
                      lambda f: compare_tables(f, results, activations, to_dict(presentations)), force)
    if fig_dir is not None:
        family = acts.provenance.get("family", "model")
        if len(layers) == 1:
            enc, res = results[layers[0]]
            makers = dict(zip(figures, (lambda: best_units_figure(enc, title),
                                        lambda: score_vs_ceiling_figure(enc, title),
                                        lambda: rdm_figure(res, title, family))))
        else:
            with reading(nwb_path) as nwb:
                curves = layer_summaries(nwb)
            makers = dict(zip(figures, (lambda: depth_figure(curves, title), lambda: ranking_figure(curves, title))))
        save_figure_folder(fig_dir, "compare", makers, "png", overwrite, force=force)
    return results


def run_compare(nwb_path: str | Path, params: CompareParams = CompareParams(), fig_dir: str | Path | None = None,
                activations: str = DEFAULT_TABLE, presentations: PresentationSpec = PresentationSpec(),
                overwrite: bool = False) -> tuple[EncodingResult, RSAResult]:
    """Encoding model + RSA of one layer (``params.layer``); see :func:`run_compare_layers`.

    Examples
    --------
    >>> enc, res = run_compare("sub-coco_ses-fixshortvid1_ecephys.nwb", fig_dir="figures")  # doctest: +SKIP
    >>> float(np.nanmedian(enc.normalized))                                                   # doctest: +SKIP
    0.83
    """
    results = run_compare_layers(nwb_path, params, fig_dir, activations, presentations, overwrite)
    if len(results) != 1:
        raise NwbItError(f"`layer={params.layer}` names {len(results)} layers; use run_compare_layers")
    return next(iter(results.values()))
