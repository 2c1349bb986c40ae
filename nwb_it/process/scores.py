"""How held-out predictions are scored: per outer fold, over clips, pooled or bin by bin.

Every score here is computed **within each outer fold** (the fold's held-out clips) and
averaged over folds, as Brain-Score's cross-regressed correlation does. Pooling the
held-out predictions of all folds first would correlate predictions made by different
fits: a baseline whose prediction only differs between folds (the onset-only mean time
course of the training clips) then correlates *negatively* with clip-selective units
(each fold's held-out clips are missing from its own mean), which is not a property of
the units. A prediction that is constant within a fold carries no information there
and scores 0.

Arrays are (units, clips, bins); ``fold`` gives every clip's outer fold.
"""
from __future__ import annotations

import numpy as np

from ..core.numeric import nan_quiet


def _r_from_sums(n, sp, sm, spp, smm, spm) -> np.ndarray:
    """Pearson r from weighted sums; 0 where the prediction is constant and the measure is not."""
    with nan_quiet():
        vp, vm = spp - sp ** 2 / n, smm - sm ** 2 / n
        r = (spm - sp * sm / n) / np.sqrt(vp * vm)
    flat_prediction = (vp <= 1e-12 * np.maximum(spp, 1e-300)) & (vm > 1e-12 * np.maximum(smm, 1e-300))
    return np.where(flat_prediction, 0.0, r)


def _clip_sums(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """(5, units, clips, bins) terms p, m, p², m², p·m of every cell."""
    p, m = predicted, measured
    return np.stack([p, m, p * p, m * m, p * m])


def _per_fold_r(sums: np.ndarray, fold: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over folds of r with clip ``weights`` (boot, clips): pooled (boot, units) and by bin (boot, units, bins).

    Each fold's weighted sums are one product; the pooled sums are the bins' sums.
    """
    n_bins = sums.shape[-1]
    pooled, by_bin = [], []
    for f in np.unique(fold):
        in_f = fold == f
        stats = np.moveaxis(sums[:, :, in_f], 2, -1) @ weights[:, in_f].T          # (5, units, bins, boot)
        n = weights[:, in_f].sum(1)
        by_bin.append(_r_from_sums(n, *stats))
        pooled.append(_r_from_sums(n * n_bins, *stats.sum(2)))
    with nan_quiet():
        return (np.moveaxis(np.nanmean(np.stack(pooled), 0), -1, 0),
                np.moveaxis(np.nanmean(np.stack(by_bin), 0), -1, 0))


def fold_r(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, by_bin: bool = False) -> np.ndarray:
    """Mean over outer folds of the held-out Pearson r of every unit.

    Parameters
    ----------
    predicted, measured : (units, clips, bins)
    fold : (clips,) outer fold of every clip
    by_bin : False: r over the fold's (clip, bin) cells, (units,); True: r over the fold's clips in every bin,
        (units, bins)
    """
    pooled, bins = _per_fold_r(_clip_sums(predicted, measured), fold, np.ones((1, predicted.shape[1])))
    return bins[0] if by_bin else pooled[0]


def split_half_ceiling(ma: np.ndarray, mb: np.ndarray, by_bin: bool = False, fold: np.ndarray | None = None
                       ) -> np.ndarray:
    """Spearman-Brown corrected r between two halves' means: over (clip, bin) cells, or over clips per bin.

    With ``fold`` (clips,), on each fold's clips, averaged over folds: the cells the held-out r is computed on.
    """
    if fold is not None:
        with nan_quiet():
            return np.nanmean(np.stack([split_half_ceiling(ma[:, fold == f], mb[:, fold == f], by_bin)
                                        for f in np.unique(fold)]), 0)
    if by_bin:
        a, b = ma - ma.mean(1, keepdims=True), mb - mb.mean(1, keepdims=True)
        with nan_quiet():
            r = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    else:
        a = ma.reshape(ma.shape[0], -1)
        b = mb.reshape(mb.shape[0], -1)
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        with nan_quiet():
            r = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with nan_quiet():
        return 2 * r / (1 + r)


def normalized(r: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """sign(r) r² / ceiling (NaN where the ceiling is not positive)."""
    with nan_quiet():
        return np.where(ceiling > 0, np.sign(r) * r ** 2 / ceiling, np.nan)


def _bootstrap_weights(fold: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(boot, clips) counts: each fold's clips resampled with replacement, each fold keeping its size."""
    rng = np.random.default_rng([seed, 96])
    weights = np.zeros((n_boot, fold.size))
    for f in np.unique(fold):
        idx = np.flatnonzero(fold == f)
        weights[:, idx] = rng.multinomial(idx.size, np.full(idx.size, 1 / idx.size), size=n_boot)
    return weights


def _quantiles(r: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    with nan_quiet():
        medians = np.nanmedian(normalized(r, ceiling[None]), axis=1)          # (boot[, bins])
        low, high = np.nanpercentile(medians, [2.5, 97.5], axis=0)
    return np.stack([low, high], axis=-1)


def median_intervals(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, ceiling: np.ndarray,
                     ceiling_bins: np.ndarray, included: np.ndarray, n_boot: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """95 % bootstrap intervals (clips resampled within their folds) of the median normalized score.

    Over the ``included`` units, ceilings held fixed (a NaN ceiling leaves a cell out): pooled (2,) and
    bin by bin (bins, 2), both from one pass over the resamples (the pooled sums are the bins' sums).
    """
    w = _bootstrap_weights(fold, n_boot, seed)
    r_pooled, r_bins = _per_fold_r(_clip_sums(predicted[included], measured[included]), fold, w)
    return _quantiles(r_pooled, ceiling[included]), _quantiles(r_bins, ceiling_bins[included])
