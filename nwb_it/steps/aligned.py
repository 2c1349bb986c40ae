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
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("x_fixshortvid1_coco.mat", n_units=6, n_clips=12, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> from nwb_it.nwb.io import reading
    >>> with reading(nwb) as f:
    ...     read_aligned(f, (-0.05, 0.30), 0.05).counts.shape     # units, clips, repeats, bins
    (6, 11, 4, 7)
    """
    return bin_aligned(read_spike_trains(nwb), read_presentations(nwb, spec), window, bin_size, units)
