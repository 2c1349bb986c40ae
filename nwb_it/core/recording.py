"""What analyses need of a recording, whatever file it came from: spike trains and presentations.

The ``nwb`` layer fills these from an NWB file; ``process`` functions take them and
never see a file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SpikeTrains:
    """Every unit's spike times on the session clock, flat, with each unit's run.

    Attributes
    ----------
    times : float64 (n_spikes,), ascending within each unit's run
    bounds : int64 (n_units + 1,): unit ``u`` owns ``times[bounds[u]:bounds[u + 1]]``
    names : list of str, one per unit
    obs_intervals : per unit, (k, 2) intervals in which it was observed; None = always

    Examples
    --------
    >>> st = SpikeTrains(np.array([0.1, 0.5, 0.2]), np.array([0, 2, 3]), ["a", "b"])
    >>> st.unit(1)
    array([0.2])
    """

    times: np.ndarray
    bounds: np.ndarray
    names: list[str]
    obs_intervals: list[np.ndarray] | None = None

    @property
    def n_units(self) -> int:
        return int(self.bounds.size - 1)

    def unit(self, u: int) -> np.ndarray:
        return self.times[self.bounds[u]:self.bounds[u + 1]]


@dataclass
class Presentations:
    """One row per stimulus presentation (a trial), in table order.

    Attributes
    ----------
    onset : clip onset on the session clock (s)
    start, stop : the presentation's window on the session clock (s)
    clip : 0-based clip index (the source's ``stimulus_index``)
    repeat : 0-based repeat index within the clip
    names : clip name of each presentation
    bounded : the start..stop windows hold everything recorded around each onset (nwb_it's own
        files), so an analysis window must lie inside them; otherwise only ``obs_intervals`` bound it
    rows : each presentation's row in the table it was read from (None: row i is presentation i)
    """

    onset: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    clip: np.ndarray
    repeat: np.ndarray
    names: np.ndarray
    bounded: bool = False
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.onset.size)
