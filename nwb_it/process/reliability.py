"""Split-half reliability of each unit's responses across clips: the lab's d', and a calibrated test.

Counts per presentation in bins of the analysis window come from
:func:`~nwb_it.process.binning.bin_aligned`. Then, per unit:

* **r² distributions and d' (the lab's statistic).** ``n_perm`` times: within every
  clip, repeats in random order, split at ``n_k // 2``, each half's mean count per
  bin; Pearson r of the two halves' (clip x bin) vectors, r² recorded. Clips with one
  repeat drop out (pandas' pairwise-complete ``corr``, as the notebook). Null: the
  presentations dealt back out across clips keeping each clip's repeat count, then
  split the same way. ``d' = (mean r²_true - mean r²_null) / (0.5 (sd_true + sd_null))``
  (NaN-aware, population sd); responsive when ``d' > cutoff``. By default every null
  split gets a deal of its own (``null="redeal"``), so d' no longer hangs on one
  deal; ``null="once"`` keeps the notebook's single deal per unit.
* **A calibrated permutation test.** The statistic is the split-half agreement in
  closed form (:func:`agreement`): the expected correlation of two half-means over
  (clip, bin) cells, from a one-way ANOVA per bin (between-cell variance of the clip
  means minus their noise, over the same plus the half-means' noise, with the
  within-clip variance pooled). It is computed on the true assignment and on
  independent deals of the presentations across clips;
  ``p_value = (1 + #{deals >= true}) / (1 + deals)``. Every unit gets 100 deals;
  units with p <= 0.1 after them get up to ``n_null`` (stopping early only ever makes
  p larger); units with fewer than 10 exceedances by then are dealt on (x4 a stage, up
  to ``n_null_max``: Besag-Clifford sequential sampling) while they are not yet
  discoveries at q < 0.05, so a unit far beyond its null gets a p small enough for
  Benjamini-Hochberg over hundreds of units (``n_deals`` records each unit's deals).
  ``q_value``: Benjamini-Hochberg over the units of the file.
* ``spearman_brown_mean_r``: Spearman-Brown of the mean split-half r, ``2 r̄ / (1 + r̄)``.

Random numbers: splits and deals depend on the seed alone and are shared by all
units (``SeedSequence([seed, stream])``); the lab's single deal (``null="once"``) comes
from each unit's own ``SeedSequence([seed, unit])``. So a unit's numbers never depend
on which other units are analysed with it, except how many deals past ``n_null`` a unit
gets (the stopping rule asks whether it is already a discovery among them). Everything is vectorised over units,
splits, deals and clips.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse

from ..core.numeric import nan_quiet
from ..core.params import FIRST_STAGE_DEALS, ReliabilityParams
from ..core.progress import progress_bar
from ..core.recording import AlignedCounts
from ..core.results import ReliabilityResult
from .splits import (
    draw_keys,
    presentation_ranks,
    split_half_r_by_presentation,
)
from .stats import benjamini_hochberg, pearson_from_moments, spearman_brown

__all__ = ["agreement", "permutation_p", "redealt_null_r", "reliability", "summarize"]

NULL_DEALS, TEST_DEALS = 2, 3                # random streams (0 and 1 were the splits' streams; kept apart)
CANDIDATE_P = 0.1            # units at or below this after the first deals get the rest
SEQUENTIAL_HITS = 10         # past n_null, a unit is dealt on until this many deals reach its observed value
DISCOVERY_Q = 0.05           # ... or until it is a discovery at this false-discovery rate
DEAL_BLOCK = 25              # deals drawn (and summed) together
TIE = 1e-6                   # relative: deals summed in float32 (exact counts) tie with the observed value


def _deals(seed: int, stream: int, n_slots: int, start: int, stop: int) -> np.ndarray:
    """Deals ``start..stop`` of a stream: (stop - start, n_slots) permutations, the same whoever asks."""
    first, last = start // DEAL_BLOCK, (stop - 1) // DEAL_BLOCK
    base = np.broadcast_to(np.arange(n_slots), (DEAL_BLOCK, n_slots))
    blocks = [np.random.default_rng([seed, stream, b]).permuted(base, axis=1) for b in range(first, last + 1)]
    return np.concatenate(blocks)[start - first * DEAL_BLOCK:stop - first * DEAL_BLOCK]


def _group_sums(flat: np.ndarray, deals: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of the presentations each deal puts in each group of slots: (deals, groups, units * bins).

    Deal ``d`` puts presentation ``deals[d, s]`` in slot ``s``; groups are the slot ranges starting
    at ``bounds``. One sparse (deal x group, presentation) 0/1 matrix times the counts does every
    sum at once (15x faster than gathering rows); its rows are slot ranges, so it is built as CSR.
    """
    n_deals, n_slots = deals.shape
    indptr = np.append((np.arange(n_deals)[:, None] * n_slots + bounds[None, :]).ravel(), n_deals * n_slots)
    assign = scipy.sparse.csr_matrix((np.ones(deals.size, dtype=flat.dtype), deals.ravel(), indptr),
                                     shape=(n_deals * bounds.size, n_slots))
    return (assign @ flat).reshape(n_deals, bounds.size, -1)


