"""``nwb-it compare``: encoding model and RSA of model activations vs IT responses, stored in the NWB file.

Tables in ``processing/ecephys``: ``encoding`` and ``rsa`` (see :mod:`nwb_it.nwb.results`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.comparison import BandedResult, CompareResults
from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import DEFAULT_ACTIVATIONS, CompareParams, PresentationSpec
from ..core.progress import progress_bar
from ..core.recording import AlignedCounts, default_selection
from ..core.results import Activations, EncodingResult, RSAResult
from ..io.atomic import refuse_existing
from ..nwb.activations import read_activations
from ..nwb.compare_tables import compare_tables, layer_summaries, time_summary
from ..nwb.io import reading, replace_in_module
from ..nwb.partition_table import partition_table, partition_table_name
from ..nwb.results import MODULE, MODULE_DESCRIPTION, read_reliability_table
from ..process.banded import variance_partition
from ..process.encoding import encoding_ceilings, encoding_model
from ..process.rsa import neural_side, rsa
from ..process.selection import select_units, split_selection
from ..viz.bands import partition_figure
from ..viz.compare import best_units_figure, rdm_figure, score_vs_ceiling_figure
from ..viz.layers import depth_figure, ranking_figure
from ..viz.save import save_figure_folder
from ..viz.time import best_layer_figure, time_course_figure, unit_time_figure
from .aligned import read_aligned
from .jobs import elsewhere, model_folder, session_folder
from .targets import results_target

FIGURES = ("encoding_best_units.png", "encoding_score_vs_ceiling.png", "rsa_rdms.png", "encoding_time.png",
           "encoding_time_units.png")
LAYER_FIGURES = ("layers_by_depth.png", "models_by_layer.png", "encoding_time_by_layer.png", "best_layer_by_time.png")
PARTITION_FIGURE = "variance_partition.png"


def chosen_layers(spec: str, stored: list[str], table: str) -> list[str]:
    """'all' -> every stored layer; 'a,b' -> those; a single name -> itself. Unknown names are an error."""
    names = stored if spec == "all" else [x.strip() for x in spec.split(",")]
    names = [f"layer{n}" if n.isdigit() else n for n in names]
    missing = [n for n in names if n not in stored]
    if missing:
        raise NwbItError(f"no layer '{missing[0]}' in the activations table '{table}' (have: {', '.join(stored)})")
    if spec == "all" and len(stored) == 1:
        warnings.warn(f"the activations table '{table}' holds one layer ({stored[0]}): `layer=all` scores it alone; "
                      "extract every layer with extract-activations --layers all (or extract-videomae --layers all)",
                      stacklevel=3)
    return names


def check_finite(acts: Activations, layers: list[str], table: str) -> None:
    """A layer with NaN or infinite values is one line naming table, layer and its first such window (a ridge
    or a distance on it fails or gives NaN far from where the problem is)."""
    for layer in layers:
        bad = ~np.isfinite(acts.layers[layer]).all(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            clip = acts.clip_keys[int(acts.clip_of_window[row])]
            raise NwbItError(f"the activations table '{table}' layer '{layer}' holds NaN or infinite values in "
                             f"{int(bad.sum())} window(s), first window {int(acts.window[row])} of clip '{clip}' "
                             f"(row {row}): extract the activations again")


@dataclass(frozen=True)
class CompareData:
    """What :func:`compute_compare` reads of a file: the units' binned responses and the model's activations."""

    aligned: AlignedCounts
    activations: Activations
    layers: list[str]
    title: str


def read_compare_data(nwb_path: str | Path, params: CompareParams = CompareParams(), *,
                      activations: str = DEFAULT_ACTIVATIONS,
                      presentations: PresentationSpec = PresentationSpec()) -> CompareData:
    """The selected units' responses (fully observed units only, with a warning) and the activations table.

    Units observed (``obs_intervals``) during only part of the presentations are left out:
    the encoding model and the RDMs need every clip's responses. With ``params.selection ==
    "split"`` the units are chosen on half of every clip's repeats (d' > the reliability
    table's cutoff, its window and bins) and only the other half is compared
    (:func:`nwb_it.process.selection.split_selection`).
    """
    with reading(nwb_path) as nwb:
        rel = read_reliability_table(nwb)
        acts = read_activations(nwb, activations)
        layers = chosen_layers(params.layer, list(acts.layers), activations)
        check_finite(acts, layers, activations)
        title = f"session {nwb.session_id}"
        if params.selection == "split":
            rp = rel.params
            by_rel = read_aligned(nwb, rp.window, rp.bin_size, None, presentations)
            aligned = read_aligned(nwb, params.window, params.bin_size, None, presentations)
        else:
            aligned = read_aligned(nwb, params.window, params.bin_size, select_units(rel, params.units),
                                   presentations)
    if params.selection == "split":
        full = np.intersect1d(aligned.fully_observed(), by_rel.fully_observed())
        _, aligned, _ = split_selection(by_rel.select_units(full), aligned.select_units(full), rp, params.seed)
    full = aligned.fully_observed()
    if full.size < aligned.unit_ids.size:
        warnings.warn(f"{nwb_path}: {aligned.unit_ids.size - full.size} unit(s) observed during only part of the "
                      "presentations are left out of compare", stacklevel=3)
        aligned = aligned.select_units(full)
    if np.isin(aligned.clip_index, acts.stimulus_index).sum() < max(params.folds, 4):
        raise NwbItError(f"fewer clips with both spikes and activations than folds ({params.folds})", nwb_path)
    return CompareData(aligned, acts, layers, title)


def compute_compare(data: CompareData, params: CompareParams = CompareParams()) -> CompareResults:
    """Encoding model + RSA of every layer of ``data`` and, with ``params.banded``, the variance partition over
    them (pure: nothing read or written); a bar over the layers under :func:`~nwb_it.core.progress.verbose`."""
    ceilings = encoding_ceilings(data.aligned, data.activations, params)       # the same for every layer
    neural = neural_side(data.aligned, data.activations, params)
    results = {layer: (encoding_model(data.aligned, data.activations, one := replace(params, layer=layer), ceilings),
                       rsa(data.aligned, data.activations, one, neural))
               for layer in progress_bar(data.layers, desc="compare", unit="layer")}
    return CompareResults(results, partition=compute_partition(data, params, ceilings=ceilings),
                          presentations=data.aligned.selection)


def compute_partition(data: CompareData, params: CompareParams = CompareParams(), *,
                      ceilings: tuple[np.ndarray, np.ndarray] | None = None) -> BandedResult | None:
    """With ``params.banded``: one banded ridge over the layers of ``data`` (a band each) and each band's part of
    the held-out R² (pure); None otherwise. Two layers at least."""
    if not params.banded:
        return None
    if len(data.layers) < 2:
        raise NwbItError(f"`banded=True` partitions the variance among layers: name two or more with `layer=` "
                         f"(have: {', '.join(data.layers)})")
    return variance_partition(data.aligned, data.activations, data.layers, params, ceilings)


def write_compare(nwb_path: str | Path, results: dict[str, tuple[EncodingResult, RSAResult]], *,
                  activations: str = DEFAULT_ACTIVATIONS, partition: BandedResult | None = None,
                  output: OutputPolicy = OutputPolicy()) -> None:
    """Store ``results`` as the ``encoding``/``rsa`` tables (``_<table>`` for other activations), replacing them,
    and the variance partition as ``variance_partition[_<table>]``: ``partition``, else the ``partition`` of a
    :class:`~nwb_it.core.comparison.CompareResults` (a plain dict of the results has none: pass it). How the
    presentations were chosen is stored from the results (a plain dict: the defaults)."""
    partition = partition if partition is not None else _partition_of(results)
    where = getattr(results, "presentations", None) or default_selection()

    def tables(f):
        out = compare_tables(f, results, activations, where,
                             partition=partition_table_name(activations) if partition else "")
        return out + ([partition_table(f, partition, activations, where)] if partition else [])
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, tables, output.force)


def _partition_of(results: dict) -> BandedResult | None:
    return getattr(results, "partition", None)          # a plain {layer: ...} dict has none


def figure_names(n_layers: int, partition: bool = False) -> tuple[str, ...]:
    """The figures :func:`draw_compare` writes for one layer, or for several (and their variance partition)."""
    return FIGURES if n_layers == 1 else LAYER_FIGURES + ((PARTITION_FIGURE,) if partition else ())


def result_curves(results: dict[str, tuple[EncodingResult, RSAResult]], activations: str, family: str,
                  n_layers: int | None) -> list[dict]:
    """``results`` in the shape :func:`~nwb_it.nwb.compare_tables.layer_summaries` reads back from a file;
    ``n_layers``: the model's depth (``Activations.provenance["n_layers"]``), which places layers on the depth axis."""
    return [{"activations": activations, "family": family, "n_layers": n_layers,
             "summary": {k: enc.summary() for k, (enc, _) in results.items()},
             "time": {k: time_summary(enc) for k, (enc, _) in results.items()}}]


