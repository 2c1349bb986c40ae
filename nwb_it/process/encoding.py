"""Encoding model: predict each unit's PSTH from model activations on the same clock.

Per unit, the target is the repeat-averaged PSTH (clip x bin, spikes/s). For a bin
centred at ``t`` and each lag ``L`` the feature is the activation of the latest
window whose last frame began at or before ``t - L`` (window times from the
activations); the activations are reduced by PCA fitted on the training clips only,
the lags concatenated, and a ridge regression fitted with its penalty chosen per unit
by inner cross-validation over training clips. Outer folds split by clip, never by
bins of one clip. Score: Pearson r between the held-out predictions and the PSTH;
noise ceiling: Spearman-Brown corrected split-half reliability of the PSTH
(``2 r_half / (1 + r_half)``, mean over random splits); normalized score
``r**2 / ceiling`` (the ceiling is on the r**2 scale: Brain-Score's 2026 convention).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.results import Activations, AlignedCounts, EncodingResult, normalized_score
from .splits import half_means
from .stats import pca, pearson_columns, spearman_brown

ALPHAS = np.logspace(-3, 5, 17)


def window_features(act_clip: np.ndarray, act_time: np.ndarray, clips: np.ndarray, centres: np.ndarray,
                    lags: tuple[float, ...]) -> np.ndarray:
    """Row index into the activations for every (clip, bin, lag): (clips, bins, lags)."""
    out = np.empty((clips.size, centres.size, len(lags)), dtype=np.int64)
    for i, c in enumerate(clips):
        rows = np.flatnonzero(act_clip == c)
        rows = rows[np.argsort(act_time[rows], kind="stable")]
        t = act_time[rows]
        for j, lag in enumerate(lags):
            out[i, :, j] = rows[np.clip(np.searchsorted(t, centres - lag, side="right") - 1, 0, rows.size - 1)]
    return out


def _ridge_path(x_train, y_train, x_test, alphas):
    """Predictions of ridge regression for every alpha: (alphas, test rows, units). Intercept via centring."""
    mx, my = x_train.mean(0), y_train.mean(0)
    u, s, vt = np.linalg.svd(x_train - mx, full_matrices=False)
    uty = u.T @ (y_train - my)
    xt = (x_test - mx) @ vt.T
    shrink = s[None, :] / (s[None, :] ** 2 + alphas[:, None])           # (alphas, k)
    return np.einsum("tk,ak,ku->atu", xt, shrink, uty) + my


def clip_folds(n_clips: int, n_folds: int, seed: int) -> np.ndarray:
    """Outer fold of every clip (folds split clips, never bins of one clip)."""
    folds = min(n_folds, n_clips)
    return np.random.default_rng(seed).permutation(np.arange(n_clips) % folds)


def layer_values(acts: Activations, layer: str) -> np.ndarray:
    return acts.layers[layer].astype(np.float64)


def _cross_validate(features: Callable[[np.ndarray], np.ndarray], y: np.ndarray, n_clips: int, n_bins: int,
                    fold: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out ridge predictions of ``y`` ((clip, bin) rows x units) and the penalty chosen per fold.

    ``features(train_clips)`` gives the design matrix of every row, fitted on the training
    clips only (e.g. PCA); outer folds split by clip, the penalty by 3 inner folds over
    the training clips.
    """
    n_units = y.shape[1]
    row_clip = np.repeat(np.arange(n_clips), n_bins)
    predicted = np.zeros_like(y)
    chosen = np.zeros((fold.max() + 1, n_units))
    for f in range(fold.max() + 1):
        train_clips = np.flatnonzero(fold != f)
        x = features(train_clips)
        train = np.isin(row_clip, train_clips)
        inner = clip_folds(train_clips.size, 3, seed + 1 + f)
        inner_of_row = np.full(row_clip.size, -1)
        inner_of_row[train] = inner[np.searchsorted(train_clips, row_clip[train])]
        score = np.zeros((ALPHAS.size, n_units))
        for g in range(inner.max() + 1):
            fit, held = train & (inner_of_row != g), inner_of_row == g
            pred = _ridge_path(x[fit], y[fit], x[held], ALPHAS)
            score += np.nan_to_num(np.stack([pearson_columns(p, y[held]) for p in pred]), nan=-1.0)
        best = score.argmax(0)
        chosen[f] = ALPHAS[best]
        test = ~train
        pred = _ridge_path(x[train], y[train], x[test], ALPHAS)
        predicted[test] = pred[best, :, np.arange(n_units)].T
    return predicted, chosen


def clip_derangement(n_clips: int, seed: int) -> np.ndarray:
    """Another clip for every clip (no clip keeps its own): the clip-shuffled baseline's features."""
    perm = np.random.default_rng([seed, 97]).permutation(n_clips)
    other = np.empty(n_clips, dtype=np.int64)
    other[perm] = np.roll(perm, -1)               # a random cycle through all clips
    return other


