"""Onset-aligned spike counts, binned by Elephant.

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

import elephant.utils
import neo
import numpy as np
import quantities as pq
from elephant.conversion import BinnedSpikeTrain

from ..core.errors import NwbItError
from ..core.logs import quiet_records
from ..core.params import RESPONSE_BIN, RESPONSE_WINDOW, check_window
from ..core.recording import AlignedCounts, Presentations, SpikeTrains

TOLERANCE_S = 1e-9       # float noise of session time - onset, far below the 33 us sampling step


def _quiet_edge_rounding():
    """Elephant's records below ERROR dropped while *this thread* bins: Elephant logs each edge spike it moves into
    the next bin, expected here (module doc). Its logger's level is never changed, so other threads and the
    caller's own logging configuration see Elephant as they set it."""
    return quiet_records(elephant.utils.logger.name)        # named after its file, not its module


def n_bins_of(window: tuple[float, float], bin_size: float) -> int:
    """Bins in the window (parameters were checked to hold a whole number)."""
    return round((window[1] - window[0]) / bin_size)


def _check_inside_trials(pres: Presentations, window: tuple[float, float]) -> None:
    w0, w1 = window
    if not pres.bounded:                      # another lab's file: only the units' obs_intervals bound a window
        return
    if (pres.onset + w0 < pres.start - TOLERANCE_S).any() or (pres.onset + w1 > pres.stop + TOLERANCE_S).any():
        raise NwbItError(f"the window {w0:g}..{w1:g} s reaches outside the recorded trial windows "
                         f"({np.max(pres.start - pres.onset):g}..{np.min(pres.stop - pres.onset):g} s around onset)")


def observed_presentations(spikes: SpikeTrains, pres: Presentations, window: tuple[float, float],
                           units: np.ndarray) -> np.ndarray | None:
    """(units, presentations): whether the unit's ``obs_intervals`` cover the whole analysis window; None = all."""
    if spikes.obs_intervals is None:
        return None
    lo, hi = pres.onset + window[0], pres.onset + window[1]
    out = np.zeros((units.size, lo.size), dtype=bool)
    for row, u in enumerate(units):
        iv = spikes.obs_intervals[u]
        if iv.size == 0:
            continue
        iv = iv[np.argsort(iv[:, 0])]
        k = np.searchsorted(iv[:, 0], lo + TOLERANCE_S, side="right") - 1    # the last interval starting before
        ok = k >= 0
        out[row, ok] = hi[ok] <= iv[k[ok], 1] + TOLERANCE_S
    return None if out.all() else out


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


def bin_aligned(spikes: SpikeTrains, pres: Presentations, window: tuple[float, float] = RESPONSE_WINDOW,
                bin_size: float = RESPONSE_BIN, units: np.ndarray | None = None) -> AlignedCounts:
    """Bin every unit's spikes around every clip onset.

    Parameters
    ----------
    spikes : the units' spike trains on the session clock
    pres : the presentations (onset, window, clip, repeat of each)
    window : (start, end) in seconds relative to clip onset
    bin_size : seconds; the window must hold a whole number of bins
    units : rows of the units table to use (default all)

    Examples
    --------
    >>> import numpy as np
    >>> from nwb_it.core.recording import Presentations, SpikeTrains
    >>> pres = Presentations(onset=np.array([1.0, 3.0]), start=np.array([0.5, 2.5]), stop=np.array([2.0, 4.0]),
    ...                      clip=np.array([0, 0]), repeat=np.array([0, 1]), names=np.array(["a", "a"]))
    >>> spikes = SpikeTrains(np.array([1.01, 1.06, 3.2]), np.array([0, 3]), ["u0"])
    >>> bin_aligned(spikes, pres, (0.0, 0.3), 0.05).counts[0, 0].tolist()
    [[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0]]
    """
    check_window(window, bin_size)
    _check_inside_trials(pres, window)
    n_bins = n_bins_of(window, bin_size)
    unit_ids = np.arange(spikes.n_units) if units is None else np.asarray(units, dtype=int)
    n_pres = len(pres)
    total = n_pres * n_bins
    t_stop = total * bin_size
    trains = [neo.SpikeTrain(presentation_clock(np.sort(spikes.unit(u)), pres.onset, window, bin_size),
                             units="s", t_start=0.0, t_stop=t_stop) for u in unit_ids]
    with _quiet_edge_rounding():
        binned = BinnedSpikeTrain(trains, bin_size=bin_size * pq.s, t_start=0.0 * pq.s, n_bins=total)
    flat = binned.to_array().reshape(len(unit_ids), n_pres, n_bins)

    clip_index, clip_of = np.unique(pres.clip, return_inverse=True)
    clip_of = clip_of.ravel()
    order = np.lexsort((pres.repeat, clip_of))                 # clip-major: each clip's presentations together
    pair = clip_of.astype(np.int64) * (int(pres.repeat.max()) + 1) + pres.repeat
    if np.unique(pair).size != pair.size:          # read_presentations refuses such tables; other callers too
        raise NwbItError("two presentations share one clip and repeat index")
    first = np.unique(clip_of, return_index=True)[1]
    seen = observed_presentations(spikes, pres, window, unit_ids)
    counts = flat[:, order]
    if seen is not None:                        # unobserved presentations are missing, not zero
        seen = seen[:, order]
        counts *= seen[..., None]
    rows = np.arange(n_pres) if pres.rows is None else np.asarray(pres.rows)
    return AlignedCounts(presentation_counts=counts, clip_of=clip_of[order], repeat=np.asarray(pres.repeat)[order],
                         edges=window[0] + bin_size * np.arange(n_bins + 1), unit_ids=unit_ids,
                         unit_names=[str(spikes.names[u]) for u in unit_ids],
                         clip_names=[str(n) for n in pres.names[first]], clip_index=clip_index, rows=rows[order],
                         seen=seen, selection=pres.selection)


def nested_spikes(spikes: SpikeTrains, pres: Presentations, units: np.ndarray) -> dict[str, list[list[np.ndarray]]]:
    """The lab's nested layout: ``{'neuron_<unit>': [[onset-aligned spike times per repeat] per clip]}``.

    Clips are every stimulus_index from 0 to the largest (never shown: empty list);
    each repeat holds all spikes of its presentation window, relative to onset.
    """
    n_clips = int(pres.clip.max()) + 1
    order = np.lexsort((pres.repeat, pres.clip))
    out = {}
    for u in units:
        t = spikes.unit(int(u))
        lo = np.searchsorted(t, pres.start[order], "left")
        hi = np.searchsorted(t, pres.stop[order], "right")
        nested: list[list[np.ndarray]] = [[] for _ in range(n_clips)]
        for p, a, b in zip(order, lo, hi):
            nested[pres.clip[p]].append(t[a:b] - pres.onset[p])
        out[f"neuron_{int(u)}"] = nested
    return out
