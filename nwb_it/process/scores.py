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


def _r_from_sums(n, sp, sm, spp, smm, spm, flat_tol: float = 1e-12) -> np.ndarray:
    """Pearson r from weighted sums: 0 where the prediction is constant and the measure is not, NaN where the
    measure is constant (a variance within ``flat_tol`` of its sum of squares counts as zero: rounding)."""
    with nan_quiet():
        vp, vm = spp - sp ** 2 / n, smm - sm ** 2 / n
        r = (spm - sp * sm / n) / np.sqrt(vp * vm)
    flat_measure = vm <= flat_tol * np.maximum(smm, 1e-30)
    flat_prediction = vp <= flat_tol * np.maximum(spp, 1e-30)
    return np.where(flat_measure, np.nan, np.where(flat_prediction, 0.0, r))


def _centred(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fold's cells (units, clips, bins) in units of the unit's sd: minus their bin's mean over the fold's
    clips (for r by bin) and minus the unit's mean (for r over all cells), two arrays of the same shape.

    Pearson r is unchanged by a shift or a scale per unit, and small centred numbers lose nothing to float32
    sums; a bin whose values are all equal becomes exact zeros (a flat prediction stays flat).
    """
    bin_mean = x.mean(1, keepdims=True)
    flat = np.ptp(x, axis=1) <= 1e-12 * np.abs(x).max(1)
    by_bin = np.where(flat[:, None, :], 0.0, x - bin_mean)
    pooled = by_bin + (bin_mean - x.mean((1, 2), keepdims=True))
    sd = np.sqrt((pooled ** 2).mean((1, 2)))
    sd = np.where(sd > 0, sd, 1.0)[:, None, None]
    return by_bin / sd, pooled / sd


#: Most float32 values one block of bootstrap sums holds (64 MB).
_BLOCK_VALUES = 1 << 24


def _per_fold_r(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, weights: np.ndarray,
                dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Mean over folds of r with clip ``weights`` (boot, clips): pooled (boot, units) and by bin (boot, units, bins).

    Each fold's weighted sums are one product (in ``dtype``: float32 for the bootstrap, its r within ~1e-5 of
    float64's) over the clips' terms p, m, p², m², p·m of every bin and, as one more "bin", of all bins together.
    """
    n_units, _, n_bins = predicted.shape
    n_boot = weights.shape[0]
    if n_units == 0:                             # no unit scored (none passed the ceiling rule): empty, not an error
        return np.empty((n_boot, 0)), np.empty((n_boot, 0, n_bins))
    total, count = np.zeros((n_units, n_bins + 1, n_boot), dtype), np.zeros((n_units, n_bins + 1, n_boot), dtype)
    flat_tol = 1e-12 if dtype == np.float64 else 1e-5
    block = max(1, _BLOCK_VALUES // (5 * n_units * (n_bins + 1)))
    for f in np.unique(fold):
        in_f = fold == f
        (p, p_all), (m, m_all) = _centred(predicted[:, in_f]), _centred(measured[:, in_f])
        terms = np.concatenate([np.stack([p, m, p * p, m * m, p * m]),
                                np.stack([p_all, m_all, p_all ** 2, m_all ** 2, p_all * m_all]).sum(3, keepdims=True)],
                               axis=3).transpose(0, 1, 3, 2).astype(dtype)       # (5, units, bins + 1, clips)
        for lo in range(0, n_boot, block):
            w = weights[lo:lo + block, in_f].astype(dtype)
            n = w.sum(1) * np.r_[np.ones(n_bins), n_bins].astype(dtype)[:, None]   # (bins + 1, boot)
            r = _r_from_sums(n, *(terms @ w.T), flat_tol)                            # (units, bins + 1, boot)
            ok = np.isfinite(r)
            np.add(total[..., lo:lo + block], r, out=total[..., lo:lo + block], where=ok)
            count[..., lo:lo + block] += ok
    with nan_quiet():
        mean = np.moveaxis(total / count, -1, 0).astype(np.float64)                 # (boot, units, bins + 1)
    return mean[:, :, n_bins], mean[:, :, :n_bins]


def fold_r(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, by_bin: bool = False) -> np.ndarray:
    """Mean over outer folds of the held-out Pearson r of every unit.

    Parameters
    ----------
    predicted, measured : (units, clips, bins)
    fold : (clips,) outer fold of every clip
    by_bin : False: r over the fold's (clip, bin) cells, (units,); True: r over the fold's clips in every bin,
        (units, bins)
    """
    pooled, bins = _per_fold_r(predicted, measured, fold, np.ones((1, predicted.shape[1])))
    return bins[0] if by_bin else pooled[0]


def split_half_ceiling(ma: np.ndarray, mb: np.ndarray, by_bin: bool = False, fold: np.ndarray | None = None
                       ) -> np.ndarray:
    """Spearman-Brown corrected r between two halves' means (..., units, clips, bins): over (clip, bin) cells
    (..., units), or over clips per bin (..., units, bins).

    With ``fold`` (clips,), on each fold's clips, averaged over folds: the cells the held-out r is computed on.
    """
    fold = np.zeros(ma.shape[-2], dtype=np.int64) if fold is None else np.asarray(fold)
    folds = np.unique(fold)
    member = (fold[:, None] == folds[None, :]).astype(np.float64)                 # (clips, folds)
    a, b = np.swapaxes(ma, -1, -2), np.swapaxes(mb, -1, -2)                         # (..., units, bins, clips)
    sums = [x @ member for x in (a, b, a * a, b * b, a * b)]                        # (..., units, bins, folds)
    n = member.sum(0)
    if not by_bin:
        sums, n = [s.sum(-2) for s in sums], n * ma.shape[-1]
    sa, sb, saa, sbb, sab = sums
    va, vb = saa - sa ** 2 / n, sbb - sb ** 2 / n
    with nan_quiet():
        r = (sab - sa * sb / n) / np.sqrt(va * vb)
        r[(va <= 1e-10 * saa) | (vb <= 1e-10 * sbb)] = np.nan       # a constant half: no r (not rounding's)
        return np.nanmean(2 * r / (1 + r), axis=-1)


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
    bin by bin (bins, 2), both from one pass over the resamples (float32 sums of centred cells, r within 1e-5).
    """
    w = _bootstrap_weights(fold, n_boot, seed)
    r_pooled, r_bins = _per_fold_r(predicted[included], measured[included], fold, w, np.float32)
    return _quantiles(r_pooled, ceiling[included]), _quantiles(r_bins, ceiling_bins[included])
