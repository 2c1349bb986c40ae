"""How held-out predictions are scored: over every clip, pooled over the (clip, bin) cells or bin by bin.

The encoding model's held-out predictions of all outer folds are pooled, and r is taken
over all clips at once (:func:`pooled_r`), predictions and measures each centred within
their outer fold, then divided by a ceiling estimated once on all clips
(:mod:`nwb_it.process.ceilings`). Scoring each fold's ~6 clips apart and averaging gave a
noisy r per fold and, with per-fold ceilings, a biased ratio; pooling raw predictions
correlates what differs only between folds — a fold's training means leave its held-out
clips out and anticorrelate with them — which the centring removes.

:func:`score_intervals` resamples clips and divides each resample's r by that resample's
ceiling: the interval carries the ceiling's uncertainty too.

Arrays are (units, clips, bins).
"""
from __future__ import annotations

import numpy as np

from ..core.numeric import nan_quiet
from ..core.results import bin_score, normalized_score
from .stats import FLAT_RTOL, is_flat, pearson_from_moments


def _r_from_sums(n, sp, sm, spp, smm, spm, rtol: float = FLAT_RTOL) -> np.ndarray:
    """A prediction's score from weighted sums: Pearson r (:func:`~nwb_it.process.stats.pearson_from_moments`, NaN
    where the measure is constant), and 0 where the prediction alone is constant: a model that predicts no
    variation explains none (a score, not a correlation: the one place a flat side is not NaN). ``rtol``: the
    sums' rounding (float32 sums need a looser one)."""
    with nan_quiet():
        vp, vm = spp - sp ** 2 / n, smm - sm ** 2 / n                        # the variances, once
        r = pearson_from_moments(spm - sp * sm / n, vp, vm, spp, smm, rtol)
    return np.where(is_flat(vp, spp, rtol) & ~is_flat(vm, smm, rtol), 0.0, r)


#: Most float32 values one block of bootstrap sums holds (64 MB).
_BLOCK_VALUES = 1 << 24


