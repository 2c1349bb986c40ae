"""Onset-aligned spike counts from an NWB file, binned by Elephant.

Building one ``neo.SpikeTrain`` per presentation (hundreds of thousands) is slow.
Instead every unit gets ONE spike train on a "presentation clock": the analysis
windows of all presentations laid end to end, a spike at ``onset_p + t`` moved to
``p * W + (t - window_start)`` (W = window length). Elephant's
``BinnedSpikeTrain`` bins all units at once on that clock; bin ``p * n_bins + b``
is bin ``b`` of presentation ``p``. Bins are left-closed like ``numpy.histogram``,
and, like ``numpy.histogram``, the last bin also holds spikes exactly at the
window's end (Elephant alone would drop them). Times from the NWB file are
``session time - onset``; Elephant's 1e-8-bin tolerance absorbs the rounding,
so a source spike exactly on a bin edge lands in the bin it starts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import elephant.utils
import neo
import numpy as np
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from pynwb import NWBFile

from ..errors import NwbItError

TOLERANCE_S = 1e-9       # float noise of session time - onset, far below the 33 us sampling step


@dataclass
class AlignedCounts:
    """Spike counts per unit, clip, repeat and bin, with a mask for ragged repeats.

    Attributes
    ----------
    counts : ndarray of int, (n_units, n_clips, n_repeats_max, n_bins); 0 where ``mask`` is False
    mask : ndarray of bool, (n_clips, n_repeats_max): which (clip, repeat) was presented
    edges : ndarray, (n_bins + 1,): bin edges in seconds relative to clip onset
    unit_ids : ndarray of int: rows of the units table
    unit_names, clip_names : list of str
    clip_index : ndarray of int: each clip's ``stimulus_index``
    trial_rows : ndarray of int, (n_clips, n_repeats_max): row in the trials table, -1 if absent
    """

    counts: np.ndarray
    mask: np.ndarray
    edges: np.ndarray
    unit_ids: np.ndarray
    unit_names: list[str]
    clip_names: list[str]
    clip_index: np.ndarray
    trial_rows: np.ndarray

    @property
    def bin_size(self) -> float:
        return float(self.edges[1] - self.edges[0])

    @property
    def n_repeats(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    def mean_rates(self) -> np.ndarray:
        """Repeat-averaged firing rate in spikes/s, (n_units, n_clips, n_bins); NaN for unshown clips."""
        n = self.n_repeats
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts.sum(axis=2) / (n[None, :, None] * self.bin_size)


@dataclass
class Presentations:
    """The trials table's columns that place each presentation."""

    onset: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    clip: np.ndarray
    repeat: np.ndarray
    names: np.ndarray


def read_presentations(nwb: NWBFile) -> Presentations:
    trials = nwb.trials
    needed = ("stimulus_onset", "stimulus_index", "repeat", "stimulus_name")
    if trials is None or any(c not in trials.colnames for c in needed):
        raise NwbItError(f"the file has no trials table with columns {', '.join(needed)} "
                         "(convert it with nwb-it convert)")
    return Presentations(onset=np.asarray(trials["stimulus_onset"].data[:], dtype=float),
                         start=np.asarray(trials["start_time"].data[:], dtype=float),
                         stop=np.asarray(trials["stop_time"].data[:], dtype=float),
                         clip=np.asarray(trials["stimulus_index"].data[:], dtype=int),
                         repeat=np.asarray(trials["repeat"].data[:], dtype=int),
                         names=np.asarray(trials["stimulus_name"].data[:]).astype(str))


def unit_spike_times(nwb: NWBFile) -> tuple[np.ndarray, np.ndarray]:
    """All spike times (flat) and the bounds of each unit's run."""
    if nwb.units is None or len(nwb.units) == 0:
        raise NwbItError("the file has no units")
    times = np.asarray(nwb.units.spike_times.data[:], dtype=float)
    bounds = np.concatenate([[0], np.asarray(nwb.units.spike_times_index.data[:], dtype=np.int64)])
    return times, bounds


def _check_window(pres: Presentations, window: tuple[float, float], bin_size: float) -> int:
    w0, w1 = window
    if not w1 > w0 or bin_size <= 0:
        raise NwbItError(f"window {window} and bin {bin_size} must satisfy start < end and bin > 0")
    n_bins = (w1 - w0) / bin_size
    if abs(n_bins - round(n_bins)) > 1e-6:
        raise NwbItError(f"the window {w0:g}..{w1:g} s is not a whole number of {bin_size:g} s bins")
    if (pres.onset + w0 < pres.start - TOLERANCE_S).any() or (pres.onset + w1 > pres.stop + TOLERANCE_S).any():
        raise NwbItError(f"the window {w0:g}..{w1:g} s reaches outside the recorded trial windows "
                         f"({np.max(pres.start - pres.onset):g}..{np.min(pres.stop - pres.onset):g} s around onset)")
    return int(round(n_bins))


