"""Onset-aligned binned counts as ``BinnedAlignedSpikes`` (the ``ndx-binned-spikes`` extension, optional extra).

The DiCarlo lab's IT data share PSTHs this way: ``data`` is units x events x bins, events
in time order with their onset (``event_timestamps``), the clip of each event
(``condition_indices`` into ``condition_labels``), the bin width and the offset of the
first bin from onset, and a region into the units table. Other tools read the PSTHs
without re-binning. Presentations a unit was not observed in (``obs_intervals``) hold 0
there: the extension has no mask, so check ``obs_intervals`` for such units.
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTableRegion
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.provenance import with_provenance
from ..core.recording import AlignedCounts, Presentations

NAME = "binned_aligned_spikes"


def load_binned_extension():
    """The ndx-binned-spikes module (imported: its types registered), or a clear error saying how to install it."""
    try:
        import ndx_binned_spikes
    except ImportError:
        raise NwbItError("`store_binned=True` needs the ndx-binned-spikes extension: pip install nwb_it[neuroconv] "
                         "(or pip install ndx-binned-spikes)") from None
    return ndx_binned_spikes


def binned_aligned_spikes(nwb: NWBFile, aligned: AlignedCounts, pres: Presentations, parameters: dict):
    """A ``BinnedAlignedSpikes`` of every unit and presentation (events in onset order)."""
    ext = load_binned_extension()
    onset = pres.onset[np.searchsorted(np.arange(len(pres)) if pres.rows is None else pres.rows, aligned.rows)]
    order = np.argsort(onset, kind="stable")
    clip_pos = aligned.clip_of
    data = aligned.presentation_counts[:, order]                                   # (units, events, bins)
    region = DynamicTableRegion(name="units_region", description="Units of the rows of data.",
                                data=np.asarray(aligned.unit_ids, dtype=np.int64), table=nwb.units)
    return ext.BinnedAlignedSpikes(
        name=NAME, description=with_provenance(
            f"Spike counts of every unit in {aligned.bin_size * 1e3:g} ms bins from {aligned.edges[0] * 1e3:g} to "
            f"{aligned.edges[-1] * 1e3:g} ms around each stimulus onset (nwb_it reliability --store-binned).",
            "reliability", parameters),
        # the width asked for, not its float product (0.04 s x 1e3 is 40.00000000000001 ms)
        bin_width_in_ms=round(float(parameters.get("bin_size", aligned.bin_size)) * 1e3, 9),
        event_to_bin_offset_in_ms=round(float(aligned.edges[0]) * 1e3, 9),
        data=data.astype(np.int64), event_timestamps=onset[order],
        condition_indices=clip_pos[order].astype(np.uint64),          # the extension's dtype: no conversion warning
        condition_labels=np.asarray(aligned.clip_names),
        units_region=region)
