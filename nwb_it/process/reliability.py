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
  p larger). ``q_value``: Benjamini-Hochberg over the units of the file.
* ``spearman_brown_mean_r``: Spearman-Brown of the mean split-half r, ``2 r̄ / (1 + r̄)``.

Random numbers: splits and deals depend on the seed alone and are shared by all
units (``SeedSequence([seed, stream])``); the lab's single deal (``null="once"``) comes
from each unit's own ``SeedSequence([seed, unit])``. So a unit's numbers never depend
on which other units are analysed with it. Everything is vectorised over units,
splits, deals and clips.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse
from tqdm.auto import tqdm

from ..core.numeric import nan_quiet
from ..core.params import FIRST_STAGE_DEALS, ReliabilityParams
from ..core.results import AlignedCounts, ReliabilityResult
from .stats import benjamini_hochberg, spearman_brown

TRUE_SPLITS, NULL_SPLITS, NULL_DEALS, TEST_DEALS = 0, 1, 2, 3        # random streams
CANDIDATE_P = 0.1            # units at or below this after the first deals get the rest
DEAL_BLOCK = 25              # deals drawn (and summed) together
TIE = 1e-6                   # relative: deals summed in float32 (exact counts) tie with the observed value


def split_positions(rng: np.random.Generator | np.ndarray, mask: np.ndarray, n_perm: int) -> np.ndarray:
    """Random rank of every repeat within its clip, per permutation: (n_perm, n_clips, n_repeats).

    ``rng`` may be a generator or keys already drawn from one (the same keys then give the
    same splits under different masks). Absent repeats rank after all present ones.
    Rank < n_k // 2 = first half.
    """
    keys = rng.random((n_perm, *mask.shape)) if isinstance(rng, np.random.Generator) else rng.copy()
    keys[:, ~mask] = np.inf
    return np.argsort(np.argsort(keys, axis=-1), axis=-1).astype(np.int16)


