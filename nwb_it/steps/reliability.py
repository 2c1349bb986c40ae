"""``nwb-it reliability``: every unit's split-half reliability statistics, written into the same NWB file.

Result: ``processing/ecephys/reliability`` (see :mod:`nwb_it.nwb.results`). A
previous table is replaced; units and trials are untouched.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from ..core.params import PresentationSpec, ReliabilityParams, to_dict
from ..core.results import ReliabilityResult
from ..io.atomic import atomic_output, check_updatable, refuse_existing, refuse_same_file
from ..nwb.binned import binned_aligned_spikes
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import read_presentations, read_spike_trains
from ..nwb.results import MODULE, MODULE_DESCRIPTION, reliability_table
from ..process.binning import bin_aligned, nested_spikes
from ..process.lab_reliability import lab_reliability
from ..process.reliability import reliability


def run_reliability(nwb_path: str | Path, params: ReliabilityParams = ReliabilityParams(),
                    pickle_path: str | Path | None = None, progress: bool = False,
                    presentations: PresentationSpec = PresentationSpec(), store_binned: bool = False,
                    overwrite: bool = False, force: bool = False) -> ReliabilityResult:
    """Compute every unit's reliability statistics and store them in the same NWB file.

    ``params.lab_compat`` gives the lab notebook's numbers exactly (see
    :mod:`nwb_it.process.lab_reliability`). ``pickle_path`` also writes the lab's pickle of the
    responsive units' spikes, ``{'neuron_<unit>': [[onset-aligned times per repeat] per clip]}``.
    ``store_binned`` also writes the binned counts as ``BinnedAlignedSpikes`` (ndx-binned-spikes).
    A file its owner made read-only is refused before anything is computed, unless ``force``.

    Examples
    --------
    >>> res = run_reliability("sub-coco/sub-coco_ses-fixshortvid1_ecephys.nwb")   # doctest: +SKIP
    >>> int(res.responsive.sum())                                                 # doctest: +SKIP
    75
    """
    check_updatable(nwb_path, force)                  # it is updated in place
    if pickle_path is not None:
        refuse_same_file(pickle_path, nwb_path)
        refuse_existing(Path(pickle_path), overwrite, force)
    with reading(nwb_path) as nwb:
        spikes, pres = read_spike_trains(nwb), read_presentations(nwb, presentations)
        resolution = nwb.units.resolution
        if store_binned or not params.lab_compat:
            aligned = bin_aligned(spikes, pres, params.window, params.bin_size)    # errors name the file
    if params.lab_compat:
        result = lab_reliability(spikes, pres, params, resolution, progress=progress)
    else:
        result = reliability(aligned, params, progress=progress)
    if pickle_path is not None:
        with atomic_output(Path(pickle_path), overwrite, force) as tmp, open(tmp, "wb") as fh:
            pickle.dump(nested_spikes(spikes, pres, result.unit_ids[result.responsive]), fh)
    where = to_dict(presentations)

    def tables(f):
        out = [reliability_table(f, result, where)]
        if store_binned:
            out.append(binned_aligned_spikes(f, aligned, pres, {**to_dict(params), "presentations": where}))
        return out
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, tables, force)
    return result