def draw_compare(results: dict[str, tuple[EncodingResult, RSAResult]], out_dir: str | Path, *, curves: list[dict],
                 partition: BandedResult | None = None, title: str = "", family: str = "model",
                 output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """One layer: best units, score vs ceiling, RDMs, the score through time and per unit and bin. Several: score
    against depth, a models x layers ranking, the score through time per layer and the best layer per bin, from
    ``curves`` (:func:`nwb_it.nwb.compare_tables.layer_summaries` of the file: every model compared in it; or
    :func:`result_curves` of these results with the model's depth). With a variance partition (``partition``, else
    that of a :class:`~nwb_it.core.comparison.CompareResults`), also each band's share of the explained variance."""
    partition = partition if partition is not None else _partition_of(results)
    figures = [Path(out_dir) / name for name in figure_names(len(results), partition is not None)]
    if len(results) == 1:
        enc, res = next(iter(results.values()))
        makers = dict(zip(figures, (lambda: best_units_figure(enc, title), lambda: score_vs_ceiling_figure(enc, title),
                                    lambda: rdm_figure(res, title, family), lambda: time_course_figure(curves, title),
                                    lambda: unit_time_figure(enc, title))))
    else:
        makers = dict(zip(figures, (lambda: depth_figure(curves, title), lambda: ranking_figure(curves, title),
                                    lambda: time_course_figure(curves, title),
                                    lambda: best_layer_figure(curves, title))))
    if partition is not None and len(results) > 1:
        makers[figures[-1]] = lambda: partition_figure(partition, title)
    return save_figure_folder(out_dir, "compare", makers, "png", output)


def run_compare(nwb_path: str | Path, params: CompareParams = CompareParams(), *, out_dir: str | Path | None = None,
                presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy(),
                activations: str = DEFAULT_ACTIVATIONS) -> CompareResults:
    """Encoding model + RSA for every layer ``params.layer`` names ('all', 'a,b' or one), stored in the file.

    Tables ``encoding``/``rsa`` (for ``videomae_activations``) or ``encoding_<table>``/``rsa_<table>``
    hold one row per (unit, layer) / layer, with a ``layer`` column. With several layers the
    figures are the median score (95 % bootstrap interval) against relative depth, one line per
    model compared in this file, and a ranking of models x layers. With ``params.banded`` (several layers) one
    banded ridge over the layers also divides each unit's held-out R² among them (table
    ``variance_partition[_<table>]``, figure ``variance_partition.png``; :func:`compute_partition` returns it).
    Returns ``{layer: (encoding, rsa)}`` (a :class:`~nwb_it.core.comparison.CompareResults`, whose ``partition``
    holds the variance partition).
    ``output``: a file its owner made read-only is refused before anything is computed, unless ``force``; with
    ``derivative_dir`` (needed for a remote file) the results go into its derivative NWB file there.

    Examples
    --------
    >>> from nwb_it import (ExtractionParams, ReliabilityParams, example_metadata_path, run_convert, run_extract,
    ...                     run_reliability)
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> from nwb_it.examples.readout import write_example_with_frames
    >>> model = save_random_videomae("tiny_videomae")
    >>> truth = write_example_with_frames("c_fixshortvid1_coco.mat", "frames", model, n_units=6, n_clips=12,
    ...                                   n_repeats=4, n_readout=2, n_frames=8, frame_size=16)
    >>> nwb = run_convert("c_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> _ = run_reliability(nwb, ReliabilityParams(n_perm=20))                  # the ceiling rule needs it
    >>> _ = run_extract("frames", ExtractionParams(model=str(model)), nwb_paths=[nwb])
    >>> results = run_compare(nwb, CompareParams(n_boot=100, n_perm_rsa=100), out_dir="figures")
    >>> enc, res = results["last"]
    >>> set(enc.unit_ids) <= set(range(6)), sorted(p.name for p in Path("figures").glob("*.png"))[:1]
    (True, ['encoding_best_units.png'])
    """
    nwb_path = results_target(nwb_path, output, presentations=presentations)
    data = read_compare_data(nwb_path, params, activations=activations, presentations=presentations)
    if params.banded and len(data.layers) < 2:
        compute_partition(data, params)                                   # its error, before the slow part
    if out_dir is not None:
        for name in figure_names(len(data.layers), params.banded):
            refuse_existing(Path(out_dir) / name, output.overwrite, output.force)          # before the slow part
    results = compute_compare(data, params)
    write_compare(nwb_path, results, activations=activations, output=output)
    if out_dir is not None:
        family = data.activations.provenance.get("family", "model")
        curves = result_curves(results, activations, family, data.activations.provenance.get("n_layers"))
        if len(results) > 1:                             # every model compared in this file
            with reading(nwb_path) as nwb:
                curves = layer_summaries(nwb)
        draw_compare(results, out_dir, title=data.title, family=family, curves=curves, output=output)
    results.written_to = str(nwb_path)
    return results


def compare_job(nwb: Path, params: CompareParams = CompareParams(), out_dir: Path | None = None,
                activations: str = DEFAULT_ACTIVATIONS, presentations: PresentationSpec = PresentationSpec(),
                output: OutputPolicy = OutputPolicy()) -> dict:
    """:func:`~nwb_it.steps.compare.run_compare` on one file: one row per layer (encoding and RSA summaries) and the
    variance partition's shares."""
    folder = session_folder(out_dir, nwb, "compare", model_folder(activations))
    results = run_compare(nwb, params, out_dir=folder, activations=activations, presentations=presentations,
                          output=output)
    layers = []
    for layer, (enc, res) in results.items():
        layers.append({"layer": layer, **enc.summary(), "units": len(enc.r), "median_r": float(np.nanmedian(enc.r)),
                       "median_ceiling": float(np.nanmedian(enc.ceiling)), "rho": res.rho,
                       "rho_halves": res.rho_halves, "rsa_ceiling": res.ceiling, "rsa_normalized": res.normalized,
                       "rsa_clips": len(res.clip_names), "rsa_note": res.ceiling_note})
    partition = None if results.partition is None else results.partition.summary()
    return {"nwb": str(nwb), "activations": activations, "layers": layers, "partition": partition,
            "figures": None if folder is None else str(folder), "derivative": elsewhere(nwb, results.written_to)}
