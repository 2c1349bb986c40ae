"""Reading what analyses need from an NWB file: the units' spike trains and the presentations table."""
from __future__ import annotations

import numpy as np
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import RESPONSE_BIN, RESPONSE_WINDOW
from ..core.recording import Presentations, SpikeTrains
from ..core.results import AlignedCounts

PRESENTATION_COLUMNS = ("stimulus_onset", "stimulus_index", "repeat", "stimulus_name")


def read_presentations(nwb: NWBFile) -> Presentations:
    """The trials table of a file written by nwb_it, one row per presentation."""
    trials = nwb.trials
    if trials is None or any(c not in trials.colnames for c in PRESENTATION_COLUMNS):
        raise NwbItError(f"the file has no trials table with columns {', '.join(PRESENTATION_COLUMNS)} "
                         "(convert it with nwb-it convert)")
    return Presentations(onset=np.asarray(trials["stimulus_onset"].data[:], dtype=float),
                         start=np.asarray(trials["start_time"].data[:], dtype=float),
                         stop=np.asarray(trials["stop_time"].data[:], dtype=float),
                         clip=np.asarray(trials["stimulus_index"].data[:], dtype=int),
                         repeat=np.asarray(trials["repeat"].data[:], dtype=int),
                         names=np.asarray(trials["stimulus_name"].data[:]).astype(str))


def read_spike_trains(nwb: NWBFile) -> SpikeTrains:
    """Every unit's spike times (flat) with the bounds of each unit's run and the unit names."""
    if nwb.units is None or len(nwb.units) == 0:
        raise NwbItError("the file has no units")
    times = np.asarray(nwb.units.spike_times.data[:], dtype=float)
    bounds = np.concatenate([[0], np.asarray(nwb.units.spike_times_index.data[:], dtype=np.int64)])
    if "unit_name" in nwb.units.colnames:
        names = [str(n) for n in nwb.units["unit_name"].data[:]]
    else:
        names = [str(i) for i in nwb.units.id.data[:]]
    return SpikeTrains(times=times, bounds=bounds, names=names)


def read_aligned(nwb: NWBFile, window: tuple[float, float] = RESPONSE_WINDOW, bin_size: float = RESPONSE_BIN,
                 units: np.ndarray | None = None) -> AlignedCounts:
    """Onset-aligned binned counts of an open NWB file (see :func:`nwb_it.process.binning.bin_aligned`).

    Examples
    --------
    >>> from pynwb import NWBHDF5IO                                          # doctest: +SKIP
    >>> with NWBHDF5IO("sub-coco_ses-fixshortvid1_ecephys.nwb") as io:      # doctest: +SKIP
    ...     read_aligned(io.read(), (-0.05, 0.30), 0.05).counts.shape     # units, clips, repeats, bins
    (256, 199, 8, 7)
    """
    from ..process.binning import bin_aligned

    return bin_aligned(read_spike_trains(nwb), read_presentations(nwb), window, bin_size, units)
