"""The lab notebook's reliability numbers, exactly (``nwb-it reliability --lab-compat``).

``real_stats.ipynb`` differs from nwb_it's default statistic in four ways, all
reproduced here so its d' can be matched to 1e-9:

* repeats without any spike are dropped (mat73 decodes an empty array as ``None``;
  the notebook keeps ``if j[0] is not None``), so a clip's repeat count is its
  number of non-silent repeats, and a unit without any spike gets NaN (the
  notebook crashes on it);
* bin edges are ``np.arange(-.05, 0.300 + 0.05, 0.05)``: 0.10000000000000002,
  0.15000000000000002 and 0.25000000000000006 are not the decimal edges;
* random numbers come from ``np.random.seed(seed)`` once for the whole session, in
  this order per unit: for each of the ``n_perm`` true splits, one
  ``np.random.permutation`` of each clip's (kept repeats x bins) array; one
  ``np.random.shuffle`` of the unit's kept repeats; one ``np.random.rand()`` per
  repeat in shuffled order (the notebook's "flip", which changes no histogram) except
  for a repeat holding exactly one spike (mat73 gives it as a 0-d array, which the
  flip skips without drawing); then the null splits like the true ones;
* the null is dealt once per unit.

The draws are replayed on a legacy ``RandomState`` (a row permutation of an n-row
array consumes exactly the draws of ``shuffle`` of ``arange(n)``), and the split
halves are then scored with the vectorised :func:`~nwb_it.process.splits.split_half_r`.
"""
from __future__ import annotations

import numpy as np

from ..core.params import ReliabilityParams
from ..core.progress import progress_bar
from ..core.recording import Presentations, SpikeTrains
from ..core.results import ReliabilityResult
from .reliability import summarize
from .splits import split_half_r

LAB_EDGES = np.arange(-.05, 0.300 + 0.05, 0.05)     # the notebook's edges, float noise included
ON_GRID_S = 1e-9