def _centred_within(x: np.ndarray, fold: np.ndarray, fold_scale: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (units, clips, bins) minus each outer fold's means: per bin over the fold's clips (for r by bin) and
    per unit over the fold's cells (for r over all cells, the time course kept), in units of the unit's sd over
    all clips (float32 sums then lose nothing). With ``fold_scale`` (predictions), each fold's values are first
    put in units of their own sd over the fold's cells: the folds' models differ in scale (their penalties), and
    pooled as they were, the larger-scaled folds' chance anticorrelation weighed most (r ~ -0.03 per bin for a
    useless model; 0.000 +- 0.005 scaled)."""
    by_bin, pooled = np.empty_like(x, dtype=np.float64), np.empty_like(x, dtype=np.float64)
    for f in np.unique(fold):
        part = x[:, fold == f]
        bin_mean = part.mean(1, keepdims=True)
        flat = np.ptp(part, axis=1) <= 1e-12 * np.abs(part).max(1)
        by_bin[:, fold == f] = np.where(flat[:, None, :], 0.0, part - bin_mean)       # a flat bin stays exactly flat
        pooled[:, fold == f] = by_bin[:, fold == f] + (bin_mean - part.mean((1, 2), keepdims=True))
        if fold_scale:
            sd_f = np.sqrt((pooled[:, fold == f] ** 2).mean((1, 2)))
            sd_f = np.where(sd_f > 0, sd_f, 1.0)[:, None, None]
            by_bin[:, fold == f] /= sd_f
            pooled[:, fold == f] /= sd_f
    sd = np.sqrt((pooled ** 2).mean((1, 2)))
    sd = np.where(sd > 0, sd, 1.0)[:, None, None]
    return by_bin / sd, pooled / sd


def within_fold_r(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, weights: np.ndarray,
                  dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """r over all clips of predictions and measures each centred within its outer fold, under clip ``weights``
    (resamples, clips): over all cells (resamples, units) and by bin (resamples, units, bins).

    Pooling every clip gives one stable r (a fold's ~6 clips give a noisy one); centring within the fold removes
    what differs only between folds — a fold's training means leave its held-out clips out and so anticorrelate
    with them (a useless model scored r ~ -0.09 per bin pooled raw) — and each fold's predictions are in units of
    their own spread (see :func:`_centred_within`). The sums are one product per block of resamples, in
    ``dtype`` (float32 for the bootstrap, r within ~1e-5 of float64's).
    """
    n_units, _, n_bins = predicted.shape
    n_boot = weights.shape[0]
    if n_units == 0:                             # no unit scored (none passed the ceiling rule): empty, not an error
        return np.empty((n_boot, 0)), np.empty((n_boot, 0, n_bins))
    (p, p_all), (m, m_all) = _centred_within(predicted, fold, fold_scale=True), _centred_within(measured, fold)
    terms = np.concatenate([np.stack([p, m, p * p, m * m, p * m]),
                            np.stack([p_all, m_all, p_all ** 2, m_all ** 2, p_all * m_all]).sum(3, keepdims=True)],
                           axis=3).transpose(0, 1, 3, 2).astype(dtype)           # (5, units, bins + 1, clips)
    flat_tol = FLAT_RTOL if dtype == np.float64 else 1e-5
    out = np.empty((n_units, n_bins + 1, n_boot))
    block = max(1, _BLOCK_VALUES // (5 * n_units * (n_bins + 1)))
    for lo in range(0, n_boot, block):
        w = weights[lo:lo + block].astype(dtype)
        n = w.sum(1) * np.r_[np.ones(n_bins), n_bins].astype(dtype)[:, None]       # (bins + 1, boot)
        out[..., lo:lo + block] = _r_from_sums(n, *(terms @ w.T), flat_tol)
    out = np.moveaxis(out, -1, 0)                                                  # (boot, units, bins + 1)
    return out[:, :, n_bins], out[:, :, :n_bins]


def pooled_r(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, by_bin: bool = False) -> np.ndarray:
    """The held-out Pearson r of every unit over all clips, each clip's cells centred within its outer fold
    (:func:`within_fold_r`): over the (clip, bin) cells (units,), or over clips in every bin (units, bins).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 10, 3))
    >>> one_fold = np.zeros(10, dtype=int)
    >>> np.allclose(pooled_r(x, 2 * x + 1, one_fold), 1.0), pooled_r(x, x, one_fold, by_bin=True).shape
    (True, (2, 3))
    """
    pooled, bins = within_fold_r(predicted, measured, np.asarray(fold), np.ones((1, predicted.shape[1])))
    return bins[0] if by_bin else pooled[0]


def _median_interval(scores: np.ndarray) -> np.ndarray:
    """95 % percentile interval over resamples of the median over units: (2,) or (bins, 2)."""
    with nan_quiet():
        medians = np.nanmedian(scores, axis=1)                                # (resamples[, bins])
        low, high = np.nanpercentile(medians, [2.5, 97.5], axis=0)
    return np.stack([low, high], axis=-1)


def score_intervals(predicted: np.ndarray, measured: np.ndarray, fold: np.ndarray, weights: np.ndarray,
                    ceiling_boot: np.ndarray, ceiling_bins_boot: np.ndarray, units: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """95 % bootstrap intervals (clips resampled) over the included ``units``: of the median normalized score
    (2,); by bin, of the bin's score (bins, 2) — the median of sign(r) r² over the median ceiling — and of the
    bin's median ceiling (bins, 2).

    ``weights`` (resamples, clips): the resamples behind ``ceiling_boot`` (resamples, units) and
    ``ceiling_bins_boot`` (resamples, units, bins), so each resample's r meets the same resample's ceiling.
    One pass over the resamples (float32 sums of centred cells, r within 1e-5 of float64).
    """
    r_pooled, r_bins = within_fold_r(predicted[units], measured[units], fold, weights, np.float32)
    with nan_quiet():
        bins = np.nanpercentile(bin_score(r_bins, ceiling_bins_boot[:, units], axis=1), [2.5, 97.5], axis=0).T
        ceiling_ci = np.nanpercentile(np.nanmedian(ceiling_bins_boot[:, units], axis=1), [2.5, 97.5], axis=0).T
    return _median_interval(normalized_score(r_pooled, ceiling_boot[:, units])), bins, ceiling_ci


def bin_scores(r: np.ndarray, ceiling: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Per bin over the ``units`` (r and ceiling: units x bins): the bin's score
    (:func:`~nwb_it.core.results.bin_score`).

    Examples
    --------
    >>> bin_scores(np.array([[0.5], [0.3]]), np.array([[0.25], [0.09]]), np.array([True, True]))
    array([1.])
    """
    return bin_score(r[units], ceiling[units], axis=0)