def presentation_clock(times: np.ndarray, onset: np.ndarray, window: tuple[float, float], bin_size: float
                       ) -> np.ndarray:
    """One unit's sorted session-clock spikes moved onto the presentation clock (see module doc)."""
    w0, w1 = window
    width = w1 - w0
    lo = np.searchsorted(times, onset + w0 - TOLERANCE_S, "left")
    hi = np.searchsorted(times, onset + w1 + TOLERANCE_S, "right")
    n = hi - lo
    slot = np.repeat(np.arange(onset.size), n)
    idx = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(n.sum())
    pos = np.clip(times[idx] - onset[slot] - w0, 0.0, None)
    pos[pos >= width - TOLERANCE_S] = width - bin_size / 2     # numpy.histogram's closed last edge
    return slot * width + pos


def bin_aligned(nwb: NWBFile, window: tuple[float, float] = (-0.05, 0.30), bin_size: float = 0.05,
                units: np.ndarray | None = None) -> AlignedCounts:
    """Bin every unit's spikes around every clip onset.

    Parameters
    ----------
    nwb : an open NWBFile written by nwb_it (units + trials tables)
    window : (start, end) in seconds relative to clip onset
    bin_size : seconds; the window must hold a whole number of bins
    units : rows of the units table to use (default all)

    Examples
    --------
    >>> from pynwb import NWBHDF5IO                                          # doctest: +SKIP
    >>> with NWBHDF5IO("sub-coco_ses-fixshortvid1_ecephys.nwb") as io:      # doctest: +SKIP
    ...     aligned = bin_aligned(io.read(), (-0.05, 0.30), 0.05)
    ...     aligned.counts.shape          # units, clips, repeats, bins
    (256, 199, 8, 7)
    """
    pres = read_presentations(nwb)
    n_bins = _check_window(pres, window, bin_size)
    times, bounds = unit_spike_times(nwb)
    unit_ids = np.arange(bounds.size - 1) if units is None else np.asarray(units, dtype=int)
    n_pres = pres.onset.size
    total = n_pres * n_bins
    t_stop = total * bin_size
    trains = [neo.SpikeTrain(presentation_clock(np.sort(times[bounds[u]:bounds[u + 1]]), pres.onset, window,
                                                bin_size), units="s", t_start=0.0, t_stop=t_stop)
              for u in unit_ids]
    # Elephant logs each edge spike it moves into the next bin: expected here (module doc)
    elephant_log = elephant.utils.logger        # named after its file, not its module
    level = elephant_log.level
    elephant_log.setLevel(logging.ERROR)
    try:
        binned = BinnedSpikeTrain(trains, bin_size=bin_size * pq.s, t_start=0.0 * pq.s, n_bins=total)
    finally:
        elephant_log.setLevel(level)
    flat = binned.to_array().reshape(len(unit_ids), n_pres, n_bins)

    clip_index, clip_pos = np.unique(pres.clip, return_inverse=True)
    n_rep = int(pres.repeat.max()) + 1
    counts = np.zeros((len(unit_ids), clip_index.size, n_rep, n_bins), dtype=np.int64)
    counts[:, clip_pos, pres.repeat] = flat
    mask = np.zeros((clip_index.size, n_rep), dtype=bool)
    mask[clip_pos, pres.repeat] = True
    rows = np.full((clip_index.size, n_rep), -1)
    rows[clip_pos, pres.repeat] = np.arange(n_pres)
    first = np.unique(clip_pos, return_index=True)[1]
    names = list(nwb.units["unit_name"].data[:]) if "unit_name" in nwb.units.colnames else [str(u) for u in unit_ids]
    return AlignedCounts(counts=counts, mask=mask, edges=window[0] + bin_size * np.arange(n_bins + 1),
                         unit_ids=unit_ids, unit_names=[str(names[u]) for u in unit_ids],
                         clip_names=list(pres.names[first]), clip_index=clip_index, trial_rows=rows)


def presentation_trains(nwb: NWBFile, window: tuple[float, float] = (-0.05, 0.30),
                        units: np.ndarray | None = None) -> list[list[neo.SpikeTrain]]:
    """The simple way: one onset-aligned ``neo.SpikeTrain`` per unit and presentation (trial row order).

    Slow for whole sessions; kept as the reference ``bin_aligned`` is tested against.
    """
    pres = read_presentations(nwb)
    times, bounds = unit_spike_times(nwb)
    unit_ids = np.arange(bounds.size - 1) if units is None else np.asarray(units, dtype=int)
    out = []
    for u in unit_ids:
        t = np.sort(times[bounds[u]:bounds[u + 1]])
        row = []
        for onset in pres.onset:
            rel = t[(t >= onset + window[0] - TOLERANCE_S) & (t <= onset + window[1] + TOLERANCE_S)] - onset
            row.append(neo.SpikeTrain(np.clip(rel, *window), units="s", t_start=window[0], t_stop=window[1]))
        out.append(row)
    return out
