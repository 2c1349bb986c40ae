"""Encoding model: predict each unit's PSTH from model activations on the same clock.

Per unit, the target is the repeat-averaged PSTH (clip x bin, spikes/s). For a bin
centred at ``t`` and each lag ``L`` the feature is the activation of the latest
window whose last frame began at or before ``t - L`` (window times from the
activations); the activations are reduced by PCA fitted on the training clips only,
the lags concatenated, standardised on the training rows, and a ridge regression
fitted on himalaya (:mod:`nwb_it.process.ridge`) with its penalty chosen per unit by
the held-out squared error of inner folds over training clips. Outer folds split by
clip, never by bins of one clip.

Scores (:mod:`nwb_it.process.scores`): Pearson r of the held-out predictions of all
outer folds pooled, each fold's cells centred on the fold's means, over all (clip, bin)
cells (``r``) and bin by bin over all clips (``time``: when after onset the model
matches). Noise ceiling: the reliability of the PSTH estimated once on all clips, per unit
and per unit and bin (:mod:`nwb_it.process.ceilings`); normalized score
``sign(r) r**2 / ceiling``. Baselines, scored the same way: the model fed another clip's
features at the same times (clip-shuffled) and the mean time course of the training
clips (onset-only: 0 bin by bin, the time course over all cells).
A unit (a cell) counts in the medians when the lower end of its ceiling's 95 % interval is
above ``min_ceiling``; the others are reported only.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.recording import AlignedCounts
from ..core.results import Activations, EncodingResult, TimeEncodingResult
from .ceilings import Ceilings, clip_ceilings
from .ridge import ridge_cv_predict
from .scores import pooled_r, score_intervals
from .stats import FoldPCA


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


#: Fewest clips an outer fold holds (fewer folds for few clips).
MIN_CLIPS_PER_FOLD = 5


def clip_folds(n_clips: int, n_folds: int, seed: int) -> np.ndarray:
    """Outer fold of every clip (folds split clips, never bins of one clip), at least 5 clips a fold when possible."""
    folds = max(2, min(n_folds, n_clips // MIN_CLIPS_PER_FOLD))
    return np.random.default_rng(seed).permutation(np.arange(n_clips) % folds)


def layer_values(acts: Activations, layer: str) -> np.ndarray:
    return acts.layers[layer].astype(np.float64)


def clip_derangement(n_clips: int, seed: int) -> np.ndarray:
    """Another clip for every clip (no clip keeps its own): the clip-shuffled baseline's features."""
    perm = np.random.default_rng([seed, 97]).permutation(n_clips)
    other = np.empty(n_clips, dtype=np.int64)
    other[perm] = np.roll(perm, -1)               # a random cycle through all clips
    return other