def median_score_interval(predicted: np.ndarray, measured: np.ndarray, ceiling: np.ndarray, n_boot: int,
                          seed: int) -> tuple[float, float]:
    """95 % bootstrap interval of the median normalized score, clips resampled with replacement.

    ``predicted``/``measured``: (units, clips, bins). Per-clip sums make each resample a
    matrix product; the ceilings are held fixed.
    """

    p, m = predicted, measured
    sums = np.stack([p.sum(2), m.sum(2), (p * p).sum(2), (m * m).sum(2), (p * m).sum(2)])   # (5, units, clips)
    n_clips, n_bins = p.shape[1], p.shape[2]
    weights = np.random.default_rng([seed, 96]).multinomial(n_clips, np.full(n_clips, 1 / n_clips), size=n_boot)
    sp, sm, spp, smm, spm = (weights @ s.T for s in sums)                 # (boot, units)
    n = n_clips * n_bins
    with nan_quiet():
        r = (spm - sp * sm / n) / np.sqrt((spp - sp ** 2 / n) * (smm - sm ** 2 / n))
        medians = np.nanmedian(normalized_score(r, ceiling[None]), axis=1)
    low, high = np.nanpercentile(medians, [2.5, 97.5])
    return float(low), float(high)


def encoding_model(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams()
                   ) -> EncodingResult:
    """Cross-validated ridge encoding of every unit's PSTH from lagged, PCA-reduced activations, with baselines."""
    values = layer_values(acts, params.layer)
    act_clip, act_time = acts.window_stimulus_index, acts.time + params.time_offset
    keep = np.isin(aligned.clip_index, act_clip)
    clips = aligned.clip_index[keep]
    psth = aligned.mean_rates()[:, keep]                                  # (units, clips, bins)
    centres = aligned.bin_centres
    rows = window_features(act_clip, act_time, clips, centres, params.lags)
    n_units, n_clips, n_bins = psth.shape
    y = psth.transpose(1, 2, 0).reshape(n_clips * n_bins, n_units)
    fold = clip_folds(n_clips, params.folds, params.seed)

    def lagged_pcs(feature_rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        def features(train_clips: np.ndarray) -> np.ndarray:
            used = np.unique(feature_rows[train_clips])
            pcs, _ = pca(values, min(params.n_pcs, used.size - 1, values.shape[1]), fit_rows=used)
            return pcs[feature_rows].reshape(n_clips * n_bins, -1)        # lags concatenated
        return features

    onset = np.tile(np.eye(n_bins), (n_clips, 1))                          # time since onset, nothing else
    predicted, chosen = _cross_validate(lagged_pcs(rows), y, n_clips, n_bins, fold, params.seed)
    shuffled, _ = _cross_validate(lagged_pcs(rows[clip_derangement(n_clips, params.seed)]), y, n_clips, n_bins,
                                  fold, params.seed)
    onset_pred, _ = _cross_validate(lambda _train: onset, y, n_clips, n_bins, fold, params.seed)
    ceiling = psth_ceiling(aligned, keep, params.seed)
    alpha = np.array([np.bincount(np.searchsorted(ALPHAS, chosen[:, u])).argmax() for u in range(n_units)])
    predicted = predicted.reshape(n_clips, n_bins, n_units).transpose(2, 0, 1)
    return EncodingResult(unit_ids=aligned.unit_ids, unit_names=aligned.unit_names,
                          r=pearson_columns(predicted.reshape(n_units, -1).T, y), ceiling=ceiling,
                          alpha=ALPHAS[alpha], predicted=predicted, measured=psth, fold_of_clip=fold,
                          bin_centres=centres, r_clip_shuffled=pearson_columns(shuffled, y),
                          r_onset_only=pearson_columns(onset_pred, y),
                          median_ci=median_score_interval(predicted, psth, ceiling, params.n_boot, params.seed),
                          clip_names=[n for n, k in zip(aligned.clip_names, keep) if k], params=params)


def psth_ceiling(aligned: AlignedCounts, keep: np.ndarray, seed: int, n_splits: int = 20) -> np.ndarray:
    """Spearman-Brown corrected split-half reliability of each unit's PSTH, mean over splits."""
    rng = np.random.default_rng([seed, 99])
    out = []
    for _ in range(n_splits):
        ma, mb = half_means(aligned, keep, rng)
        r = pearson_columns(ma.reshape(ma.shape[0], -1).T, mb.reshape(mb.shape[0], -1).T)
        out.append(spearman_brown(r))
    with nan_quiet():           # a silent unit has no finite split: NaN, by design
        return np.nanmean(np.stack(out), 0)
