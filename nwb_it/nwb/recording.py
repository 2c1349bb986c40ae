"""Reading what analyses need from an NWB file: the units' spike trains and the presentations table."""
from __future__ import annotations

import numpy as np
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.recording import SpikeTrains
from .presentations import file_clips, occurrence_repeat, presentations_table, read_presentations

__all__ = ["file_clips", "occurrence_repeat", "presentations_table", "read_presentations", "read_spike_trains"]

def read_spike_trains(nwb: NWBFile) -> SpikeTrains:
    """Every unit's spike times (flat) with the bounds of each unit's run, names and observation intervals."""
    if nwb.units is None or len(nwb.units) == 0:
        raise NwbItError("the file has no units")
    units = nwb.units
    times = np.asarray(units.spike_times.data[:], dtype=float)
    bounds = np.concatenate([[0], np.asarray(units.spike_times_index.data[:], dtype=np.int64)])
    if "unit_name" in units.colnames:
        names = [str(n) for n in units["unit_name"].data[:]]
    else:
        names = [str(i) for i in units.id.data[:]]
    obs = None
    if "obs_intervals" in units.colnames:
        flat = np.asarray(units.obs_intervals.data[:], dtype=float).reshape(-1, 2)
        ends = np.asarray(units.obs_intervals_index.data[:], dtype=np.int64)
        obs = np.split(flat, ends[:-1])
    return SpikeTrains(times=times, bounds=bounds, names=names, obs_intervals=obs)
