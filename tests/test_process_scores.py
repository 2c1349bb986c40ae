"""The comparison's scoring arithmetic against direct, slow computations of the same definitions.

The fast paths (fold sums as products, float32 bootstrap sums, all halvings at once, the PCA
of every fold from one Gram matrix) must give the numbers the definitions give.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nwb_it.core.numeric import nan_quiet
from nwb_it.core.recording import AlignedCounts
from nwb_it.process.ceilings import bootstrap_weights, half_stats, split_half_rs
from nwb_it.process.scores import pooled_r, within_fold_r
from nwb_it.process.splits import half_means
from nwb_it.process.stats import FoldPCA, pca


def _cells(seed: int = 0, units: int = 12, clips: int = 40, bins: int = 6):
    rng = np.random.default_rng(seed)
    measured = rng.poisson(4, size=(units, clips, bins)) * 20.0 + 40.0 * np.arange(bins)     # a time course
    predicted = measured + rng.normal(scale=30, size=measured.shape)
    predicted[1] = predicted[1].mean(0, keepdims=True)          # the same prediction for every clip: flat by bin
    measured[2] = 0.0                                           # a silent unit
    fold = rng.permutation(np.arange(clips) % 5)
    return predicted, measured, fold


def _direct_fold_r(predicted, measured, fold, weights=None):
    """Weighted Pearson r per fold by repeating cells, mean over folds (NaN ignored): pooled, by bin."""
    weights = np.ones(fold.size, dtype=int) if weights is None else weights.astype(int)
    pooled, by_bin = [], []
    for f in np.unique(fold):
        take = np.repeat(np.flatnonzero(fold == f), weights[fold == f])
        p, m = predicted[:, take], measured[:, take]

        def r(a, b):
            if np.ptp(b) == 0:
                return np.nan
            return 0.0 if np.ptp(a) == 0 else np.corrcoef(a, b)[0, 1]
        pooled.append([r(p[u].ravel(), m[u].ravel()) for u in range(p.shape[0])])
        by_bin.append([[r(p[u, :, b], m[u, :, b]) for b in range(p.shape[2])] for u in range(p.shape[0])])
    with nan_quiet():
        return np.nanmean(pooled, 0), np.nanmean(by_bin, 0)


def _fold_centred(x, fold, by_bin, scale=False):
    """Each fold's cells minus the fold's means (per bin, or over the fold's cells); with ``scale`` (predictions)
    divided by their sd over the fold's cells."""
    out = np.array(x, dtype=float)
    for f in np.unique(fold):
        part = out[:, fold == f]
        sd = np.sqrt(((part - part.mean((1, 2), keepdims=True)) ** 2).mean((1, 2)))[:, None, None] if scale else 1
        sd = np.where(np.asarray(sd) > 0, sd, 1.0)
        out[:, fold == f] = (part - (part.mean(1, keepdims=True) if by_bin else part.mean((1, 2), keepdims=True))) / sd
    return out


def test_pooled_r_is_pearson_r_over_all_clips_each_fold_centred():
    predicted, measured, fold = _cells()
    one = np.zeros(measured.shape[1], dtype=np.int64)
    for by_bin in (False, True):
        p, m = _fold_centred(predicted, fold, by_bin, scale=True), _fold_centred(measured, fold, by_bin)
        pooled, bins = _direct_fold_r(p, m, one)
        np.testing.assert_allclose(pooled_r(predicted, measured, fold, by_bin=by_bin), bins if by_bin else pooled,
                                   atol=1e-12)
    assert np.all(pooled_r(predicted, measured, fold, by_bin=True)[1] == 0)       # flat prediction: 0 in every bin
    assert np.all(np.isnan(pooled_r(predicted, measured, fold)[2]))               # silent unit: no r
    offsets = (predicted + 50.0 * fold[None, :, None]) * (1 + fold[None, :, None])   # only between folds
    np.testing.assert_allclose(pooled_r(offsets, measured, fold, by_bin=True), pooled_r(predicted, measured, fold,
                                                                                         by_bin=True), atol=1e-12)


def test_bootstrap_r_in_float32_equals_the_resampled_cells_r():
    """Resampled r from float32 sums equals r of the resampled cells themselves (a few resamples) and the
    float64 sums for all; a resample whose measure is constant gives NaN instead of rounding noise."""
    predicted, measured, fold = _cells(1)
    one = np.zeros(measured.shape[1], dtype=np.int64)
    weights = bootstrap_weights(measured.shape[1], 200, seed=3)
    r32 = within_fold_r(predicted, measured, one, weights, np.float32)
    r64 = within_fold_r(predicted, measured, one, weights, np.float64)
    for a, b in zip(r32, r64):
        assert np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, atol=1e-4)
    for k in (0, 7, 199):
        pooled, by_bin = _direct_fold_r(predicted, measured, one, weights[k])
        np.testing.assert_allclose(r32[0][k], pooled, atol=1e-4)
        np.testing.assert_allclose(r32[1][k], by_bin, atol=1e-4)


