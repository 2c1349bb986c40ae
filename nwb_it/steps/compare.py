"""``nwb-it compare``: encoding model and RSA of model activations vs IT responses, stored in the NWB file.

Tables in ``processing/ecephys``: ``encoding`` and ``rsa`` (see :mod:`nwb_it.nwb.results`).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.params import CompareParams, PresentationSpec, to_dict
from ..core.results import EncodingResult, RSAResult
from ..nwb.activations import DEFAULT_TABLE, read_activations
from ..nwb.atomic import refuse_existing
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import read_aligned
from ..nwb.results import MODULE, MODULE_DESCRIPTION, compare_tables, read_reliability
from ..process.encoding import encoding_model
from ..process.rsa import rsa
from ..process.selection import select_units
from ..viz.compare import best_units_figure, rdm_figure, score_vs_ceiling_figure
from ..viz.save import save_figures

FIGURES = ("encoding_best_units.png", "encoding_score_vs_ceiling.png", "rsa_rdms.png")


def run_compare(nwb_path: str | Path, params: CompareParams = CompareParams(), fig_dir: str | Path | None = None,
                activations: str = DEFAULT_TABLE, presentations: PresentationSpec = PresentationSpec(),
                overwrite: bool = False) -> tuple[EncodingResult, RSAResult]:
    """Encoding model + RSA from the reliability and activations tables of ``nwb_path``; results stored in it.

    Units observed (``obs_intervals``) during only part of the presentations are left out:
    the encoding model and the RDMs need every clip's responses.

    Examples
    --------
    >>> enc, res = run_compare("sub-coco_ses-fixshortvid1_ecephys.nwb", fig_dir="figures")  # doctest: +SKIP
    >>> float(np.nanmedian(enc.normalized))                                                   # doctest: +SKIP
    0.83
    """
    figures = {} if fig_dir is None else {Path(fig_dir) / name: None for name in FIGURES}
    for path in figures:
        refuse_existing(path, overwrite)              # before the slow part
    with reading(nwb_path) as nwb:
        rel = read_reliability(nwb)
        acts = read_activations(nwb, activations)
        aligned = read_aligned(nwb, params.window, params.bin_size, select_units(rel, params.units), presentations)
        full = aligned.fully_observed()
        if full.size < aligned.unit_ids.size:
            warnings.warn(f"{nwb_path}: {aligned.unit_ids.size - full.size} unit(s) observed during only part of the "
                          "presentations are left out of compare", stacklevel=2)
            aligned = aligned.select_units(full)
        title = f"session {nwb.session_id}"
        if params.layer not in acts.layers:
            raise NwbItError(f"no layer '{params.layer}' in the activations table '{activations}' "
                             f"(have: {', '.join(acts.layers)})")
        if np.isin(aligned.clip_index, acts.stimulus_index).sum() < max(params.folds, 4):
            raise NwbItError(f"fewer clips with both spikes and activations than folds ({params.folds})")
    enc = encoding_model(aligned, acts, params)
    res = rsa(aligned, acts, params)
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION,
                      lambda f: compare_tables(f, enc, res, activations, to_dict(presentations)))
    if fig_dir is not None:
        makers = dict(zip(figures, (lambda: best_units_figure(enc, title), lambda: score_vs_ceiling_figure(enc, title),
                                    lambda: rdm_figure(res, title, acts.provenance.get("family", "model")))))
        save_figures(makers, "png", overwrite)
    return enc, res
