"""Split-half reliability of each unit's responses across clips, with the lab's d' and more.

For every unit (the lab's ``real_stats.ipynb``):

1. counts per presentation in bins of the analysis window (:func:`~nwb_it.process.binning.bin_aligned`);
2. true distribution, ``n_perm`` times: within every clip, repeats in random
   order, split at ``n_k // 2``, each half's mean count per bin; Pearson r of the
   two halves' (clip x bin) vectors, r² recorded. Clips whose halves cannot both
   be filled (one repeat) drop out, as pandas' pairwise-complete ``corr`` did;
3. null: the unit's presentations pooled, shuffled once and dealt back out
   keeping each clip's repeat count, then step 2 on that assignment;
4. ``d' = (mean r2_true - mean r2_null) / (0.5 (sd_true + sd_null))`` (NaN-aware,
   population sd), responsive when ``d' > cutoff``.

Added here: the Spearman-Brown corrected split-half reliability
``mean(2 r / (1 + r))`` over the true splits, and the permutation p-value of the
mean true r² against the null r²s, ``(1 + #{null >= mean true}) / (1 + n_perm)``.

Everything is vectorised over units, permutations and clips (one BLAS product per
clip); see :func:`reliability` for how the random numbers are drawn.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..core.numeric import nan_quiet
from ..core.params import ReliabilityParams
from ..core.results import AlignedCounts, ReliabilityResult
from .stats import spearman_brown


def split_positions(rng: np.random.Generator, mask: np.ndarray, n_perm: int) -> np.ndarray:
    """Random rank of every repeat within its clip, per permutation: (n_perm, n_clips, n_repeats).

    Absent repeats rank after all present ones. Rank < n_k // 2 = first half.
    """
    keys = rng.random((n_perm, *mask.shape))
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


def summarize(unit_ids: np.ndarray, unit_names: list[str], r_true: np.ndarray, r2_null: np.ndarray,
              params: ReliabilityParams) -> ReliabilityResult:
    """d', Spearman-Brown reliability and p-value from the split-half distributions."""
    r2_true = r_true ** 2
    with nan_quiet():
        mean_true = np.nanmean(r2_true, 1)
        dprime = (mean_true - np.nanmean(r2_null, 1)) / (0.5 * (np.nanstd(r2_true, 1) + np.nanstd(r2_null, 1)))
        reliability_sb = np.nanmean(spearman_brown(r_true), 1)
    valid = np.isfinite(r2_null)
    exceed = (r2_null >= mean_true[:, None]) & valid
    p = (1 + exceed.sum(1)) / (1 + valid.sum(1))
    p_value = np.where(np.isnan(mean_true) | (valid.sum(1) == 0), np.nan, p)
    return ReliabilityResult(unit_ids=np.asarray(unit_ids), unit_names=list(unit_names), r2_true=r2_true,
                             r2_null=r2_null, r_true=r_true, dprime=dprime, reliability=reliability_sb,
                             p_value=p_value, params=params)


def reliability(aligned: AlignedCounts, params: ReliabilityParams = ReliabilityParams(),
                chunk: int = 32, progress: bool = False) -> ReliabilityResult:
    """Split-half reliability statistics of every unit in ``aligned``.

    The random splits depend on the seed alone and are shared by all units; each
    unit's null deal comes from its own stream ``SeedSequence([seed, unit_id])``,
    so a unit's numbers never depend on which other units are analysed with it.

    Examples
    --------
    >>> from nwb_it.nwb import read_aligned                                        # doctest: +SKIP
    >>> res = reliability(read_aligned(nwbfile))                                  # doctest: +SKIP
    >>> res.to_dataframe().query("responsive").shape[0]                           # doctest: +SKIP
    75
    """
    n_units = aligned.counts.shape[0]
    rng = np.random.default_rng(np.random.SeedSequence([params.seed]))
    true_pos = split_positions(rng, aligned.mask, params.n_perm)
    null_pos = split_positions(rng, aligned.mask, params.n_perm)
    r_true = np.empty((n_units, params.n_perm))
    r_null = np.empty((n_units, params.n_perm))
    with tqdm(total=n_units, desc="reliability", unit="unit", disable=not progress, leave=False) as bar:
        for lo in range(0, n_units, chunk):
            units = slice(lo, min(lo + chunk, n_units))
            counts = aligned.counts[units]
            dealt = np.stack([null_deal(np.random.default_rng(np.random.SeedSequence([params.seed, int(uid)])),
                                        c, aligned.mask) for c, uid in zip(counts, aligned.unit_ids[units])])
            r_true[units] = split_half_r(counts, aligned.mask, true_pos)
            r_null[units] = split_half_r(dealt, aligned.mask, null_pos)
            bar.update(counts.shape[0])
    return summarize(aligned.unit_ids, aligned.unit_names, r_true, r_null ** 2, params)
