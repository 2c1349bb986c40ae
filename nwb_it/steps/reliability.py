"""``nwb-it reliability``: every unit's split-half reliability statistics, written into the same NWB file.

Result: ``processing/ecephys/reliability`` (see :mod:`nwb_it.nwb.results`). A
previous table is replaced; units and trials are untouched. Like every runner,
:func:`run_reliability` is :func:`compute_reliability` (results out, nothing
written) + :func:`write_reliability` (results into the file) + :func:`draw_reliability`
(results to figures).
"""
from __future__ import annotations

import pickle
from pathlib import Path

from ..core.params import PresentationSpec, ReliabilityParams, to_dict
from ..core.results import ReliabilityResult
from ..io.atomic import atomic_output, refuse_existing, refuse_same_file
from ..nwb.binned import binned_aligned_spikes
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import read_presentations, read_spike_trains
from ..nwb.results import MODULE, MODULE_DESCRIPTION, reliability_table
from ..process.binning import bin_aligned, nested_spikes
from ..process.lab_reliability import lab_reliability
from ..process.reliability import reliability
from ..viz.heatmaps import histogram_figures
from ..viz.save import save_figure_folder
from .targets import results_target

#: The figures of :func:`draw_reliability` (``heatmaps`` draws the same two beside the heatmaps).
FIGURES = ("r2_true_vs_null", "dprime")


def compute_reliability(nwb_path: str | Path, params: ReliabilityParams = ReliabilityParams(), *,
                        presentations: PresentationSpec = PresentationSpec(),
                        progress: bool = False) -> ReliabilityResult:
    """Every unit's reliability statistics from the file's spikes and presentations; nothing is written.

    ``params.lab_compat`` gives the lab notebook's numbers exactly (see :mod:`nwb_it.process.lab_reliability`).

    Examples
    --------
    >>> res = compute_reliability("sub-coco_ses-fixshortvid1_ecephys.nwb")   # doctest: +SKIP
    """
    with reading(nwb_path) as nwb:
        spikes, pres = read_spike_trains(nwb), read_presentations(nwb, presentations)
        resolution = nwb.units.resolution
    if params.lab_compat:
        return lab_reliability(spikes, pres, params, resolution, progress=progress)
    return reliability(bin_aligned(spikes, pres, params.window, params.bin_size), params, progress=progress)


def write_reliability(nwb_path: str | Path, result: ReliabilityResult, *,
                      presentations: PresentationSpec = PresentationSpec(), store_binned: bool = False,
                      force: bool = False) -> None:
    """Store ``result`` as ``processing/ecephys/reliability`` (replacing an earlier table).

    ``store_binned`` also writes the binned counts of ``result.params`` as ``BinnedAlignedSpikes``
    (ndx-binned-spikes) for other tools.
    """
    where = to_dict(presentations)
    if store_binned:
        with reading(nwb_path) as nwb:
            pres = read_presentations(nwb, presentations)
            aligned = bin_aligned(read_spike_trains(nwb), pres, result.params.window, result.params.bin_size)

    def tables(f):
        out = [reliability_table(f, result, where)]
        if store_binned:
            out.append(binned_aligned_spikes(f, aligned, pres, {**to_dict(result.params), "presentations": where}))
        return out
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, tables, force)


def write_responsive_pickle(nwb_path: str | Path, result: ReliabilityResult, pickle_path: str | Path, *,
                            presentations: PresentationSpec = PresentationSpec(), overwrite: bool = False,
                            force: bool = False) -> Path:
    """The lab's pickle of the responsive units' spikes, ``{'neuron_<unit>': [[onset-aligned times per repeat] per
    clip]}``."""
    with reading(nwb_path) as nwb:
        spikes, pres = read_spike_trains(nwb), read_presentations(nwb, presentations)
    with atomic_output(Path(pickle_path), overwrite, force) as tmp, open(tmp, "wb") as fh:
        pickle.dump(nested_spikes(spikes, pres, result.unit_ids[result.responsive]), fh)
    return Path(pickle_path)


def draw_reliability(result: ReliabilityResult, out_dir: str | Path, *, title: str = "", fmt: str = "png",
                     overwrite: bool = False, force: bool = False) -> list[Path]:
    """The split-half r² (true vs null) and d' histograms, as ``r2_true_vs_null.<fmt>`` and ``dprime.<fmt>``."""
    out_dir = Path(out_dir)
    makers = {out_dir / f"{name}.{fmt}": (lambda i=i: histogram_figures(result, title)[i])
              for i, name in enumerate(FIGURES)}
    return save_figure_folder(out_dir, "reliability", makers, fmt, overwrite, force=force)


def run_reliability(nwb_path: str | Path, params: ReliabilityParams = ReliabilityParams(), *,
                    out_dir: str | Path | None = None, presentations: PresentationSpec = PresentationSpec(),
                    overwrite: bool = False, progress: bool = False, force: bool = False,
                    pickle_path: str | Path | None = None, store_binned: bool = False,
                    derivative_dir: str | Path | None = None) -> ReliabilityResult:
    """Compute every unit's reliability statistics, store them in the same NWB file, draw them into ``out_dir``.

    ``pickle_path`` also writes the lab's pickle of the responsive units' spikes
    (:func:`write_responsive_pickle`); ``store_binned`` the binned counts (:func:`write_reliability`).
    A file its owner made read-only is refused before anything is computed, unless ``force``;
    existing outputs are refused before anything is computed, unless ``overwrite``. A remote file
    (URL, ``DANDI:`` asset), or any file with ``derivative_dir``, gets its results in a derivative NWB
    file there (:func:`nwb_it.steps.targets.results_target`), which later verbs take as input.

    Examples
    --------
    >>> res = run_reliability("sub-coco/sub-coco_ses-fixshortvid1_ecephys.nwb")   # doctest: +SKIP
    >>> int(res.responsive.sum())                                                 # doctest: +SKIP
    75
    """
    nwb_path = results_target(nwb_path, derivative_dir, presentations=presentations, force=force)
    if pickle_path is not None:
        refuse_same_file(pickle_path, nwb_path)
        refuse_existing(Path(pickle_path), overwrite, force)
    if out_dir is not None:
        for name in FIGURES:
            refuse_existing(Path(out_dir) / f"{name}.png", overwrite, force)
    result = compute_reliability(nwb_path, params, presentations=presentations, progress=progress)
    if pickle_path is not None:
        write_responsive_pickle(nwb_path, result, pickle_path, presentations=presentations, overwrite=overwrite,
                                force=force)
    write_reliability(nwb_path, result, presentations=presentations, store_binned=store_binned, force=force)
    if out_dir is not None:
        draw_reliability(result, out_dir, title=f"{Path(nwb_path).stem}", overwrite=overwrite, force=force)
    return result