def redealt_null_r(flat: np.ndarray, n_k: np.ndarray, n_units: int, n_perm: int, seed: int) -> np.ndarray:
    """Null split-half r, (n_units, n_perm), each split on a deal of its own.

    ``flat``: the presentations' counts as (presentation slots, units * bins), clip-major;
    ``n_k``: each clip's number of presentations (clips without any left out).
    A random deal followed by a random split is a random partition of the presentations
    into the clips' halves (sizes n_k // 2 and the rest): one sparse product per split.
    A deal is uniform over slots, so the slots can be laid out as every clip's first half,
    then every clip's second half, then the clips too small to split: the halves' sums
    are then plain slices.
    """
    n_bins = flat.shape[1] // n_units
    usable = n_k >= 2
    if not usable.any():                      # no clip can be split: nothing to correlate
        return np.full((n_units, n_perm), np.nan)
    h_a = (n_k // 2)[usable].astype(np.float64)
    h_b = (n_k - n_k // 2)[usable].astype(np.float64)
    sizes = np.concatenate([h_a, h_b, n_k[~usable]]).astype(np.int64)
    bounds = np.cumsum(sizes) - sizes
    n_c = h_a.size
    n_cells = n_c * n_bins
    out = np.empty((n_units, n_perm))

    def total(weights: np.ndarray, x: np.ndarray) -> np.ndarray:          # weighted sum over clips, then bins
        return (weights.astype(x.dtype) @ x).astype(np.float64).reshape(x.shape[0], n_units, n_bins).sum(-1)

    for done in range(0, n_perm, DEAL_BLOCK):
        deals = _deals(seed, NULL_DEALS, flat.shape[0], done, min(done + DEAL_BLOCK, n_perm))
        sums = _group_sums(flat, deals, bounds)
        sa, sb = sums[:, :n_c], sums[:, n_c:2 * n_c]                       # halves' sums: (deals, clips, u * b)
        ta, tb = total(1 / h_a, sa), total(1 / h_b, sb)                     # sums of the half means
        ss_a, ss_b = total(1 / h_a ** 2, sa * sa), total(1 / h_b ** 2, sb * sb)
        cov = total(1 / (h_a * h_b), sa * sb) - ta * tb / n_cells
        out[:, done:done + len(deals)] = pearson_from_moments(cov, ss_a - ta ** 2 / n_cells, ss_b - tb ** 2 / n_cells,
                                                              ss_a, ss_b).T
    return out


def _agreement(sums: np.ndarray, sumsq: np.ndarray, n: np.ndarray, n_units: int) -> np.ndarray:
    """Agreement from clip sums (..., C, U * B) and sums of squares (..., U * B) of clips with n >= 2 repeats.

    The sums over clips are matrix-vector products (BLAS), the rest is on (..., U, B) arrays.
    """
    n = n.astype(np.float64)
    lead = sums.shape[:-2]
    squares = sums * sums

    def over_clips(weights: np.ndarray, x: np.ndarray) -> np.ndarray:      # BLAS, in the sums' precision
        return (weights.astype(x.dtype) @ x).astype(np.float64)

    sum_means = over_clips(1 / n, sums)                                     # sum over clips of S / n
    sum_sq_n = over_clips(1 / n, squares)                                   # sum over clips of S² / n
    sum_sq_means = over_clips(1 / n ** 2, squares)                          # sum over clips of (S / n)²

    def per_unit(x):
        return x.reshape(*lead, n_units, -1)

    n_cells = n.size * per_unit(sum_means).shape[-1]
    mean_of_means = per_unit(sum_means).sum(-1) / n_cells
    var_means = per_unit(sum_sq_means).sum(-1) / n_cells - mean_of_means ** 2
    w = per_unit(sumsq - sum_sq_n).mean(-1) / (n.sum() - n.size)          # within-clip variance, pooled
    h1 = np.floor(n / 2)
    signal = var_means - w * (1 / n).mean()
    with nan_quiet():
        return signal / np.sqrt((signal + w * (1 / h1).mean()) * (signal + w * (1 / (n - h1)).mean()))


def agreement(flat: np.ndarray, n_k: np.ndarray, n_units: int) -> np.ndarray:
    """Closed-form split-half agreement of every unit, (n_units,).

    ``flat``: counts as (presentation slots, units * bins), clip-major; ``n_k``: presentations
    per clip. Over the (clip, bin) cells of clips with >= 2 repeats: V = variance of the cell
    means, s² = within-clip variance pooled per bin, signal = V - mean(s²/n), and
    ``agreement = signal / sqrt((signal + mean(s²/h1)) (signal + mean(s²/h2)))`` with
    h1 = n // 2, h2 = n - h1: the correlation two half-means are expected to have.
    """
    usable = n_k >= 2
    if not usable.any():
        return np.full(n_units, np.nan)
    x = flat.astype(np.float64)
    starts = np.cumsum(n_k) - n_k
    sums = np.add.reduceat(x, starts, axis=0)[usable]                        # (C, u * b)
    in_usable = np.repeat(usable, n_k)
    return _agreement(sums, (x[in_usable] ** 2).sum(0), n_k[usable], n_units)


def _exceedances(flat: np.ndarray, n_k: np.ndarray, units: np.ndarray, observed: np.ndarray, seed: int,
                 start: int, stop: int) -> np.ndarray:
    """How many of deals ``start..stop`` reach each unit's observed agreement."""
    starts = np.cumsum(n_k) - n_k
    usable = n_k >= 2
    singles = starts[n_k == 1]
    total_sq = (flat.astype(np.float64) ** 2).sum(0)                        # invariant under deals
    count = np.zeros(units.size, dtype=np.int64)
    for lo in range(start, stop, DEAL_BLOCK):
        deals = _deals(seed, TEST_DEALS, flat.shape[0], lo, min(lo + DEAL_BLOCK, stop))
        sums = _group_sums(flat, deals, starts)[:, usable]
        sumsq = total_sq - (flat[deals[:, singles]].astype(np.float64) ** 2).sum(1)
        q = _agreement(sums, sumsq, n_k[usable], units.size)
        count += (q >= observed[None] - TIE * np.abs(observed[None])).sum(0)
    return count


def permutation_p(flat: np.ndarray, n_k: np.ndarray, n_units: int, seed: int, n_null: int,
                  n_null_max: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed agreement, its permutation p-value and the deals used, for every unit (see module doc).

    ``flat``: float32 counts as (presentation slots, units * bins), clip-major; ``n_k``: presentations per clip.
    Deals come in stages: 100 for every unit, up to ``n_null`` for units with p <= 0.1 so far, then, four times
    more a stage up to ``n_null_max``, for units that still have fewer than ``SEQUENTIAL_HITS`` exceedances
    (Besag & Clifford) *and* are not yet discoveries (Benjamini-Hochberg q >= 0.05 over these units): a unit
    far beyond its null keeps being dealt until its p is small enough for the correction, as in Gandy &
    Hahn's sequential Monte Carlo multiple testing; the others stop early.
    """
    observed = agreement(flat, n_k, n_units)
    n_deals = np.zeros(n_units, dtype=np.int64)
    if not (n_k >= 2).any():
        return observed, np.full(observed.shape, np.nan), n_deals
    n_bins = flat.shape[1] // n_units
    exceed = np.zeros(n_units, dtype=np.int64)
    stages = [FIRST_STAGE_DEALS, max(n_null, FIRST_STAGE_DEALS)]
    while n_null_max is not None and stages[-1] < n_null_max:
        stages.append(min(4 * stages[-1], n_null_max))
    active = np.arange(n_units)
    for stage, stop in enumerate(stages):
        if active.size and stop > n_deals[active[0]]:
            columns = (active[:, None] * n_bins + np.arange(n_bins)).ravel()
            exceed[active] += _exceedances(np.ascontiguousarray(flat[:, columns]), n_k, active, observed[active],
                                           seed, int(n_deals[active[0]]), stop)
            n_deals[active] = stop
        p_now = (1 + exceed) / (1 + n_deals)
        if stage == 0:
            active = np.flatnonzero(p_now <= CANDIDATE_P)
        else:
            undecided = benjamini_hochberg(np.where(np.isfinite(observed), p_now, np.nan)) >= DISCOVERY_Q
            active = active[(exceed[active] < SEQUENTIAL_HITS) & undecided[active]]
    p = (1 + exceed) / (1 + n_deals)
    return observed, np.where(np.isfinite(observed), p, np.nan), n_deals


def summarize(unit_ids: np.ndarray, unit_names: list[str], r_true: np.ndarray, r2_null: np.ndarray,
              params: ReliabilityParams, observed: np.ndarray | None = None, p_value: np.ndarray | None = None,
              selection: dict | None = None) -> ReliabilityResult:
    """d' and the Spearman-Brown reliability from the split-half distributions; q-values from the p-values;
    ``selection``: how the presentations were chosen (stored with the result)."""
    r2_true = r_true ** 2
    n = r_true.shape[0]
    observed = np.full(n, np.nan) if observed is None else observed
    p_value = np.full(n, np.nan) if p_value is None else p_value
    with nan_quiet():
        dprime = (np.nanmean(r2_true, 1) - np.nanmean(r2_null, 1)) / (
            0.5 * (np.nanstd(r2_true, 1) + np.nanstd(r2_null, 1)))
        sb = spearman_brown(np.nanmean(r_true, 1))
    return ReliabilityResult(unit_ids=np.asarray(unit_ids), unit_names=list(unit_names), r2_true=r2_true,
                             r2_null=r2_null, r_true=r_true, dprime=dprime, spearman_brown_mean_r=sb,
                             agreement=observed, p_value=p_value, q_value=benjamini_hochberg(p_value),
                             params=params, **({} if selection is None else {"presentations": selection}))


def observation_groups(aligned: AlignedCounts) -> list[tuple[np.ndarray, np.ndarray]]:
    """(unit rows, presentations observed) per distinct pattern of observed presentations (one group if all are)."""
    n_pres = aligned.clip_of.size
    if aligned.seen is None:
        return [(np.arange(aligned.n_units), np.ones(n_pres, dtype=bool))]
    patterns, which = np.unique(aligned.seen, axis=0, return_inverse=True)
    return [(np.flatnonzero(which.ravel() == g), patterns[g]) for g in range(patterns.shape[0])]


def reliability(aligned: AlignedCounts, params: ReliabilityParams = ReliabilityParams(),
                chunk: int = 32) -> ReliabilityResult:
    """Split-half reliability statistics of every unit in ``aligned`` (see module doc).

    Units observed during different presentations (``obs_intervals``) are analysed in groups
    sharing a pattern; the splits come from the same random keys in every group. Memory
    follows the number of presentations (not clips x the largest repeat count).

    Examples
    --------
    >>> from nwb_it.examples.null_session import null_aligned_counts
    >>> res = reliability(null_aligned_counts(20, 30, 6), ReliabilityParams(n_perm=50))   # Poisson noise only
    >>> res.to_dataframe().shape[0], int(res.responsive.sum())
    (20, 0)
    """
    n_units, n_clips = aligned.n_units, len(aligned.clip_names)
    clip_of = aligned.clip_of
    grid = (n_clips, int(aligned.repeat.max()) + 1)
    cells = clip_of * grid[1] + aligned.repeat
    rng = np.random.default_rng(np.random.SeedSequence([params.seed]))
    true_keys = draw_keys(rng, params.n_perm, grid, cells)
    null_keys = draw_keys(rng, params.n_perm, grid, cells)         # drawn either way: same splits per seed
    pc = aligned.presentation_counts
    r_true = np.empty((n_units, params.n_perm))
    r_null = np.empty((n_units, params.n_perm))
    observed, p_value, n_deals = np.empty(n_units), np.empty(n_units), np.zeros(n_units, dtype=np.int64)
    with progress_bar(total=n_units, desc="reliability", unit="unit") as bar:
        for rows, present in observation_groups(aligned):
            true_ranks = presentation_ranks(true_keys, present, clip_of)
            null_ranks = presentation_ranks(null_keys, present, clip_of) if params.null == "once" else None
            shown = np.flatnonzero(present)
            for lo in range(0, rows.size, chunk):
                units = rows[lo:lo + chunk]
                x = pc[units].transpose(1, 0, 2).reshape(clip_of.size, -1).astype(np.float64)
                r_true[units] = split_half_r_by_presentation(x, true_ranks, present, clip_of, n_clips, units.size)
                if params.null == "once":
                    dealt = x.reshape(clip_of.size, units.size, -1).copy()
                    for j, uid in enumerate(aligned.unit_ids[units]):
                        deal = np.random.default_rng(np.random.SeedSequence([params.seed, int(uid)])).permutation(
                            shown.size)
                        dealt[shown, j] = dealt[shown[deal], j]
                    r_null[units] = split_half_r_by_presentation(dealt.reshape(clip_of.size, -1), null_ranks,
                                                                 present, clip_of, n_clips, units.size)
                bar.update(units.size)
            n_k = np.bincount(clip_of[present], minlength=n_clips)
            n_k = n_k[n_k > 0]
            slots = np.ascontiguousarray(pc[rows][:, shown].transpose(1, 0, 2).reshape(shown.size, -1),
                                         dtype=np.float32)
            if params.null == "redeal":
                r_null[rows] = redealt_null_r(slots, n_k, rows.size, params.n_perm, params.seed)
            observed[rows], p_value[rows], n_deals[rows] = permutation_p(slots, n_k, rows.size, params.seed,
                                                                         params.n_null, params.n_null_max)
    result = summarize(aligned.unit_ids, aligned.unit_names, r_true, r_null ** 2, params, observed, p_value,
                       aligned.selection)
    result.n_deals = n_deals
    return result