def split_half_r(counts: np.ndarray, mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Pearson r between split halves, (n_units, n_perm).

    counts: (n_units, n_clips, n_repeats, n_bins); positions: (n_perm, n_clips, n_repeats) from
    ``split_positions``, the same splits for every unit. Clips with fewer than 2 repeats drop out.
    """
    n_k = mask.sum(1)
    usable = n_k >= 2
    if not usable.any():                      # no clip can be split: nothing to correlate
        return np.full((counts.shape[0], positions.shape[0]), np.nan)
    half = (n_k // 2)[usable, None]
    pos, m = positions[:, usable], mask[usable]
    first, second = (pos < half) & m, (pos >= half) & m
    wa = (first / np.maximum(first.sum(-1, keepdims=True), 1)).transpose(1, 0, 2)   # (k, p, r)
    wb = (second / np.maximum(second.sum(-1, keepdims=True), 1)).transpose(1, 0, 2)
    n_units, _, n_rep, n_bins = counts.shape
    c = counts[:, usable].astype(np.float64).transpose(1, 2, 0, 3).reshape(-1, n_rep, n_units * n_bins)
    # one (perm x repeat) @ (repeat x unit*bin) product per clip: BLAS does the work
    a = np.matmul(wa, c).reshape(c.shape[0], -1, n_units, n_bins)        # (k, p, u, b)
    b = np.matmul(wb, c).reshape(c.shape[0], -1, n_units, n_bins)
    a -= a.mean(axis=(0, 3), keepdims=True)
    b -= b.mean(axis=(0, 3), keepdims=True)
    with nan_quiet():
        r = np.einsum("kpub,kpub->up", a, b) / np.sqrt(
            np.einsum("kpub,kpub->up", a, a) * np.einsum("kpub,kpub->up", b, b))
    return np.clip(r, -1.0, 1.0)


def null_deal(rng: np.random.Generator, counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One unit's presentations shuffled across clips, keeping each clip's repeat count."""
    flat = counts[mask]                       # (n_presentations, n_bins), clip-major
    dealt = np.zeros_like(counts)
    dealt[mask] = flat[rng.permutation(flat.shape[0])]
    return dealt


def _deals(seed: int, stream: int, n_slots: int, start: int, stop: int) -> np.ndarray:
    """Deals ``start..stop`` of a stream: (stop - start, n_slots) permutations, the same whoever asks."""
    first, last = start // DEAL_BLOCK, (stop - 1) // DEAL_BLOCK
    base = np.broadcast_to(np.arange(n_slots), (DEAL_BLOCK, n_slots))
    blocks = [np.random.default_rng([seed, stream, b]).permuted(base, axis=1) for b in range(first, last + 1)]
    return np.concatenate(blocks)[start - first * DEAL_BLOCK:stop - first * DEAL_BLOCK]


def _slot_matrix(counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Counts as (presentation slots, units * bins) float32: each deal is then a gather of contiguous rows."""
    slots = counts[:, mask]                                                 # (u, P, b) clip-major
    return np.ascontiguousarray(slots.transpose(1, 0, 2).reshape(slots.shape[1], -1), dtype=np.float32)


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


def redealt_null_r(counts: np.ndarray, mask: np.ndarray, n_perm: int, seed: int) -> np.ndarray:
    """Null split-half r, (n_units, n_perm), each split on a deal of its own.

    A random deal followed by a random split is a random partition of the presentations
    into the clips' halves (sizes n_k // 2 and the rest): one sparse product per split.
    A deal is uniform over slots, so the slots can be laid out as every clip's first half,
    then every clip's second half, then the clips too small to split: the halves' sums
    are then plain slices.
    """
    n_units, _, _, n_bins = counts.shape
    n_k = mask.sum(1)
    n_k = n_k[n_k > 0]
    usable = n_k >= 2
    if not usable.any():                      # no clip can be split: nothing to correlate
        return np.full((n_units, n_perm), np.nan)
    h_a = (n_k // 2)[usable].astype(np.float64)
    h_b = (n_k - n_k // 2)[usable].astype(np.float64)
    sizes = np.concatenate([h_a, h_b, n_k[~usable]]).astype(np.int64)
    bounds = np.cumsum(sizes) - sizes
    n_c = h_a.size
    n_cells = n_c * n_bins
    flat = _slot_matrix(counts, mask)
    out = np.empty((n_units, n_perm))

    def total(weights: np.ndarray, x: np.ndarray) -> np.ndarray:          # weighted sum over clips, then bins
        return (weights.astype(x.dtype) @ x).astype(np.float64).reshape(x.shape[0], n_units, n_bins).sum(-1)

    for done in range(0, n_perm, DEAL_BLOCK):
        deals = _deals(seed, NULL_DEALS, flat.shape[0], done, min(done + DEAL_BLOCK, n_perm))
        sums = _group_sums(flat, deals, bounds)
        sa, sb = sums[:, :n_c], sums[:, n_c:2 * n_c]                       # halves' sums: (deals, clips, u * b)
        ta, tb = total(1 / h_a, sa), total(1 / h_b, sb)                     # sums of the half means
        cov = total(1 / (h_a * h_b), sa * sb) - ta * tb / n_cells
        var_a = total(1 / h_a ** 2, sa * sa) - ta ** 2 / n_cells
        var_b = total(1 / h_b ** 2, sb * sb) - tb ** 2 / n_cells
        with nan_quiet():
            out[:, done:done + len(deals)] = (cov / np.sqrt(var_a * var_b)).T
    return np.clip(out, -1.0, 1.0)


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


def agreement(counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Closed-form split-half agreement of every unit, (n_units,).

    Over the (clip, bin) cells of clips with >= 2 repeats: V = variance of the cell means,
    s² = within-clip variance pooled per bin, signal = V - mean(s²/n), and
    ``agreement = signal / sqrt((signal + mean(s²/h1)) (signal + mean(s²/h2)))`` with
    h1 = n // 2, h2 = n - h1: the correlation two half-means are expected to have.
    """
    usable = mask.sum(1) >= 2
    if not usable.any():
        return np.full(counts.shape[0], np.nan)
    c = counts[:, usable].astype(np.float64)                                  # (u, C, r, b)
    sums = c.sum(2).transpose(1, 0, 2).reshape(c.shape[1], -1)               # (C, u * b)
    return _agreement(sums, (c ** 2).sum((1, 2)).reshape(-1), mask[usable].sum(1), counts.shape[0])


def _exceedances(flat: np.ndarray, mask: np.ndarray, units: np.ndarray, observed: np.ndarray, seed: int,
                 start: int, stop: int) -> np.ndarray:
    """How many of deals ``start..stop`` reach each unit's observed agreement."""
    n_k = mask.sum(1)
    n_k = n_k[n_k > 0]
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


def permutation_p(counts: np.ndarray, mask: np.ndarray, seed: int, n_null: int) -> tuple[np.ndarray, np.ndarray]:
    """Observed agreement and its permutation p-value for every unit (see module doc)."""
    observed = agreement(counts, mask)
    if not (mask.sum(1) >= 2).any():
        return observed, np.full(observed.shape, np.nan)
    everyone = np.arange(counts.shape[0])
    exceed = _exceedances(_slot_matrix(counts, mask), mask, everyone, observed, seed, 0, FIRST_STAGE_DEALS)
    n_deals = np.full(observed.shape, FIRST_STAGE_DEALS)
    candidates = np.flatnonzero((1 + exceed) / (1 + FIRST_STAGE_DEALS) <= CANDIDATE_P)
    if candidates.size and n_null > FIRST_STAGE_DEALS:
        exceed[candidates] += _exceedances(_slot_matrix(counts[candidates], mask), mask, candidates,
                                           observed[candidates], seed, FIRST_STAGE_DEALS, n_null)
        n_deals[candidates] = n_null
    p = (1 + exceed) / (1 + n_deals)
    return observed, np.where(np.isfinite(observed), p, np.nan)


def summarize(unit_ids: np.ndarray, unit_names: list[str], r_true: np.ndarray, r2_null: np.ndarray,
              params: ReliabilityParams, observed: np.ndarray | None = None, p_value: np.ndarray | None = None
              ) -> ReliabilityResult:
    """d' and the Spearman-Brown reliability from the split-half distributions; q-values from the p-values."""
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
                             params=params)


def observation_groups(aligned: AlignedCounts) -> list[tuple[np.ndarray, np.ndarray]]:
    """(unit rows, mask) per distinct pattern of observed presentations (one group when all are observed)."""
    if aligned.observed is None:
        return [(np.arange(aligned.counts.shape[0]), aligned.mask)]
    flat = aligned.unit_mask.reshape(aligned.counts.shape[0], -1)
    patterns, which = np.unique(flat, axis=0, return_inverse=True)
    return [(np.flatnonzero(which.ravel() == g), patterns[g].reshape(aligned.mask.shape))
            for g in range(patterns.shape[0])]


def reliability(aligned: AlignedCounts, params: ReliabilityParams = ReliabilityParams(),
                chunk: int = 32, progress: bool = False) -> ReliabilityResult:
    """Split-half reliability statistics of every unit in ``aligned`` (see module doc).

    Units observed during different presentations (``obs_intervals``) are analysed in groups
    sharing a pattern; the splits come from the same random keys in every group.

    Examples
    --------
    >>> from nwb_it.nwb import read_aligned                                        # doctest: +SKIP
    >>> res = reliability(read_aligned(nwbfile))                                  # doctest: +SKIP
    >>> res.to_dataframe().query("responsive").shape[0]                           # doctest: +SKIP
    75
    """
    n_units = aligned.counts.shape[0]
    rng = np.random.default_rng(np.random.SeedSequence([params.seed]))
    true_keys = rng.random((params.n_perm, *aligned.mask.shape))
    null_keys = rng.random((params.n_perm, *aligned.mask.shape))       # drawn either way: same splits per seed
    r_true = np.empty((n_units, params.n_perm))
    r_null = np.empty((n_units, params.n_perm))
    observed, p_value = np.empty(n_units), np.empty(n_units)
    with tqdm(total=n_units, desc="reliability", unit="unit", disable=not progress, leave=False) as bar:
        for rows, mask in observation_groups(aligned):
            true_pos = split_positions(true_keys, mask, 0)
            null_pos = split_positions(null_keys, mask, 0) if params.null == "once" else None
            for lo in range(0, rows.size, chunk):
                units = rows[lo:lo + chunk]
                counts = aligned.counts[units]
                r_true[units] = split_half_r(counts, mask, true_pos)
                if params.null == "once":
                    dealt = np.stack([null_deal(np.random.default_rng(np.random.SeedSequence([params.seed, int(uid)])),
                                                c, mask) for c, uid in zip(counts, aligned.unit_ids[units])])
                    r_null[units] = split_half_r(dealt, mask, null_pos)
                bar.update(units.size)
            group = aligned.counts[rows]
            if params.null == "redeal":
                r_null[rows] = redealt_null_r(group, mask, params.n_perm, params.seed)
            observed[rows], p_value[rows] = permutation_p(group, mask, params.seed, params.n_null)
    return summarize(aligned.unit_ids, aligned.unit_names, r_true, r_null ** 2, params, observed, p_value)