def onset_only(psth: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Each held-out clip predicted by the mean time course of its fold's training clips: (units, clips, bins)."""
    out = np.empty_like(psth)
    for f in np.unique(fold):
        out[:, fold == f] = psth[:, fold != f].mean(1, keepdims=True)
    return out


def fold_components(values: np.ndarray, rows: np.ndarray, fold: np.ndarray, n_pcs: int) -> list[np.ndarray]:
    """Per outer fold, every activation row's scores on the PCs fitted on the windows the fold's training clips
    use (``rows`` from :func:`window_features`): one Gram matrix, each fold removing its held-out clips'."""
    referenced = np.unique(rows)
    used = [np.unique(rows[fold != f]) for f in range(fold.max() + 1)]
    k = min(n_pcs, min(u.size for u in used) - 1, values.shape[1])
    return FoldPCA(values, referenced).scores_many([np.setdiff1d(referenced, u) for u in used], k)


@dataclass(frozen=True)
class Design:
    """What every layer's model of one session shares: the clips kept (those with activations), their PSTHs
    (units, clips, bins), the activation row of every (clip, bin, lag) and the outer fold of every clip."""

    keep: np.ndarray
    psth: np.ndarray
    rows: np.ndarray
    fold: np.ndarray

    @classmethod
    def of(cls, aligned: AlignedCounts, acts: Activations, params: CompareParams) -> Design:
        act_clip, act_time = acts.window_stimulus_index, acts.time + params.time_offset
        keep = np.isin(aligned.clip_index, act_clip)
        rows = window_features(act_clip, act_time, aligned.clip_index[keep], aligned.bin_centres, params.lags)
        return cls(keep, aligned.mean_rates()[:, keep], rows, clip_folds(int(keep.sum()), params.folds, params.seed))

    def ceilings(self, aligned: AlignedCounts, params: CompareParams) -> tuple[Ceilings, np.ndarray]:
        """The units' ceilings on the kept clips and the bootstrap resamples (resamples, clips) behind them."""
        return clip_ceilings(aligned, self.keep, params.seed, params.n_boot)


def _fit_folds(values: np.ndarray, rows: np.ndarray, psth: np.ndarray, fold: np.ndarray,
               params: CompareParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out predictions of the model and of the clip-shuffled baseline, and the penalties chosen per fold."""
    n_units, n_clips, n_bins = psth.shape
    y = psth.transpose(1, 2, 0).reshape(n_clips * n_bins, n_units)
    row_clip = np.repeat(np.arange(n_clips), n_bins)
    other = clip_derangement(n_clips, params.seed)
    predicted, shuffled = np.zeros_like(y), np.zeros_like(y)
    chosen = np.zeros((fold.max() + 1, n_units))
    for f, pcs in enumerate(fold_components(values, rows, fold, params.n_pcs)):
        train, test = fold[row_clip] != f, fold[row_clip] == f
        for feature_rows, out in ((rows, predicted), (rows[other], shuffled)):
            x = pcs[feature_rows].reshape(n_clips * n_bins, -1)                  # lags concatenated
            out[test], alphas = ridge_cv_predict(x[train], y[train], x[test], row_clip[train],
                                                 backend=params.backend)
            if out is predicted:
                chosen[f] = alphas
    as_cube = lambda a: a.reshape(n_clips, n_bins, n_units).transpose(2, 0, 1)  # noqa: E731
    return as_cube(predicted), as_cube(shuffled), chosen


def encoding_ceilings(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams()
                      ) -> tuple[Ceilings, np.ndarray]:
    """The ceilings :func:`encoding_model` scores against, and their bootstrap resamples: the same for every
    layer of a table."""
    return Design.of(aligned, acts, params).ceilings(aligned, params)


def encoding_model(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams(),
                   ceilings: tuple[Ceilings, np.ndarray] | None = None) -> EncodingResult:
    """Cross-validated ridge encoding of every unit's PSTH from lagged, PCA-reduced activations, with baselines.

    Returns the pooled scores per unit and, in ``.time``, the same scores bin by bin
    (:class:`~nwb_it.core.results.TimeEncodingResult`). ``ceilings``: :func:`encoding_ceilings` of the same
    session, table and parameters (reused across layers); computed here when not given.
    """
    design = Design.of(aligned, acts, params)
    keep, psth, fold = design.keep, design.psth, design.fold                 # psth: (units, clips, bins)
    predicted, shuffled, chosen = _fit_folds(layer_values(acts, params.layer), design.rows, psth, fold, params)
    onset = onset_only(psth, fold)
    ceil, weights = design.ceilings(aligned, params) if ceilings is None else ceilings
    with nan_quiet():
        included = ceil.pooled_ci[:, 0] > params.min_ceiling
    if not included.any():
        warnings.warn(f"no unit passes the ceiling rule (the lower end of its ceiling's 95 % interval above "
                      f"{params.min_ceiling:g}) of {len(included)} units: every median of this comparison is empty "
                      "(NaN)", stacklevel=2)
    alpha = np.exp(np.median(np.log(chosen), axis=0))                    # the fold's penalties' geometric median
    pooled_ci, bins_ci, bin_ceiling_ci = score_intervals(predicted, psth, fold, weights, ceil.pooled_boot,
                                                         ceil.by_bin_boot, included)
    with nan_quiet():    # a bin counts where the included units' median ceiling is reliably above min_ceiling
        counted = bin_ceiling_ci[:, 0] > params.min_ceiling
        cells = included[:, None] & counted[None, :]
        bins_ci[~counted] = np.nan                   # a bin that does not count has no score, so no interval
    time = TimeEncodingResult(
        bin_start=aligned.edges[:-1], bin_stop=aligned.edges[1:], r=pooled_r(predicted, psth, fold, by_bin=True),
        ceiling=ceil.by_bin, r_clip_shuffled=pooled_r(shuffled, psth, fold, by_bin=True),
        r_onset_only=pooled_r(onset, psth, fold, by_bin=True), median_ci=bins_ci, included=cells,
        ceiling_ci=ceil.by_bin_ci)
    return EncodingResult(unit_ids=aligned.unit_ids, unit_names=aligned.unit_names,
                          r=pooled_r(predicted, psth, fold), ceiling=ceil.pooled, alpha=alpha, predicted=predicted,
                          measured=psth, fold_of_clip=fold, bin_centres=aligned.bin_centres,
                          r_clip_shuffled=pooled_r(shuffled, psth, fold), r_onset_only=pooled_r(onset, psth, fold),
                          median_ci=tuple(float(x) for x in pooled_ci),
                          clip_names=[n for n, k in zip(aligned.clip_names, keep) if k], params=params, time=time,
                          ceiling_ci=ceil.pooled_ci, included_units=included)
