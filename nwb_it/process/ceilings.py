"""How much of each unit's response is explainable: split-half ceilings on all clips, with their uncertainty.

A perfect model — one that predicts a unit's true rates — reaches ``r² = ρ`` with the
measured mean response, where ``ρ`` is the reliability of that mean (its explainable
share of variance). ``ρ`` is estimated once per unit (pooled over the (clip, bin) cells)
and once per unit and bin (over clips), **on all clips**:

1. ``n_splits`` random halvings of every clip's repeats (the same halvings for every unit
   and every layer: they depend on the seed only);
2. the halves' covariance and variances over the cells, averaged over the halvings, give
   one split-half r (the cross-clip terms a finite number of halvings adds by chance,
   zero in expectation, are left out: every sum is a sum over clips, so the bootstrap
   below resamples it exactly);
3. one Spearman–Brown step, ``ρ = 2 r / (1 + r)``.

Averaging Spearman–Brown values (over folds or halvings) instead is biased: ``2r/(1+r)``
is concave and explodes near ``r = -1``, which is what the folds' few clips give at low
reliability (a median per-bin ceiling of -0.09 where the truth was 0.31).

The bootstrap resamples clips (``weights``, one row per resample); each resample's
ceiling comes from the same sums, so a score's interval can carry the ceiling's own
uncertainty (:func:`nwb_it.process.scores.score_intervals`).

Examples
--------
>>> import numpy as np
>>> from nwb_it.examples.null_session import null_aligned_counts
>>> aligned = null_aligned_counts(4, 30, 6)
>>> stats = half_stats(aligned, np.ones(30, dtype=bool), seed=0)
>>> r_pooled, r_bins = split_half_rs(stats, np.ones((1, stats.n_clips)))
>>> r_pooled.shape, r_bins.shape
((1, 4), (1, 4, 7))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.numeric import nan_quiet
from ..core.recording import AlignedCounts
from .splits import half_means
from .stats import pearson_from_moments, spearman_brown

N_SPLITS = 20
_BLOCK_BYTES = 1 << 25          # 32 MB of half means at a time


@dataclass(frozen=True)
class HalfStats:
    """Per clip, averaged over the halvings: the two half means ``a``, ``b`` and their products (units, bins,
    clips), and the products of their sums over bins (units, clips): every quantity a split-half r needs, as sums
    over clips. ``clips``: which of the kept clips they cover (those with two repeats or more)."""

    a: np.ndarray
    b: np.ndarray
    aa: np.ndarray
    bb: np.ndarray
    ab: np.ndarray
    m: np.ndarray              # the mean over all repeats (counts per bin), (units, bins, clips)
    sum_aa: np.ndarray         # mean over halvings of (sum over bins of a)², (units, clips)
    sum_bb: np.ndarray
    sum_ab: np.ndarray
    clips: np.ndarray

    @property
    def n_clips(self) -> int:
        return self.a.shape[-1]

    def terms(self) -> np.ndarray:
        """(8, units, bins, clips): a, b, aa, bb, ab, and each clip's variance over halvings of a and b (and their
        covariance) in each bin: aa - a², bb - b², ab - a b."""
        return np.stack([self.a, self.b, self.aa, self.bb, self.ab,
                         self.aa - self.a ** 2, self.bb - self.b ** 2, self.ab - self.a * self.b])

    def pooled_within(self) -> np.ndarray:
        """(3, units, clips): each clip's variance over halvings of its a and b summed over bins (and their
        covariance): the bins of a clip share its halving, so their sums vary together."""
        sa, sb = self.a.sum(1), self.b.sum(1)
        return np.stack([self.sum_aa - sa ** 2, self.sum_bb - sb ** 2, self.sum_ab - sa * sb])


def half_stats(aligned: AlignedCounts, keep: np.ndarray, seed: int, n_splits: int = N_SPLITS) -> HalfStats:
    """:class:`HalfStats` of ``n_splits`` random halvings of every kept clip's repeats (the seed's own stream)."""
    rng = np.random.default_rng([seed, 99])
    n_bins = aligned.edges.size - 1
    block = max(1, _BLOCK_BYTES // max(1, 8 * aligned.n_units * int(keep.sum()) * n_bins))
    sums = None
    for lo in range(0, n_splits, block):                 # blocks draw the numbers n_splits single draws would
        ma, mb = half_means(aligned, keep, rng, min(block, n_splits - lo))      # (splits, units, clips, bins)
        ta, tb = ma.sum(-1), mb.sum(-1)                                          # sums over bins
        part = [x.sum(0) for x in (ma, mb, ma * ma, mb * mb, ma * mb, ta * ta, tb * tb, ta * tb)]
        sums = part if sums is None else [s + p for s, p in zip(sums, part)]
    a, b, aa, bb, ab = (np.swapaxes(s / n_splits, -1, -2) for s in sums[:5])  # (units, bins, clips)
    sum_aa, sum_bb, sum_ab = (s / n_splits for s in sums[5:])                 # (units, clips)
    two = aligned.mask[keep].sum(1) >= 2
    m = np.swapaxes(aligned.mean_rates()[:, keep][:, two] * aligned.bin_size, -1, -2)      # counts, like a and b
    return HalfStats(a, b, aa, bb, ab, m, sum_aa, sum_bb, sum_ab, np.flatnonzero(two))


def split_half_r(n, sa, sb, saa, sbb, sab, within_aa, within_bb, within_ab) -> np.ndarray:
    """Split-half r from weighted sums over clips, the halvings' covariance and variances averaged (NaN where a
    half is constant)."""
    with nan_quiet():
        cov = sab - sa * sb / n - within_ab / n
        va = saa - sa ** 2 / n - within_aa / n
        vb = sbb - sb ** 2 / n - within_bb / n
    return pearson_from_moments(cov, va, vb, saa, sbb)


def split_half_rs(stats: HalfStats, weights: np.ndarray, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Split-half r under clip ``weights`` (resamples, clips): pooled over the (clip, bin) cells (resamples, units)
    and by bin (resamples, units, bins). A row of ones is the estimate itself; multinomial counts resample."""
    terms = stats.terms().astype(dtype)                                       # (8, units, bins, clips)
    w = np.asarray(weights, dtype=dtype)
    sums = terms @ w.T                                                        # (8, units, bins, resamples)
    n = w.sum(1)                                                              # (resamples,)
    by_bin = split_half_r(n, *sums)
    within = stats.pooled_within().astype(dtype) @ w.T                        # (3, units, resamples)
    pooled = split_half_r(n * terms.shape[2], *sums[:5].sum(2), *within)     # every (clip, bin) cell
    return np.moveaxis(pooled, -1, 0).astype(np.float64), np.moveaxis(by_bin, -1, 0).astype(np.float64)