def test_split_half_r_from_clip_sums_equals_the_mean_over_halvings_of_each_halvings_moments():
    """The ceiling's r from per-clip sums (cross-clip terms of the halvings left out: zero in expectation) equals
    the halvings' own covariance over the geometric mean of their variances, averaged over many halvings; and a
    bootstrap row of weights equals the same on the resampled clips."""
    rng = np.random.default_rng(2)
    rates = rng.gamma(4.0, 2.0, (3, 25, 1, 4))
    counts = rng.poisson(np.broadcast_to(rates, (3, 25, 6, 4)))
    mask = np.ones((25, 6), dtype=bool)
    aligned = AlignedCounts.from_dense(counts, mask, np.arange(5) * 0.05, np.arange(3), ["a", "b", "c"],
                                       [f"c{i}" for i in range(25)], np.arange(25))
    keep = np.ones(25, dtype=bool)
    n_splits = 400
    stats = half_stats(aligned, keep, seed=5, n_splits=n_splits)
    ma, mb = half_means(aligned, keep, np.random.default_rng([5, 99]), n_splits)   # the same halvings
    pooled, by_bin = split_half_rs(stats, np.ones((1, 25)))
    ac, bc = ma - ma.mean(2, keepdims=True), mb - mb.mean(2, keepdims=True)       # (splits, units, clips, bins)
    r_bins = (ac * bc).mean((0, 2)) / np.sqrt((ac * ac).mean((0, 2)) * (bc * bc).mean((0, 2)))
    af, bf = ma - ma.mean((2, 3), keepdims=True), mb - mb.mean((2, 3), keepdims=True)
    r_pooled = (af * bf).mean((0, 2, 3)) / np.sqrt((af * af).mean((0, 2, 3)) * (bf * bf).mean((0, 2, 3)))
    np.testing.assert_allclose(by_bin[0], r_bins, atol=0.003)         # without the clips' own terms: ~0.01 off
    np.testing.assert_allclose(pooled[0], r_pooled, atol=0.003)
    weights = bootstrap_weights(25, 3, seed=1)                          # a resample = the clips repeated as drawn
    for row in weights:
        take = np.repeat(np.arange(25), row.astype(int))
        repeated = dataclasses.replace(stats, **{f: getattr(stats, f)[..., take] for f in
                                                 ("a", "b", "aa", "bb", "ab", "m", "sum_aa", "sum_bb", "sum_ab")},
                                       clips=np.arange(take.size))
        for got, want in zip(split_half_rs(stats, row[None]), split_half_rs(repeated, np.ones((1, take.size)))):
            np.testing.assert_allclose(got, want, atol=1e-10)


def test_half_means_in_one_batch_equal_one_call_per_halving():
    rng = np.random.default_rng(4)
    counts = rng.poisson(2, size=(3, 10, 6, 4))
    mask = rng.random((10, 6)) < 0.8
    mask[0, 1:] = False                                                          # a clip seen once drops out
    aligned = AlignedCounts.from_dense(counts, mask, np.arange(5) * 0.05, np.arange(3), ["a", "b", "c"],
                                       [f"c{i}" for i in range(10)], np.arange(10))
    keep = np.ones(10, dtype=bool)
    one = [half_means(aligned, keep, r) for r in [np.random.default_rng(9)] for _ in range(3)]
    ma, mb = half_means(aligned, keep, np.random.default_rng(9), n_splits=3)
    for s, (a, b) in enumerate(one):
        np.testing.assert_allclose(ma[s], a, atol=1e-12)
        np.testing.assert_allclose(mb[s], b, atol=1e-12)
    n = aligned.mask[1:].sum(1)[None, :, None]                                   # the clips kept (two or more)
    whole = (counts[:, 1:] * aligned.mask[1:, :, None]).sum(2) / n               # direct: all repeats' mean
    np.testing.assert_allclose((n // 2 * ma + (n - n // 2) * mb) / n, np.broadcast_to(whole, ma.shape), atol=1e-12)


@pytest.mark.parametrize("budget", [1 << 25, 300])          # all folds at once; one at a time (wide layers)
def test_fold_pca_scores_equal_a_pca_fitted_on_the_same_rows(monkeypatch, budget):
    monkeypatch.setattr(FoldPCA, "budget", budget)
    rng = np.random.default_rng(5)
    values = rng.normal(size=(300, 12)) @ np.diag(np.linspace(3, 0.2, 12))
    rows = np.arange(300)
    left_outs = [np.arange(0, 40), np.arange(100, 170), np.arange(250, 300)]
    got = FoldPCA(values, rows).scores_many(left_outs, 4)
    for left_out, scores in zip(left_outs, got):
        expected, _ = pca(values, 4, fit_rows=np.setdiff1d(rows, left_out))
        np.testing.assert_allclose(np.abs(scores), np.abs(expected), atol=1e-9)
