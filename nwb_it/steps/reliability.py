"""``nwb-it reliability``: every unit's split-half reliability statistics, written into the same NWB file.

Result: ``processing/ecephys/reliability`` (see :mod:`nwb_it.nwb.results`). A
previous table is replaced; units and trials are untouched. Like every runner,
:func:`run_reliability` is :func:`read_reliability_data` + :func:`compute_reliability` (pure) +
:func:`write_reliability` (results into the file) + :func:`draw_reliability` (results to figures).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import viz
from ..core.locations import location_stem
from ..core.output import OutputPolicy
from ..core.params import PresentationSpec, ReliabilityParams, to_dict
from ..core.recording import AlignedCounts, Presentations, SpikeTrains
from ..core.results import ReliabilityResult
from ..io.atomic import atomic_output, refuse_existing, refuse_same_file
from ..nwb.binned import binned_aligned_spikes, load_binned_extension
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import read_presentations, read_spike_trains
from ..nwb.results import MODULE, MODULE_DESCRIPTION, reliability_table
from ..process.binning import bin_aligned, nested_spikes
from ..process.lab_reliability import lab_reliability
from ..process.reliability import reliability
from .jobs import elsewhere, per_session, session_folder
from .targets import results_target

#: The figures of :func:`draw_reliability` (``heatmaps`` draws the same two beside the heatmaps).
FIGURES = ("r2_true_vs_null", "dprime")


@dataclass(frozen=True)
class ReliabilityData:
    """What the reliability step reads of a file: spike trains, presentations and the spike-time resolution."""

    spikes: SpikeTrains
    presentations: Presentations
    resolution: float | None


def read_reliability_data(nwb_path: str | Path, presentations: PresentationSpec = PresentationSpec()
                          ) -> ReliabilityData:
    """The spike trains and presentations of ``nwb_path`` (read once; compute, pickle and binned counts share them)."""
    with reading(nwb_path) as nwb:
        return ReliabilityData(read_spike_trains(nwb), read_presentations(nwb, presentations), nwb.units.resolution)


def compute_reliability(data: ReliabilityData, params: ReliabilityParams = ReliabilityParams(), *,
                        binned: AlignedCounts | None = None) -> ReliabilityResult:
    """Every unit's reliability statistics (pure: nothing read or written).

    ``params.lab_compat`` gives the lab notebook's numbers exactly (see :mod:`nwb_it.process.lab_reliability`).
    ``binned``: the counts of :func:`compute_binned` when the caller has them already (not binned again).

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("x_fixshortvid1_coco.mat", n_units=6, n_clips=12, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> res = compute_reliability(read_reliability_data(nwb), ReliabilityParams(n_perm=20))
    >>> res.dprime.shape
    (6,)
    """
    if params.lab_compat:
        return lab_reliability(data.spikes, data.presentations, params, data.resolution)
    aligned = binned if binned is not None else compute_binned(data, params)[0]
    return reliability(aligned, params)


def compute_binned(data: ReliabilityData, params: ReliabilityParams) -> tuple[AlignedCounts, Presentations]:
    """The counts ``--store-binned`` stores: ``data`` binned in ``params``' window and bins, with its presentations
    (pure)."""
    return bin_aligned(data.spikes, data.presentations, params.window, params.bin_size), data.presentations


def write_reliability(nwb_path: str | Path, result: ReliabilityResult, *,
                      binned: tuple[AlignedCounts, Presentations] | None = None,
                      output: OutputPolicy = OutputPolicy()) -> None:
    """Store ``result`` as ``processing/ecephys/reliability`` (replacing an earlier table).

    ``binned`` (:func:`compute_binned`) is also written, as ``BinnedAlignedSpikes`` (ndx-binned-spikes) for other
    tools. How the presentations were chosen is stored from the result (it came with the data read). Nothing is
    computed here.
    """
    where = result.presentations
    if binned is not None:
        load_binned_extension()             # before the file is opened: its io must know the extension's types

    def tables(f):
        out = [reliability_table(f, result, where)]
        if binned is not None:
            out.append(binned_aligned_spikes(f, binned[0], binned[1],
                                             {**to_dict(result.params), "presentations": where}))
        return out
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, tables, output.force)


def write_responsive_pickle(data: ReliabilityData, result: ReliabilityResult, pickle_path: str | Path, *,
                            output: OutputPolicy = OutputPolicy()) -> Path:
    """The lab's pickle of the responsive units' spikes, ``{'neuron_<unit>': [[onset-aligned times per repeat] per
    clip]}``."""
    with atomic_output(Path(pickle_path), output.overwrite, output.force) as tmp, open(tmp, "wb") as fh:
        pickle.dump(nested_spikes(data.spikes, data.presentations, result.unit_ids[result.responsive]), fh)
    return Path(pickle_path)


def draw_reliability(result: ReliabilityResult, out_dir: str | Path, *, title: str = "", fmt: str = "png",
                     output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """The split-half r² (true vs null) and d' histograms, as ``r2_true_vs_null.<fmt>`` and ``dprime.<fmt>``."""
    out_dir = Path(out_dir)
    makers = {out_dir / f"{name}.{fmt}": (lambda draw=draw: draw(result, title))
              for name, draw in zip(FIGURES, (viz.r2_figure, viz.dprime_figure))}
    return viz.save_figure_folder(out_dir, "reliability", makers, fmt, output)


def run_reliability(nwb_path: str | Path, params: ReliabilityParams = ReliabilityParams(), *,
                    out_dir: str | Path | None = None, presentations: PresentationSpec = PresentationSpec(),
                    output: OutputPolicy = OutputPolicy(), pickle_path: str | Path | None = None,
                    store_binned: bool = False) -> ReliabilityResult:
    """Compute every unit's reliability statistics, store them in the same NWB file, draw them into ``out_dir``.

    The file is read once (:func:`read_reliability_data`). ``pickle_path`` also writes the lab's pickle of
    the responsive units' spikes (:func:`write_responsive_pickle`); ``store_binned`` the binned counts
    (:func:`write_reliability`).
    ``output`` (:class:`~nwb_it.core.output.OutputPolicy`): a file its owner made read-only is refused before
    anything is computed, unless ``force``; existing outputs are refused before anything is computed, unless
    ``overwrite``. A remote file (URL, ``DANDI:`` asset), or any file with ``derivative_dir``, gets its results
    in a derivative NWB file there (:func:`nwb_it.steps.targets.results_target`), which later verbs take as input.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("y_fixshortvid1_coco.mat", n_units=6, n_clips=12, n_repeats=4)
    >>> nwb = run_convert("y_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb_y")
    >>> res = run_reliability(nwb, ReliabilityParams(n_perm=20))
    >>> len(res.unit_ids), res.written_to == str(nwb)
    (6, True)
    """
    nwb_path = results_target(nwb_path, output, presentations=presentations)
    if pickle_path is not None:
        refuse_same_file(pickle_path, nwb_path)
        refuse_existing(Path(pickle_path), output.overwrite, output.force)
    if out_dir is not None:
        for name in FIGURES:
            refuse_existing(Path(out_dir) / f"{name}.png", output.overwrite, output.force)
    data = read_reliability_data(nwb_path, presentations)              # read once
    binned = compute_binned(data, params) if store_binned else None      # binned once: statistics and storage
    result = compute_reliability(data, params, binned=binned[0] if binned else None)
    if pickle_path is not None:
        write_responsive_pickle(data, result, pickle_path, output=output)
    write_reliability(nwb_path, result, binned=binned, output=output)
    if out_dir is not None:
        draw_reliability(result, out_dir, title=location_stem(nwb_path), output=output)
    result.written_to = str(nwb_path)
    return result


def reliability_job(nwb: Path, params: ReliabilityParams = ReliabilityParams(), pickle_out: Path | None = None,
                    many: bool = False, presentations: PresentationSpec = PresentationSpec(),
                    store_binned: bool = False, output: OutputPolicy = OutputPolicy(), out_dir: Path | None = None
                    ) -> dict:
    """:func:`~nwb_it.steps.reliability.run_reliability` on one file: unit counts and the d' quartiles."""
    pickle_path = per_session(pickle_out, nwb, many, "_responsive.pkl")
    folder = session_folder(out_dir, nwb, "reliability")
    res = run_reliability(nwb, params, out_dir=folder, pickle_path=pickle_path, presentations=presentations,
                          store_binned=store_binned, output=output)
    finite = res.dprime[np.isfinite(res.dprime)]
    return {"nwb": str(nwb), "units": len(res.dprime), "responsive": int(res.responsive.sum()),
            "cutoff": params.cutoff, "q05": None if params.lab_compat else int((res.q_value < 0.05).sum()),
            "undefined": len(res.dprime) - finite.size,
            "dprime_quantiles": np.percentile(finite, [0, 25, 50, 75, 100]).tolist() if finite.size else None,
            "pickle": None if pickle_path is None else str(pickle_path),
            "figures": None if folder is None else str(folder), "derivative": elsewhere(nwb, res.written_to)}