def corrected_spearman_brown(r: np.ndarray, r_var: np.ndarray) -> np.ndarray:
    """Spearman–Brown of a split-half r with its second-order bias removed: ``2r/(1+r)`` is concave, so on a noisy
    r it comes out low (by ~0.03 at 60 clips whatever the reliability: a third of a 0.08 ceiling); adding
    ``2 var(r) / (1+r)³`` (the delta method, ``var(r)`` from the bootstrap) takes that back."""
    with nan_quiet():
        bend = np.clip(1 + r, 0.5, 2.0) ** 3             # no correction blows up where r nears -1
        return spearman_brown(r) + 2 * r_var / bend


@dataclass(frozen=True)
class Ceilings:
    """Per unit (pooled over cells) and per unit and bin: the ceiling (reliability of the mean response, the r²
    a perfect model reaches), its 95 % bootstrap interval over clips, and each bootstrap resample's value (the
    score intervals divide by them)."""

    pooled: np.ndarray             # (units,)
    by_bin: np.ndarray             # (units, bins)
    pooled_ci: np.ndarray          # (units, 2)
    by_bin_ci: np.ndarray          # (units, bins, 2)
    pooled_boot: np.ndarray        # (resamples, units)
    by_bin_boot: np.ndarray        # (resamples, units, bins)


def bootstrap_weights(n_clips: int, n_boot: int, seed: int) -> np.ndarray:
    """(resamples, clips) multinomial counts: the clips resampled with replacement (the seed's own stream)."""
    rng = np.random.default_rng([seed, 95])
    return rng.multinomial(n_clips, np.full(n_clips, 1 / n_clips), size=n_boot).astype(np.float64)


def clip_ceilings(aligned: AlignedCounts, keep: np.ndarray, seed: int, n_boot: int, n_splits: int = N_SPLITS
                  ) -> tuple[Ceilings, np.ndarray]:
    """:class:`Ceilings` of the kept clips and the bootstrap weights (resamples, kept clips) behind them: clips with
    fewer than two repeats have weight 0 in the ceilings and count in the scores."""
    stats = half_stats(aligned, keep, seed, n_splits)
    n_kept = int(keep.sum())
    weights = bootstrap_weights(n_kept, n_boot, seed)
    r_pooled, r_bins = split_half_rs(stats, np.ones((1, stats.n_clips)))
    boot_r_pooled, boot_r_bins = split_half_rs(stats, weights[:, stats.clips], np.float32)
    with nan_quiet():
        var_pooled, var_bins = np.nanvar(boot_r_pooled, 0), np.nanvar(boot_r_bins, 0)
    pooled, by_bin = (corrected_spearman_brown(r_pooled, var_pooled), corrected_spearman_brown(r_bins, var_bins))
    boot_pooled = corrected_spearman_brown(boot_r_pooled, var_pooled)
    boot_bins = corrected_spearman_brown(boot_r_bins, var_bins)
    with nan_quiet():
        pooled_ci = np.nanpercentile(boot_pooled, [2.5, 97.5], axis=0).T
        bins_ci = np.moveaxis(np.nanpercentile(boot_bins, [2.5, 97.5], axis=0), 0, -1)
    return Ceilings(pooled[0], by_bin[0], pooled_ci, bins_ci, boot_pooled, boot_bins), weights
