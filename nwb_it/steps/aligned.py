"""Onset-aligned binned counts of an open NWB file: the NWB readers, then Elephant's binning.

This composes two layers (``nwb`` reads, ``process`` bins), so it lives with the runners.
"""
from __future__ import annotations

import numpy as np
from pynwb import NWBFile

from ..core.params import RESPONSE_BIN, RESPONSE_WINDOW, PresentationSpec
from ..core.recording import AlignedCounts
from ..nwb.recording import read_presentations, read_spike_trains
from ..process.binning import bin_aligned


def read_aligned(nwb: NWBFile, window: tuple[float, float] = RESPONSE_WINDOW, bin_size: float = RESPONSE_BIN,
                 units: np.ndarray | None = None, spec: PresentationSpec = PresentationSpec()) -> AlignedCounts:
    """Onset-aligned binned counts of an open NWB file (see :func:`nwb_it.process.binning.bin_aligned`).

    Examples
    --------
    >>> from pynwb import NWBHDF5IO                                          # doctest: +SKIP
    >>> with NWBHDF5IO("sub-coco_ses-fixshortvid1_ecephys.nwb") as io:      # doctest: +SKIP
    ...     read_aligned(io.read(), (-0.05, 0.30), 0.05).counts.shape     # units, clips, repeats, bins
    (256, 199, 8, 7)
    """
    return bin_aligned(read_spike_trains(nwb), read_presentations(nwb, spec), window, bin_size, units)