def onset_aligned(times: np.ndarray, pres: Presentations, resolution: float | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every spike of each presentation window, relative to onset, with its presentation index.

    Session time minus onset differs from the source's time by float noise (~1e-13 s),
    enough to move a spike lying exactly on one of the notebook's edges. When every
    time lies on the sampling grid (``resolution``), it is snapped back onto it, which
    gives the source's value exactly.
    """
    lo = np.searchsorted(times, pres.start, "left")
    hi = np.searchsorted(times, pres.stop, "right")
    n = hi - lo
    owner = np.repeat(np.arange(len(pres)), n)
    idx = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(n.sum())
    rel = times[idx] - pres.onset[owner]
    if resolution:
        snapped = np.round(rel / resolution) * resolution
        if np.all(np.abs(snapped - rel) < ON_GRID_S):
            rel = snapped
    return rel, owner


def lab_histograms(rel: np.ndarray, owner: np.ndarray, n_pres: int) -> np.ndarray:
    """``np.histogram(spikes, LAB_EDGES)`` of every presentation at once: (n_pres, 7)."""
    n_bins = LAB_EDGES.size - 1
    b = np.searchsorted(LAB_EDGES, rel, side="right") - 1
    b[rel == LAB_EDGES[-1]] = n_bins - 1                       # numpy.histogram's closed last edge
    inside = (b >= 0) & (b < n_bins)
    return np.bincount(owner[inside] * n_bins + b[inside], minlength=n_pres * n_bins).reshape(n_pres, n_bins)


def _replay_splits(rs: np.random.RandomState, n_kept: np.ndarray, n_perm: int, n_rep: int) -> np.ndarray:
    """Ranks (n_perm, n_clips, n_rep) of the notebook's permutations, drawn in its order."""
    ar = np.arange(n_rep)
    perms = np.broadcast_to(ar, (n_perm, n_kept.size, n_rep)).copy()     # every row starts as 0..n_rep-1
    # shuffling a small list draws exactly as shuffling an array of that length, and costs half as much
    shuffle = rs.shuffle
    sizes = [int(n) for n in n_kept if n > 1]                             # one repeat: no draw (as the notebook)
    start = {n: list(range(n)) for n in set(sizes)}
    drawn: list[int] = []
    for _ in range(n_perm):
        for n in sizes:
            order = start[n][:]
            shuffle(order)
            drawn += order
    shuffled = (ar[None, :] < n_kept[:, None]) & (n_kept[:, None] > 1)   # (clips, n_rep): the rows just drawn
    perms[np.broadcast_to(shuffled, perms.shape)] = drawn
    ranks = np.full(perms.shape, n_rep, dtype=np.int16)       # absent repeats rank last
    mask = ar[None, :] < n_kept[:, None]
    p_idx, k_idx, i_idx = np.nonzero(np.broadcast_to(mask, perms.shape))
    ranks[p_idx, k_idx, perms[p_idx, k_idx, i_idx]] = i_idx  # repeat perm[i] sits at position i
    return ranks


def _unit(rs: np.random.RandomState, hist: np.ndarray, total: np.ndarray, clip_pos: np.ndarray,
          repeat: np.ndarray, n_clips: int, n_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """r_true and r_null (n_perm each) of one unit, consuming the notebook's draws."""
    kept = total > 0
    if not kept.any():                                        # the notebook crashes here: no draw is made
        return np.full(n_perm, np.nan), np.full(n_perm, np.nan)
    order = np.lexsort((repeat[kept], clip_pos[kept]))       # clip order, then repeat order
    k_of = clip_pos[kept][order]
    rows, spikes = hist[kept][order], total[kept][order]
    n_kept = np.bincount(k_of, minlength=n_clips)
    n_rep = int(n_kept.max())
    slot = np.arange(k_of.size) - np.repeat(np.cumsum(n_kept) - n_kept, n_kept)
    mask = np.arange(n_rep)[None, :] < n_kept[:, None]

    def counts_of(r: np.ndarray) -> np.ndarray:
        out = np.zeros((1, n_clips, n_rep, r.shape[1]), dtype=np.int64)
        out[0, k_of, slot] = r
        return out

    true_ranks = _replay_splits(rs, n_kept, n_perm, n_rep)
    deal = np.arange(k_of.size)
    rs.shuffle(deal)                                          # np.random.shuffle(flat)
    rs.random_sample(int((spikes[deal] != 1).sum()))          # the "flip": one rand() per multi-spike repeat
    null_ranks = _replay_splits(rs, n_kept, n_perm, n_rep)
    r_true = split_half_r(counts_of(rows), mask, true_ranks)[0]
    r_null = split_half_r(counts_of(rows[deal]), mask, null_ranks)[0]
    return r_true, r_null


def lab_reliability(spikes: SpikeTrains, pres: Presentations, params: ReliabilityParams = ReliabilityParams(),
                    resolution: float | None = None) -> ReliabilityResult:
    """The notebook's r² distributions and d' for every unit (window and bins are the notebook's own).

    Examples
    --------
    >>> from pynwb import NWBHDF5IO
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> from nwb_it.nwb import read_presentations, read_spike_trains
    >>> truth = write_example_session("l_fixshortvid1_coco.mat", n_units=4, n_clips=8, n_repeats=4)
    >>> nwb = run_convert("l_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> with NWBHDF5IO(str(nwb), "r") as io:
    ...     f = io.read()
    ...     res = lab_reliability(read_spike_trains(f), read_presentations(f), ReliabilityParams(n_perm=20))
    >>> res.dprime.shape
    (4,)
    """
    rs = np.random.RandomState(params.seed)
    clip_index, clip_pos = np.unique(pres.clip, return_inverse=True)
    n_pres = len(pres)
    r_true = np.empty((spikes.n_units, params.n_perm))
    r_null = np.empty((spikes.n_units, params.n_perm))
    for u in progress_bar(range(spikes.n_units), desc="reliability (lab)", unit="unit"):
        rel, owner = onset_aligned(np.sort(spikes.unit(u)), pres, resolution)
        hist = lab_histograms(rel, owner, n_pres)
        total = np.bincount(owner, minlength=n_pres)
        r_true[u], r_null[u] = _unit(rs, hist, total, clip_pos, pres.repeat, clip_index.size, params.n_perm)
    return summarize(np.arange(spikes.n_units), spikes.names, r_true, r_null ** 2, params,
                     selection=pres.selection)
